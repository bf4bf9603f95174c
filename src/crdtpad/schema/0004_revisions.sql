-- Revisions: a copy of a pad's whole document after each burst of activity, and named ("saved",
-- Etherpad's star) revisions that retention never drops.
CREATE TABLE pad_revisions (
    pad_id      TEXT NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    rev         INTEGER NOT NULL,   -- 1, 2, ... per pad, never reused
    seq         INTEGER NOT NULL,   -- the pad's log position the revision shows
    name        TEXT,               -- set: a saved revision, kept whatever the retention
    author_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    data        BLOB NOT NULL,      -- a Yjs v1 update holding the whole document at that point
    crc         INTEGER NOT NULL,
    PRIMARY KEY (pad_id, rev)
) WITHOUT ROWID;

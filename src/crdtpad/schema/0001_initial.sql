-- Pads and their Yjs data: a snapshot plus an append-only log ordered by seq (never by wall clock).
CREATE TABLE pads (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    owner_id    INTEGER,            -- the owning account, once accounts exist; NULL for anonymous pads
    created_at  INTEGER NOT NULL,   -- unix milliseconds, informational only
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER             -- a tombstone: the data is gone and the id answers "deleted"
);

CREATE TABLE pad_snapshots (
    pad_id      TEXT PRIMARY KEY REFERENCES pads(id) ON DELETE CASCADE,
    upto_seq    INTEGER NOT NULL,   -- every log row with seq <= upto_seq is folded in
    data        BLOB NOT NULL,      -- a Yjs v1 update holding the whole document
    crc         INTEGER NOT NULL,   -- crc32 of data
    created_at  INTEGER NOT NULL
);

CREATE TABLE pad_updates (
    pad_id      TEXT NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    data        BLOB NOT NULL,      -- one Yjs v1 update as a client sent it, after validation
    crc         INTEGER NOT NULL,
    PRIMARY KEY (pad_id, seq)
) WITHOUT ROWID;

-- Pad owners and visibility (public, private, password), folders, members, share links, pad
-- unlock tokens and registration invites. Tokens are stored only as SHA-256 hashes.
CREATE TABLE folders (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    owner_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    archived_at  INTEGER,            -- set: every pad in the folder is read-only
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE INDEX folders_by_owner ON folders (owner_id);

-- pads is rebuilt to widen its visibility CHECK (SQLite cannot alter a constraint in place).
CREATE TABLE pads_v3 (
    id             TEXT PRIMARY KEY,
    title          TEXT NOT NULL DEFAULT '',
    visibility     TEXT NOT NULL DEFAULT 'public'
                   CHECK (visibility IN ('public', 'private', 'password')),
    password_hash  TEXT,             -- argon2id PHC string, set exactly when visibility = 'password'
    owner_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- NULL: an anonymous public pad
    folder_id      TEXT REFERENCES folders(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,          -- a tombstone: the data is gone and the id answers "deleted"
    CHECK ((visibility = 'password') = (password_hash IS NOT NULL) OR deleted_at IS NOT NULL)
);

INSERT INTO pads_v3 (id, title, visibility, password_hash, owner_id, folder_id, created_at, updated_at, deleted_at)
SELECT id, title, visibility, NULL, owner_id, NULL, created_at, updated_at, deleted_at FROM pads;

DROP TABLE pads;

ALTER TABLE pads_v3 RENAME TO pads;

CREATE INDEX pads_by_owner ON pads (owner_id) WHERE deleted_at IS NULL;

CREATE INDEX pads_by_folder ON pads (folder_id) WHERE deleted_at IS NULL;

CREATE TABLE pad_members (
    pad_id      TEXT NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (pad_id, user_id)
) WITHOUT ROWID;

CREATE INDEX pad_members_by_user ON pad_members (user_id);

CREATE TABLE folder_members (
    folder_id   TEXT NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),  -- owner: a folder admin
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (folder_id, user_id)
) WITHOUT ROWID;

CREATE INDEX folder_members_by_user ON folder_members (user_id);

-- A share link grants a role on one pad or on one folder (and so every pad in it).
CREATE TABLE share_links (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    pad_id      TEXT REFERENCES pads(id) ON DELETE CASCADE,
    folder_id   TEXT REFERENCES folders(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,             -- unix milliseconds; NULL: until revoked
    CHECK ((pad_id IS NULL) != (folder_id IS NULL))
);

CREATE INDEX share_links_by_pad ON share_links (pad_id);

CREATE INDEX share_links_by_folder ON share_links (folder_id);

-- What POST /pads/{id}/unlock hands out for a password pad; changing the password drops them all.
CREATE TABLE pad_unlocks (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    pad_id      TEXT NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE INDEX pad_unlocks_by_pad ON pad_unlocks (pad_id);

-- Invite codes for registration = invite; single use.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    code_hash   BLOB NOT NULL UNIQUE,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

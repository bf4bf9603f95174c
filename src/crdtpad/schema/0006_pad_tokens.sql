-- Signed pad tokens (cps_...): an embedding app's backend mints one per external user and pad.
-- The token carries its claims and an HMAC; this row is what makes it revocable.
CREATE TABLE pad_tokens (
    id          INTEGER PRIMARY KEY,
    pad_id      TEXT NOT NULL REFERENCES pads(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    subject     TEXT NOT NULL,      -- the embedding app's user id
    name        TEXT NOT NULL,      -- that user's display name
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,   -- unix milliseconds
    revoked_at  INTEGER
);

CREATE INDEX pad_tokens_by_pad ON pad_tokens (pad_id);

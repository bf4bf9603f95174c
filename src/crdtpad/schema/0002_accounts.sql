-- Accounts, browser sessions and API tokens. Sessions and tokens are stored only as SHA-256 hashes.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE CHECK (username = lower(username)),  -- normalised to lower case
    password_hash  TEXT NOT NULL,       -- an argon2id PHC string
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (typeof(is_admin) = 'integer' AND is_admin IN (0, 1)),
    created_at     INTEGER NOT NULL,    -- unix milliseconds
    disabled_at    INTEGER              -- set by an instance admin: no login, no session, no token works
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,   -- sha256 of the cookie value
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,          -- sent back in X-CSRF-Token on state-changing cookie requests
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL        -- unix milliseconds; authoritative, whatever the cookie says
);

CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,   -- sha256 of the bearer token
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

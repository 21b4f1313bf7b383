-- Self-service registration and password recovery.

-- Registration tokens an admin hands out (`manage
-- issue-user-registration-token`, the admin API). The token is kept as is:
-- admins list and share it again, like an invitation link.
CREATE TABLE user_registration_tokens (
    user_registration_token_id BLOB PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    usage_limit INTEGER,
    times_used INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    expires_at TEXT,
    revoked_at TEXT
);

-- A registration in progress: what the form gave, then each step's result
-- (the email proven, the token, the display name). The user is created
-- from it, once, when every step is done. The password is already hashed.
CREATE TABLE user_registrations (
    user_registration_id BLOB PRIMARY KEY,
    ip_address TEXT,
    user_agent TEXT,
    post_auth_next TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT,
    terms_url TEXT,
    email_authentication_id BLOB
        REFERENCES user_email_authentications (user_email_authentication_id),
    user_registration_token_id BLOB
        REFERENCES user_registration_tokens (user_registration_token_id),
    hashed_password TEXT,
    hashed_password_version INTEGER,
    created_at TEXT NOT NULL,
    completed_at TEXT
);

-- The terms of service a user accepted (`branding.tos_uri` at the time).
CREATE TABLE user_terms (
    user_terms_id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (user_id),
    terms_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, terms_url)
);

-- A request to recover a password, for an address. Whether any user has
-- that address is not recorded here: the page never tells.
CREATE TABLE user_recovery_sessions (
    user_recovery_session_id BLOB PRIMARY KEY,
    email TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    locale TEXT NOT NULL,
    created_at TEXT NOT NULL,
    consumed_at TEXT
);

-- The links mailed for a recovery session, one per user with the address;
-- only a digest of the ticket in the link is stored.
CREATE TABLE user_recovery_tickets (
    user_recovery_ticket_id BLOB PRIMARY KEY,
    user_recovery_session_id BLOB NOT NULL
        REFERENCES user_recovery_sessions (user_recovery_session_id),
    user_email_id BLOB NOT NULL REFERENCES user_emails (user_email_id) ON DELETE CASCADE,
    ticket_digest TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX user_recovery_tickets_session_idx ON user_recovery_tickets (user_recovery_session_id);

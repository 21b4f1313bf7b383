-- mxauth initial schema, PostgreSQL flavour. The SQLite file of the same
-- number must create the same tables and columns (checked by a parity test).
-- Ids are ULIDs stored as UUID; the application writes every id and timestamp.

CREATE TABLE users (
    user_id UUID PRIMARY KEY,
    username TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    locked_at TIMESTAMPTZ,
    deactivated_at TIMESTAMPTZ,
    can_request_admin BOOLEAN NOT NULL,
    is_guest BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX users_username_unique ON users (username);
CREATE INDEX users_username_lower_idx ON users (LOWER(username));

CREATE TABLE user_passwords (
    user_password_id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (user_id),
    hashed_password TEXT NOT NULL,
    version BIGINT NOT NULL,
    upgraded_from_id UUID REFERENCES user_passwords (user_password_id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_passwords_user_idx ON user_passwords (user_id, created_at);

CREATE TABLE user_emails (
    user_email_id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (user_id),
    email TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX user_emails_user_email_unique ON user_emails (user_id, LOWER(email));
CREATE INDEX user_emails_email_idx ON user_emails (LOWER(email));

-- Browser sessions and each authentication that happened in them.
CREATE TABLE user_sessions (
    user_session_id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (user_id),
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    user_agent TEXT,
    last_active_at TIMESTAMPTZ,
    last_active_ip TEXT
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

CREATE TABLE user_session_authentications (
    user_session_authentication_id UUID PRIMARY KEY,
    user_session_id UUID NOT NULL REFERENCES user_sessions (user_session_id),
    user_password_id UUID REFERENCES user_passwords (user_password_id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_session_authentications_session_idx
    ON user_session_authentications (user_session_id);

-- OAuth 2.0 clients, static (from the config file) and dynamic (RFC 7591).
-- JSON arrays and documents are stored as TEXT.
CREATE TABLE oauth2_clients (
    oauth2_client_id UUID PRIMARY KEY,
    encrypted_client_secret TEXT,
    redirect_uris TEXT NOT NULL,
    grant_type_authorization_code BOOLEAN NOT NULL,
    grant_type_refresh_token BOOLEAN NOT NULL,
    grant_type_client_credentials BOOLEAN NOT NULL,
    grant_type_device_code BOOLEAN NOT NULL,
    client_name TEXT,
    logo_uri TEXT,
    client_uri TEXT,
    policy_uri TEXT,
    tos_uri TEXT,
    jwks TEXT,
    jwks_uri TEXT,
    id_token_signed_response_alg TEXT,
    userinfo_signed_response_alg TEXT,
    token_endpoint_auth_method TEXT,
    token_endpoint_auth_signing_alg TEXT,
    initiate_login_uri TEXT,
    application_type TEXT,
    contacts TEXT,
    is_static BOOLEAN NOT NULL,
    metadata_digest TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX oauth2_clients_metadata_digest_unique ON oauth2_clients (metadata_digest);

-- OAuth 2.0 sessions: what a client may do on behalf of a user (or itself).
CREATE TABLE oauth2_sessions (
    oauth2_session_id UUID PRIMARY KEY,
    oauth2_client_id UUID NOT NULL REFERENCES oauth2_clients (oauth2_client_id),
    user_id UUID REFERENCES users (user_id),
    user_session_id UUID REFERENCES user_sessions (user_session_id),
    scope_list TEXT NOT NULL,
    user_agent TEXT,
    last_active_at TIMESTAMPTZ,
    last_active_ip TEXT,
    human_name TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX oauth2_sessions_user_idx ON oauth2_sessions (user_id);
CREATE INDEX oauth2_sessions_client_idx ON oauth2_sessions (oauth2_client_id);

-- Authorization requests (RFC 6749 §4.1). The code is stored as a digest.
CREATE TABLE oauth2_authorization_grants (
    oauth2_authorization_grant_id UUID PRIMARY KEY,
    oauth2_client_id UUID NOT NULL REFERENCES oauth2_clients (oauth2_client_id),
    authorization_code_sha256 TEXT,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    nonce TEXT,
    response_mode TEXT NOT NULL,
    response_type_code BOOLEAN NOT NULL,
    response_type_id_token BOOLEAN NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    login_hint TEXT,
    prompt TEXT,
    locale TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    fulfilled_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    exchanged_at TIMESTAMPTZ,
    user_session_id UUID REFERENCES user_sessions (user_session_id),
    oauth2_session_id UUID REFERENCES oauth2_sessions (oauth2_session_id)
);
CREATE UNIQUE INDEX oauth2_authorization_grants_code_unique
    ON oauth2_authorization_grants (authorization_code_sha256);

-- Tokens are stored as hex SHA-256 digests only, never in plain text.
CREATE TABLE oauth2_access_tokens (
    oauth2_access_token_id UUID PRIMARY KEY,
    oauth2_session_id UUID NOT NULL REFERENCES oauth2_sessions (oauth2_session_id),
    access_token_sha256 TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    first_used_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX oauth2_access_tokens_digest_unique ON oauth2_access_tokens (access_token_sha256);
CREATE INDEX oauth2_access_tokens_session_idx ON oauth2_access_tokens (oauth2_session_id);

CREATE TABLE oauth2_refresh_tokens (
    oauth2_refresh_token_id UUID PRIMARY KEY,
    oauth2_session_id UUID NOT NULL REFERENCES oauth2_sessions (oauth2_session_id),
    oauth2_access_token_id UUID REFERENCES oauth2_access_tokens (oauth2_access_token_id) ON DELETE SET NULL,
    refresh_token_sha256 TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    next_oauth2_refresh_token_id UUID REFERENCES oauth2_refresh_tokens (oauth2_refresh_token_id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX oauth2_refresh_tokens_digest_unique ON oauth2_refresh_tokens (refresh_token_sha256);
CREATE INDEX oauth2_refresh_tokens_session_idx ON oauth2_refresh_tokens (oauth2_session_id);

-- Sessions of the legacy Matrix login API (/_matrix/client/*/login).
CREATE TABLE compat_sessions (
    compat_session_id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (user_id),
    device_id TEXT,
    user_session_id UUID REFERENCES user_sessions (user_session_id),
    is_synapse_admin BOOLEAN NOT NULL,
    user_agent TEXT,
    last_active_at TIMESTAMPTZ,
    last_active_ip TEXT,
    human_name TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX compat_sessions_user_device_idx ON compat_sessions (user_id, device_id);

CREATE TABLE compat_access_tokens (
    compat_access_token_id UUID PRIMARY KEY,
    compat_session_id UUID NOT NULL REFERENCES compat_sessions (compat_session_id),
    access_token_sha256 TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX compat_access_tokens_digest_unique ON compat_access_tokens (access_token_sha256);
CREATE INDEX compat_access_tokens_session_idx ON compat_access_tokens (compat_session_id);

CREATE TABLE compat_refresh_tokens (
    compat_refresh_token_id UUID PRIMARY KEY,
    compat_session_id UUID NOT NULL REFERENCES compat_sessions (compat_session_id),
    compat_access_token_id UUID REFERENCES compat_access_tokens (compat_access_token_id) ON DELETE SET NULL,
    refresh_token_sha256 TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX compat_refresh_tokens_digest_unique ON compat_refresh_tokens (refresh_token_sha256);

-- The legacy SSO redirect flow (/_matrix/client/*/login/sso/redirect).
CREATE TABLE compat_sso_logins (
    compat_sso_login_id UUID PRIMARY KEY,
    redirect_uri TEXT NOT NULL,
    login_token_sha256 TEXT NOT NULL,
    user_session_id UUID REFERENCES user_sessions (user_session_id),
    compat_session_id UUID REFERENCES compat_sessions (compat_session_id),
    created_at TIMESTAMPTZ NOT NULL,
    fulfilled_at TIMESTAMPTZ,
    exchanged_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX compat_sso_logins_token_unique ON compat_sso_logins (login_token_sha256);

-- The job queue. status: available | running | completed | failed.
CREATE TABLE queue_jobs (
    queue_job_id UUID PRIMARY KEY,
    queue_name TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    scheduled_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    started_by TEXT,
    completed_at TIMESTAMPTZ,
    failed_at TIMESTAMPTZ,
    last_error TEXT
);
CREATE INDEX queue_jobs_due_idx ON queue_jobs (status, scheduled_at);

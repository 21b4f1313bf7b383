-- Personal access tokens (`mpt_…`): long-lived Matrix credentials an admin
-- issues for a user (bots, scripts). A personal session holds the scope
-- and who it acts as; its tokens (one active at a time, replaced when
-- regenerated) are stored as digests.
CREATE TABLE personal_sessions (
    personal_session_id UUID PRIMARY KEY,
    -- Who issued it: an admin user, or an admin client.
    owner_user_id UUID REFERENCES users (user_id),
    owner_oauth2_client_id UUID REFERENCES oauth2_clients (oauth2_client_id),
    -- The user the tokens act as.
    actor_user_id UUID NOT NULL REFERENCES users (user_id),
    human_name TEXT NOT NULL,
    scope_list TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    last_active_at TIMESTAMPTZ,
    last_active_ip TEXT
);
CREATE INDEX personal_sessions_actor_idx ON personal_sessions (actor_user_id);

CREATE TABLE personal_access_tokens (
    personal_access_token_id UUID PRIMARY KEY,
    personal_session_id UUID NOT NULL REFERENCES personal_sessions (personal_session_id),
    access_token_digest TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX personal_access_tokens_session_idx ON personal_access_tokens (personal_session_id);

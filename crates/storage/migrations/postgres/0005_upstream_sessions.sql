-- Logins through upstream OAuth 2.0 / OIDC providers.
--
-- A link can carry the account name shown to people (`account_name`
-- claims import).
ALTER TABLE upstream_oauth_links ADD COLUMN human_account_name TEXT;

-- One row per attempt to sign in at a provider: created when the browser
-- is sent to the provider (pending), completed by the callback with what
-- the provider said about the person (the claims, never its tokens), and
-- consumed when it signs in, links or registers. The PKCE verifier lives
-- only in the browser's encrypted cookie. `subject` and `sid` find the
-- browser sessions a back-channel logout ends.
CREATE TABLE upstream_oauth_authorization_sessions (
    upstream_oauth_authorization_session_id UUID PRIMARY KEY,
    upstream_oauth_provider_id UUID NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT,
    next TEXT NOT NULL,
    upstream_oauth_link_id UUID,
    subject TEXT,
    sid TEXT,
    id_token_claims TEXT,
    userinfo_claims TEXT,
    extra_callback_parameters TEXT,
    user_session_id UUID,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX upstream_oauth_authorization_sessions_subject_idx
    ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id, subject);
CREATE INDEX upstream_oauth_authorization_sessions_sid_idx
    ON upstream_oauth_authorization_sessions (upstream_oauth_provider_id, sid);

-- Indexes on the referencing side of the foreign keys whose referenced rows
-- mxauth deletes, as on PostgreSQL (see its 0012): each deleted row's
-- references are looked up by the referencing column, and without an index
-- that reads the whole table once per deleted row.
CREATE INDEX oauth2_refresh_tokens_access_token_idx
    ON oauth2_refresh_tokens (oauth2_access_token_id);
CREATE INDEX oauth2_refresh_tokens_next_idx
    ON oauth2_refresh_tokens (next_oauth2_refresh_token_id);
CREATE INDEX oauth2_authorization_grants_session_idx
    ON oauth2_authorization_grants (oauth2_session_id);
CREATE INDEX oauth2_authorization_grants_client_idx
    ON oauth2_authorization_grants (oauth2_client_id);
CREATE INDEX personal_sessions_owner_client_idx
    ON personal_sessions (owner_oauth2_client_id);
CREATE INDEX user_registrations_email_authentication_idx
    ON user_registrations (email_authentication_id);

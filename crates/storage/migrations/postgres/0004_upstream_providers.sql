-- Upstream OAuth 2.0 / OIDC providers, synced from `upstream_oauth2.providers`
-- by `config sync` (and at server start). Columns hold only what providers
-- are looked up or ordered by; the rest of the configuration block is kept
-- as JSON in `settings` (secrets left out; the client secret is sealed with
-- `secrets.encryption`). Links (`upstream_oauth_links`) name
-- providers by id without a foreign key: syn2mas writes them before the
-- provider is configured, and a pruned provider that comes back finds them.
CREATE TABLE upstream_oauth_providers (
    upstream_oauth_provider_id UUID PRIMARY KEY,
    position BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    synapse_idp_id TEXT,
    encrypted_client_secret TEXT,
    settings TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX upstream_oauth_providers_synapse_idp_idx
    ON upstream_oauth_providers (synapse_idp_id);

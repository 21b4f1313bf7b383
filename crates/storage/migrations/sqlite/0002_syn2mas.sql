-- What `mxauth syn2mas` imports beside users and sessions, and the record of
-- which users it imported (so a second run can finish or extend the first).

-- Third-party ids other than email (e.g. msisdn) kept from Synapse; mxauth
-- does not use them, but they are not thrown away.
CREATE TABLE user_unsupported_third_party_ids (
    user_id BLOB NOT NULL REFERENCES users (user_id),
    medium TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, medium, address)
);

-- A user's account at an upstream identity provider (`upstream_oauth2`).
CREATE TABLE upstream_oauth_links (
    upstream_oauth_link_id BLOB PRIMARY KEY,
    upstream_oauth_provider_id BLOB NOT NULL,
    user_id BLOB REFERENCES users (user_id),
    subject TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX upstream_oauth_links_subject_unique
    ON upstream_oauth_links (upstream_oauth_provider_id, subject);
CREATE INDEX upstream_oauth_links_user_idx ON upstream_oauth_links (user_id);

-- Users written by syn2mas, in the same transaction as the user.
CREATE TABLE syn2mas_imported_users (
    user_id BLOB PRIMARY KEY REFERENCES users (user_id),
    imported_at TEXT NOT NULL
);

-- Whether the client sent redirect_uri at /authorize. RFC 6749 §4.1.3: the
-- token request must then repeat it, identical. Grants made before this
-- column existed count as sent (the stricter rule).
ALTER TABLE oauth2_authorization_grants ADD COLUMN redirect_uri_sent BOOLEAN NOT NULL DEFAULT TRUE;

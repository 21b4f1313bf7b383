-- Proving that a person reads an email address: a 6-digit code is sent to
-- it, and typing the code back completes the authentication. Used by
-- registration, adding an email on the account page and upstream imports.
--
-- `user_id` is the account the address is being added to; it is empty
-- while the account does not exist yet (registration).
CREATE TABLE user_email_authentications (
    user_email_authentication_id BLOB PRIMARY KEY,
    user_id BLOB REFERENCES users (user_id),
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX user_email_authentications_user_idx ON user_email_authentications (user_id);

-- Every code sent for an authentication (one per delivery attempt or
-- resend). Only a keyed digest of the code is stored, never the code.
CREATE TABLE user_email_authentication_codes (
    user_email_authentication_code_id BLOB PRIMARY KEY,
    user_email_authentication_id BLOB NOT NULL
        REFERENCES user_email_authentications (user_email_authentication_id),
    code_digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    consumed_at TEXT
);
CREATE INDEX user_email_authentication_codes_authentication_idx
    ON user_email_authentication_codes (user_email_authentication_id);

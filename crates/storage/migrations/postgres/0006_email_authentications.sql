-- Proving that a person reads an email address: a 6-digit code is sent to
-- it, and typing the code back completes the authentication. Used by
-- registration, adding an email on the account page and upstream imports.
--
-- `user_id` is the account the address is being added to; it is empty
-- while the account does not exist yet (registration).
CREATE TABLE user_email_authentications (
    user_email_authentication_id UUID PRIMARY KEY,
    user_id UUID REFERENCES users (user_id),
    email TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX user_email_authentications_user_idx ON user_email_authentications (user_id);

-- Every code sent for an authentication (one per delivery attempt or
-- resend). Only a keyed digest of the code is stored, never the code.
CREATE TABLE user_email_authentication_codes (
    user_email_authentication_code_id UUID PRIMARY KEY,
    user_email_authentication_id UUID NOT NULL
        REFERENCES user_email_authentications (user_email_authentication_id),
    code_digest TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX user_email_authentication_codes_authentication_idx
    ON user_email_authentication_codes (user_email_authentication_id);

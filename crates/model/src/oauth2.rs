//! OAuth 2.0 clients, authorization grants, sessions and tokens, with the
//! state each one moves through. Tokens appear here without their secret
//! value: only a digest is ever stored.

use chrono::{DateTime, Utc};
use thiserror::Error;
use ulid::Ulid;

use crate::{pkce::CodeChallengeMethod, scope::Scope};

/// How a client authenticates at the token endpoint (RFC 7591 §2,
/// `token_endpoint_auth_method`). The same names in the configuration
/// file's `clients[].client_auth_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown client authentication method {0:?}")]
pub struct UnknownAuthMethod(pub String);

impl ClientAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub const ALL: [Self; 5] = [
        Self::None,
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::ClientSecretJwt,
        Self::PrivateKeyJwt,
    ];
}

impl std::str::FromStr for ClientAuthMethod {
    type Err = UnknownAuthMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownAuthMethod(s.to_owned()))
    }
}

/// Which grants a client may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantTypes {
    pub authorization_code: bool,
    pub refresh_token: bool,
    pub client_credentials: bool,
    pub device_code: bool,
}

/// An OAuth 2.0 client, static (from the config file) or registered
/// dynamically (RFC 7591).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: Ulid,
    /// The client secret, encrypted with `secrets.encryption`.
    pub encrypted_client_secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: GrantTypes,
    pub client_name: Option<String>,
    pub logo_uri: Option<String>,
    pub client_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    /// A JWK Set document, for `private_key_jwt`.
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    pub token_endpoint_auth_signing_alg: Option<String>,
    pub initiate_login_uri: Option<String>,
    /// `web` or `native` (OIDC Dynamic Client Registration §2).
    pub application_type: Option<String>,
    pub contacts: Vec<String>,
    pub is_static: bool,
    /// SHA-256 of a public client's canonical metadata, so registering the
    /// same metadata again gives back the same client.
    pub metadata_digest: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Client {
    /// The `client_id` the client uses on the wire.
    pub fn client_id(&self) -> String {
        self.id.to_string()
    }

    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == ClientAuthMethod::None
    }
}

/// How the authorization response reaches the client (OAuth 2.0 Multiple
/// Response Type Encoding Practices §2.1; Form Post Response Mode §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown response mode {0:?}: it is query, fragment or form_post")]
pub struct UnknownResponseMode(pub String);

impl ResponseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }
}

impl std::str::FromStr for ResponseMode {
    type Err = UnknownResponseMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Query, Self::Fragment, Self::FormPost]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownResponseMode(s.to_owned()))
    }
}

/// Where an authorization request is in its life (RFC 6749 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    /// Waiting for the user to log in and consent.
    Pending,
    /// Consent given; a code was issued and not used yet.
    Fulfilled,
    /// The code was exchanged for tokens.
    Exchanged,
    /// The user refused, or the request was abandoned.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationGrant {
    pub id: Ulid,
    pub client_id: Ulid,
    pub redirect_uri: String,
    /// Whether the client sent `redirect_uri` (it may leave it out when it
    /// registered only one); if so, the token request must repeat it.
    pub redirect_uri_sent: bool,
    /// The scope as requested.
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub response_mode: ResponseMode,
    pub response_type_code: bool,
    pub response_type_id_token: bool,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<CodeChallengeMethod>,
    pub login_hint: Option<String>,
    pub prompt: Option<String>,
    pub locale: Option<String>,
    pub created_at: DateTime<Utc>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub exchanged_at: Option<DateTime<Utc>>,
    pub browser_session_id: Option<Ulid>,
    pub session_id: Option<Ulid>,
}

impl AuthorizationGrant {
    pub fn state(&self) -> GrantState {
        if self.cancelled_at.is_some() {
            GrantState::Cancelled
        } else if self.exchanged_at.is_some() {
            GrantState::Exchanged
        } else if self.fulfilled_at.is_some() {
            GrantState::Fulfilled
        } else {
            GrantState::Pending
        }
    }
}

/// An OAuth 2.0 session: what one client may do, for one user (or for
/// itself, with `client_credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: Ulid,
    pub client_id: Ulid,
    pub user_id: Option<Ulid>,
    pub browser_session_id: Option<Ulid>,
    /// The scope granted (empty for a `client_credentials` session that
    /// asked for none).
    pub scope: Scope,
    pub user_agent: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub last_active_ip: Option<String>,
    pub human_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Session {
    pub fn is_active(&self) -> bool {
        self.finished_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Set the first time a resource server saw the token; feeds the
    /// refresh-token replay rule.
    pub first_used_at: Option<DateTime<Utc>>,
}

impl AccessToken {
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now < exp)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: Ulid,
    pub session_id: Ulid,
    pub access_token_id: Option<Ulid>,
    pub created_at: DateTime<Utc>,
    pub consumed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token that replaced this one at rotation.
    pub next_refresh_token_id: Option<Ulid>,
}

impl RefreshToken {
    pub fn is_valid(&self) -> bool {
        self.consumed_at.is_none() && self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_methods_round_trip_through_their_names() {
        for method in ClientAuthMethod::ALL {
            assert_eq!(method.as_str().parse::<ClientAuthMethod>(), Ok(method));
        }
        assert!("client_secret".parse::<ClientAuthMethod>().is_err());
    }

    #[test]
    fn response_modes_round_trip_through_their_names() {
        for mode in [
            ResponseMode::Query,
            ResponseMode::Fragment,
            ResponseMode::FormPost,
        ] {
            assert_eq!(mode.as_str().parse::<ResponseMode>(), Ok(mode));
        }
        assert!("form-post".parse::<ResponseMode>().is_err());
    }

    #[test]
    fn grant_state_follows_timestamps() {
        let t = DateTime::UNIX_EPOCH;
        let mut grant = AuthorizationGrant {
            id: Ulid::nil(),
            client_id: Ulid::nil(),
            redirect_uri: "https://a/cb".into(),
            redirect_uri_sent: true,
            scope: "openid".parse().unwrap(),
            state: None,
            nonce: None,
            response_mode: ResponseMode::Query,
            response_type_code: true,
            response_type_id_token: false,
            code_challenge: None,
            code_challenge_method: None,
            login_hint: None,
            prompt: None,
            locale: None,
            created_at: t,
            fulfilled_at: None,
            cancelled_at: None,
            exchanged_at: None,
            browser_session_id: None,
            session_id: None,
        };
        assert_eq!(grant.state(), GrantState::Pending);
        grant.fulfilled_at = Some(t);
        assert_eq!(grant.state(), GrantState::Fulfilled);
        grant.exchanged_at = Some(t);
        assert_eq!(grant.state(), GrantState::Exchanged);
        grant.cancelled_at = Some(t);
        assert_eq!(grant.state(), GrantState::Cancelled);
    }

    #[test]
    fn access_token_validity() {
        let t = DateTime::UNIX_EPOCH;
        let mut token = AccessToken {
            id: Ulid::nil(),
            session_id: Ulid::nil(),
            created_at: t,
            expires_at: Some(t + chrono::Duration::seconds(300)),
            revoked_at: None,
            first_used_at: None,
        };
        assert!(token.is_valid(t + chrono::Duration::seconds(299)));
        assert!(!token.is_valid(t + chrono::Duration::seconds(300)));
        token.expires_at = None;
        assert!(token.is_valid(t + chrono::Duration::days(9999)));
        token.revoked_at = Some(t);
        assert!(!token.is_valid(t));
    }
}

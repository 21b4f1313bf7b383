//! Upstream OAuth 2.0 / OpenID Connect providers (`upstream_oauth2.providers`
//! of the configuration) as the database keeps them after `config sync`.
//! Only what the server looks providers up or orders them by is a field of
//! its own (the id, the Synapse IdP id that legacy SSO buttons name, the
//! order of the login buttons, whether it is enabled); everything else is
//! the JSON of the provider's configuration block, read back with the
//! configuration's own types, so the schema and each value exist once.

use chrono::{DateTime, Utc};
use ulid::Ulid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamProvider {
    pub id: Ulid,
    /// Its place in the file: the order of the buttons on the login page.
    pub position: i64,
    /// `enabled: false` in the file, or removed from it without `--prune`.
    pub enabled: bool,
    /// The IdP id Synapse used (`oidc-<idp_id>` external ids, legacy
    /// `/login/sso/redirect/{idp_id}`).
    pub synapse_idp_id: Option<String>,
    /// The client secret, sealed with `secrets.encryption`.
    pub encrypted_client_secret: Option<String>,
    /// The provider's configuration block as JSON, secrets left out.
    pub settings: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A person's account at an upstream provider (`subject` is its `sub`),
/// and the local user it signs in as. The user is unset while the person
/// has not yet chosen to register or to link an existing account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamLink {
    pub id: Ulid,
    pub provider_id: Ulid,
    pub user_id: Option<Ulid>,
    pub subject: String,
    /// What people call the account there (`claims_imports.account_name`).
    pub human_account_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One attempt to sign in at an upstream provider: pending until the
/// provider's callback completes it, consumed once it signed someone in,
/// linked or registered an account. Claims are kept as JSON text; the
/// provider's tokens are never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSession {
    pub id: Ulid,
    pub provider_id: Ulid,
    /// The OAuth `state` sent to the provider (RFC 6749 §10.12).
    pub state: String,
    /// The OIDC `nonce` sent, when `openid` was asked for (OIDC Core §3.1.2.1).
    pub nonce: Option<String>,
    /// Where the browser goes once signed in (a local path).
    pub next: String,
    pub link_id: Option<Ulid>,
    pub subject: Option<String>,
    /// The provider's session id (`sid`), for back-channel logout.
    pub sid: Option<String>,
    pub id_token_claims: Option<String>,
    pub userinfo_claims: Option<String>,
    pub extra_callback_parameters: Option<String>,
    /// The browser session it signed in.
    pub browser_session_id: Option<Ulid>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub consumed_at: Option<DateTime<Utc>>,
}

/// What the callback learnt, written when a session completes.
#[derive(Debug, Clone, Default)]
pub struct CallbackOutcome {
    pub link_id: Ulid,
    pub subject: String,
    pub sid: Option<String>,
    pub id_token_claims: Option<String>,
    pub userinfo_claims: Option<String>,
    pub extra_callback_parameters: Option<String>,
}

//! Upstream OAuth 2.0 / OpenID Connect providers (`upstream_oauth2.providers`
//! of the configuration) as the database keeps them after `config sync`.
//! The columns the server looks providers up by (the id, the Synapse IdP id
//! that legacy SSO buttons name, the order of the login buttons) are fields;
//! the rest of the provider's configuration is kept as the JSON of its
//! configuration block, read back by the server with the configuration's own
//! types, so the schema exists once.

use chrono::{DateTime, Utc};
use ulid::Ulid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamProvider {
    pub id: Ulid,
    /// Its place in the file: the order of the buttons on the login page.
    pub position: i64,
    /// `enabled: false` in the file, or removed from it without `--prune`.
    pub enabled: bool,
    pub issuer: Option<String>,
    pub human_name: Option<String>,
    pub brand_name: Option<String>,
    /// The IdP id Synapse used (`oidc-<idp_id>` external ids, legacy
    /// `/login/sso/redirect/{idp_id}`).
    pub synapse_idp_id: Option<String>,
    pub client_id: String,
    /// The client secret, sealed with `secrets.encryption`.
    pub encrypted_client_secret: Option<String>,
    /// The provider's configuration block as JSON, secrets left out.
    pub settings: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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

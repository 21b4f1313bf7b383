//! A provider as the flow uses it: the stored row's settings read back
//! with the configuration's own types, the sealed secret opened, and each
//! optional setting resolved to its effective value (MAS's defaults).

use std::collections::BTreeMap;

use mxauth_config::{ClaimsImports, UpstreamProviderConfig};
use mxauth_crypto::{encrypter::Encrypter, jose::JwsAlgorithm};
use mxauth_model::upstream::UpstreamProvider;
use ulid::Ulid;

use super::UpstreamError;

/// How the provider's endpoints are found (`discovery_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryMode {
    /// OIDC Discovery, with the metadata checked strictly (the default).
    Oidc,
    /// OIDC Discovery without the checks, for providers that break them.
    Insecure,
    /// No discovery: the endpoints come from the configuration.
    Disabled,
}

/// Whether to send a PKCE challenge (RFC 7636; `pkce_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    /// When the metadata says the provider supports S256.
    Auto,
    Always,
    Never,
}

/// How the client authenticates at the token endpoint
/// (`token_endpoint_auth_method`, OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
    /// Apple's variant: the client secret is a JWT signed with the key
    /// Apple issued (`sign_in_with_apple`), sent as `client_secret_post`.
    SignInWithApple,
}

/// What `on_backchannel_logout` asks for (OIDC Back-Channel Logout 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackchannelLogout {
    DoNothing,
    LogoutBrowserOnly,
    LogoutAll,
}

/// A provider ready for the flow.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: Ulid,
    pub enabled: bool,
    pub synapse_idp_id: Option<String>,
    pub config: UpstreamProviderConfig,
    /// The client secret (or Apple's private key), opened.
    pub secret: Option<String>,
}

impl Provider {
    /// Reads a stored provider. Settings that no longer parse (written by
    /// another version) or a secret sealed with another key are errors
    /// naming the provider, not panics.
    pub fn from_stored(
        stored: &UpstreamProvider,
        encrypter: &Encrypter,
    ) -> Result<Self, UpstreamError> {
        let config: UpstreamProviderConfig =
            serde_json::from_str(&stored.settings).map_err(|e| {
                UpstreamError::Misconfigured(format!("its stored settings do not parse: {e}"))
            })?;
        let secret = match &stored.encrypted_client_secret {
            Some(sealed) => Some(encrypter.decrypt_str(sealed).map_err(|_| {
                UpstreamError::Misconfigured(
                    "its client secret cannot be opened with secrets.encryption (was the key changed? run `mxauth config sync`)".into(),
                )
            })?),
            None => None,
        };
        Ok(Self {
            id: stored.id,
            enabled: stored.enabled,
            synapse_idp_id: stored.synapse_idp_id.clone(),
            config,
            secret,
        })
    }

    /// The name on buttons and pages: `human_name`, else the issuer's host.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.config.human_name {
            return name.clone();
        }
        self.config
            .issuer
            .as_deref()
            .and_then(|i| url::Url::parse(i).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| self.id.to_string())
    }

    pub fn discovery_mode(&self) -> DiscoveryMode {
        match self.config.discovery_mode.as_deref() {
            Some("insecure") => DiscoveryMode::Insecure,
            Some("disabled") => DiscoveryMode::Disabled,
            _ => DiscoveryMode::Oidc,
        }
    }

    pub fn pkce_method(&self) -> PkceMethod {
        match self.config.pkce_method.as_deref() {
            Some("always") => PkceMethod::Always,
            Some("never") => PkceMethod::Never,
            _ => PkceMethod::Auto,
        }
    }

    pub fn client_auth(&self) -> ClientAuth {
        match self.config.token_endpoint_auth_method.as_str() {
            "none" => ClientAuth::None,
            "client_secret_post" => ClientAuth::ClientSecretPost,
            "client_secret_jwt" => ClientAuth::ClientSecretJwt,
            "private_key_jwt" => ClientAuth::PrivateKeyJwt,
            "sign_in_with_apple" => ClientAuth::SignInWithApple,
            _ => ClientAuth::ClientSecretBasic,
        }
    }

    pub fn backchannel_logout(&self) -> BackchannelLogout {
        match self.config.on_backchannel_logout.as_deref() {
            Some("logout_browser_only") => BackchannelLogout::LogoutBrowserOnly,
            Some("logout_all") => BackchannelLogout::LogoutAll,
            _ => BackchannelLogout::DoNothing,
        }
    }

    /// `scope`, `openid` by default (MAS's default).
    pub fn scope(&self) -> &str {
        self.config.scope.as_deref().unwrap_or("openid")
    }

    /// Whether the person is identified by an ID token: the scope asks for
    /// `openid` (OIDC Core §3.1.2.1). Plain OAuth 2.0 providers (GitHub)
    /// identify them through the userinfo endpoint instead.
    pub fn is_openid(&self) -> bool {
        self.scope().split(' ').any(|s| s == "openid")
    }

    pub fn form_post(&self) -> bool {
        self.config.response_mode.as_deref() == Some("form_post")
    }

    /// The algorithm ID tokens must be signed with (RS256 by default,
    /// OIDC Core §3.1.3.7 step 7).
    pub fn id_token_alg(&self) -> Result<JwsAlgorithm, UpstreamError> {
        alg_setting(
            self.config.id_token_signed_response_alg.as_deref(),
            "id_token_signed_response_alg",
        )
        .map(|alg| alg.unwrap_or(JwsAlgorithm::Rs256))
    }

    /// The algorithm a signed userinfo answer must use, when one is expected.
    pub fn userinfo_alg(&self) -> Result<Option<JwsAlgorithm>, UpstreamError> {
        alg_setting(
            self.config.userinfo_signed_response_alg.as_deref(),
            "userinfo_signed_response_alg",
        )
    }

    pub fn claims_imports(&self) -> &ClaimsImports {
        &self.config.claims_imports
    }

    pub fn additional_parameters(&self) -> &BTreeMap<String, String> {
        &self.config.additional_authorization_parameters
    }
}

fn alg_setting(value: Option<&str>, key: &str) -> Result<Option<JwsAlgorithm>, UpstreamError> {
    value
        .map(|name| {
            name.parse::<JwsAlgorithm>().map_err(|_| {
                UpstreamError::Misconfigured(format!("{key} {name:?} is not a JWS algorithm"))
            })
        })
        .transpose()
}

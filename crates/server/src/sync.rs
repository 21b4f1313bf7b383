//! `config sync`: makes the static clients (`clients[]`) and the upstream
//! providers (`upstream_oauth2.providers[]`) of the configuration file exist
//! in the database exactly as configured. Runs at server start (unless
//! `--no-sync`) and from the CLI. Secrets are stored encrypted with
//! `secrets.encryption`.

use chrono::{DateTime, Utc};
use mxauth_model::oauth2::{Client, ClientAuthMethod, GrantTypes};
use mxauth_storage::{AdvisoryLock, Database, StorageError};
use ulid::Ulid;

use mxauth_config::{ClientConfig, UpstreamProviderConfig};
use mxauth_crypto::encrypter::Encrypter;
use mxauth_model::upstream::UpstreamProvider;

/// A static client with its secret already read from `client_secret_file`.
pub struct StaticClient<'a> {
    pub config: &'a ClientConfig,
    pub secret: Option<String>,
}

/// What a sync did (or would do, in a dry run).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub upserted: Vec<String>,
    pub pruned: Vec<String>,
    /// Static clients in the database but not in the file, kept because
    /// `--prune` was not given.
    pub stale: Vec<String>,
}

fn to_client(
    c: &StaticClient<'_>,
    encrypter: &Encrypter,
    now: DateTime<Utc>,
) -> Result<Client, String> {
    let id: Ulid = c
        .config
        .client_id
        .parse()
        .map_err(|_| format!("client_id {:?} is not a ULID", c.config.client_id))?;
    let method = c.config.client_auth_method;
    Ok(Client {
        id,
        encrypted_client_secret: c.secret.as_deref().map(|s| encrypter.encrypt_str(s)),
        redirect_uris: c
            .config
            .redirect_uris
            .iter()
            .map(|u| u.to_string())
            .collect(),
        grant_types: GrantTypes {
            authorization_code: true,
            refresh_token: true,
            client_credentials: method != ClientAuthMethod::None,
            device_code: true,
        },
        client_name: c.config.client_name.clone(),
        logo_uri: None,
        client_uri: c.config.client_uri.as_ref().map(|u| u.to_string()),
        policy_uri: None,
        tos_uri: None,
        jwks: c.config.jwks.as_ref().map(|j| j.to_string()),
        jwks_uri: c.config.jwks_uri.as_ref().map(|u| u.to_string()),
        id_token_signed_response_alg: None,
        userinfo_signed_response_alg: None,
        token_endpoint_auth_method: method,
        token_endpoint_auth_signing_alg: None,
        initiate_login_uri: None,
        application_type: Some("web".into()),
        contacts: Vec::new(),
        is_static: true,
        metadata_digest: None,
        created_at: now,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("clients: {0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Upserts every static client, and with `prune` deletes static clients no
/// longer in the file. With `dry_run` nothing is written.
pub async fn sync_clients(
    db: &Database,
    clients: &[StaticClient<'_>],
    encrypter: &Encrypter,
    now: DateTime<Utc>,
    prune: bool,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let wanted: Vec<Client> = clients
        .iter()
        .map(|c| to_client(c, encrypter, now))
        .collect::<Result<_, _>>()
        .map_err(SyncError::Invalid)?;
    let mut report = SyncReport::default();
    let mut repo = db.begin().await?;
    repo.lock_exclusively(AdvisoryLock::ConfigSync).await?;
    for client in &wanted {
        repo.oauth2_clients().upsert_static(client).await?;
        report.upserted.push(client.client_id());
    }
    for existing in repo.oauth2_clients().list_static().await? {
        if wanted.iter().any(|w| w.id == existing.id) {
            continue;
        }
        if prune {
            repo.oauth2_clients().delete_static(existing.id).await?;
            report.pruned.push(existing.client_id());
        } else {
            report.stale.push(existing.client_id());
        }
    }
    if dry_run {
        repo.rollback().await?;
    } else {
        repo.commit().await?;
    }
    Ok(report)
}

/// An upstream provider with its secret already read from
/// `client_secret_file` (for `sign_in_with_apple`, Apple's private key).
pub struct ConfiguredProvider<'a> {
    pub config: &'a UpstreamProviderConfig,
    pub secret: Option<String>,
}

fn to_provider(
    position: usize,
    p: &ConfiguredProvider<'_>,
    encrypter: &Encrypter,
    now: DateTime<Utc>,
) -> Result<UpstreamProvider, String> {
    let config = p.config;
    let id: Ulid = config
        .id
        .parse()
        .map_err(|_| format!("upstream provider id {:?} is not a ULID", config.id))?;
    // The block as JSON, without its secrets: the secret is sealed in its
    // own column, and a file path means nothing to another machine.
    let mut settings = serde_json::to_value(config).map_err(|e| e.to_string())?;
    if let Some(map) = settings.as_object_mut() {
        map.remove("client_secret");
        map.remove("client_secret_file");
        // Apple's private key is the secret of `sign_in_with_apple`.
        if let Some(apple) = map
            .get_mut("sign_in_with_apple")
            .and_then(|a| a.as_object_mut())
        {
            apple.remove("private_key");
            apple.remove("private_key_file");
        }
    }
    Ok(UpstreamProvider {
        id,
        position: i64::try_from(position).unwrap_or(i64::MAX),
        enabled: config.enabled,
        synapse_idp_id: config.synapse_idp_id.clone(),
        encrypted_client_secret: p.secret.as_deref().map(|s| encrypter.encrypt_str(s)),
        settings: settings.to_string(),
        created_at: now,
        updated_at: now,
    })
}

/// Upserts every provider in the file's order. A provider no longer in the
/// file is disabled (nobody logs in with it; its links stay), or with
/// `prune` deleted (its links still stay, so the accounts find them if the
/// provider comes back). With `dry_run` nothing is written.
pub async fn sync_providers(
    db: &Database,
    providers: &[ConfiguredProvider<'_>],
    encrypter: &Encrypter,
    now: DateTime<Utc>,
    prune: bool,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let wanted: Vec<UpstreamProvider> = providers
        .iter()
        .enumerate()
        .map(|(i, p)| to_provider(i, p, encrypter, now))
        .collect::<Result<_, _>>()
        .map_err(SyncError::Invalid)?;
    let mut report = SyncReport::default();
    let mut repo = db.begin().await?;
    repo.lock_exclusively(AdvisoryLock::ConfigSync).await?;
    for provider in &wanted {
        repo.upstream_providers().upsert(provider).await?;
        report.upserted.push(provider.id.to_string());
    }
    for existing in repo.upstream_providers().list().await? {
        if wanted.iter().any(|w| w.id == existing.id) {
            continue;
        }
        if prune {
            repo.upstream_providers().delete(existing.id).await?;
            report.pruned.push(existing.id.to_string());
        } else {
            if existing.enabled {
                repo.upstream_providers().disable(existing.id, now).await?;
            }
            report.stale.push(existing.id.to_string());
        }
    }
    if dry_run {
        repo.rollback().await?;
    } else {
        repo.commit().await?;
    }
    Ok(report)
}

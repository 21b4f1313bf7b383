//! `config sync`: makes the static clients of the configuration file
//! (`clients[]`) exist in the database exactly as configured. Runs at server
//! start (unless `--no-sync`) and from the CLI. Secrets are stored
//! encrypted with `secrets.encryption`.

use chrono::{DateTime, Utc};
use mxauth_model::oauth2::{Client, ClientAuthMethod, GrantTypes};
use mxauth_storage::{Database, StorageError};
use ulid::Ulid;

use mxauth_config::ClientConfig;
use mxauth_crypto::encrypter::Encrypter;

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

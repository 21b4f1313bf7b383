//! Building the server's state from the configuration, and syncing the
//! static clients into the database (shared by `server` and `config sync`).

use std::sync::Arc;

use anyhow::{Context as _, Result};
use chrono::Duration;
use mxauth_config::{HomeserverKind, MetricsExporter, RootConfig};
use mxauth_crypto::encrypter::Encrypter;
use mxauth_crypto::jose::Keystore;
use mxauth_model::{Clock, SystemClock};
use mxauth_server::{
    cookies::CookieSettings,
    email::{LettreMailer, Mailer, MailerSettings},
    homeserver::{Homeserver, SynapseConnection},
    jobs::JobContext,
    metrics::Metrics,
    state::{AppState, SiteConfig},
    sync::{sync_clients, sync_providers, ConfiguredProvider, StaticClient, SyncReport},
    urls::UrlBuilder,
};
use mxauth_storage::Database;

use crate::resolve::Resolved;

/// The homeserver connection of `matrix`.
/// The homeserver client; its calls are counted in `metrics`.
pub fn homeserver(
    config: &RootConfig,
    secret: &str,
    metrics: Arc<Metrics>,
) -> Result<Arc<dyn Homeserver>> {
    let read_only = match config.matrix.kind {
        HomeserverKind::Synapse | HomeserverKind::SynapseModern => false,
        HomeserverKind::SynapseReadOnly => true,
        HomeserverKind::SynapseLegacy => anyhow::bail!(
            "matrix.kind: synapse_legacy (Synapse's admin API) is not supported; use `synapse` with Synapse 1.136 or newer"
        ),
    };
    let connection = SynapseConnection::new(
        config.matrix.endpoint.clone(),
        secret.to_owned(),
        config.matrix.homeserver.clone(),
        read_only,
    )
    .map_err(anyhow::Error::msg)?
    .with_metrics(metrics);
    Ok(Arc::new(connection))
}

/// The mailer of `email`. Nothing is connected until a message is sent.
pub fn mailer(settings: MailerSettings) -> Result<Arc<dyn Mailer>> {
    let mailer = LettreMailer::new(settings).map_err(anyhow::Error::msg)?;
    Ok(Arc::new(mailer))
}

/// The mailer of a running server or worker, whose SMTP server is greeted
/// once in the background (as MAS does at start-up), so a wrong host or
/// password shows in the log before the first code is due, without
/// delaying the start.
fn started_mailer(settings: MailerSettings) -> Result<Arc<dyn Mailer>> {
    let mailer = mailer(settings)?;
    if mailer.delivers() {
        let probed = mailer.clone();
        tokio::spawn(async move {
            match probed.probe().await {
                Ok(()) => tracing::info!("email: {} answers", probed.describe()),
                Err(e) => tracing::warn!(
                    "email: cannot reach the mail server: {e}; verification codes will be logged at WARN until it works (`mxauth doctor` checks it)"
                ),
            }
        });
    } else {
        tracing::info!("email.transport is blackhole: no email is sent; verification codes are logged at WARN instead");
    }
    Ok(mailer)
}

/// What the job worker of `mxauth worker` needs, without the HTTP side.
pub fn job_context(config: &RootConfig, resolved: Resolved, db: Database) -> Result<JobContext> {
    let metrics = Arc::<Metrics>::default();
    Ok(JobContext {
        db,
        homeserver: homeserver(config, &resolved.matrix_secret, metrics.clone())?,
        clock: Arc::new(SystemClock),
        random: Arc::new(mxauth_model::OsRandom),
        mailer: started_mailer(resolved.mailer)?,
        templates: Arc::new(super::templates::load_checked(config)?),
        encrypter: Encrypter::new(&resolved.encryption_key),
        urls: Arc::new(UrlBuilder::new(&config.http.public_base, config.issuer())),
        server_name: config.matrix.homeserver.clone(),
        metrics,
    })
}

/// The name pages show: `branding.service_name`, else the homeserver's.
pub fn service_name(config: &RootConfig) -> String {
    config
        .branding
        .service_name
        .clone()
        .unwrap_or_else(|| config.matrix.homeserver.clone())
}

pub fn build(config: &RootConfig, resolved: Resolved, db: Database) -> Result<AppState> {
    let urls = UrlBuilder::new(&config.http.public_base, config.issuer());
    let encrypter = Encrypter::new(&resolved.encryption_key);
    let server_name = config.matrix.homeserver.clone();
    let ttl = i64::try_from(config.experimental.access_token_ttl).unwrap_or(300);
    let metrics = Arc::<Metrics>::default();
    let homeserver = homeserver(config, &resolved.matrix_secret, metrics.clone())?;
    Ok(mxauth_server::state::StateParts {
        db,
        random: Arc::new(mxauth_model::OsRandom),
        clock: Arc::new(SystemClock),
        site: Arc::new(SiteConfig {
            service_name: service_name(config),
            server_name,
            access_token_ttl: Duration::seconds(ttl),
            matrix_secret: resolved.matrix_secret,
            trusted_proxies: config.http.trusted_proxies.clone(),
            login_per_ip: config.rate_limiting.login.per_ip,
            login_per_account: config.rate_limiting.login.per_account,
            client_registration_per_ip: config.rate_limiting.client_registration,
            email_authentication: config.rate_limiting.email_authentication.clone(),
            handler_timeout: config.http.limits.handler(),
            compat_token_ttl: Duration::seconds(
                i64::try_from(config.experimental.compat_token_ttl).unwrap_or(300),
            ),
            account: config.account.clone(),
            registration_per_ip: config.rate_limiting.registration,
            account_recovery: config.rate_limiting.account_recovery.clone(),
            tos_uri: config.branding.tos_uri.clone(),
            captcha: mxauth_server::captcha::Captcha::from_config(&config.captcha),
            prometheus_metrics: config.telemetry.metrics.exporter == MetricsExporter::Prometheus,
        }),
        cookies: Arc::new(CookieSettings {
            encrypter: encrypter.clone(),
            path: urls.base_path().to_owned(),
            secure: urls.is_https(),
        }),
        urls: Arc::new(urls),
        keystore: Arc::new(Keystore::new(resolved.keys)),
        encrypter,
        templates: Arc::new(super::templates::load_checked(config)?),
        passwords: resolved.passwords,
        limiter: Arc::default(),
        outbound: mxauth_server::outbound::Outbound::new()
            .context("cannot set up outbound HTTP")?,
        upstream_metadata: Default::default(),
        homeserver,
        mailer: started_mailer(resolved.mailer)?,
        activity: Arc::default(),
        documents: Arc::default(),
        metrics,
        policy: Arc::new(policy_store(config)?),
    }
    .into())
}

/// `policy.data`, checked: a bad key stops the start with its name.
pub fn policy_store(config: &RootConfig) -> Result<mxauth_server::policy::PolicyStore> {
    mxauth_server::policy::PolicyStore::new(config.policy.data.clone())
        .map_err(|e| anyhow::anyhow!("policy.data: {e}"))
}

/// What `config sync` did to the clients and to the upstream providers.
pub struct Synced {
    pub clients: SyncReport,
    pub providers: SyncReport,
}

/// Syncs `clients[]` and `upstream_oauth2.providers[]` into the database.
pub async fn sync(
    config: &RootConfig,
    resolved: &Resolved,
    db: &Database,
    prune: bool,
    dry_run: bool,
) -> Result<Synced> {
    let encrypter = Encrypter::new(&resolved.encryption_key);
    let now = SystemClock.now();
    let clients: Vec<StaticClient<'_>> = config
        .clients
        .iter()
        .zip(&resolved.client_secrets)
        .map(|(config, secret)| StaticClient {
            config,
            secret: secret.clone(),
        })
        .collect();
    let providers: Vec<ConfiguredProvider<'_>> = config
        .upstream_oauth2
        .providers
        .iter()
        .zip(&resolved.provider_secrets)
        .map(|(config, secret)| ConfiguredProvider {
            config,
            secret: secret.clone(),
        })
        .collect();
    Ok(Synced {
        clients: sync_clients(db, &clients, &encrypter, now, prune, dry_run).await?,
        providers: sync_providers(db, &providers, &encrypter, now, prune, dry_run).await?,
    })
}

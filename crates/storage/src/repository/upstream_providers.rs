//! `upstream_oauth_providers`: the upstream OAuth 2.0 / OIDC providers of
//! the configuration, written by `config sync`.

use mxauth_model::upstream::UpstreamProvider;
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor, on_conn,
    pagination::{self, Bind, Conditions, Page, Pagination},
    Mode, Table, Write,
};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct ProviderRow {
    upstream_oauth_provider_id: Uuid,
    position: i64,
    enabled: bool,
    synapse_idp_id: Option<String>,
    encrypted_client_secret: Option<String>,
    settings: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// `upstream_oauth_providers`, in the order of [`ProviderRow`] and of the
/// binds in [`UpstreamProviders::upsert`].
const PROVIDERS: Table = Table {
    name: "upstream_oauth_providers",
    alias: "",
    columns: &[
        "upstream_oauth_provider_id",
        "position",
        "enabled",
        "synapse_idp_id",
        "encrypted_client_secret",
        "settings",
        "created_at",
        "updated_at",
    ],
};

impl From<ProviderRow> for UpstreamProvider {
    fn from(row: ProviderRow) -> Self {
        Self {
            id: to_ulid(row.upstream_oauth_provider_id),
            position: row.position,
            enabled: row.enabled,
            synapse_idp_id: row.synapse_idp_id,
            encrypted_client_secret: row.encrypted_client_secret,
            settings: row.settings,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        }
    }
}

accessor! {
    /// The `upstream_oauth_providers` table.
    UpstreamProviders, upstream_providers
}

fn enabled_condition(enabled: Option<bool>) -> Conditions {
    let mut c = Conditions::default();
    if let Some(enabled) = enabled {
        c.add_bind("enabled = ?", Bind::Bool(enabled));
    }
    c
}

impl<M: Mode> UpstreamProviders<'_, M> {
    /// A page of the providers, enabled or not (`None`: all).
    pub async fn page(
        &mut self,
        enabled: Option<bool>,
        pagination: Pagination,
    ) -> Result<Page<UpstreamProvider>, StorageError> {
        let page: Page<ProviderRow> = pagination::page(
            self.tx,
            &PROVIDERS,
            "upstream_oauth_provider_id",
            &enabled_condition(enabled),
            pagination,
        )
        .await?;
        Ok(page.map(UpstreamProvider::from))
    }

    pub async fn count_matching(&mut self, enabled: Option<bool>) -> Result<u64, StorageError> {
        pagination::count(self.tx, &PROVIDERS, &enabled_condition(enabled)).await
    }
}

impl UpstreamProviders<'_, Write> {
    /// Inserts or replaces a provider (config sync). The creation time of
    /// an existing provider is kept.
    pub async fn upsert(&mut self, provider: &UpstreamProvider) -> Result<(), StorageError> {
        let placeholders: Vec<String> = (1..=PROVIDERS.columns.len())
            .map(|i| format!("${i}"))
            .collect();
        let updates = PROVIDERS
            .columns
            .iter()
            .filter(|c| !matches!(**c, "upstream_oauth_provider_id" | "created_at"))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (upstream_oauth_provider_id) DO UPDATE SET {updates}",
            PROVIDERS.name,
            PROVIDERS.columns(),
            placeholders.join(", ")
        );
        let p = provider;
        on_conn!(self, |conn| {
            sqlx::query(&sql)
                .bind(to_uuid(p.id))
                .bind(p.position)
                .bind(p.enabled)
                .bind(p.synapse_idp_id.as_deref())
                .bind(p.encrypted_client_secret.as_deref())
                .bind(p.settings.as_str())
                .bind(Timestamp(p.created_at))
                .bind(Timestamp(p.updated_at))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Disables a provider that left the configuration (no `--prune`):
    /// nobody can log in with it, its links stay.
    pub async fn disable(
        &mut self,
        id: Ulid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE upstream_oauth_providers SET enabled = FALSE, updated_at = $1
                 WHERE upstream_oauth_provider_id = $2",
                now,
                id,
            )
            .await?;
        Ok(())
    }

    /// Deletes a provider (`config sync --prune`). Its links stay, so the
    /// accounts find them again if the provider comes back.
    pub async fn delete(&mut self, id: Ulid) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "DELETE FROM upstream_oauth_providers WHERE upstream_oauth_provider_id = $1",
            )
            .bind(to_uuid(id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

impl<M: Mode> UpstreamProviders<'_, M> {
    pub async fn find(&mut self, id: Ulid) -> Result<Option<UpstreamProvider>, StorageError> {
        let row: Option<ProviderRow> = PROVIDERS
            .find_where(self.tx, "upstream_oauth_provider_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(UpstreamProvider::from))
    }

    /// The provider legacy clients name by Synapse's IdP id
    /// (`/login/sso/redirect/oidc-keycloak`), enabled or not.
    pub async fn find_by_synapse_idp_id(
        &mut self,
        idp_id: &str,
    ) -> Result<Option<UpstreamProvider>, StorageError> {
        let sql = PROVIDERS.select_where("synapse_idp_id = $1 ORDER BY position LIMIT 1");
        let row: Option<ProviderRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql).bind(idp_id).fetch_optional(conn).await
        })?;
        Ok(row.map(UpstreamProvider::from))
    }

    /// Every provider, enabled or not, in the order of the configuration.
    pub async fn list(&mut self) -> Result<Vec<UpstreamProvider>, StorageError> {
        let sql = PROVIDERS.select_where("TRUE ORDER BY position, upstream_oauth_provider_id");
        let rows: Vec<ProviderRow> =
            on_conn!(self, |conn| sqlx::query_as(&sql).fetch_all(conn).await)?;
        Ok(rows.into_iter().map(UpstreamProvider::from).collect())
    }
}

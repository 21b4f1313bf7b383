//! `oauth2_clients`: static clients (synced from the config) and dynamic
//! ones (RFC 7591). URI lists are stored as JSON text.

use mxauth_model::oauth2::{Client, GrantTypes};
use ulid::Ulid;
use uuid::Uuid;

use super::{
    accessor, on_conn,
    pagination::{self, Bind, Conditions, Page, Pagination},
    Mode, Table, Write,
};
use crate::{
    types::{parse_stored, to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct ClientRow {
    oauth2_client_id: Uuid,
    encrypted_client_secret: Option<String>,
    redirect_uris: String,
    grant_type_authorization_code: bool,
    grant_type_refresh_token: bool,
    grant_type_client_credentials: bool,
    grant_type_device_code: bool,
    client_name: Option<String>,
    logo_uri: Option<String>,
    client_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    id_token_signed_response_alg: Option<String>,
    userinfo_signed_response_alg: Option<String>,
    token_endpoint_auth_method: Option<String>,
    token_endpoint_auth_signing_alg: Option<String>,
    initiate_login_uri: Option<String>,
    application_type: Option<String>,
    contacts: Option<String>,
    is_static: bool,
    metadata_digest: Option<String>,
    created_at: Timestamp,
}

/// `oauth2_clients`, in the order of [`ClientRow`] and of `bind_client!`.
const OAUTH2_CLIENTS: Table = Table {
    name: "oauth2_clients",
    alias: "",
    columns: &[
        "oauth2_client_id",
        "encrypted_client_secret",
        "redirect_uris",
        "grant_type_authorization_code",
        "grant_type_refresh_token",
        "grant_type_client_credentials",
        "grant_type_device_code",
        "client_name",
        "logo_uri",
        "client_uri",
        "policy_uri",
        "tos_uri",
        "jwks",
        "jwks_uri",
        "id_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "token_endpoint_auth_method",
        "token_endpoint_auth_signing_alg",
        "initiate_login_uri",
        "application_type",
        "contacts",
        "is_static",
        "metadata_digest",
        "created_at",
    ],
};

/// A list stored as a JSON array of strings in `column`.
fn json_list(column: &'static str, text: Option<&str>) -> Result<Vec<String>, StorageError> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| StorageError::Malformed {
            table: OAUTH2_CLIENTS.name,
            column,
            reason: e.to_string(),
        }),
    }
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

impl TryFrom<ClientRow> for Client {
    type Error = StorageError;

    fn try_from(row: ClientRow) -> Result<Self, StorageError> {
        let method = row.token_endpoint_auth_method.as_deref().unwrap_or("none");
        Ok(Client {
            id: to_ulid(row.oauth2_client_id),
            encrypted_client_secret: row.encrypted_client_secret,
            redirect_uris: json_list("redirect_uris", Some(&row.redirect_uris))?,
            grant_types: GrantTypes {
                authorization_code: row.grant_type_authorization_code,
                refresh_token: row.grant_type_refresh_token,
                client_credentials: row.grant_type_client_credentials,
                device_code: row.grant_type_device_code,
            },
            client_name: row.client_name,
            logo_uri: row.logo_uri,
            client_uri: row.client_uri,
            policy_uri: row.policy_uri,
            tos_uri: row.tos_uri,
            jwks: row.jwks,
            jwks_uri: row.jwks_uri,
            id_token_signed_response_alg: row.id_token_signed_response_alg,
            userinfo_signed_response_alg: row.userinfo_signed_response_alg,
            token_endpoint_auth_method: parse_stored(
                OAUTH2_CLIENTS.name,
                "token_endpoint_auth_method",
                method,
            )?,
            token_endpoint_auth_signing_alg: row.token_endpoint_auth_signing_alg,
            initiate_login_uri: row.initiate_login_uri,
            application_type: row.application_type,
            contacts: json_list("contacts", row.contacts.as_deref())?,
            is_static: row.is_static,
            metadata_digest: row.metadata_digest,
            created_at: row.created_at.0,
        })
    }
}

/// Binds every column of `client` in the order of [`OAUTH2_CLIENTS`].
macro_rules! bind_client {
    ($query:expr, $client:expr) => {{
        let c = $client;
        $query
            .bind(to_uuid(c.id))
            .bind(c.encrypted_client_secret.as_deref())
            .bind(to_json(&c.redirect_uris))
            .bind(c.grant_types.authorization_code)
            .bind(c.grant_types.refresh_token)
            .bind(c.grant_types.client_credentials)
            .bind(c.grant_types.device_code)
            .bind(c.client_name.as_deref())
            .bind(c.logo_uri.as_deref())
            .bind(c.client_uri.as_deref())
            .bind(c.policy_uri.as_deref())
            .bind(c.tos_uri.as_deref())
            .bind(c.jwks.as_deref())
            .bind(c.jwks_uri.as_deref())
            .bind(c.id_token_signed_response_alg.as_deref())
            .bind(c.userinfo_signed_response_alg.as_deref())
            .bind(c.token_endpoint_auth_method.as_str())
            .bind(c.token_endpoint_auth_signing_alg.as_deref())
            .bind(c.initiate_login_uri.as_deref())
            .bind(c.application_type.as_deref())
            .bind(to_json(&c.contacts))
            .bind(c.is_static)
            .bind(c.metadata_digest.as_deref())
            .bind(Timestamp(c.created_at))
    }};
}

/// `INSERT INTO oauth2_clients (<every column>) VALUES ($1, …)`.
fn insert_statement() -> String {
    let placeholders = (1..=OAUTH2_CLIENTS.columns.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO oauth2_clients ({}) VALUES ({placeholders})",
        OAUTH2_CLIENTS.columns()
    )
}

accessor! {
    /// The `oauth2_clients` table: static and dynamically registered clients.
    OAuth2Clients, oauth2_clients
}

/// Which clients a list shows.
#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    /// Static (from the configuration) or dynamic (registered).
    pub is_static: Option<bool>,
    /// Part of the client's name, letter case ignored.
    pub name: Option<String>,
    /// Only clients allowed this grant (`authorization_code`,
    /// `refresh_token`, `client_credentials`, `device_code`).
    pub grant_type: Option<String>,
}

impl ClientFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(is_static) = self.is_static {
            c.add_bind("is_static = ?", Bind::Bool(is_static));
        }
        if let Some(name) = &self.name {
            c.add_bind(
                "LOWER(client_name) LIKE ?",
                Bind::Text(format!("%{}%", name.to_lowercase())),
            );
        }
        match self.grant_type.as_deref() {
            Some("authorization_code") => c.add("grant_type_authorization_code"),
            Some("refresh_token") => c.add("grant_type_refresh_token"),
            Some("client_credentials") => c.add("grant_type_client_credentials"),
            Some("urn:ietf:params:oauth:grant-type:device_code") | Some("device_code") => {
                c.add("grant_type_device_code")
            }
            Some(_) => c.add("FALSE"),
            None => {}
        }
        c
    }
}

impl<M: Mode> OAuth2Clients<'_, M> {
    /// A page of the clients matching `filter`.
    pub async fn page(
        &mut self,
        filter: &ClientFilter,
        pagination: Pagination,
    ) -> Result<Page<Client>, StorageError> {
        let page: Page<ClientRow> = pagination::page(
            self.tx,
            &OAUTH2_CLIENTS,
            "oauth2_client_id",
            &filter.conditions(),
            pagination,
        )
        .await?;
        let items: Result<Vec<Client>, StorageError> =
            page.items.into_iter().map(Client::try_from).collect();
        Ok(Page {
            items: items?,
            has_more: page.has_more,
        })
    }

    pub async fn count_matching(&mut self, filter: &ClientFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &OAUTH2_CLIENTS, &filter.conditions()).await
    }
}

impl OAuth2Clients<'_, Write> {
    /// Registers a new client. Same metadata digest as an existing client is
    /// [`StorageError::Conflict`].
    pub async fn add(&mut self, client: &Client) -> Result<(), StorageError> {
        let sql = insert_statement();
        on_conn!(self, |conn| {
            bind_client!(sqlx::query(&sql), client)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(StorageError::conflict_as("a client with the same metadata"))
        })?;
        Ok(())
    }

    /// Inserts or replaces a static client (config sync). The creation time
    /// of an existing client is kept.
    pub async fn upsert_static(&mut self, client: &Client) -> Result<(), StorageError> {
        // Its secret, redirect URIs or grants may have changed: a cached
        // copy (client authentication) must not outlive the commit.
        self.invalidated
            .push(crate::token_cache::Invalidation::Row(client.id));
        let updates = OAUTH2_CLIENTS
            .columns
            .iter()
            .filter(|c| **c != "oauth2_client_id" && **c != "created_at")
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "{} ON CONFLICT (oauth2_client_id) DO UPDATE SET {updates}",
            insert_statement()
        );
        on_conn!(self, |conn| {
            bind_client!(sqlx::query(&sql), client)
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Removes a static client that left the configuration, with its
    /// sessions, tokens and grants.
    pub async fn delete_static(&mut self, id: Ulid) -> Result<(), StorageError> {
        const STATEMENTS: [&str; 5] = [
            "DELETE FROM oauth2_refresh_tokens WHERE oauth2_session_id IN
               (SELECT oauth2_session_id FROM oauth2_sessions WHERE oauth2_client_id = $1)",
            "DELETE FROM oauth2_access_tokens WHERE oauth2_session_id IN
               (SELECT oauth2_session_id FROM oauth2_sessions WHERE oauth2_client_id = $1)",
            "DELETE FROM oauth2_authorization_grants WHERE oauth2_client_id = $1",
            "DELETE FROM oauth2_sessions WHERE oauth2_client_id = $1",
            "DELETE FROM oauth2_clients WHERE oauth2_client_id = $1 AND is_static = TRUE",
        ];
        // Many sessions at once: everything cached goes.
        self.invalidated.push(crate::token_cache::Invalidation::All);
        for sql in STATEMENTS {
            on_conn!(self, |conn| {
                sqlx::query(sql)
                    .bind(to_uuid(id))
                    .execute(conn)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }
}

impl<M: Mode> OAuth2Clients<'_, M> {
    /// How many clients exist, static and dynamic.
    pub async fn count(&mut self) -> Result<i64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query_scalar("SELECT COUNT(*) FROM oauth2_clients")
                .fetch_one(conn)
                .await
        })?)
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<Client>, StorageError> {
        let row: Option<ClientRow> = OAUTH2_CLIENTS
            .find_where(self.tx, "oauth2_client_id = $1", to_uuid(id))
            .await?;
        row.map(Client::try_from).transpose()
    }

    pub async fn find_by_metadata_digest(
        &mut self,
        digest: &str,
    ) -> Result<Option<Client>, StorageError> {
        let row: Option<ClientRow> = OAUTH2_CLIENTS
            .find_where(self.tx, "metadata_digest = $1", digest.to_owned())
            .await?;
        row.map(Client::try_from).transpose()
    }

    /// Every static client, oldest id first.
    pub async fn list_static(&mut self) -> Result<Vec<Client>, StorageError> {
        let sql = OAUTH2_CLIENTS.select_where("is_static = TRUE ORDER BY oauth2_client_id");
        let rows: Vec<ClientRow> =
            on_conn!(self, |conn| sqlx::query_as(&sql).fetch_all(conn).await)?;
        rows.into_iter().map(Client::try_from).collect()
    }
}

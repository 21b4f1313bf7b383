//! `upstream_oauth_links`: which local user a person's account at an
//! upstream provider signs in as.

use mxauth_model::upstream::UpstreamLink;
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
struct LinkRow {
    upstream_oauth_link_id: Uuid,
    upstream_oauth_provider_id: Uuid,
    user_id: Option<Uuid>,
    subject: String,
    human_account_name: Option<String>,
    created_at: Timestamp,
}

/// `upstream_oauth_links`, in the order of [`LinkRow`].
const LINKS: Table = Table {
    name: "upstream_oauth_links",
    alias: "",
    columns: &[
        "upstream_oauth_link_id",
        "upstream_oauth_provider_id",
        "user_id",
        "subject",
        "human_account_name",
        "created_at",
    ],
};

impl From<LinkRow> for UpstreamLink {
    fn from(row: LinkRow) -> Self {
        Self {
            id: to_ulid(row.upstream_oauth_link_id),
            provider_id: to_ulid(row.upstream_oauth_provider_id),
            user_id: row.user_id.map(to_ulid),
            subject: row.subject,
            human_account_name: row.human_account_name,
            created_at: row.created_at.0,
        }
    }
}

accessor! {
    /// The `upstream_oauth_links` table.
    UpstreamLinks, upstream_links
}

/// Which links a list shows.
#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    pub user: Option<Ulid>,
    pub provider: Option<Ulid>,
    pub subject: Option<String>,
}

impl LinkFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(user) = self.user {
            c.add_bind("user_id = ?", Bind::Id(to_uuid(user)));
        }
        if let Some(provider) = self.provider {
            c.add_bind(
                "upstream_oauth_provider_id = ?",
                Bind::Id(to_uuid(provider)),
            );
        }
        if let Some(subject) = &self.subject {
            c.add_bind("subject = ?", Bind::Text(subject.clone()));
        }
        c
    }
}

impl<M: Mode> UpstreamLinks<'_, M> {
    /// A page of the links matching `filter`.
    pub async fn page(
        &mut self,
        filter: &LinkFilter,
        pagination: Pagination,
    ) -> Result<Page<UpstreamLink>, StorageError> {
        let page: Page<LinkRow> = pagination::page(
            self.tx,
            &LINKS,
            "upstream_oauth_link_id",
            &filter.conditions(),
            pagination,
        )
        .await?;
        Ok(page.map(UpstreamLink::from))
    }

    pub async fn count_matching(&mut self, filter: &LinkFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &LINKS, &filter.conditions()).await
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<UpstreamLink>, StorageError> {
        let row: Option<LinkRow> = LINKS
            .find_where(self.tx, "upstream_oauth_link_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(UpstreamLink::from))
    }

    /// The link of `subject` at `provider`, if the person came before.
    pub async fn find_by_subject(
        &mut self,
        provider_id: Ulid,
        subject: &str,
    ) -> Result<Option<UpstreamLink>, StorageError> {
        let sql = LINKS.select_where("upstream_oauth_provider_id = $1 AND subject = $2");
        let row: Option<LinkRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(to_uuid(provider_id))
                .bind(subject)
                .fetch_optional(conn)
                .await
        })?;
        Ok(row.map(UpstreamLink::from))
    }

    /// The user's links, oldest first.
    pub async fn list_for_user(
        &mut self,
        user_id: Ulid,
    ) -> Result<Vec<UpstreamLink>, StorageError> {
        let rows: Vec<LinkRow> = LINKS
            .list_where(
                self.tx,
                "user_id = $1 ORDER BY upstream_oauth_link_id",
                to_uuid(user_id),
            )
            .await?;
        Ok(rows.into_iter().map(UpstreamLink::from).collect())
    }
}

impl UpstreamLinks<'_, Write> {
    /// Removes a link (the account there no longer signs in here), with
    /// the sign-ins that went through it; `false` when there was none.
    pub async fn remove(&mut self, id: Ulid) -> Result<bool, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query("DELETE FROM upstream_oauth_authorization_sessions WHERE upstream_oauth_link_id = $1")
                .bind(to_uuid(id))
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        let removed = on_conn!(self, |conn| {
            sqlx::query("DELETE FROM upstream_oauth_links WHERE upstream_oauth_link_id = $1")
                .bind(to_uuid(id))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(removed == 1)
    }

    /// Adds a link; the same subject twice at one provider is
    /// [`StorageError::Conflict`].
    pub async fn add(&mut self, link: &UpstreamLink) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO upstream_oauth_links
                   (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject,
                    human_account_name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(link.id))
            .bind(to_uuid(link.provider_id))
            .bind(link.user_id.map(to_uuid))
            .bind(link.subject.as_str())
            .bind(link.human_account_name.as_deref())
            .bind(Timestamp(link.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as(
                "a link for this subject at this provider",
            ))
        })?;
        Ok(())
    }

    /// The link of `link.subject` at its provider: the existing one, or
    /// `link` added. Two first sign-ins of one person at once (two tabs)
    /// find the same link instead of one failing on the unique index.
    pub async fn find_or_add(&mut self, link: &UpstreamLink) -> Result<UpstreamLink, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO upstream_oauth_links
                   (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject,
                    human_account_name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (upstream_oauth_provider_id, subject) DO NOTHING",
            )
            .bind(to_uuid(link.id))
            .bind(to_uuid(link.provider_id))
            .bind(link.user_id.map(to_uuid))
            .bind(link.subject.as_str())
            .bind(link.human_account_name.as_deref())
            .bind(Timestamp(link.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        self.find_by_subject(link.provider_id, &link.subject)
            .await?
            .ok_or_else(|| StorageError::Conflict("the link vanished while being added"))
    }

    /// Points a link at `user_id`, only while it points at nobody; `false`
    /// when someone else got there first.
    pub async fn associate(&mut self, link_id: Ulid, user_id: Ulid) -> Result<bool, StorageError> {
        let changed = on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE upstream_oauth_links SET user_id = $1
                 WHERE upstream_oauth_link_id = $2 AND user_id IS NULL",
            )
            .bind(to_uuid(user_id))
            .bind(to_uuid(link_id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Updates the account name shown for a link (it can change upstream).
    pub async fn set_human_account_name(
        &mut self,
        link_id: Ulid,
        name: Option<&str>,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE upstream_oauth_links SET human_account_name = $1
                 WHERE upstream_oauth_link_id = $2",
            )
            .bind(name)
            .bind(to_uuid(link_id))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Removes the user's other links to `provider_id` (`on_conflict:
    /// replace`), keeping `keep`. Returns how many went.
    pub async fn remove_others_for_user(
        &mut self,
        provider_id: Ulid,
        user_id: Ulid,
        keep: Ulid,
    ) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query(
                "DELETE FROM upstream_oauth_links
                 WHERE upstream_oauth_provider_id = $1 AND user_id = $2
                   AND upstream_oauth_link_id <> $3",
            )
            .bind(to_uuid(provider_id))
            .bind(to_uuid(user_id))
            .bind(to_uuid(keep))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?)
    }
}

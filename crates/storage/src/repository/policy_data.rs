//! `policy_data`: the policy data admins set through the admin API, a
//! history whose newest row is the one in force. The JSON is stored as
//! text (the same statements on both databases); the server checks it
//! before it is stored, so every row here parses.

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

/// One version of the admin-set policy data.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyData {
    pub id: Ulid,
    /// A JSON object.
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PolicyDataRow {
    policy_data_id: Uuid,
    data: String,
    created_at: Timestamp,
}

const POLICY_DATA: Table = Table {
    name: "policy_data",
    alias: "",
    columns: &["policy_data_id", "data", "created_at"],
};

impl TryFrom<PolicyDataRow> for PolicyData {
    type Error = StorageError;

    fn try_from(row: PolicyDataRow) -> Result<Self, StorageError> {
        // Only the server writes this column, after checking it; a row that
        // does not parse was written by hand.
        let data = serde_json::from_str(&row.data).map_err(|e| StorageError::Malformed {
            table: "policy_data",
            column: "data",
            reason: e.to_string(),
        })?;
        Ok(Self {
            id: to_ulid(row.policy_data_id),
            data,
            created_at: row.created_at.0,
        })
    }
}

accessor! {
    /// The history of admin-set policy data.
    PolicyDataHistory, policy_data
}

impl<M: Mode> PolicyDataHistory<'_, M> {
    /// The version in force: the newest (ULIDs grow with time).
    pub async fn latest(&mut self) -> Result<Option<PolicyData>, StorageError> {
        let sql = POLICY_DATA.select_where("1 = 1 ORDER BY policy_data_id DESC LIMIT 1");
        let row: Option<PolicyDataRow> =
            on_conn!(self, |conn| sqlx::query_as(&sql).fetch_optional(conn).await)?;
        row.map(PolicyData::try_from).transpose()
    }

    pub async fn find(&mut self, id: Ulid) -> Result<Option<PolicyData>, StorageError> {
        let row: Option<PolicyDataRow> = POLICY_DATA
            .find_where(self.tx, "policy_data_id = $1", to_uuid(id))
            .await?;
        row.map(PolicyData::try_from).transpose()
    }
}

impl PolicyDataHistory<'_, Write> {
    pub async fn add(&mut self, data: &PolicyData) -> Result<(), StorageError> {
        let text = data.data.to_string();
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO policy_data (policy_data_id, data, created_at) VALUES ($1, $2, $3)",
            )
            .bind(to_uuid(data.id))
            .bind(text.as_str())
            .bind(Timestamp(data.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Removes all but the newest `keep` versions; returns how many went.
    pub async fn prune(&mut self, keep: i64) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query(
                "DELETE FROM policy_data WHERE policy_data_id NOT IN
                   (SELECT policy_data_id FROM policy_data
                    ORDER BY policy_data_id DESC LIMIT $1)",
            )
            .bind(keep)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?)
    }
}

//! `admin_audit_events`: what admins did, newest last.

use chrono::{DateTime, Utc};
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

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Ulid,
    /// `user alice`, `client 01H…`.
    pub actor: String,
    /// `lock_user`, `issue_personal_token`…
    pub action: String,
    /// `user`, `user-registration_token`… (the API's resource types).
    pub target_type: String,
    pub target_id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    admin_audit_event_id: Uuid,
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
    created_at: Timestamp,
}

const EVENTS: Table = Table {
    name: "admin_audit_events",
    alias: "",
    columns: &[
        "admin_audit_event_id",
        "actor",
        "action",
        "target_type",
        "target_id",
        "created_at",
    ],
};

impl From<EventRow> for AuditEvent {
    fn from(row: EventRow) -> Self {
        Self {
            id: to_ulid(row.admin_audit_event_id),
            actor: row.actor,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            created_at: row.created_at.0,
        }
    }
}

/// Which events a list shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
}

impl AuditFilter {
    fn conditions(&self) -> Conditions {
        let mut c = Conditions::default();
        if let Some(action) = &self.action {
            c.add_bind("action = ?", Bind::Text(action.clone()));
        }
        if let Some(target) = &self.target_id {
            c.add_bind("target_id = ?", Bind::Text(target.clone()));
        }
        c
    }
}

accessor! {
    /// The admin audit trail.
    AuditEvents, audit_events
}

impl<M: Mode> AuditEvents<'_, M> {
    pub async fn page(
        &mut self,
        filter: &AuditFilter,
        pagination: Pagination,
    ) -> Result<Page<AuditEvent>, StorageError> {
        let page: Page<EventRow> = pagination::page(
            self.tx,
            &EVENTS,
            "admin_audit_event_id",
            &filter.conditions(),
            pagination,
        )
        .await?;
        Ok(page.map(AuditEvent::from))
    }

    pub async fn count_matching(&mut self, filter: &AuditFilter) -> Result<u64, StorageError> {
        pagination::count(self.tx, &EVENTS, &filter.conditions()).await
    }
}

impl AuditEvents<'_, Write> {
    pub async fn add(&mut self, event: &AuditEvent) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO admin_audit_events
                   (admin_audit_event_id, actor, action, target_type, target_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(event.id))
            .bind(event.actor.as_str())
            .bind(event.action.as_str())
            .bind(event.target_type.as_str())
            .bind(event.target_id.as_str())
            .bind(Timestamp(event.created_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

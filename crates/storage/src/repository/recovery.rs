//! `user_recovery_sessions` and `user_recovery_tickets`: password recovery
//! requests and the links mailed for them (as digests only).

use chrono::{DateTime, Utc};
use mxauth_model::{RecoverySession, RecoveryTicket};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_recovery_session_id: Uuid,
    email: String,
    ip_address: Option<String>,
    user_agent: Option<String>,
    locale: String,
    created_at: Timestamp,
    consumed_at: Option<Timestamp>,
}

/// `user_recovery_sessions`, in the order of [`SessionRow`].
const SESSIONS: Table = Table {
    name: "user_recovery_sessions",
    alias: "",
    columns: &[
        "user_recovery_session_id",
        "email",
        "ip_address",
        "user_agent",
        "locale",
        "created_at",
        "consumed_at",
    ],
};

impl From<SessionRow> for RecoverySession {
    fn from(row: SessionRow) -> Self {
        Self {
            id: to_ulid(row.user_recovery_session_id),
            email: row.email,
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            locale: row.locale,
            created_at: row.created_at.0,
            consumed_at: row.consumed_at.map(|t| t.0),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TicketRow {
    user_recovery_ticket_id: Uuid,
    user_recovery_session_id: Uuid,
    user_email_id: Uuid,
    created_at: Timestamp,
    expires_at: Timestamp,
}

/// `user_recovery_tickets` without the digest, in the order of [`TicketRow`].
const TICKETS: Table = Table {
    name: "user_recovery_tickets",
    alias: "",
    columns: &[
        "user_recovery_ticket_id",
        "user_recovery_session_id",
        "user_email_id",
        "created_at",
        "expires_at",
    ],
};

impl From<TicketRow> for RecoveryTicket {
    fn from(row: TicketRow) -> Self {
        Self {
            id: to_ulid(row.user_recovery_ticket_id),
            session_id: to_ulid(row.user_recovery_session_id),
            user_email_id: to_ulid(row.user_email_id),
            created_at: row.created_at.0,
            expires_at: row.expires_at.0,
        }
    }
}

accessor! {
    /// The password recovery tables.
    Recovery, recovery
}

impl<M: Mode> Recovery<'_, M> {
    pub async fn find_session(
        &mut self,
        id: Ulid,
    ) -> Result<Option<RecoverySession>, StorageError> {
        let row: Option<SessionRow> = SESSIONS
            .find_where(self.tx, "user_recovery_session_id = $1", to_uuid(id))
            .await?;
        Ok(row.map(RecoverySession::from))
    }

    /// The ticket whose digest is `digest`.
    pub async fn find_ticket(
        &mut self,
        digest: &str,
    ) -> Result<Option<RecoveryTicket>, StorageError> {
        let row: Option<TicketRow> = TICKETS
            .find_where(self.tx, "ticket_digest = $1", digest.to_owned())
            .await?;
        Ok(row.map(RecoveryTicket::from))
    }
}

impl Recovery<'_, Write> {
    pub async fn add_session(&mut self, s: &RecoverySession) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_recovery_sessions
                   (user_recovery_session_id, email, ip_address, user_agent, locale,
                    created_at, consumed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(to_uuid(s.id))
            .bind(s.email.as_str())
            .bind(s.ip_address.as_deref())
            .bind(s.user_agent.as_deref())
            .bind(s.locale.as_str())
            .bind(Timestamp(s.created_at))
            .bind(s.consumed_at.map(Timestamp))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("this recovery session"))
        })?;
        Ok(())
    }

    /// Stores a ticket by the digest of its text.
    pub async fn add_ticket(
        &mut self,
        ticket: &RecoveryTicket,
        digest: &str,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO user_recovery_tickets
                   (user_recovery_ticket_id, user_recovery_session_id, user_email_id,
                    ticket_digest, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(to_uuid(ticket.id))
            .bind(to_uuid(ticket.session_id))
            .bind(to_uuid(ticket.user_email_id))
            .bind(digest)
            .bind(Timestamp(ticket.created_at))
            .bind(Timestamp(ticket.expires_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(StorageError::conflict_as("this recovery ticket"))
        })?;
        Ok(())
    }

    /// Marks the session used, once: `false` when a ticket of it already
    /// set a password, so a link works once even with two tabs.
    pub async fn consume_session(
        &mut self,
        id: Ulid,
        now: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let changed = self
            .tx
            .exec_at(
                "UPDATE user_recovery_sessions SET consumed_at = $1
                 WHERE user_recovery_session_id = $2 AND consumed_at IS NULL",
                now,
                id,
            )
            .await?;
        Ok(changed == 1)
    }

    /// Removes recovery requests created before `cutoff`, with their
    /// tickets. Returns how many requests went.
    pub async fn remove_created_before(
        &mut self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "DELETE FROM user_recovery_tickets WHERE user_recovery_session_id IN (
                   SELECT user_recovery_session_id FROM user_recovery_sessions
                   WHERE created_at < $1)",
            )
            .bind(Timestamp(cutoff))
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(on_conn!(self, |conn| {
            sqlx::query("DELETE FROM user_recovery_sessions WHERE created_at < $1")
                .bind(Timestamp(cutoff))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}

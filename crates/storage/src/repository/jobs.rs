//! The `queue_jobs` table: work queued for a worker (provisioning users on the
//! homeserver, syncing devices…). Queued inside the same transaction as the
//! change that needs it, so the job exists exactly when the change does.

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{on_conn, Repository};
use crate::{
    types::{to_ulid, to_uuid, Timestamp},
    StorageError,
};

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    pub id: Ulid,
    pub queue_name: String,
    /// JSON document.
    pub payload: String,
    /// `available`, `running`, `completed` or `failed`.
    pub status: String,
    pub attempt: i64,
    pub scheduled_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    queue_job_id: Uuid,
    queue_name: String,
    payload: String,
    status: String,
    attempt: i64,
    scheduled_at: Timestamp,
}

impl From<JobRow> for QueuedJob {
    fn from(row: JobRow) -> Self {
        QueuedJob {
            id: to_ulid(row.queue_job_id),
            queue_name: row.queue_name,
            payload: row.payload,
            status: row.status,
            attempt: row.attempt,
            scheduled_at: row.scheduled_at.0,
        }
    }
}

impl Repository {
    /// Queues a job to run as soon as a worker is free.
    pub async fn enqueue_job(
        &mut self,
        id: Ulid,
        queue_name: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<QueuedJob, StorageError> {
        on_conn!(self, |conn| {
            sqlx::query(
                "INSERT INTO queue_jobs
                   (queue_job_id, queue_name, payload, status, attempt, created_at, scheduled_at)
                 VALUES ($1, $2, $3, 'available', 0, $4, $4)",
            )
            .bind(to_uuid(id))
            .bind(queue_name)
            .bind(payload)
            .bind(Timestamp(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(QueuedJob {
            id,
            queue_name: queue_name.to_owned(),
            payload: payload.to_owned(),
            status: "available".into(),
            attempt: 0,
            scheduled_at: now,
        })
    }

    /// Jobs of one queue, oldest first.
    pub async fn list_jobs(&mut self, queue_name: &str) -> Result<Vec<QueuedJob>, StorageError> {
        let rows: Vec<JobRow> = on_conn!(self, |conn| {
            sqlx::query_as(
                "SELECT queue_job_id, queue_name, payload, status, attempt, scheduled_at
                 FROM queue_jobs WHERE queue_name = $1 ORDER BY queue_job_id",
            )
            .bind(queue_name)
            .fetch_all(conn)
            .await
        })?;
        Ok(rows.into_iter().map(QueuedJob::from).collect())
    }
}

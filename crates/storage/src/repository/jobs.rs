//! The `queue_jobs` table: work queued for a worker (provisioning users on the
//! homeserver, syncing devices…). Queued inside the same transaction as the
//! change that needs it, so the job exists exactly when the change does.

use chrono::{DateTime, Utc};
use ulid::Ulid;
use uuid::Uuid;

use super::{accessor, on_conn, Mode, Table, Write};
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
    pub last_error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    queue_job_id: Uuid,
    queue_name: String,
    payload: String,
    status: String,
    attempt: i64,
    scheduled_at: Timestamp,
    last_error: Option<String>,
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
            last_error: row.last_error,
        }
    }
}

/// `queue_jobs`, as far as [`JobRow`] reads it.
const QUEUE_JOBS: Table = Table {
    name: "queue_jobs",
    alias: "",
    columns: &[
        "queue_job_id",
        "queue_name",
        "payload",
        "status",
        "attempt",
        "scheduled_at",
        "last_error",
    ],
};

accessor! {
    /// The `queue_jobs` table: work queued for a worker.
    Jobs, jobs
}

impl<M: Mode> Jobs<'_, M> {
    /// Jobs of one queue, oldest first.
    pub async fn list(&mut self, queue_name: &str) -> Result<Vec<QueuedJob>, StorageError> {
        let rows: Vec<JobRow> = QUEUE_JOBS
            .list_where(
                self.tx,
                "queue_name = $1 ORDER BY queue_job_id",
                queue_name.to_owned(),
            )
            .await?;
        Ok(rows.into_iter().map(QueuedJob::from).collect())
    }
}

impl Jobs<'_, Write> {
    /// Queues a job to run as soon as a worker is free.
    pub async fn enqueue(
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
            last_error: None,
        })
    }

    /// Takes up to `limit` due jobs for `worker`: they become `running` and
    /// their attempt count goes up. Two workers never take the same job:
    /// PostgreSQL skips rows another transaction holds (`FOR UPDATE SKIP
    /// LOCKED`); SQLite has one writer at a time (`BEGIN IMMEDIATE`).
    pub async fn claim(
        &mut self,
        worker: &str,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueuedJob>, StorageError> {
        // Dialect difference: row locks exist only on PostgreSQL.
        let lock = if self.tx.is_postgres() {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE queue_jobs SET status = 'running', started_at = $1, started_by = $2,
                    heartbeat_at = $1, attempt = attempt + 1
             WHERE queue_job_id IN (
                 SELECT queue_job_id FROM queue_jobs
                 WHERE status = 'available' AND scheduled_at <= $1
                 ORDER BY scheduled_at, queue_job_id LIMIT $3
                 {lock})
             RETURNING {}",
            QUEUE_JOBS.columns()
        );
        let rows: Vec<JobRow> = on_conn!(self, |conn| {
            sqlx::query_as(&sql)
                .bind(Timestamp(now))
                .bind(worker)
                .bind(limit)
                .fetch_all(conn)
                .await
        })?;
        let mut jobs: Vec<QueuedJob> = rows.into_iter().map(QueuedJob::from).collect();
        jobs.sort_by_key(|j| (j.scheduled_at, j.id));
        Ok(jobs)
    }

    /// The job ran to completion.
    pub async fn complete(&mut self, id: Ulid, now: DateTime<Utc>) -> Result<(), StorageError> {
        self.tx
            .exec_at(
                "UPDATE queue_jobs SET status = 'completed', completed_at = $1
                 WHERE queue_job_id = $2",
                now,
                id,
            )
            .await?;
        Ok(())
    }

    /// The job failed: it becomes available again at `retry_at`, or, with
    /// `None`, fails for good.
    pub async fn fail(
        &mut self,
        id: Ulid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        on_conn!(self, |conn| {
            match retry_at {
                Some(at) => sqlx::query(
                    "UPDATE queue_jobs SET status = 'available', scheduled_at = $1, last_error = $2,
                            started_at = NULL, started_by = NULL
                     WHERE queue_job_id = $3",
                )
                .bind(Timestamp(at))
                .bind(error)
                .bind(to_uuid(id)),
                None => sqlx::query(
                    "UPDATE queue_jobs SET status = 'failed', failed_at = $1, last_error = $2
                     WHERE queue_job_id = $3",
                )
                .bind(Timestamp(now))
                .bind(error)
                .bind(to_uuid(id)),
            }
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// `worker` still runs the jobs it claimed: their heartbeat becomes
    /// `now`. Returns how many it holds.
    pub async fn heartbeat(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE queue_jobs SET heartbeat_at = $1
                 WHERE status = 'running' AND started_by = $2",
            )
            .bind(Timestamp(now))
            .bind(worker)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?)
    }

    /// Jobs left `running` whose worker has not renewed their heartbeat
    /// since `cutoff` belong to a worker that died: make them available
    /// again (at-least-once delivery). A job claimed before heartbeats
    /// existed counts from its start.
    pub async fn requeue_stale(&mut self, cutoff: DateTime<Utc>) -> Result<u64, StorageError> {
        Ok(on_conn!(self, |conn| {
            sqlx::query(
                "UPDATE queue_jobs SET status = 'available', started_at = NULL, started_by = NULL,
                        heartbeat_at = NULL
                 WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < $1",
            )
            .bind(Timestamp(cutoff))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?)
    }
}

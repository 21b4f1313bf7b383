-- When the worker running a job last said it still runs it. A worker
-- renews it every few seconds for the jobs it holds; a running job whose
-- heartbeat is older than the lease belongs to a dead worker and is
-- requeued (see crates/server/src/jobs/mod.rs).
ALTER TABLE queue_jobs ADD COLUMN heartbeat_at TEXT;

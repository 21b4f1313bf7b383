-- Policy data set by admins through the admin API (`POST
-- /api/admin/v1/policy-data`): a history, newest last. The newest row is
-- merged over the configuration's `policy.data` by every server. The JSON
-- is kept as text on both databases (no JSONB: the same statements serve
-- SQLite); it is validated before it is stored.
CREATE TABLE policy_data (
    policy_data_id BLOB PRIMARY KEY,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- What admins did, through the admin API or the console: who (an admin
-- user, or a client), what, to which resource, when. Written in the same
-- transaction as the change itself, so every change has its line.
CREATE TABLE admin_audit_events (
    admin_audit_event_id UUID PRIMARY KEY,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Failed order verifications (PostgreSQL; mirrors migrations/store/0003), shared by every
-- replica: the waits they cause hold whichever replica the next attempt reaches.
CREATE TABLE IF NOT EXISTS verify_failures (
    key TEXT NOT NULL,
    at  BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS verify_failures_by_key ON verify_failures (key, at);
CREATE INDEX IF NOT EXISTS verify_failures_by_time ON verify_failures (at);

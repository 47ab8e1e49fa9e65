-- Failed order verifications, per key (`conversation:<id>`, `ip:<address>`), so the waits
-- they cause outlive a restart. Times are Unix milliseconds; rows older than the window
-- are deleted as new ones are written (throttle::Policy).
CREATE TABLE IF NOT EXISTS verify_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS verify_failures_by_key ON verify_failures (key, at);
CREATE INDEX IF NOT EXISTS verify_failures_by_time ON verify_failures (at);

-- The handoff outbox: webhook deliveries, written in the same transaction as the turn that
-- caused them and retried until the receiver answers 2xx. `id` is the delivery id, sent as
-- X-Destek-Delivery on every attempt so the receiver can accept each one once.
CREATE TABLE IF NOT EXISTS outbox (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_attempt_at);

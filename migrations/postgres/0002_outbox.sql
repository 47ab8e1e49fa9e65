-- The handoff outbox (PostgreSQL; mirrors migrations/store/0002): webhook deliveries,
-- written in the same transaction as the turn that caused them and retried until the
-- receiver answers 2xx. `id` is the delivery id, sent as X-Destek-Delivery on every
-- attempt. Times are Unix milliseconds. A replica claims due entries by moving
-- `next_attempt_at` forward (a lease), see store::postgres::due_deliveries.
CREATE TABLE IF NOT EXISTS outbox (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_by_created ON outbox (created_at);

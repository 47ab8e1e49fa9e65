-- Proactive notices (PostgreSQL; mirrors migrations/store/0005). `verified_orders`: which
-- conversations verified which order, and when they last held it verified. Times are Unix
-- milliseconds. A replica claims due notices by moving `next_attempt_at` forward (a
-- lease), as with the outbox, and writes a notice into the transcript only while its
-- stage is still `pending`, so each notice is said once whichever replica takes it.
CREATE TABLE IF NOT EXISTS verified_orders (
    order_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    verified_at     BIGINT NOT NULL,
    PRIMARY KEY (order_id, conversation_id)
);

CREATE TABLE IF NOT EXISTS notice_events (
    key         TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    notified    INTEGER NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS notices (
    id              TEXT PRIMARY KEY,
    seq             BIGSERIAL,
    event_key       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    stage           TEXT NOT NULL DEFAULT 'pending',
    reply           TEXT,
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);

CREATE INDEX IF NOT EXISTS notices_due ON notices (next_attempt_at)
    WHERE stage IN ('pending', 'written');

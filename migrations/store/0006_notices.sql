-- Proactive notices (notices::). `verified_orders` indexes which conversations verified
-- which order, and when they last held it verified, so an order event reaches exactly
-- those conversations. Kept by the store on every commit of a state with a verified order.
CREATE TABLE IF NOT EXISTS verified_orders (
    order_id        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    verified_at     INTEGER NOT NULL,
    PRIMARY KEY (order_id, conversation_id)
);

-- Order events the shop reported, one row per idempotency key (`<order>\n<event_id or
-- Idempotency-Key>`): a repeat answers with the stored count and notifies nobody again.
CREATE TABLE IF NOT EXISTS notice_events (
    key         TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    event       TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    notified    INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);

-- One notice per (event, conversation), written in the same transaction as its event.
-- stage: pending (nothing said yet) -> written (in the transcript; a push channel still
-- has to send it) -> sent; or skipped (with the reason). Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS notices (
    id              TEXT PRIMARY KEY,
    event_key       TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    stage           TEXT NOT NULL DEFAULT 'pending',
    reply           TEXT,
    reason          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);

CREATE INDEX IF NOT EXISTS notices_due ON notices (next_attempt_at)
    WHERE stage IN ('pending', 'written');

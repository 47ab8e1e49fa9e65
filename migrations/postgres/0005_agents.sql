-- The built-in inbox (PostgreSQL; mirrors migrations/store/0005): agent accounts, their sessions, and one row per handoff (the queue).
-- Times are Unix milliseconds. A handoff row is written in the same transaction as the
-- conversation state it mirrors (store::agents::HandoffState).
CREATE TABLE IF NOT EXISTS agents (
    name          TEXT PRIMARY KEY,
    display       TEXT NOT NULL,
    lang          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS agent_sessions (
    token_hash BYTEA PRIMARY KEY,
    agent      TEXT NOT NULL REFERENCES agents(name) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS handoffs (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    lang            TEXT,
    reason          TEXT NOT NULL,
    intent          TEXT,
    order_id        TEXT,
    verified        BOOLEAN NOT NULL DEFAULT FALSE,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL,
    agent           TEXT,
    created_at      BIGINT NOT NULL,
    first_reply_at  BIGINT,
    closed_at       BIGINT
);

CREATE INDEX IF NOT EXISTS handoffs_by_status ON handoffs (status, created_at);
CREATE INDEX IF NOT EXISTS handoffs_by_conversation ON handoffs (conversation_id, status);
CREATE INDEX IF NOT EXISTS handoffs_by_order ON handoffs (order_id, closed_at);

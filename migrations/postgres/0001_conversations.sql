-- Conversations and their transcripts (PostgreSQL; mirrors migrations/store/0001). The
-- dialogue state is JSON text (dialogue::Conversation), so the engine can evolve it
-- without migrations. `seq` orders a conversation's messages: its turns are serialised
-- across replicas (an advisory lock per conversation), so seq order is commit order.
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    lang_hint   TEXT,
    token_hash  BYTEA NOT NULL,
    state       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS messages (
    seq             BIGSERIAL PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    sender          TEXT NOT NULL CHECK (sender IN ('customer', 'bot', 'agent')),
    text            TEXT NOT NULL,
    buttons         TEXT,
    agent           TEXT,
    at              TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, seq);

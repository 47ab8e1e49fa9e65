-- Conversations and their transcripts. The conversation's dialogue state is JSON
-- (dialogue::Conversation), so the engine can evolve it without migrations.
CREATE TABLE IF NOT EXISTS conversations (
    id          TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    lang_hint   TEXT,
    token_hash  BLOB NOT NULL,
    state       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    sender          TEXT NOT NULL CHECK (sender IN ('customer', 'bot', 'agent')),
    text            TEXT NOT NULL,
    buttons         TEXT,
    agent           TEXT,
    at              TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, seq);

-- A conversation's webhook events leave in the order they were written: an entry is due
-- only when no older entry of its conversation is undelivered (store::sqlite orders by
-- rowid). This index finds a conversation's undelivered entries.
CREATE INDEX IF NOT EXISTS outbox_pending_by_conversation
    ON outbox (conversation_id) WHERE delivered_at IS NULL;

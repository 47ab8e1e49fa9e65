-- A conversation's webhook events leave in the order they were written (mirrors
-- migrations/store/0004): `seq` is the order of writing, and an entry is claimed only when
-- no older entry of its conversation is undelivered.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS seq BIGSERIAL;
CREATE INDEX IF NOT EXISTS outbox_pending_by_conversation
    ON outbox (conversation_id, seq) WHERE delivered_at IS NULL;

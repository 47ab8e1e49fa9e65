-- destek orders store, schema version 1.
--
-- Applied by src/orders/sqlite.rs when `PRAGMA user_version` is below 1, inside one
-- transaction together with setting user_version = 1. `IF NOT EXISTS` keeps it harmless
-- even if it ever runs twice.
--
-- One row per order. The scalar fields of `Order` are columns of their own; the two
-- nested parts are JSON text in the serde shape of `orders::Item` / `orders::Refund`:
--   items   a JSON array: [{"sku": "MUG-01", "name": "Seramik kupa", "qty": 2, "price": 149.9}]
--   refund  a JSON object or NULL: {"status": "issued", "amount": 89.99, "issued_at": "2025-01-02"}
-- Dates are kept as the text the shop gave (`YYYY-MM-DD` or an RFC 3339 timestamp).
CREATE TABLE IF NOT EXISTS orders (
    order_id           TEXT PRIMARY KEY NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('placed', 'processing', 'shipped',
                           'out_for_delivery', 'delivered', 'cancelled', 'returned')),
    email              TEXT NOT NULL,
    phone              TEXT NOT NULL,
    placed_at          TEXT NOT NULL,
    shipped_at         TEXT,
    delivered_at       TEXT,
    estimated_delivery TEXT,
    carrier            TEXT,
    tracking_number    TEXT,
    tracking_url       TEXT,
    items              TEXT NOT NULL DEFAULT '[]',
    total              REAL NOT NULL,
    currency           TEXT NOT NULL,
    refund             TEXT,
    payment_method     TEXT,
    address            TEXT
) STRICT;

-- Return requests started through the bot. `seq` numbers the returns of one order from 1;
-- the return id shown to the customer is `R-<order_id>-<seq>`.
CREATE TABLE IF NOT EXISTS returns (
    return_id  TEXT PRIMARY KEY NOT NULL,
    order_id   TEXT NOT NULL REFERENCES orders (order_id),
    seq        INTEGER NOT NULL,
    items      TEXT NOT NULL,   -- JSON array of the item SKUs or names the customer named
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (order_id, seq)
) STRICT;

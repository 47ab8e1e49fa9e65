//! `SqliteOrders`: the embedded default order source, one SQLite file holding the shop's
//! orders (seeded with the demo orders on first start, filled by `destek orders import`)
//! and the returns started through the bot. The schema is
//! `migrations/orders/0001_orders.sql`.

use super::csv::read_orders;
use super::{
    BackendError, BoxFuture, Contact, Order, OrderBackend, OrderStatus, ReturnCreated,
    newest_first, phone_key,
};
use jiff::civil::Date;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use super::csv::{COLUMNS as CSV_COLUMNS, CsvError};

/// The schema migrations in order; `PRAGMA user_version` counts how many have run.
const MIGRATIONS: [&str; 1] = [include_str!("../../migrations/orders/0001_orders.sql")];

/// How long a statement waits for another process's write lock (e.g. a running
/// `destek orders import`) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum OrdersError {
    #[error("order database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no order {0}")]
    NotFound(String),
    /// The order exists but its status forbids the change.
    #[error("{0}")]
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the CSV file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Invalid(#[from] CsvError),
    #[error(transparent)]
    Store(#[from] OrdersError),
}

/// Orders in a SQLite database.
///
/// rusqlite is synchronous, so the `OrderBackend` methods run their queries on tokio's
/// blocking pool. The connection sits behind a std `Mutex`: it is only ever locked on a
/// blocking thread (or by the synchronous CLI methods), never across an `.await`, and a
/// `Connection` is `Send` but not `Sync`, so some mutex is needed; tokio's would add
/// nothing but `blocking_lock` calls.
#[derive(Debug, Clone)]
pub struct SqliteOrders {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteOrders {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, OrdersError> {
        let conn = Connection::open(path)?;
        // WAL lets the bot keep reading while an import writes.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::setup(conn)
    }

    /// A private database that lives as long as this value: for tests and demos.
    pub fn open_in_memory() -> Result<Self, OrdersError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self, OrdersError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Every transaction here writes. Taking the write lock up front lets busy_timeout
        // wait for another writer; a deferred one that reads first fails at once instead.
        conn.set_transaction_behavior(TransactionBehavior::Immediate);
        migrate(&mut conn)?;
        Ok(SqliteOrders {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Inserts `demo_orders(today)` if the store has no order at all, so a fresh install
    /// has something to talk about and an operator's own orders are never touched.
    /// Returns how many orders were seeded.
    pub fn seed_demo_if_empty(&self, today: Date) -> Result<usize, OrdersError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let count: i64 = tx.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?;
        if count > 0 {
            return Ok(0);
        }
        let orders = super::demo_orders(today);
        for order in &orders {
            upsert(&tx, order)?;
        }
        tx.commit()?;
        Ok(orders.len())
    }

    /// Inserts `order`, or replaces the stored order with the same id.
    pub fn upsert(&self, order: &Order) -> Result<(), OrdersError> {
        upsert(&self.lock(), order)
    }

    /// Imports an orders CSV (format: `csv.rs` and `docs/orders.md`), replacing stored
    /// orders with the same id. All or nothing: one bad row and nothing is stored.
    /// Returns how many orders were imported.
    pub fn import_csv(&self, mut reader: impl Read) -> Result<usize, ImportError> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        let text = crate::textfile::utf8(bytes).map_err(|bad| CsvError {
            line: bad.line,
            column: None,
            message: format!(
                "column {}: byte 0x{:02x} is not UTF-8",
                bad.column, bad.byte
            ),
        })?;
        let orders = read_orders(&text)?;
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(OrdersError::from)?;
        for order in &orders {
            upsert(&tx, order)?;
        }
        tx.commit().map_err(OrdersError::from)?;
        Ok(orders.len())
    }

    /// Locks the connection. A panic while it was held cannot have left a transaction
    /// open (rusqlite rolls back on drop), so a poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` on the blocking pool and maps every failure to a `BackendError`.
    fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, OrdersError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, BackendError>> {
        let this = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || work(&mut this.lock()))
                .await
                .map_err(|e| BackendError(format!("order database task failed: {e}")))?
                .map_err(|e| BackendError(e.to_string()))
        })
    }
}

/// Applies the migrations the database has not seen yet, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    let applied: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (version, sql) in (1u32..).zip(MIGRATIONS) {
        if version <= applied {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}

fn upsert(conn: &Connection, order: &Order) -> Result<(), OrdersError> {
    let items = to_json(&order.items)?;
    let refund = order.refund.as_ref().map(to_json).transpose()?;
    conn.execute(
        "INSERT INTO orders (order_id, status, email, phone, placed_at, shipped_at,
             delivered_at, estimated_delivery, carrier, tracking_number, tracking_url,
             items, total, currency, refund, payment_method, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (order_id) DO UPDATE SET
             status = excluded.status, email = excluded.email, phone = excluded.phone,
             placed_at = excluded.placed_at, shipped_at = excluded.shipped_at,
             delivered_at = excluded.delivered_at,
             estimated_delivery = excluded.estimated_delivery, carrier = excluded.carrier,
             tracking_number = excluded.tracking_number,
             tracking_url = excluded.tracking_url, items = excluded.items,
             total = excluded.total, currency = excluded.currency, refund = excluded.refund,
             payment_method = excluded.payment_method, address = excluded.address",
        params![
            order.order_id,
            order.status.as_str(),
            order.email,
            order.phone,
            order.placed_at,
            order.shipped_at,
            order.delivered_at,
            order.estimated_delivery,
            order.carrier,
            order.tracking_number,
            order.tracking_url,
            items,
            order.total,
            order.currency,
            refund,
            order.payment_method,
            order.address,
        ],
    )?;
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, OrdersError> {
    serde_json::to_string(value)
        .map_err(|e| OrdersError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

fn find(conn: &Connection, order_id: &str) -> Result<Option<Order>, OrdersError> {
    let order = conn
        .query_row(
            "SELECT order_id, status, email, phone, placed_at, shipped_at, delivered_at,
                 estimated_delivery, carrier, tracking_number, tracking_url, items, total,
                 currency, refund, payment_method, address
             FROM orders WHERE order_id = ?1",
            [order_id],
            order_from_row,
        )
        .optional()?;
    Ok(order)
}

/// Orders by e-mail (any case), or by phone: candidates share the last four digits in
/// SQL, then the last ten digits must match.
fn by_contact(conn: &Connection, contact: &Contact) -> Result<Vec<Order>, OrdersError> {
    const COLUMNS: &str =
        "SELECT order_id, status, email, phone, placed_at, shipped_at, delivered_at,
                 estimated_delivery, carrier, tracking_number, tracking_url, items, total,
                 currency, refund, payment_method, address FROM orders";
    let (sql, arg) = match contact {
        Contact::Email(e) => (
            format!("{COLUMNS} WHERE lower(trim(email)) = lower(trim(?1))"),
            e.clone(),
        ),
        Contact::Phone(p) => {
            let key = phone_key(p);
            let last4: String = key.chars().skip(key.len().saturating_sub(4)).collect();
            // Phones are stored as typed: spaces, dashes, dots and brackets aside.
            (
                format!(
                    "{COLUMNS} WHERE replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '') LIKE '%' || ?1"
                ),
                last4,
            )
        }
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([arg], order_from_row)?;
    let mut found = Vec::new();
    for row in rows {
        let order = row?;
        if contact.matches(&order) {
            found.push(order);
        }
    }
    newest_first(&mut found);
    Ok(found)
}

fn order_from_row(row: &Row) -> rusqlite::Result<Order> {
    Ok(Order {
        order_id: row.get(0)?,
        status: status_from(row.get_ref(1)?.as_str()?).ok_or_else(|| bad_column(1, "status"))?,
        email: row.get(2)?,
        phone: row.get(3)?,
        placed_at: row.get(4)?,
        shipped_at: row.get(5)?,
        delivered_at: row.get(6)?,
        estimated_delivery: row.get(7)?,
        carrier: row.get(8)?,
        tracking_number: row.get(9)?,
        tracking_url: row.get(10)?,
        items: from_json(row.get_ref(11)?.as_str()?, 11)?,
        total: row.get(12)?,
        currency: row.get(13)?,
        refund: row
            .get_ref(14)?
            .as_str_or_null()?
            .map(|text| from_json(text, 14))
            .transpose()?,
        payment_method: row.get(15)?,
        address: row.get(16)?,
    })
}

fn status_from(text: &str) -> Option<OrderStatus> {
    let parsed: Result<_, serde::de::value::Error> =
        OrderStatus::deserialize(text.into_deserializer());
    parsed.ok()
}

/// Reads the JSON text of column `index`.
fn from_json<T: serde::de::DeserializeOwned>(text: &str, index: usize) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

fn bad_column(index: usize, name: &str) -> rusqlite::Error {
    let message = format!("unexpected value in column {name}");
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, message.into())
}

/// Checks the order exists and has not shipped: only such orders can be cancelled or
/// re-addressed.
fn check_unshipped(conn: &Connection, order_id: &str, refusal: &str) -> Result<(), OrdersError> {
    let order = find(conn, order_id)?.ok_or_else(|| OrdersError::NotFound(order_id.into()))?;
    match order.status {
        OrderStatus::Placed | OrderStatus::Processing => Ok(()),
        status => Err(OrdersError::Refused(format!(
            "order {order_id} {refusal} in status {}",
            status.as_str()
        ))),
    }
}

fn cancel(conn: &mut Connection, order_id: &str) -> Result<(), OrdersError> {
    let tx = conn.transaction()?;
    check_unshipped(&tx, order_id, "cannot be cancelled")?;
    tx.execute(
        "UPDATE orders SET status = 'cancelled' WHERE order_id = ?1",
        [order_id],
    )?;
    tx.commit()?;
    Ok(())
}

fn change_address(conn: &mut Connection, order_id: &str, address: &str) -> Result<(), OrdersError> {
    let tx = conn.transaction()?;
    check_unshipped(&tx, order_id, "cannot change its address")?;
    tx.execute(
        "UPDATE orders SET address = ?2 WHERE order_id = ?1",
        params![order_id, address],
    )?;
    tx.commit()?;
    Ok(())
}

fn start_return(
    conn: &mut Connection,
    order_id: &str,
    items: &[String],
    reason: &str,
) -> Result<ReturnCreated, OrdersError> {
    let tx = conn.transaction()?;
    if find(&tx, order_id)?.is_none() {
        return Err(OrdersError::NotFound(order_id.into()));
    }
    // One open return per order item: asking again for an item already on its way back
    // (or for the whole order again) gives the return that exists.
    let existing: Vec<(String, String)> = {
        let mut stmt =
            tx.prepare("SELECT return_id, items FROM returns WHERE order_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([order_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (return_id, json) in existing {
        let theirs: Vec<String> = from_json(&json, 1)?;
        let same =
            theirs.is_empty() || items.is_empty() || theirs.iter().any(|i| items.contains(i));
        if same {
            return Ok(ReturnCreated {
                label_url: Some(format!(
                    "https://shop.example/returns/{return_id}/label.pdf"
                )),
                return_id,
            });
        }
    }
    let seq: i64 = tx.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM returns WHERE order_id = ?1",
        [order_id],
        |r| r.get(0),
    )?;
    let return_id = format!("R-{order_id}-{seq}");
    tx.execute(
        "INSERT INTO returns (return_id, order_id, seq, items, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![return_id, order_id, seq, to_json(&items)?, reason],
    )?;
    tx.commit()?;
    Ok(ReturnCreated {
        // The embedded store prints no labels; the URL is where a shop would serve one.
        label_url: Some(format!(
            "https://shop.example/returns/{return_id}/label.pdf"
        )),
        return_id,
    })
}

impl OrderBackend for SqliteOrders {
    fn order<'a>(
        &'a self,
        order_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Order>, BackendError>> {
        let order_id = order_id.to_owned();
        self.run(move |conn| find(conn, &order_id))
    }

    fn cancel<'a>(&'a self, order_id: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        let order_id = order_id.to_owned();
        self.run(move |conn| cancel(conn, &order_id))
    }

    fn start_return<'a>(
        &'a self,
        order_id: &'a str,
        items: Vec<String>,
        reason: String,
    ) -> BoxFuture<'a, Result<ReturnCreated, BackendError>> {
        let order_id = order_id.to_owned();
        self.run(move |conn| start_return(conn, &order_id, &items, &reason))
    }

    fn change_address<'a>(
        &'a self,
        order_id: &'a str,
        address: String,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        let order_id = order_id.to_owned();
        self.run(move |conn| change_address(conn, &order_id, &address))
    }

    fn orders_by_contact<'a>(
        &'a self,
        contact: Contact,
    ) -> BoxFuture<'a, Result<Vec<Order>, BackendError>> {
        self.run(move |conn| by_contact(conn, &contact))
    }
}

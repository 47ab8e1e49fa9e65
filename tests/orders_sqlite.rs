//! `SqliteOrders` against real SQLite files: seeding, lookups, the change rules, CSV
//! import and persistence.

use destek::orders::sqlite::{ImportError, SqliteOrders};
use destek::orders::{Order, OrderBackend, OrderStatus, demo_orders};
use jiff::civil::{Date, date};
use std::path::PathBuf;

fn today() -> Date {
    date(2025, 3, 14)
}

/// A database file unique to this process and test, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(test: &str) -> Self {
        let name = format!("destek-orders-{}-{test}.sqlite", std::process::id());
        let db = TempDb(std::env::temp_dir().join(name));
        db.remove();
        db
    }

    fn open(&self) -> SqliteOrders {
        SqliteOrders::open(&self.0).expect("open the test database")
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

fn seeded() -> SqliteOrders {
    let orders = SqliteOrders::open_in_memory().expect("in-memory database");
    orders.seed_demo_if_empty(today()).expect("seed");
    orders
}

fn demo(id: &str) -> Order {
    demo_orders(today())
        .into_iter()
        .find(|o| o.order_id == id)
        .expect("a demo order")
}

async fn lookup(orders: &SqliteOrders, id: &str) -> Option<Order> {
    orders.order(id).await.expect("lookup")
}

#[tokio::test]
async fn demo_orders_are_seeded_on_first_open_only() {
    let db = TempDb::new("seed");
    let orders = db.open();
    let seeded = orders.seed_demo_if_empty(today()).ok();
    assert_eq!(seeded, Some(demo_orders(today()).len()));
    let mut changed = demo("48213977");
    changed.email = "new@example.com".into();
    orders.upsert(&changed).expect("upsert");
    drop(orders);

    let orders = db.open();
    assert_eq!(orders.seed_demo_if_empty(today()).ok(), Some(0));
    assert_eq!(lookup(&orders, "48213977").await, Some(changed));
}

#[tokio::test]
async fn every_demo_order_reads_back_equal() {
    let orders = seeded();
    for order in demo_orders(today()) {
        assert_eq!(
            lookup(&orders, &order.order_id).await.as_ref(),
            Some(&order)
        );
    }
}

#[tokio::test]
async fn an_unknown_order_is_none() {
    assert_eq!(lookup(&seeded(), "NOPE-1").await, None);
}

#[tokio::test]
async fn only_unshipped_orders_can_be_cancelled() {
    let orders = seeded();
    orders.cancel("SP-77410").await.expect("processing cancels");
    orders.cancel("773456").await.expect("placed cancels");
    let status = |o: Option<Order>| o.map(|o| o.status);
    assert_eq!(
        status(lookup(&orders, "SP-77410").await),
        Some(OrderStatus::Cancelled)
    );
    assert_eq!(
        status(lookup(&orders, "773456").await),
        Some(OrderStatus::Cancelled)
    );

    assert!(
        orders.cancel("SP-77410").await.is_err(),
        "already cancelled"
    );
    assert!(orders.cancel("48213977").await.is_err(), "shipped");
    assert!(orders.cancel("TR-55320").await.is_err(), "delivered");
    assert!(orders.cancel("NOPE-1").await.is_err(), "unknown");
    assert_eq!(
        status(lookup(&orders, "48213977").await),
        Some(OrderStatus::Shipped)
    );
}

#[tokio::test]
async fn return_ids_count_up_per_order_and_an_item_has_one_open_return() {
    let orders = seeded();
    let start = |id: &'static str, sku: &'static str| {
        let orders = orders.clone();
        async move {
            let items = vec![sku.to_owned()];
            orders.start_return(id, items, "broken".into()).await
        }
    };
    let first = start("TR-55320", "GLS-06").await.expect("return");
    assert_eq!(first.return_id, "R-TR-55320-1");
    assert!(first.label_url.is_some());
    // The same item again: the return that is already open, not a second one.
    assert_eq!(
        start("TR-55320", "GLS-06").await.map(|r| r.return_id),
        Ok("R-TR-55320-1".into())
    );
    assert_eq!(
        start("TR-55320", "OTHER-1").await.map(|r| r.return_id),
        Ok("R-TR-55320-2".into())
    );
    assert_eq!(
        start("334512", "GLS-06").await.map(|r| r.return_id),
        Ok("R-334512-1".into())
    );
    assert!(start("NOPE-1", "GLS-06").await.is_err());
}

#[tokio::test]
async fn the_address_changes_only_before_shipment() {
    let orders = seeded();
    let address = "Bağdat Cad. 12/3, Kadıköy, İstanbul".to_owned();
    orders
        .change_address("SP-77410", address.clone())
        .await
        .expect("processing order");
    let stored = lookup(&orders, "SP-77410").await.and_then(|o| o.address);
    assert_eq!(stored, Some(address));

    assert!(
        orders
            .change_address("48213977", "elsewhere".into())
            .await
            .is_err()
    );
    let shipped = lookup(&orders, "48213977").await.and_then(|o| o.address);
    assert_eq!(shipped, None);
}

const HEADER: &str = "order_id,status,email,phone,placed_at,shipped_at,delivered_at,\
    estimated_delivery,carrier,tracking_number,tracking_url,total,currency,payment_method,items";

#[tokio::test]
async fn csv_import_reads_quoted_commas_and_persian_text() {
    let csv = format!(
        "\u{feff}{HEADER}\r\n\
         IR-9001,shipped,neda@example.com,09121234567,2025-03-10,2025-03-12,,2025-03-16,\
         پست,PST123,https://track.example/pst123,\"1,250.00\",IRR,card,\
         \"SCF-1:شال، نخی:1:1250\"\r\n\
         TR-9002,processing,,0555 000 11 22,2025-03-13T09:30:00Z,,,,,,,59.8,try,,\
         \"MUG-01:Kupa \"\"XL\"\", beyaz:2:29.9;TSH-1:Tişört:1:0\"\r\n"
    );
    // "1,250.00" is not an amount: a dot is the only decimal separator.
    let orders = seeded();
    let err = orders
        .import_csv(csv.as_bytes())
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        err.as_ref().err().map(|e| e.starts_with("line 2: total:")),
        Some(true),
        "{err:?}"
    );

    let csv = csv.replace("\"1,250.00\"", "1250.00");
    assert_eq!(orders.import_csv(csv.as_bytes()).ok(), Some(2));

    let persian = lookup(&orders, "IR-9001").await.expect("imported");
    assert_eq!(persian.status, OrderStatus::Shipped);
    assert_eq!(persian.carrier.as_deref(), Some("پست"));
    assert_eq!(persian.delivered_at, None);
    assert_eq!(persian.items[0].name, "شال، نخی");
    assert_eq!(persian.total, 1250.0);

    let turkish = lookup(&orders, "TR-9002").await.expect("imported");
    assert_eq!(turkish.email, "");
    assert_eq!(turkish.currency, "TRY");
    assert_eq!(turkish.payment_method, None);
    let names: Vec<_> = turkish
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.qty))
        .collect();
    assert_eq!(names, [("Kupa \"XL\", beyaz", 2), ("Tişört", 1)]);
}

#[tokio::test]
async fn a_bad_line_is_named_and_nothing_is_imported() {
    // Line 3's quoted address spans two lines, so the bad record starts on line 5.
    let csv = format!(
        "{HEADER}\n\
         A-1,placed,a@example.com,,2025-03-01,,,,,,,10,USD,,X:Thing:1:10\n\
         A-2,placed,b@example.com,,2025-03-01,,,,,,,10,USD,,\"X:Thing,\nwith a newline:1:10\"\n\
         A-3,shiped,c@example.com,,2025-03-01,,,,,,,10,USD,,X:Thing:1:10\n"
    );
    let orders = seeded();
    let err = orders.import_csv(csv.as_bytes()).map(|_| ());
    assert_eq!(
        err.map_err(|e| e.to_string()),
        Err(
            "line 5: status: unknown status \"shiped\" (expected one of placed, processing, \
             shipped, out_for_delivery, delivered, cancelled, returned)"
                .into()
        )
    );
    assert_eq!(lookup(&orders, "A-1").await, None);
    assert_eq!(lookup(&orders, "A-2").await, None);
}

#[test]
fn csv_errors_name_line_and_column() {
    let orders = SqliteOrders::open_in_memory().expect("database");
    let import = |body: &str| {
        let csv = format!("{HEADER}\n{body}\n");
        match orders.import_csv(csv.as_bytes()) {
            Err(ImportError::Invalid(e)) => (e.line, e.column),
            other => panic!("expected a CSV error, got {other:?}"),
        }
    };
    let row = "A-1,placed,a@example.com,,2025-03-01,,,,,,,10,USD,,X:Thing:1:10";
    assert_eq!(
        import(&row.replace("2025-03-01", "01.03.2025")),
        (2, Some("placed_at"))
    );
    assert_eq!(
        import(&row.replace("USD", "dollars")),
        (2, Some("currency"))
    );
    assert_eq!(
        import(&row.replace("X:Thing:1:10", "X:Thing:none:10")),
        (2, Some("items"))
    );
    assert_eq!(
        import(&row.replace("a@example.com", "")),
        (2, Some("email"))
    );
    assert_eq!(import(&format!("{row}\n{row}")), (3, Some("order_id")));
    assert_eq!(import(&row.replace(",X:", ",,X:")), (2, None));
    let no_items = HEADER.replace(",items", "");
    assert!(matches!(
        orders.import_csv(no_items.as_bytes()),
        Err(ImportError::Invalid(e)) if e.line == 1 && e.message.contains("items")
    ));
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let db = TempDb::new("reopen");
    let csv =
        format!("{HEADER}\nK-1,placed,k@example.com,,2025-03-01,,,,,,,10,EUR,,X:Thing:1:10\n");
    {
        let orders = db.open();
        assert_eq!(orders.import_csv(csv.as_bytes()).ok(), Some(1));
        orders
            .start_return("K-1", vec![], "changed my mind".into())
            .await
            .expect("return");
        orders.cancel("K-1").await.expect("cancel");
    }
    let orders = db.open();
    let order = lookup(&orders, "K-1").await.expect("still there");
    assert_eq!(order.status, OrderStatus::Cancelled);
    // The open return survived too: asking again gives the same one.
    let next = orders.start_return("K-1", vec![], "again".into()).await;
    assert_eq!(next.map(|r| r.return_id), Ok("R-K-1-1".into()));
}

#[test]
fn the_example_in_the_docs_imports() {
    let doc = include_str!("../docs/orders.md");
    let example = doc
        .split_once("```csv\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(csv, _)| csv)
        .expect("a csv example in docs/orders.md");
    let orders = SqliteOrders::open_in_memory().expect("database");
    assert_eq!(
        orders
            .import_csv(example.as_bytes())
            .map_err(|e| e.to_string()),
        Ok(2)
    );
}

#[tokio::test]
async fn orders_are_found_by_email_or_phone_newest_first() {
    use destek::orders::Contact;
    let orders = SqliteOrders::open_in_memory().expect("in-memory database");
    let mut older = demo("48213977");
    older.order_id = "70000001".into();
    older.email = "Zeynep@Example.org".into();
    older.phone = "0541 276 33 18".into();
    older.placed_at = "2025-03-01".into();
    let mut newer = older.clone();
    newer.order_id = "70000002".into();
    newer.placed_at = "2025-03-08".into();
    let mut stranger = older.clone();
    stranger.order_id = "70000003".into();
    stranger.email = "someone@example.com".into();
    stranger.phone = "+90 555 276 33 18".into();
    for o in [&older, &newer, &stranger] {
        orders.upsert(o).expect("upsert");
    }
    let ids = |found: Vec<Order>| found.into_iter().map(|o| o.order_id).collect::<Vec<_>>();
    let by_email = orders
        .orders_by_contact(Contact::Email("zeynep@example.org".into()))
        .await
        .expect("by e-mail");
    assert_eq!(ids(by_email), ["70000002", "70000001"]);
    // The same last four digits on another number is not the same phone.
    let by_phone = orders
        .orders_by_contact(Contact::Phone("+90 541 276 3318".into()))
        .await
        .expect("by phone");
    assert_eq!(ids(by_phone), ["70000002", "70000001"]);
    let none = orders
        .orders_by_contact(Contact::Email("nobody@example.com".into()))
        .await
        .expect("unknown");
    assert!(none.is_empty());
}

//! `destek notify FILE.csv`: order events in bulk. A header row names the columns —
//! `order_id` and `event` are required; `event_id`, `estimated_delivery`, `tracking_url`
//! and `note` are optional — and every row is checked before any is recorded, so a bad
//! file records nothing and its errors name `file:line`. The CSV dialect is the orders
//! import's (RFC 4180, `orders::csv`).

use super::OrderEvent;
use super::event::{RawEvent, order_id};

/// One checked row: its line, the order and the event.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub line: usize,
    pub order_id: String,
    pub event: OrderEvent,
}

pub const COLUMNS: [&str; 6] = [
    "order_id",
    "event",
    "event_id",
    "estimated_delivery",
    "tracking_url",
    "note",
];

/// Reads and checks every row of `text` (the CSV file at `path`, for messages).
pub fn parse(path: &str, text: &str) -> Result<Vec<Row>, Vec<String>> {
    let records =
        crate::orders::csv::read_records(text).map_err(|e| vec![format!("{path}:{e}")])?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(vec![format!(
            "{path}:1: the file is empty; expected a header like order_id,event,event_id"
        )]);
    };
    let mut errors = Vec::new();
    let index = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    for h in &header {
        if !COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(h.trim())) {
            errors.push(format!(
                "{path}:1: unknown column `{h}` (known: {})",
                COLUMNS.join(", ")
            ));
        }
    }
    let (Some(order_col), Some(event_col)) = (index("order_id"), index("event")) else {
        errors.push(format!(
            "{path}:1: the header needs `order_id` and `event` columns"
        ));
        return Err(errors);
    };
    let optional: Vec<Option<usize>> = COLUMNS[2..].iter().map(|c| index(c)).collect();
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() != header.len() {
            errors.push(format!(
                "{path}:{line}: {} fields, the header has {}",
                fields.len(),
                header.len()
            ));
            continue;
        }
        let cell = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let order = match order_id(fields.get(order_col).map_or("", String::as_str)) {
            Ok(o) => o,
            Err(e) => {
                errors.push(format!("{path}:{line}: {e}"));
                continue;
            }
        };
        let raw = RawEvent {
            event: cell(Some(event_col)),
            event_id: cell(optional[0]),
            estimated_delivery: cell(optional[1]),
            tracking_url: cell(optional[2]),
            note: cell(optional[3]),
        };
        match raw.check() {
            Ok(event) => rows.push(Row {
                line,
                order_id: order,
                event,
            }),
            Err(e) => errors.push(format!("{path}:{line}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_and_errors_located() {
        let ok =
            "order_id,event,estimated_delivery\n48213977,delayed,2026-12-24\n55501234,shipped,\n";
        let rows = parse("e.csv", ok).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].event.estimated_delivery.as_deref(),
            Some("2026-12-24")
        );
        assert_eq!(rows[1].line, 3);
        let bad = "order_id,event\n48213977,lost\n,shipped\n";
        let errors = parse("e.csv", bad).unwrap_err();
        assert!(errors[0].starts_with("e.csv:2:"), "{errors:?}");
        assert!(errors[1].starts_with("e.csv:3:"), "{errors:?}");
        assert!(parse("e.csv", "order,event\n1,shipped\n").is_err());
    }
}

//! The orders CSV format read by `destek orders import FILE.csv`: an RFC 4180 record
//! reader and the mapping of each row to an [`Order`]. Storing the orders is
//! `sqlite.rs`'s job; this file only reads and validates.
//!
//! The format (also in `docs/orders.md`): UTF-8 (a leading BOM is ignored), comma
//! separated, a header row naming the columns of [`COLUMNS`] in any order, one order per
//! row. Fields containing commas, quotes or line breaks are enclosed in double quotes, a
//! quote inside one doubled (`"Kupa ""XL"", beyaz"`). `items` is `sku:name:qty:price`
//! entries separated by `;` (a name may contain `:` but not `;`). Empty optional fields
//! mean "not known". Errors name the line a record starts on and the column.

use super::{Item, Order, OrderStatus};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::HashMap;
use std::fmt;

/// The columns of the orders CSV, all required in the header.
pub const COLUMNS: [&str; 15] = [
    "order_id",
    "status",
    "email",
    "phone",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "estimated_delivery",
    "carrier",
    "tracking_number",
    "tracking_url",
    "total",
    "currency",
    "payment_method",
    "items",
];

/// A problem with the CSV file, located by line (1-based, the line a record starts on)
/// and, when it concerns one field, its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    pub line: usize,
    pub column: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "line {}: {}: {}", self.line, column, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

impl std::error::Error for CsvError {}

/// Reads every order of an orders CSV. Nothing is returned unless every row is valid.
pub fn read_orders(text: &str) -> Result<Vec<Order>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = records(text)?.into_iter();
    let header = records.next().ok_or_else(|| CsvError {
        line: 1,
        column: None,
        message: format!(
            "the file is empty; expected the header {}",
            COLUMNS.join(",")
        ),
    })?;
    let positions = header_positions(&header)?;
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut orders = Vec::new();
    for record in records {
        let row = Row {
            line: record.line,
            fields: &record.fields,
            positions: &positions,
        };
        let order = row.order()?;
        if let Some(first) = first_line.insert(order.order_id.clone(), record.line) {
            return Err(row.error(
                "order_id",
                format!("order {:?} is already on line {first}", order.order_id),
            ));
        }
        orders.push(order);
    }
    Ok(orders)
}

/// Where each of [`COLUMNS`] is in the file's rows.
type Positions = HashMap<&'static str, usize>;

fn header_positions(header: &Record) -> Result<Positions, CsvError> {
    let error = |message| CsvError {
        line: header.line,
        column: None,
        message,
    };
    let mut positions = Positions::new();
    for (at, name) in header.fields.iter().enumerate() {
        let name = name.trim();
        let Some(column) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(error(format!(
                "unknown column {name:?} in the header; expected {}",
                COLUMNS.join(",")
            )));
        };
        if positions.insert(column, at).is_some() {
            return Err(error(format!(
                "column {name:?} appears twice in the header"
            )));
        }
    }
    if let Some(missing) = COLUMNS.iter().find(|c| !positions.contains_key(*c)) {
        return Err(error(format!("the header lacks the column {missing:?}")));
    }
    Ok(positions)
}

/// One data row, read field by field with errors that name the line and the column.
struct Row<'a> {
    line: usize,
    fields: &'a [String],
    positions: &'a Positions,
}

impl Row<'_> {
    fn order(&self) -> Result<Order, CsvError> {
        if self.fields.len() != COLUMNS.len() {
            return Err(CsvError {
                line: self.line,
                column: None,
                message: format!(
                    "expected {} fields like the header, found {}",
                    COLUMNS.len(),
                    self.fields.len()
                ),
            });
        }
        let email = self.text("email").to_owned();
        let phone = self.text("phone").to_owned();
        if email.is_empty() && phone.is_empty() {
            // The dialogue verifies a customer by e-mail or phone before showing an order.
            return Err(self.error("email", "an order needs an email or a phone".into()));
        }
        let order_id = self.required("order_id")?;
        if let Some(c) = order_id.chars().find(|c| c.is_control()) {
            // A NUL or a line break in an id cannot be typed by a customer, and breaks logs
            // and exports.
            return Err(self.error(
                "order_id",
                format!("contains the control character {:?}", c),
            ));
        }
        Ok(Order {
            order_id: order_id.to_owned(),
            status: self.status()?,
            email,
            phone,
            placed_at: self.date("placed_at")?.unwrap_or_default(),
            shipped_at: self.date("shipped_at")?,
            delivered_at: self.date("delivered_at")?,
            estimated_delivery: self.date("estimated_delivery")?,
            carrier: self.optional("carrier"),
            tracking_number: self.optional("tracking_number"),
            tracking_url: self.optional("tracking_url"),
            items: self.items()?,
            total: self.amount("total", self.required("total")?)?,
            currency: self.currency()?,
            refund: None,
            payment_method: self.optional("payment_method"),
            address: None,
        })
    }

    fn error(&self, column: &'static str, message: String) -> CsvError {
        CsvError {
            line: self.line,
            column: Some(column),
            message,
        }
    }

    /// The trimmed field of `column`. The header check put every one of [`COLUMNS`] in
    /// `positions` and the row has as many fields as the header, so indexing cannot fail.
    fn text(&self, column: &'static str) -> &str {
        self.fields[self.positions[column]].trim()
    }

    fn required(&self, column: &'static str) -> Result<&str, CsvError> {
        match self.text(column) {
            "" => Err(self.error(column, "is empty".into())),
            value => Ok(value),
        }
    }

    fn optional(&self, column: &'static str) -> Option<String> {
        Some(self.text(column))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    fn status(&self) -> Result<OrderStatus, CsvError> {
        let value = self.required("status")?;
        let parsed: Result<OrderStatus, serde::de::value::Error> =
            OrderStatus::deserialize(value.into_deserializer());
        parsed.map_err(|_| {
            self.error(
                "status",
                format!(
                    "unknown status {value:?} (expected one of {})",
                    OrderStatus::ALL.join(", ")
                ),
            )
        })
    }

    /// A date column: `placed_at` is required, the others may be empty.
    fn date(&self, column: &'static str) -> Result<Option<String>, CsvError> {
        let value = if column == "placed_at" {
            self.required(column)?
        } else {
            self.text(column)
        };
        if value.is_empty() {
            return Ok(None);
        }
        let is_date =
            value.parse::<jiff::civil::Date>().is_ok() || value.parse::<jiff::Timestamp>().is_ok();
        if !is_date {
            return Err(self.error(
                column,
                format!("{value:?} is not a date (YYYY-MM-DD or an RFC 3339 timestamp)"),
            ));
        }
        Ok(Some(value.to_owned()))
    }

    fn amount(&self, column: &'static str, value: &str) -> Result<f64, CsvError> {
        match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(self.error(
                column,
                format!("{value:?} is not an amount (a number like 149.90, with a dot)"),
            )),
        }
    }

    fn currency(&self) -> Result<String, CsvError> {
        let value = self.required("currency")?;
        if value.len() == 3 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(value.to_ascii_uppercase())
        } else {
            Err(self.error(
                "currency",
                format!("{value:?} is not a three-letter currency code like TRY"),
            ))
        }
    }

    fn items(&self) -> Result<Vec<Item>, CsvError> {
        let entries = self.text("items").split(';').map(str::trim);
        entries
            .filter(|e| !e.is_empty())
            .map(|entry| self.item(entry))
            .collect()
    }

    /// `sku:name:qty:price`; the name is everything between the first and the last two
    /// colons, so it may contain colons itself.
    fn item(&self, entry: &str) -> Result<Item, CsvError> {
        let malformed = || self.error("items", format!("{entry:?} is not sku:name:qty:price"));
        let (sku, rest) = entry.split_once(':').ok_or_else(malformed)?;
        let (rest, price) = rest.rsplit_once(':').ok_or_else(malformed)?;
        let (name, qty) = rest.rsplit_once(':').ok_or_else(malformed)?;
        let (sku, name, qty, price) = (sku.trim(), name.trim(), qty.trim(), price.trim());
        if sku.is_empty() || name.is_empty() {
            return Err(malformed());
        }
        let qty = match qty.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(self.error(
                    "items",
                    format!("{entry:?}: quantity {qty:?} is not a whole number above 0"),
                ));
            }
        };
        Ok(Item {
            sku: sku.to_owned(),
            name: name.to_owned(),
            qty,
            price: self.amount("items", price)?,
        })
    }
}

/// One CSV record and the line it starts on.
#[derive(Debug, PartialEq)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// The records of any RFC 4180 text (a leading BOM ignored), each with the line it starts
/// on — for other CSV inputs (`destek notify`).
pub fn read_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(records(text)?
        .into_iter()
        .map(|r| (r.line, r.fields))
        .collect())
}

/// Splits `text` into records per RFC 4180, accepting `\n` as well as `\r\n` line ends.
/// Empty lines are skipped.
fn records(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut records = Vec::new();
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        loop {
            let (field, end) = field(&mut chars, &mut line, start)?;
            fields.push(field);
            if end == End::Record {
                break;
            }
        }
        if fields.len() > 1 || !fields[0].is_empty() {
            records.push(Record {
                line: start,
                fields,
            });
        }
    }
    Ok(records)
}

#[derive(PartialEq)]
enum End {
    Field,
    Record,
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Reads one field and the separator after it.
fn field(chars: &mut Chars, line: &mut usize, start: usize) -> Result<(String, End), CsvError> {
    let mut value = String::new();
    if chars.peek() != Some(&'"') {
        loop {
            let c = chars.next();
            if let Some(end) = separator(c, chars, line) {
                return Ok((value, end));
            }
            value.extend(c);
        }
    }
    chars.next();
    loop {
        match chars.next() {
            Some('"') if chars.peek() == Some(&'"') => {
                chars.next();
                value.push('"');
            }
            Some('"') => break,
            Some(c) => {
                if c == '\n' {
                    *line += 1;
                }
                value.push(c);
            }
            None => {
                return Err(CsvError {
                    line: start,
                    column: None,
                    message: "a quoted field is never closed".into(),
                });
            }
        }
    }
    let c = chars.next();
    match separator(c, chars, line) {
        Some(end) => Ok((value, end)),
        None => Err(CsvError {
            line: *line,
            column: None,
            message: format!(
                "{:?} after a closing quote; a quote inside a quoted field is written twice",
                c.unwrap_or_default()
            ),
        }),
    }
}

/// Whether `c` (just taken from `chars`) ends a field, and how. Counts lines.
fn separator(c: Option<char>, chars: &mut Chars, line: &mut usize) -> Option<End> {
    match c {
        None => Some(End::Record),
        Some(',') => Some(End::Field),
        Some('\n') => {
            *line += 1;
            Some(End::Record)
        }
        Some('\r') if chars.peek() == Some(&'\n') => {
            chars.next();
            *line += 1;
            Some(End::Record)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(line: usize, fields: &[&str]) -> Record {
        let fields = fields.iter().map(|f| f.to_string()).collect();
        Record { line, fields }
    }

    #[test]
    fn rfc4180_quoting() {
        let text = "a,\"b,c\",\"say \"\"hi\"\"\"\r\n\n\"two\nlines\",,x\n";
        let expected = vec![
            record(1, &["a", "b,c", "say \"hi\""]),
            record(3, &["two\nlines", "", "x"]),
        ];
        assert_eq!(records(text), Ok(expected));
    }

    #[test]
    fn last_record_needs_no_newline() {
        let expected = vec![record(1, &["a", "b"]), record(2, &["c", "d"])];
        assert_eq!(records("a,b\nc,d"), Ok(expected));
    }

    #[test]
    fn unclosed_quote_names_the_line_it_opened_on() {
        let err = records("a\n\"b,c\nd").map_err(|e| e.to_string());
        assert_eq!(err, Err("line 2: a quoted field is never closed".into()));
    }

    #[test]
    fn text_after_closing_quote_is_an_error() {
        assert!(records("\"a\"b,c").is_err());
    }
}

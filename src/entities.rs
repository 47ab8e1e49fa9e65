//! Entity extraction: finds order numbers, e-mail addresses and phone
//! numbers in a normalised message, using shop-configurable order formats
//! and context words.
//!
//! Pure: no I/O; an [`EntityExtractor`] is built once from rules and is then
//! a read-only function of the message.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalise::{Normalised, fold};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    OrderNumber,
    Email,
    Phone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
    /// Byte range in `Normalised::entity_text`.
    pub start: usize,
    pub end: usize,
}

/// Shop-configurable rules, written by operators in YAML.
#[derive(Debug, Clone, Default)]
pub struct EntityRules {
    /// Regexes a canonical order number must match in full (they are
    /// anchored here), e.g. `[0-9]{5,12}` or `[A-Z]{1,4}-?[0-9]{4,10}`.
    /// Canonical numbers have letters uppercased, so write `[A-Z]`.
    pub order_formats: Vec<String>,
    /// Folded words/phrases that, found right before a number, mean it is
    /// not an order number ("kapi no", "zip code", "کد پستی").
    pub not_order_before: Vec<String>,
    /// Folded words right after a number that make it not an order number
    /// (currencies, units: "tl", "تومن", "kg", "days").
    pub not_order_after: Vec<String>,
    /// Formats of short order numbers (a shop platform's `5522`, `#1001`): such a number
    /// counts only where the context says it is one — the bot asked for the number, a `#`
    /// or `№` is in front of it, or an order word is next to it ("siparişim 5522",
    /// "5522 nolu sipariş", "my order 5522") — and never before a unit or a time
    /// ("siparişim 2 gündür", "order 3 items").
    pub short_order_formats: Vec<String>,
}

/// Words right before a short number that make it an order number (folded at build).
const ORDER_WORDS_BEFORE: &[&str] = &[
    "siparis",
    "siparisim",
    "siparisimin",
    "siparisimi",
    "siparis no",
    "siparis numarasi",
    "siparis numaram",
    "siparis numarami",
    "siparis kodu",
    "siparis nr",
    "sip no",
    "my order",
    "the order",
    "this order",
    "your order",
    "order no",
    "order nr",
    "order number",
    "order num",
    "order id",
    "order is",
    "of order",
    "for order",
    "from order",
    "on order",
    "about order",
    "in order",
    "with order",
    "سفارش",
    "سفارشم",
    "شماره سفارش",
    "شماره سفارشم",
    "سفارش شماره",
    "کد سفارش",
];

/// Words right after a short number that make it an order number.
const ORDER_WORDS_AFTER: &[&str] = &[
    "nolu siparis",
    "nolu siparisim",
    "nolu siparisimi",
    "nolu siparisimin",
    "no lu siparis",
    "no lu siparisim",
    "numarali siparis",
    "numarali siparisim",
    "numarali siparisimi",
    "numarali siparisimin",
    "is my order number",
];

/// Words after a short number that make it a count, a time or a size, whatever is
/// before it: "siparişim 2 gündür gelmedi", "my order 3 items".
const QUANTITY_AFTER: &[&str] = &[
    "gun", "gundur", "gunluk", "gunde", "hafta", "haftadir", "ay", "aydir", "saat", "saattir",
    "dakika", "adet", "tane", "urun", "parca", "numara", "beden", "kere", "day", "days", "week",
    "weeks", "month", "months", "hour", "hours", "item", "items", "piece", "pieces", "pcs",
    "times", "size", "x", "روز", "هفته", "ماه", "ساعت", "تا", "عدد", "بار", "سایز",
];

#[derive(Debug)]
pub struct EntityExtractor {
    order_formats: Vec<Regex>,
    short_formats: Vec<Regex>,
    order_before: Vec<String>,
    order_after: Vec<String>,
    quantity_after: Vec<String>,
    not_before: Vec<String>,
    not_after: Vec<String>,
    before_words: usize,
    after_words: usize,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, exercised by the tests; it cannot fail at runtime.
    Regex::new(
        r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
    )
    .expect("e-mail pattern is valid")
});

const MIN_PHONE_DIGITS: usize = 10;
const MAX_PHONE_DIGITS: usize = 13;

impl EntityExtractor {
    /// Fails with the regex error and the index of the bad format, so
    /// `check` can point at the YAML line.
    /// A bad short format is reported after the order formats: index
    /// `order_formats.len() + i`.
    pub fn new(rules: &EntityRules) -> Result<EntityExtractor, (usize, regex::Error)> {
        let anchor = |formats: &[String], offset: usize| {
            let mut out = Vec::with_capacity(formats.len());
            for (i, fmt) in formats.iter().enumerate() {
                // Compiled alone first so a format like `a)|(b` is rejected
                // instead of slipping out of the anchoring group below.
                Regex::new(fmt).map_err(|e| (offset + i, e))?;
                let anchored = Regex::new(&format!("^(?:{fmt})$")).map_err(|e| (offset + i, e))?;
                out.push(anchored);
            }
            Ok(out)
        };
        let order_formats = anchor(&rules.order_formats, 0)?;
        let short_formats = anchor(&rules.short_order_formats, rules.order_formats.len())?;
        let fold_consts = |words: &[&str]| -> Vec<String> {
            words
                .iter()
                .map(|w| fold(w))
                .filter(|w| !w.is_empty())
                .collect()
        };
        let fold_all = |words: &[String]| -> Vec<String> {
            words
                .iter()
                .map(|w| fold(w))
                .filter(|w| !w.is_empty())
                .collect()
        };
        let not_before = fold_all(&rules.not_order_before);
        let not_after = fold_all(&rules.not_order_after);
        let max_words = |v: &[String]| v.iter().map(|p| p.split(' ').count()).max().unwrap_or(0);
        Ok(EntityExtractor {
            before_words: max_words(&not_before),
            after_words: max_words(&not_after),
            order_formats,
            short_formats,
            order_before: fold_consts(ORDER_WORDS_BEFORE),
            order_after: fold_consts(ORDER_WORDS_AFTER),
            quantity_after: fold_consts(QUANTITY_AFTER),
            not_before,
            not_after,
        })
    }

    /// Every entity in the message, in text order. `expecting` is the slot
    /// the bot just asked for, if any.
    pub fn extract(&self, n: &Normalised, expecting: Option<EntityKind>) -> Vec<Entity> {
        let text = n.entity_text.as_str();
        // Every e-mail address has an `@`; most messages have none, and looking for one
        // byte costs a fraction of running the pattern.
        let emails = text.contains('@').then(|| EMAIL.find_iter(text));
        let mut found: Vec<Entity> = emails
            .into_iter()
            .flatten()
            .map(|m| Entity {
                kind: EntityKind::Email,
                value: m.as_str().to_ascii_lowercase(),
                start: m.start(),
                end: m.end(),
            })
            .collect();
        // Phones go first so their digit groups are never read as orders.
        let groups = digit_groups(text);
        find_phones(text, &groups, expecting, &mut found);
        if !self.order_formats.is_empty() || !self.short_formats.is_empty() {
            self.find_orders(text, expecting, &mut found);
        }
        found.sort_by_key(|e| (e.start, e.end));
        found
    }

    fn is_order_format(&self, canonical: &str) -> bool {
        self.order_formats.iter().any(|r| r.is_match(canonical))
    }

    /// Whether `text[start..end]`, a short number, is an order number where it stands.
    fn short_context(&self, text: &str, t: &Token<'_>, expecting: Option<EntityKind>) -> bool {
        let after = &text[t.end..];
        let words_after: Vec<&str> = after.split_whitespace().take(4).collect();
        let folded_after = fold(&words_after.join(" "));
        if self
            .quantity_after
            .iter()
            .any(|q| starts_with_words(&folded_after, q))
        {
            return false;
        }
        if expecting == Some(EntityKind::OrderNumber) || t.lead != t.start {
            return true;
        }
        let mut before: Vec<&str> = text[..t.lead].split_whitespace().rev().take(3).collect();
        before.reverse();
        let folded_before = fold(&before.join(" "));
        self.order_before
            .iter()
            .any(|w| ends_with_words(&folded_before, w))
            || self
                .order_after
                .iter()
                .any(|w| starts_with_words(&folded_after, w))
    }

    fn find_orders(&self, text: &str, expecting: Option<EntityKind>, found: &mut Vec<Entity>) {
        let tokens = order_tokens(text);
        let mut i = 0;
        'tokens: while i < tokens.len() {
            let t = tokens[i];
            if overlaps(found, t.lead, t.end) {
                i += 1;
                continue;
            }
            // Customers split long numbers into groups ("7712 3345"); try
            // the longest run of space-separated groups first.
            if t.is_group() {
                let mut last = i;
                while last + 1 < tokens.len() {
                    let next = tokens[last + 1];
                    if !next.is_group()
                        || next.lead != next.start
                        || &text[tokens[last].end..next.start] != " "
                        || overlaps(found, next.start, next.end)
                    {
                        break;
                    }
                    last += 1;
                }
                for j in (i + 1..=last).rev() {
                    let joined: String = tokens[i..=j]
                        .iter()
                        .map(|g| &text[g.start..g.end])
                        .collect();
                    if self.is_order_format(&joined) && self.context_ok(text, t.lead, tokens[j].end)
                    {
                        found.push(Entity {
                            kind: EntityKind::OrderNumber,
                            value: joined,
                            start: t.lead,
                            end: tokens[j].end,
                        });
                        i = j + 1;
                        continue 'tokens;
                    }
                }
            }
            // NFKC turns "№" into "No", so "№12345" arrives as "No12345";
            // a shop prefix would be written in capitals ("NO12345").
            let stripped = ["No", "no"]
                .iter()
                .find_map(|p| t.text.strip_prefix(p))
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                .map(canonical_order)
                .filter(|rest| self.is_order_format(rest));
            let value = stripped
                .or_else(|| Some(canonical_order(t.text)).filter(|c| self.is_order_format(c)))
                .or_else(|| {
                    Some(canonical_order(t.text)).filter(|c| {
                        self.short_formats.iter().any(|r| r.is_match(c))
                            && self.short_context(text, &t, expecting)
                    })
                });
            if let Some(value) = value
                && self.context_ok(text, t.lead, t.end)
            {
                found.push(Entity {
                    kind: EntityKind::OrderNumber,
                    value,
                    start: t.lead,
                    end: t.end,
                });
            }
            i += 1;
        }
    }

    /// Whether the words and symbols around `text[start..end]` allow it to
    /// be an order number.
    fn context_ok(&self, text: &str, start: usize, end: usize) -> bool {
        let before = &text[..start];
        let after = &text[end..];
        let mut back = before.chars().rev();
        let mut fwd = after.chars();
        // Decimal money: "749,90", "89.99".
        if matches!(back.next(), Some('.' | ',')) && back.next().is_some_and(|c| c.is_ascii_digit())
        {
            return false;
        }
        if matches!(fwd.next(), Some('.' | ',')) && fwd.next().is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
        let is_money_sign = |c: char| matches!(c, '$' | '€' | '₺' | '£' | '¥');
        if before
            .trim_end()
            .chars()
            .next_back()
            .is_some_and(is_money_sign)
        {
            return false;
        }
        if after
            .trim_start()
            .chars()
            .next()
            .is_some_and(|c| c == '%' || is_money_sign(c))
        {
            return false;
        }
        if self.before_words > 0 {
            let mut words: Vec<&str> = before
                .split_whitespace()
                .rev()
                .take(self.before_words)
                .collect();
            words.reverse();
            let folded = fold(&words.join(" "));
            if self.not_before.iter().any(|p| ends_with_words(&folded, p)) {
                return false;
            }
        }
        if self.after_words > 0 {
            let words: Vec<&str> = after.split_whitespace().take(self.after_words).collect();
            let folded = fold(&words.join(" "));
            if self.not_after.iter().any(|p| starts_with_words(&folded, p)) {
                return false;
            }
        }
        true
    }
}

/// The last four digits of a phone, for verification.
pub fn phone_last4(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone
        .chars()
        .filter_map(|c| crate::normalise::ascii_digit(c).or(c.is_ascii_digit().then_some(c)))
        .collect();
    let tail = digits.get(digits.len().checked_sub(4)?..)?;
    Some(tail.iter().collect())
}

fn ends_with_words(folded: &str, phrase: &str) -> bool {
    folded
        .strip_suffix(phrase)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with(' '))
}

fn starts_with_words(folded: &str, phrase: &str) -> bool {
    folded
        .strip_prefix(phrase)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

fn overlaps(found: &[Entity], start: usize, end: usize) -> bool {
    found.iter().any(|e| e.start < end && start < e.end)
}

/// A maximal run of ASCII digits, as a byte range.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

fn digit_groups(text: &str) -> Vec<Group> {
    let bytes = text.as_bytes();
    let mut groups = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group { start, end: i });
        } else {
            i += 1;
        }
    }
    groups
}

/// Separators people put inside phone numbers: "(0555) 123-45.67".
fn is_phone_gap(gap: &str) -> bool {
    (1..=2).contains(&gap.len())
        && gap
            .bytes()
            .all(|b| matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
}

/// A number may start at `pos` unless it is glued to a word or another
/// number ("TR-0555", "12.0555", "#0555", "a@0555").
fn left_boundary_ok(text: &str, pos: usize) -> bool {
    let mut back = text[..pos].chars().rev();
    match back.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || matches!(c, '#' | '@' | '_') => false,
        Some('-' | '.' | ',' | '/') => !back.next().is_some_and(char::is_alphanumeric),
        Some(_) => true,
    }
}

fn right_boundary_ok(text: &str, pos: usize) -> bool {
    let mut fwd = text[pos..].chars();
    match fwd.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || matches!(c, '@' | '_') => false,
        Some('-' | '.' | ',' | '/') => !fwd.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

fn find_phones(
    text: &str,
    groups: &[Group],
    expecting: Option<EntityKind>,
    found: &mut Vec<Entity>,
) {
    let bytes = text.as_bytes();
    let expecting_phone = expecting == Some(EntityKind::Phone);
    let mut i = 0;
    while i < groups.len() {
        let g = groups[i];
        let mut lead = g.start;
        if lead > 0 && bytes[lead - 1] == b'(' {
            lead -= 1;
        }
        let plus = lead > 0 && bytes[lead - 1] == b'+';
        if plus {
            lead -= 1;
        }
        let starts_with_zero = bytes[g.start] == b'0';
        // While an order number is expected, a leading 0 is only trusted for
        // the usual 10-11 digit national forms; '+' is never an order.
        let max = if plus || expecting_phone {
            MAX_PHONE_DIGITS
        } else if starts_with_zero {
            if expecting == Some(EntityKind::OrderNumber) {
                11
            } else {
                MAX_PHONE_DIGITS
            }
        } else {
            0
        };
        if max == 0 || !left_boundary_ok(text, lead) || overlaps(found, lead, g.end) {
            i += 1;
            continue;
        }
        let mut digits = g.end - g.start;
        let mut best = None;
        let mut j = i;
        loop {
            if (MIN_PHONE_DIGITS..=max).contains(&digits) && right_boundary_ok(text, groups[j].end)
            {
                best = Some(j);
            }
            let Some(next) = groups.get(j + 1) else {
                break;
            };
            if !is_phone_gap(&text[groups[j].end..next.start]) {
                break;
            }
            digits += next.end - next.start;
            if digits > max {
                break;
            }
            j += 1;
        }
        match best {
            Some(j) if !overlaps(found, lead, groups[j].end) => {
                let end = groups[j].end;
                let mut value = String::with_capacity(MAX_PHONE_DIGITS + 1);
                if plus {
                    value.push('+');
                }
                value.extend(text[lead..end].chars().filter(char::is_ascii_digit));
                found.push(Entity {
                    kind: EntityKind::Phone,
                    value,
                    start: lead,
                    end,
                });
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    if expecting_phone {
        // The bot asked for the last four digits to verify the caller.
        for g in groups {
            if g.end - g.start == 4
                && left_boundary_ok(text, g.start)
                && right_boundary_ok(text, g.end)
                && !overlaps(found, g.start, g.end)
            {
                found.push(Entity {
                    kind: EntityKind::Phone,
                    value: text[g.start..g.end].to_owned(),
                    start: g.start,
                    end: g.end,
                });
            }
        }
    }
}

/// A run of letters, digits and inner hyphens containing a digit, with an
/// optional `#`/`№` in front (`lead` is where that marker starts).
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    lead: usize,
    start: usize,
    end: usize,
    text: &'a str,
}

impl Token<'_> {
    /// A pure digit group of at least three digits, joinable with its
    /// neighbours.
    fn is_group(&self) -> bool {
        self.text.len() >= 3 && self.text.bytes().all(|b| b.is_ascii_digit())
    }
}

fn order_tokens(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    // Every order number has a digit (ASCII by now); most messages have none.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return tokens;
    }
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !(c.is_alphanumeric() || c == '-') {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = chars.peek() {
            if !(c.is_alphanumeric() || c == '-') {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let raw = &text[start..end];
        let trimmed = raw.trim_start_matches('-');
        let start = start + (raw.len() - trimmed.len());
        let trimmed = trimmed.trim_end_matches('-');
        let end = start + trimmed.len();
        if !trimmed.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        let lead = match text[..start].chars().next_back() {
            Some(m @ ('#' | '№')) => start - m.len_utf8(),
            _ => start,
        };
        tokens.push(Token {
            lead,
            start,
            end,
            text: trimmed,
        });
    }
    tokens
}

fn canonical_order(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for c in token.chars() {
        match c {
            'ı' | 'i' | 'İ' => out.push('I'),
            _ if c.is_ascii() => out.push(c.to_ascii_uppercase()),
            _ => out.extend(c.to_uppercase()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::normalise;
    use proptest::prelude::*;

    fn rules() -> EntityRules {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
        EntityRules {
            order_formats: s(&[
                "[0-9]{5,12}",
                "[A-Z]{1,4}-?[0-9]{4,10}",
                "[0-9]{4}-[0-9]{4,6}",
                "[0-9]{3}-[0-9]{7}-[0-9]{4}",
                "ORD-[0-9]{4}-[0-9]{3,8}",
            ]),
            not_order_before: s(&[
                "kapı no",
                "daire",
                "posta kodu",
                "zip",
                "zip code",
                "hata kodu",
                "error code",
                "pelak",
                "کد پستی",
            ]),
            not_order_after: s(&[
                "tl",
                "lira",
                "tomen",
                "تومن",
                "تومان",
                "ریال",
                "هزار",
                "usd",
                "dollars",
                "kg",
                "gün",
                "days",
                "adet",
            ]),
            short_order_formats: Vec::new(),
        }
    }

    static EXTRACTOR: LazyLock<EntityExtractor> =
        LazyLock::new(|| match EntityExtractor::new(&rules()) {
            Ok(x) => x,
            Err((i, e)) => panic!("format {i}: {e}"),
        });

    fn extractor() -> &'static EntityExtractor {
        &EXTRACTOR
    }

    fn run(text: &str, expecting: Option<EntityKind>) -> Vec<(EntityKind, String)> {
        extractor()
            .extract(&normalise(text), expecting)
            .into_iter()
            .map(|e| (e.kind, e.value))
            .collect()
    }

    fn order(v: &str) -> Vec<(EntityKind, String)> {
        vec![(EntityKind::OrderNumber, v.to_owned())]
    }

    fn phone(v: &str) -> Vec<(EntityKind, String)> {
        vec![(EntityKind::Phone, v.to_owned())]
    }

    #[test]
    fn order_numbers_in_context() {
        assert_eq!(
            run("SİPARİŞİM NEREDE? SİPARİŞ NO 48213977", None),
            order("48213977")
        );
        assert_eq!(
            run("kargom gelmedi siparis #TR-20931", None),
            order("TR-20931")
        );
        assert_eq!(
            run("Merhaba, 2024-88172 nolu siparişimin durumu nedir?", None),
            order("2024-88172")
        );
        assert_eq!(run("sip no: 7712 3345", None), order("77123345"));
        assert_eq!(run("۴۵۸۲۱۹۳ سفارشم کجاست", None), order("4582193"));
        assert_eq!(run("٧٧٣٤٥٦", None), order("773456"));
        assert_eq!(
            run("order 114-3928475-2201", None),
            order("114-3928475-2201")
        );
        assert_eq!(
            run("SİPARİŞİMİ İPTAL ETMEK İSTİYORUM NO: SP-77410", None),
            order("SP-77410")
        );
        assert_eq!(run("#A77310 nerede", None), order("A77310"));
        assert_eq!(
            run("sp-77410.", Some(EntityKind::OrderNumber)),
            order("SP-77410")
        );
        assert_eq!(run("№12345", None), order("12345"));
        assert_eq!(
            run("ORD-2024-00123 geldi mi", None),
            order("ORD-2024-00123")
        );
    }

    #[test]
    fn entity_span_points_into_entity_text() {
        let n = normalise("siparis   #TR-20931 ok");
        let found = extractor().extract(&n, None);
        assert_eq!(found.len(), 1);
        assert_eq!(&n.entity_text[found[0].start..found[0].end], "#TR-20931");
    }

    #[test]
    fn phones() {
        for (text, value) in [
            ("0555 123 45 67", "05551234567"),
            ("05551234567", "05551234567"),
            ("+90 555 123 4567", "+905551234567"),
            ("(0555) 123-45-67", "05551234567"),
            ("۰۹۱۲۳۴۵۶۷۸۹", "09123456789"),
            ("+98 912 345 6789", "+989123456789"),
            ("+1 415 555 0123", "+14155550123"),
            ("numaram 0555.123.45.67 teşekkürler", "05551234567"),
        ] {
            assert_eq!(run(text, None), phone(value), "{text}");
        }
    }

    #[test]
    fn expected_phone_is_never_an_order() {
        assert_eq!(
            run("0555 123 45 67", Some(EntityKind::Phone)),
            phone("05551234567")
        );
        assert_eq!(
            run("0555 123 45 67", Some(EntityKind::OrderNumber)),
            phone("05551234567")
        );
        assert_eq!(
            run("5551234567", Some(EntityKind::Phone)),
            phone("5551234567")
        );
        assert_eq!(run("1234", Some(EntityKind::Phone)), phone("1234"));
        assert_eq!(run("1234", None), vec![]);
        assert_eq!(run("1234", Some(EntityKind::OrderNumber)), vec![]);
    }

    #[test]
    fn phone_and_order_together() {
        assert_eq!(
            run("siparis 48213977 tel 0555 123 45 67", None),
            vec![
                (EntityKind::OrderNumber, "48213977".to_owned()),
                (EntityKind::Phone, "05551234567".to_owned()),
            ]
        );
    }

    #[test]
    fn money_codes_and_addresses_are_not_orders() {
        for text in [
            "749,90 TL ödedim",
            "۴۵۰ هزار تومن",
            "۴۵۰۰۰۰ تومن",
            "$89.99",
            "$ 12345",
            "12345 $",
            "12345 ₺",
            "%50 indirim 12345%",
            "zip 10027",
            "zip code 10027",
            "kapı no 12 değil 21",
            "kapi no: 123456",
            "hata kodu 05",
            "hata kodu 500123",
            "کد پستی ۱۲۳۴۵۶۷۸۹۰",
            "15000 TL",
            "25000 adet",
            "1.250.000 lira",
        ] {
            assert_eq!(run(text, None), vec![], "{text}");
        }
    }

    fn run_short(text: &str, expecting: Option<EntityKind>) -> Vec<(EntityKind, String)> {
        let mut r = rules();
        r.short_order_formats = vec!["[1-9][0-9]{0,3}".to_owned()];
        let x = match EntityExtractor::new(&r) {
            Ok(x) => x,
            Err((i, e)) => panic!("format {i}: {e}"),
        };
        x.extract(&normalise(text), expecting)
            .into_iter()
            .map(|e| (e.kind, e.value))
            .collect()
    }

    #[test]
    fn short_numbers_count_where_the_context_says_so() {
        for (text, value) in [
            ("siparişim 5522 nerede", "5522"),
            ("SİPARİŞ NO: 5522", "5522"),
            ("5522 nolu siparişim gelmedi", "5522"),
            ("5522 numaralı siparişimi iptal edin", "5522"),
            ("where is my order 77?", "77"),
            ("change the address of order 5522", "5522"),
            ("order number 1001 please", "1001"),
            ("#1001 hasn't arrived", "1001"),
            ("سفارش ۵۵۲۲ کجاست", "5522"),
            ("شماره سفارش ۵۵۲۲", "5522"),
        ] {
            assert_eq!(run_short(text, None), order(value), "{text}");
        }
        // The bot asked for the number.
        assert_eq!(
            run_short("5522", Some(EntityKind::OrderNumber)),
            order("5522")
        );
        assert_eq!(
            run_short("it's 42", Some(EntityKind::OrderNumber)),
            order("42")
        );
        // Long numbers need no context, as before.
        assert_eq!(run_short("48213977", None), order("48213977"));
    }

    #[test]
    fn short_numbers_are_never_quantities_prices_sizes_or_addresses() {
        for text in [
            "5522",
            "I want 2 shirts in size 42",
            "siparişim 2 gündür gelmedi",
            "my order 3 items are missing",
            "siparişimde 2 ürün eksik",
            "42 numara ayakkabı",
            "kapı no 12",
            "Moda Cad. No 5 Kadıköy",
            "zip 1001",
            "it cost 149 TL",
            "$120 for order",
            "order 2 more mugs",
            "I'd like to order 2 more",
            "I ordered 3 mugs",
            "2 sipariş verdim",
            "سفارش ۲ تا",
        ] {
            assert_eq!(run_short(text, None), vec![], "{text}");
        }
        // While the bot waits for the number, a quantity is still a quantity.
        assert_eq!(run_short("3 items", Some(EntityKind::OrderNumber)), vec![]);
        // The last four digits of the phone, when asked for, are a phone.
        assert_eq!(run_short("1234", Some(EntityKind::Phone)), phone("1234"));
    }

    #[test]
    fn emails() {
        assert_eq!(
            run("my email is Ayse.Yilmaz@Example.com", None),
            vec![(EntityKind::Email, "ayse.yilmaz@example.com".to_owned())]
        );
        assert_eq!(
            run("mail: ali12345@shop.com.tr.", None),
            vec![(EntityKind::Email, "ali12345@shop.com.tr".to_owned())]
        );
    }

    #[test]
    fn bad_format_reports_its_index() {
        let mut r = rules();
        r.order_formats.push("[0-9".to_owned());
        assert!(matches!(EntityExtractor::new(&r), Err((5, _))));
        let r = EntityRules {
            order_formats: vec!["a)|(b".to_owned()],
            ..EntityRules::default()
        };
        assert!(matches!(EntityExtractor::new(&r), Err((0, _))));
    }

    #[test]
    fn no_formats_means_no_orders() {
        let x = EntityExtractor::new(&EntityRules::default());
        let found = x.map(|x| x.extract(&normalise("siparis 48213977"), None));
        assert!(matches!(found, Ok(v) if v.is_empty()));
    }

    #[test]
    fn last_four() {
        assert_eq!(phone_last4("+905551234567").as_deref(), Some("4567"));
        assert_eq!(phone_last4("0555 123 45 67").as_deref(), Some("4567"));
        assert_eq!(phone_last4("۰۹۱۲۳۴۵۶۷۸۹").as_deref(), Some("6789"));
        assert_eq!(phone_last4("123"), None);
        assert_eq!(phone_last4(""), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn extract_never_panics(s in any::<String>(), k in 0usize..4) {
            let x = extractor();
            let expecting = [None, Some(EntityKind::Phone), Some(EntityKind::OrderNumber), Some(EntityKind::Email)][k];
            let n = normalise(&s);
            for e in x.extract(&n, expecting) {
                prop_assert!(e.start < e.end && e.end <= n.entity_text.len());
                prop_assert!(n.entity_text.is_char_boundary(e.start) && n.entity_text.is_char_boundary(e.end));
            }
            let _ = phone_last4(&s);
        }

        #[test]
        fn extract_never_panics_on_number_like_text(
            s in "[0-9۰-۹٠-٩ #+().,:%$€₺@a-zA-Z\\-№İı]{0,40}",
            k in 0usize..3,
        ) {
            let x = extractor();
            let expecting = [None, Some(EntityKind::Phone), Some(EntityKind::OrderNumber)][k];
            let n = normalise(&s);
            let found = x.extract(&n, expecting);
            for w in found.windows(2) {
                prop_assert!(w[0].end <= w[1].start, "overlap in {:?}", found);
            }
        }
    }
}

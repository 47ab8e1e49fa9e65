//! Shop settings (the `shop:` section of `destek.yaml`): what answers about delivery,
//! shipping, payment and returns are made of. Templates read them as `{shop.*}` variables,
//! so an operator changes a fee in one place, not in three languages of text.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shop {
    pub name: String,
    /// Currency as customers see it in answers (`TL`, `₺`, `EUR`).
    pub currency: String,
    /// The ISO 4217 code of that currency (`TRY`): an order in it shows `currency` instead
    /// of the code, so every amount of a reply reads the same way.
    pub currency_code: String,
    pub shipping_fee: f64,
    /// Orders from this amount ship free.
    pub free_shipping_threshold: f64,
    pub delivery_days_min: u32,
    pub delivery_days_max: u32,
    /// Orders placed before this hour (shop time) leave the same day.
    pub same_day_cutoff_hour: u32,
    pub carriers: Vec<String>,
    /// Codes of the accepted payment methods; each needs a `payment_method_<code>` template
    /// giving its name in every language.
    pub payment_methods: Vec<String>,
    /// Most instalments offered on a card (0 or 1: none).
    pub installments: u32,
    /// Days after delivery within which a return is accepted.
    pub return_window_days: u32,
    /// How long a refund takes to reach the customer, per payment method code, as shown to
    /// customers (`"3–10"` business days).
    pub refund_days: BTreeMap<String, String>,
    /// Days a bank takes to release a pending card authorisation (a "double charge").
    pub payment_hold_days: String,
}

impl Default for Shop {
    fn default() -> Self {
        Shop {
            name: "Demo Shop".into(),
            currency: "TL".into(),
            currency_code: "TRY".into(),
            shipping_fee: 49.90,
            free_shipping_threshold: 500.0,
            delivery_days_min: 1,
            delivery_days_max: 3,
            same_day_cutoff_hour: 15,
            carriers: vec!["Yurtiçi Kargo".into(), "Aras Kargo".into()],
            payment_methods: vec![
                "card".into(),
                "cash_on_delivery".into(),
                "bank_transfer".into(),
                "wallet".into(),
            ],
            installments: 9,
            return_window_days: 14,
            refund_days: [
                ("card", "3–10"),
                ("cash_on_delivery", "3–5"),
                ("bank_transfer", "1–3"),
                ("paypal", "1–3"),
                ("wallet", "1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            payment_hold_days: "3–7".into(),
        }
    }
}

/// The `{shop.*}` variables templates may use. `shop.payment_methods` renders the method
/// names in the reply language; `shop.refund_days` is the default (card) duration.
pub const SHOP_VARIABLES: &[&str] = &[
    "shop.name",
    "shop.currency",
    "shop.shipping_fee",
    "shop.free_shipping_threshold",
    "shop.delivery_days_min",
    "shop.delivery_days_max",
    "shop.same_day_cutoff_hour",
    "shop.carriers",
    "shop.payment_methods",
    "shop.installments",
    "shop.return_window_days",
    "shop.payment_hold_days",
];

impl Shop {
    /// A `{shop.*}` variable, except `shop.payment_methods`, which needs templates.
    pub fn variable(&self, name: &str) -> Option<String> {
        Some(match name.strip_prefix("shop.")? {
            "name" => self.name.clone(),
            "currency" => self.currency.clone(),
            "shipping_fee" => self.shipping_fee.to_string(),
            "free_shipping_threshold" => self.free_shipping_threshold.to_string(),
            "delivery_days_min" => self.delivery_days_min.to_string(),
            "delivery_days_max" => self.delivery_days_max.to_string(),
            "same_day_cutoff_hour" => format!("{:02}:00", self.same_day_cutoff_hour),
            "carriers" => self.carriers.join(", "),
            "installments" => self.installments.to_string(),
            "return_window_days" => self.return_window_days.to_string(),
            "payment_hold_days" => self.payment_hold_days.clone(),
            _ => return None,
        })
    }

    /// How an order's currency code is shown: the shop's own currency as customers know
    /// it (`TL`), any other currency by its code.
    pub fn currency_for(&self, code: &str) -> String {
        if code.eq_ignore_ascii_case(&self.currency_code) || code == self.currency {
            self.currency.clone()
        } else {
            code.to_owned()
        }
    }

    /// How long a refund takes for a payment method, falling back to the card's.
    pub fn refund_days(&self, method: Option<&str>) -> Option<String> {
        method
            .and_then(|m| self.refund_days.get(m))
            .or_else(|| self.refund_days.get("card"))
            .cloned()
    }
}

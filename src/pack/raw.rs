//! The YAML as written: a serde mirror of intents and flows files, with a source location
//! on every value that `compile` may need to point at. No logic lives here.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;
use std::marker::PhantomData;

pub type S<T> = Spanned<T>;

/// Per-language values: `{tr: ..., fa: ..., en: ...}`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PerLang<T> {
    pub tr: Option<S<T>>,
    pub fa: Option<S<T>>,
    pub en: Option<S<T>>,
}

/// One file under `intents/` or `flows/`. Both kinds share one shape so a small pack may
/// keep everything in one file; by convention intents live in `intents/`, flows and
/// templates in `flows/`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub intents: Vec<S<Intent>>,
    #[serde(default)]
    pub flows: Vec<S<Flow>>,
    #[serde(default)]
    pub templates: Entries<S<String>, S<Template>>,
    pub matching: Option<S<Matching>>,
    pub entities: Option<S<Entities>>,
    /// Messages that are no intent: evidence against every intent.
    pub out_of_scope: Option<S<OutOfScope>>,
    pub conversation: Option<S<ConversationWords>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutOfScope {
    #[serde(default)]
    pub examples: PerLang<Vec<S<String>>>,
}

/// Evidence other than words: how much an entity in the message adds to an intent.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IntentEvidence {
    pub order_number: Option<S<f32>>,
}

/// `conversation:` — the small talk that steers a conversation rather than naming a
/// request: stalls, farewells, insults, "I don't have the number", spam.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConversationWords {
    /// "hang on", "bi sn": the customer is looking for what the bot asked for.
    #[serde(default)]
    pub stall: PerLang<Vec<S<String>>>,
    /// Words that, next to thanks, make the message a goodbye.
    #[serde(default)]
    pub farewell: PerLang<Vec<S<String>>>,
    /// Insults aimed at the bot, without a threat.
    #[serde(default)]
    pub insult: PerLang<Vec<S<String>>>,
    /// "I don't have my order number".
    #[serde(default)]
    pub no_number: PerLang<Vec<S<String>>>,
    /// "Are you a bot?": answered honestly, with a person one tap away.
    #[serde(default)]
    pub bot_question: PerLang<Vec<S<String>>>,
    /// Phrases of spam and scam pastes (links and emoji rows are spam without a list).
    #[serde(default)]
    pub spam: PerLang<Vec<S<String>>>,
    /// Words that give a reason for a return ("too small", "wrong colour"): a return
    /// asked for with one of them does not ask why again.
    #[serde(default)]
    pub return_reason: PerLang<Vec<S<String>>>,
    /// Words of a street address ("cad", "street", "خیابان"): numbers in a message with
    /// one are house numbers and postcodes, never a new order number.
    #[serde(default)]
    pub address: PerLang<Vec<S<String>>>,
    /// "Never mind", "boşver": the customer drops the request the bot is asking about.
    #[serde(default)]
    pub withdraw: PerLang<Vec<S<String>>>,
    /// "Last 4 digits", "son 4 hane": four digits next to one are the phone's last four,
    /// also in the message that gives the order number.
    #[serde(default)]
    pub last_digits: PerLang<Vec<S<String>>>,
    /// Sounds of thinking ("hmm", "hımm", "همم"): a message of only these (up to three)
    /// is neither a miss nor an answer.
    #[serde(default)]
    pub hesitate: PerLang<Vec<S<String>>>,
    /// Short messages that could mean several requests ("kargo", "still not here"): one
    /// clarifying question with a button per intent.
    #[serde(default)]
    pub clarify: Vec<S<ClarifyEntry>>,
    /// Intents answered in passing when a message also starts another request.
    #[serde(default)]
    pub side_answers: Vec<S<String>>,
    /// The intent a message that is only an order number starts.
    pub bare_order_number: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub id: S<String>,
    /// Button text when the bot asks which of two intents the customer meant.
    pub label: Option<PerLang<String>>,
    /// Higher wins when one message holds several requests (human-routed intents first).
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub keywords: PerLang<Vec<S<Keyword>>>,
    /// A message containing one of these never matches the intent.
    #[serde(default)]
    pub negative: PerLang<Vec<S<Keyword>>>,
    #[serde(default)]
    pub patterns: Vec<S<Pattern>>,
    #[serde(default)]
    pub examples: PerLang<Vec<S<String>>>,
    /// What an order number in the message adds to this intent.
    #[serde(default)]
    pub evidence: IntentEvidence,
    /// Reply with this template and stay idle.
    pub answer: Option<S<String>>,
    /// Start this flow.
    pub flow: Option<S<String>>,
    /// Hand the conversation to a person with this reason (after `answer`, if given).
    pub handoff: Option<S<String>>,
}

/// A keyword: `siparis` or `{text: iptal, weight: 0.5, whole_word: true}`.
#[derive(Debug)]
pub struct Keyword {
    pub text: String,
    pub weight: Option<f32>,
    pub whole_word: bool,
    pub decisive: bool,
}

impl<'de> Deserialize<'de> for Keyword {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Keyword;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a keyword string or {text, weight, whole_word, decisive}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Keyword, E> {
                Ok(Keyword {
                    text: v.to_owned(),
                    weight: None,
                    whole_word: false,
                    decisive: false,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Keyword, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Keyword, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keyword, A::Error> {
                let mut k = Keyword {
                    text: String::new(),
                    weight: None,
                    whole_word: false,
                    decisive: false,
                };
                let mut has_text = false;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "text" => {
                            k.text = map.next_value()?;
                            has_text = true;
                        }
                        "weight" => k.weight = Some(map.next_value()?),
                        "whole_word" => k.whole_word = map.next_value()?,
                        "decisive" => k.decisive = map.next_value()?,
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["text", "weight", "whole_word", "decisive"],
                            ));
                        }
                    }
                }
                if !has_text {
                    return Err(de::Error::missing_field("text"));
                }
                Ok(k)
            }
        }
        d.deserialize_any(V)
    }
}

/// A regex over the entity form of the message (original case, ASCII digits).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub regex: S<String>,
    #[serde(default = "one")]
    pub weight: f32,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Matching {
    /// An intent needs at least this score to match.
    pub threshold: Option<f32>,
    /// When the runner-up scores at least `(1 - ambiguity)` of the best, on the same words,
    /// the bot asks which was meant.
    pub ambiguity: Option<f32>,
    /// How the examples tier is weighed.
    pub similarity: Option<Similarity>,
    /// Out-of-scope examples closer than an intent's own by this much drop the intent.
    pub out_of_scope_margin: Option<f32>,
    /// Small talk gives way to a request with at least this score.
    pub request_over_small_talk: Option<f32>,
    /// A human-routed intent's share of the leader's score it needs to take the message.
    pub human_routed_share: Option<f32>,
    /// Read unknown words as the keyword word they are one typo away from (default true).
    pub typos: Option<bool>,
    /// Words that answer a yes/no confirmation.
    #[serde(default)]
    pub yes: PerLang<Vec<S<String>>>,
    #[serde(default)]
    pub no: PerLang<Vec<S<String>>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Similarity {
    /// Score per unit of cosine similarity above `floor`.
    pub weight: Option<f32>,
    /// Cosine similarity below this is no evidence.
    pub floor: Option<f32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Entities {
    #[serde(default)]
    pub order_number: OrderNumber,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OrderNumber {
    #[serde(default)]
    pub formats: Vec<S<String>>,
    #[serde(default)]
    pub not_before: Vec<S<String>>,
    #[serde(default)]
    pub not_after: Vec<S<String>>,
    /// Short order numbers that count only in context; unset: the order backend's.
    #[serde(default)]
    pub short_formats: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub id: S<String>,
    pub steps: Vec<S<Step>>,
}

/// One step. Exactly one of `ask`, `verify`, `lookup`, `branch`, `action`, `handoff`, `end`
/// or a lone `say` says what it does; `compile` enforces that.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Option<S<String>>,
    /// Ask for this slot.
    pub ask: Option<S<String>>,
    /// What the slot holds: `order_number`, `email`, `phone`, `text`.
    pub entity: Option<S<String>>,
    /// Verify the customer against the order whose number is in this slot.
    pub verify: Option<S<String>>,
    /// Load the order whose number is in this slot.
    pub lookup: Option<S<String>>,
    /// Branch on a variable, e.g. `order.status`.
    pub branch: Option<S<String>>,
    #[serde(default)]
    pub cases: Entries<S<String>, S<String>>,
    pub default: Option<S<String>>,
    /// Call the order backend: `cancel_order` or `start_return`.
    pub action: Option<S<String>>,
    pub confirm: Option<S<String>>,
    /// Step to go to when the customer declines the confirmation.
    pub on_no: Option<S<String>>,
    pub handoff: Option<S<String>>,
    #[serde(default)]
    pub end: bool,
    pub say: Option<S<String>>,
    pub prompt: Option<S<String>>,
    pub reprompt: Option<S<String>>,
    pub max_attempts: Option<S<u32>>,
    pub next: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub tr: Option<S<String>>,
    pub fa: Option<S<String>>,
    pub en: Option<S<String>>,
    #[serde(default)]
    pub buttons: Vec<S<Button>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Button {
    pub payload: S<String>,
    pub label: PerLang<String>,
}

/// A YAML mapping kept in file order, with the location of every key (the parser already
/// rejects duplicate keys within one mapping).
#[derive(Debug)]
pub struct Entries<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Entries<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EV<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for EV<K, V> {
            type Value = Entries<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(EV(PhantomData))
    }
}

/// One ambiguous short message: its words, and the intents to offer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClarifyEntry {
    pub words: PerLang<Vec<S<String>>>,
    pub ask: Vec<S<String>>,
}

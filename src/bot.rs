//! The compiled bot: an immutable snapshot of intents, flows and templates, built once from
//! the YAML by `pack::compile` and shared by every conversation. A reload builds a new one.

use crate::entities::{EntityExtractor, EntityKind};
use crate::lang::Lang;
use crate::matcher::Matcher;
use std::collections::HashMap;

#[derive(Debug)]
pub struct Bot {
    pub intents: Vec<Intent>,
    pub flows: Vec<Flow>,
    pub templates: HashMap<String, Template>,
    pub matcher: Matcher,
    pub entities: EntityExtractor,
    pub default_lang: Lang,
    pub shop: crate::shop::Shop,
    /// Folded words that answer a confirmation, per language.
    pub yes: Vec<String>,
    pub no: Vec<String>,
    /// Small talk that steers a conversation (`conversation:` in the pack).
    pub words: ConversationWords,
    pub(crate) intent_index: HashMap<String, usize>,
    pub(crate) flow_index: HashMap<String, usize>,
}

impl Bot {
    pub fn intent(&self, id: &str) -> Option<usize> {
        self.intent_index.get(id).copied()
    }

    pub fn flow(&self, id: &str) -> Option<&Flow> {
        self.flow_index.get(id).map(|&i| &self.flows[i])
    }
}

#[derive(Debug)]
pub struct Intent {
    pub id: String,
    pub label: [Option<String>; 3],
    pub priority: i32,
    pub route: Route,
    pub examples: Vec<(Lang, String)>,
}

impl Intent {
    pub fn label(&self, lang: Lang) -> &str {
        self.label[lang.index()].as_deref().unwrap_or(&self.id)
    }
}

/// What a matched intent does.
#[derive(Debug, Clone)]
pub enum Route {
    /// Say a template.
    Answer(String),
    /// Start a flow (index into `Bot::flows`).
    Flow(usize),
    /// Hand off to a person, saying a template first if given.
    Handoff {
        reason: String,
        answer: Option<String>,
    },
}

#[derive(Debug)]
pub struct Flow {
    pub id: String,
    pub steps: Vec<Step>,
    pub(crate) step_index: HashMap<String, usize>,
}

impl Flow {
    pub fn step(&self, id: &str) -> Option<usize> {
        self.step_index.get(id).copied()
    }
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    /// Where to go after this step; `None` means the step that follows in the file.
    pub next: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    Entity(EntityKind),
    /// A yes or a no (words of `matching.yes`/`matching.no`, or the `yes`/`no` buttons),
    /// stored as `yes` or `no`.
    YesNo,
    /// Free text: the whole message (an address, a reason), or the payload of a button
    /// the prompt offers.
    Text,
    /// One item of the verified order, offered as a button per item (`item:<sku>`) or
    /// named in words; stored as the item's name. An order of one item fills it at once.
    OrderItem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    CancelOrder,
    /// Uses the slot `return_reason` when the flow asked for it.
    StartReturn,
    /// Uses the slot `new_address`, which the flow must ask for first.
    ChangeAddress,
}

#[derive(Debug)]
pub enum StepKind {
    Ask {
        slot: String,
        kind: SlotKind,
        prompt: String,
        reprompt: Option<String>,
        max_attempts: u32,
    },
    Verify {
        slot: String,
        prompt: String,
        reprompt: Option<String>,
        max_attempts: u32,
    },
    Lookup {
        slot: String,
    },
    Branch {
        var: String,
        cases: Vec<(String, usize)>,
        default: Option<usize>,
    },
    Action {
        action: ActionKind,
        slot: String,
        /// A yes/no question asked first; without it the action runs at once.
        confirm: Option<String>,
        on_no: Option<usize>,
    },
    Say {
        template: String,
    },
    Handoff {
        reason: String,
        say: Option<String>,
    },
    End {
        say: Option<String>,
    },
}

#[derive(Debug)]
pub struct Template {
    pub text: [String; 3],
    pub buttons: Vec<Button>,
}

#[derive(Debug, Clone)]
pub struct Button {
    pub payload: String,
    pub label: [String; 3],
}

/// Templates the engine itself says; every pack must define them.
pub const SYSTEM_TEMPLATES: &[(&str, &str)] = &[
    ("fallback", "no intent matched"),
    ("clarify", "two intents scored too close to call"),
    ("handoff", "the conversation goes to a person"),
    (
        "handoff_waiting",
        "the customer writes while waiting for a person",
    ),
    ("backend_down", "the order backend could not answer"),
    ("flow_restart", "a conversation's flow vanished in a reload"),
    (
        "resume_ask",
        "asking whether to go on with an interrupted request",
    ),
    ("message_too_long", "a message over the length limit"),
    ("not_text", "a message that is not text"),
];

/// Variables a template may use besides the slots that flows ask for.
pub const ORDER_VARIABLES: &[&str] = &[
    "order.order_id",
    "order.status",
    "order.placed_at",
    "order.shipped_at",
    "order.delivered_at",
    "order.estimated_delivery",
    "order.carrier",
    "order.tracking_number",
    "order.tracking_url",
    "order.items",
    "order.total",
    "order.currency",
    "order.refund.status",
    "order.refund.amount",
    "order.refund.issued_at",
    "order.payment_method",
    "order.late",
    "order.return_open",
    "order.return_deadline",
    "order.refund_days",
    "return.return_id",
    "return.label_url",
    "return.item",
    "return.amount",
    "intent_a",
    "intent_b",
    "method",
    "handoff.available",
    "handoff.wait_minutes",
    "handoff.opens_at",
    "next_request",
    "next_order",
];

/// Folded phrases, each with the language it is written in.
/// A list of folded phrases, found as whole words through one automaton.
#[derive(Debug, Default)]
pub struct Phrases {
    list: Vec<(Lang, String)>,
    automaton: Option<aho_corasick::AhoCorasick>,
    /// This list's place in `ConversationWords::scan` (`None`: not in it).
    slot: Option<usize>,
}

impl Phrases {
    pub fn new(list: Vec<(Lang, String)>) -> Phrases {
        let automaton = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(list.iter().map(|(_, p)| p.as_str()))
            .ok();
        Phrases {
            list,
            automaton,
            slot: None,
        }
    }

    /// The folded phrases, in their listed order.
    pub fn phrases(&self) -> &[(Lang, String)] {
        &self.list
    }

    /// This list's place in `ConversationWords::scan`.
    pub fn slot(&self) -> Option<usize> {
        self.slot
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The language of the first listed phrase found in `folded` as whole words.
    pub fn find(&self, folded: &str) -> Option<Lang> {
        let automaton = self.automaton.as_ref()?;
        let text = folded.as_bytes();
        automaton
            .find_overlapping_iter(folded)
            .filter(|m| {
                (m.start() == 0 || text[m.start() - 1] == b' ')
                    && (m.end() == text.len() || text[m.end()] == b' ')
            })
            .map(|m| m.pattern().as_usize())
            .min()
            .and_then(|i| self.list.get(i))
            .map(|(lang, _)| *lang)
    }
}

/// The `conversation:` section, compiled: phrases folded like messages are.
#[derive(Debug, Default)]
pub struct ConversationWords {
    pub stall: Phrases,
    pub farewell: Phrases,
    pub insult: Phrases,
    pub no_number: Phrases,
    pub bot_question: Phrases,
    pub spam: Phrases,
    pub return_reason: Phrases,
    pub address: Phrases,
    pub withdraw: Phrases,
    pub last_digits: Phrases,
    /// Sounds of thinking, folded and with each run of a repeated letter cut to one
    /// ("hmmm" → "hm"); matched word by word, so not in `scan`.
    pub hesitate: Phrases,
    /// Short ambiguous messages, each with the intent ids to offer as buttons.
    pub clarify: Vec<(Phrases, Vec<String>)>,
    /// Intent ids answered in passing next to a request the message starts.
    pub side_answers: Vec<String>,
    pub bare_order_number: Option<String>,
    /// The matcher's threshold: a side answer needs this much evidence.
    pub threshold: f32,
    /// Every list above in one automaton (`indexed`), so a message is scanned once.
    pub scan: crate::phrase_scan::PhraseScan,
}

impl ConversationWords {
    /// The language of the first phrase of `list` that `folded` contains as whole words.
    pub fn find(list: &Phrases, folded: &str) -> Option<Lang> {
        list.find(folded)
    }

    /// Every phrase list, in a fixed order (their slots in `scan`).
    pub fn lists(&self) -> Vec<&Phrases> {
        let mut all = vec![
            &self.stall,
            &self.farewell,
            &self.insult,
            &self.no_number,
            &self.bot_question,
            &self.spam,
            &self.return_reason,
            &self.address,
            &self.withdraw,
            &self.last_digits,
        ];
        all.extend(self.clarify.iter().map(|(p, _)| p));
        all
    }

    /// Numbers the lists and builds `scan` over them.
    pub fn indexed(mut self) -> ConversationWords {
        let mut slot = 0;
        let mut number = |p: &mut Phrases| {
            p.slot = (slot < crate::phrase_scan::MAX_LISTS).then_some(slot);
            slot += 1;
        };
        number(&mut self.stall);
        number(&mut self.farewell);
        number(&mut self.insult);
        number(&mut self.no_number);
        number(&mut self.bot_question);
        number(&mut self.spam);
        number(&mut self.return_reason);
        number(&mut self.address);
        number(&mut self.withdraw);
        number(&mut self.last_digits);
        for (p, _) in &mut self.clarify {
            number(p);
        }
        self.scan = crate::phrase_scan::PhraseScan::new(&self.lists());
        self
    }
}

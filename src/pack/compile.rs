//! YAML → `Bot`. Parses every file, then checks everything it can at once (ids, references,
//! translations, template variables, regexes) and reports each problem with its location.
//! A pack with errors yields no `Bot`: a running bot keeps its old snapshot.

use super::Source;
use super::diag::{Diagnostic, Diagnostics, yaml_message};
use super::raw::{self, PerLang, S};
use crate::bot::{
    ActionKind, Bot, Button, Flow, Intent, ORDER_VARIABLES, SYSTEM_TEMPLATES, SlotKind, Step,
    StepKind, Template,
};
use crate::entities::{EntityExtractor, EntityKind, EntityRules};
use crate::lang::Lang;
use crate::matcher::Matcher;
use crate::normalise::fold;
use crate::shop::{SHOP_VARIABLES, Shop};
use serde_saphyr::Location;
use std::collections::{HashMap, HashSet};

/// The result of compiling a pack: the bot when there were no errors, and every
/// diagnostic (errors and warnings) sorted for display.
#[derive(Debug)]
pub struct Compiled {
    pub bot: Option<Bot>,
    pub diagnostics: Vec<Diagnostic>,
}

pub const DEFAULT_THRESHOLD: f32 = 1.0;
pub const DEFAULT_AMBIGUITY: f32 = 0.2;
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Order-number formats used when a pack does not configure its own.
const DEFAULT_ORDER_FORMATS: &[&str] = &[
    "[0-9]{5,12}",
    "[A-Z]{1,4}-?[0-9]{4,10}",
    "[0-9]{4}-[0-9]{4,6}",
    "[0-9]{3}-[0-9]{7}-[0-9]{4}",
    "[A-Z]{2,4}-[0-9]{4}-[0-9]{3,8}",
];

pub(super) struct Parsed<'a> {
    pub(super) path: &'a str,
    pub(super) file: raw::File,
}

/// What a pack is compiled against besides its own files.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The reply language when nothing else decides it.
    pub default_lang: Lang,
    pub shop: Shop,
    /// Short order-number formats the order backend brings (WooCommerce `5522`, Shopify
    /// `#1001`), used unless the pack sets `entities.order_number.short_formats`.
    pub short_order_formats: Vec<String>,
}

/// Most YAML nodes (and parser events) one pack file may hold: a file of 10,000 intents with
/// their keywords and examples fits; a hostile file still meets a bound.
pub const MAX_YAML_NODES: usize = 5_000_000;

fn parse_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = MAX_YAML_NODES;
    budget.max_events = 2 * MAX_YAML_NODES;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Below this many bytes of YAML one thread reads every file.
const MIN_PARALLEL_BYTES: usize = 1 << 20;

/// One file read: its contents, or where and why it is not a pack file.
fn parse(src: &Source) -> Result<raw::File, (Location, String)> {
    serde_saphyr::from_str_with_options::<raw::File>(&src.text, parse_options())
        .map_err(|e| (e.location().unwrap_or(Location::UNKNOWN), yaml_message(&e)))
}

/// Every file read, in order; a large pack's files on two threads, each reading a run of
/// them (the cut that shares their bytes most evenly).
fn parse_all(sources: &[Source]) -> Vec<Result<raw::File, (Location, String)>> {
    let total: usize = sources.iter().map(|s| s.text.len()).sum();
    if sources.len() < 2
        || total < MIN_PARALLEL_BYTES
        || !std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
    {
        return sources.iter().map(parse).collect();
    }
    let (mut best, mut cut, mut before) = (usize::MAX, 0, 0);
    for (i, src) in sources.iter().enumerate() {
        let worst = before.max(total - before);
        if worst < best {
            (best, cut) = (worst, i);
        }
        before += src.text.len();
    }
    let (first, second) = sources.split_at(cut);
    std::thread::scope(|s| {
        let other = s.spawn(|| second.iter().map(parse).collect::<Vec<_>>());
        let mut all: Vec<_> = first.iter().map(parse).collect();
        // The other thread cannot panic (no input reaches one); if it did, read them here.
        all.extend(
            other
                .join()
                .unwrap_or_else(|_| second.iter().map(parse).collect()),
        );
        all
    })
}

/// Compiles a pack.
pub fn compile(sources: &[Source], options: &Options) -> Compiled {
    let mut d = Diagnostics::default();
    let mut parsed = Vec::with_capacity(sources.len());
    for (src, file) in sources.iter().zip(parse_all(sources)) {
        match file {
            Ok(file) => parsed.push(Parsed {
                path: &src.path,
                file,
            }),
            Err((at, message)) => d.error(&src.path, at, message),
        }
    }
    if sources.is_empty() {
        d.error("<pack>", Location::UNKNOWN, "no YAML files found");
    }
    let bot = Compiler {
        d: &mut d,
        parsed: &parsed,
        examples: Vec::new(),
    }
    .run(options);
    let bot = if d.has_errors() { None } else { bot };
    // What the compile built and does not keep goes back to the OS before the pack serves.
    drop(parsed);
    crate::heap::give_back();
    Compiled {
        bot,
        diagnostics: d.sorted(),
    }
}

pub(super) struct Compiler<'a, 'p> {
    pub(super) d: &'a mut Diagnostics,
    pub(super) parsed: &'p [Parsed<'p>],
    /// Every example (and out-of-scope example) as written: (class, language, text),
    /// folded all at once for the matcher.
    pub(super) examples: Vec<(usize, Lang, &'p str)>,
}

/// Where something was defined, for "first defined at" messages.
pub(super) fn at(path: &str, loc: Location) -> String {
    format!("{}:{}:{}", path, loc.line(), loc.column())
}

pub(super) fn per_lang<T>(p: &PerLang<T>) -> [(Lang, Option<&S<T>>); 3] {
    [
        (Lang::Tr, p.tr.as_ref()),
        (Lang::Fa, p.fa.as_ref()),
        (Lang::En, p.en.as_ref()),
    ]
}

impl<'p> Compiler<'_, 'p> {
    fn run(&mut self, options: &Options) -> Option<Bot> {
        let templates = self.templates();
        self.check_payment_method_names(&templates, &options.shop);
        let slot_names = self.slot_names();
        self.check_template_variables(&slot_names);
        super::blanks::check(
            self.parsed.iter().map(|p| (p.path, &p.file.templates)),
            self.d,
        );
        let (flows, flow_index) = self.flows(&templates);
        let (intents, intent_index, mut spec, pattern_at) = self.intents(&templates, &flow_index);
        self.check_system_templates(&templates);
        let (tuning, yes, no) = self.matching();
        self.out_of_scope(&mut spec, intents.len());
        spec.examples = super::intents::fold_examples(&std::mem::take(&mut self.examples));
        spec.known_words.extend(
            yes.iter()
                .chain(&no)
                .flat_map(|w| w.split(' '))
                .map(str::to_owned),
        );
        let words = super::conversation::compile(
            self.parsed
                .iter()
                .map(|p| (p.path, p.file.conversation.as_ref())),
            &|id| intent_index.contains_key(id),
            tuning.threshold,
            self.d,
        );
        let entities = self.entities(options)?;

        spec.priorities = intents.iter().map(|i: &Intent| i.priority).collect();
        let matcher = match Matcher::new(spec, tuning) {
            Ok(m) => m,
            Err((i, e)) => {
                let (path, loc) = pattern_at
                    .get(i)
                    .cloned()
                    .unwrap_or(("<pack>", Location::UNKNOWN));
                self.d.error(
                    path,
                    loc,
                    format!("regex does not compile: {}", regex_message(&e)),
                );
                return None;
            }
        };
        let compiled_templates = templates
            .into_iter()
            .filter_map(|(id, t)| t.map(|t| (id, t)))
            .collect();
        Some(Bot {
            intents,
            flows,
            templates: compiled_templates,
            matcher,
            entities,
            default_lang: options.default_lang,
            shop: options.shop.clone(),
            yes,
            no,
            words,
            intent_index,
            flow_index,
        })
    }

    /// Every template, with `None` for one that had errors (so references to it do not
    /// also report "no such template").
    fn templates(&mut self) -> HashMap<String, Option<Template>> {
        let mut out: HashMap<String, Option<Template>> = HashMap::new();
        let mut first: HashMap<String, String> = HashMap::new();
        for p in self.parsed {
            for (id, t) in &p.file.templates.0 {
                if let Some(prev) = first.get(&id.value) {
                    self.d.error(
                        p.path,
                        id.referenced,
                        format!(
                            "duplicate template `{}` (first defined at {prev})",
                            id.value
                        ),
                    );
                    continue;
                }
                first.insert(id.value.clone(), at(p.path, id.referenced));
                let mut ok = true;
                let mut text: [String; 3] = Default::default();
                for (lang, v) in [
                    (Lang::Tr, &t.value.tr),
                    (Lang::Fa, &t.value.fa),
                    (Lang::En, &t.value.en),
                ] {
                    match v {
                        Some(s) if !s.value.trim().is_empty() => {
                            text[lang.index()] = s.value.clone();
                        }
                        _ => {
                            ok = false;
                            self.d.error(
                                p.path,
                                id.referenced,
                                format!("template `{}` has no `{lang}` translation", id.value),
                            );
                        }
                    }
                }
                let mut buttons = Vec::new();
                for b in &t.value.buttons {
                    let mut label: [String; 3] = Default::default();
                    for (lang, v) in per_lang(&b.value.label) {
                        match v {
                            Some(s) if !s.value.trim().is_empty() => {
                                label[lang.index()] = s.value.clone();
                            }
                            _ => {
                                ok = false;
                                self.d.error(
                                    p.path,
                                    b.referenced,
                                    format!(
                                        "button `{}` of template `{}` has no `{lang}` label",
                                        b.value.payload.value, id.value
                                    ),
                                );
                            }
                        }
                    }
                    buttons.push(Button {
                        payload: b.value.payload.value.clone(),
                        label,
                    });
                }
                out.insert(id.value.clone(), ok.then_some(Template { text, buttons }));
            }
        }
        out
    }

    fn slot_names(&self) -> HashSet<String> {
        self.parsed
            .iter()
            .flat_map(|p| p.file.flows.iter())
            .flat_map(|f| f.value.steps.iter())
            .filter_map(|s| s.value.ask.as_ref().map(|a| a.value.clone()))
            .collect()
    }

    fn check_template_variables(&mut self, slots: &HashSet<String>) {
        for p in self.parsed {
            for (id, t) in &p.file.templates.0 {
                for v in [&t.value.tr, &t.value.fa, &t.value.en]
                    .into_iter()
                    .flatten()
                {
                    match template_variables(&v.value) {
                        Ok(vars) => {
                            for var in vars {
                                let known = slots.contains(var)
                                    || ORDER_VARIABLES.contains(&var)
                                    || SHOP_VARIABLES.contains(&var);
                                if !known {
                                    self.d.error(
                                        p.path,
                                        v.referenced,
                                        format!(
                                            "template `{}` uses unknown variable `{{{var}}}` (known: the slots flows ask for, {}, {})",
                                            id.value,
                                            ORDER_VARIABLES.join(", "),
                                            SHOP_VARIABLES.join(", ")
                                        ),
                                    );
                                }
                            }
                        }
                        Err(msg) => self.d.error(
                            p.path,
                            v.referenced,
                            format!("template `{}`: {msg}", id.value),
                        ),
                    }
                }
            }
        }
    }

    pub(super) fn check_template(
        &mut self,
        templates: &HashMap<String, Option<Template>>,
        path: &str,
        r: &S<String>,
    ) -> String {
        if !templates.contains_key(&r.value) {
            self.d
                .error(path, r.referenced, format!("no template `{}`", r.value));
        }
        r.value.clone()
    }

    /// Every payment method the shop accepts needs a name in every language.
    fn check_payment_method_names(
        &mut self,
        templates: &HashMap<String, Option<Template>>,
        shop: &Shop,
    ) {
        let uses_methods = self.parsed.iter().any(|p| {
            p.file.templates.0.iter().any(|(_, t)| {
                [&t.value.tr, &t.value.fa, &t.value.en]
                    .into_iter()
                    .flatten()
                    .any(|v| v.value.contains("{shop.payment_methods}"))
            })
        });
        if !uses_methods {
            return;
        }
        let path = self.parsed.first().map_or("<pack>", |p| p.path);
        for code in &shop.payment_methods {
            let id = format!("payment_method_{code}");
            if !templates.contains_key(&id) {
                self.d.error(
                    path,
                    Location::UNKNOWN,
                    format!("the shop accepts payment method `{code}`: the pack needs template `{id}` with its name"),
                );
            }
        }
    }

    fn check_system_templates(&mut self, templates: &HashMap<String, Option<Template>>) {
        let path = self
            .parsed
            .iter()
            .find(|p| !p.file.templates.0.is_empty())
            .or(self.parsed.first())
            .map_or("<pack>", |p| p.path);
        for (id, why) in SYSTEM_TEMPLATES {
            if !templates.contains_key(*id) {
                self.d.error(
                    path,
                    Location::UNKNOWN,
                    format!("the pack must define template `{id}` (said when {why})"),
                );
            }
        }
    }

    fn flows(
        &mut self,
        templates: &HashMap<String, Option<Template>>,
    ) -> (Vec<Flow>, HashMap<String, usize>) {
        let mut flows = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut first: HashMap<String, String> = HashMap::new();
        for p in self.parsed {
            for f in &p.file.flows {
                let id = &f.value.id;
                if let Some(prev) = first.get(&id.value) {
                    self.d.error(
                        p.path,
                        id.referenced,
                        format!("duplicate flow `{}` (first defined at {prev})", id.value),
                    );
                    continue;
                }
                first.insert(id.value.clone(), at(p.path, id.referenced));
                if let Some(flow) = self.flow(p.path, &f.value, templates) {
                    index.insert(flow.id.clone(), flows.len());
                    flows.push(flow);
                }
            }
        }
        (flows, index)
    }

    fn flow(
        &mut self,
        path: &str,
        f: &raw::Flow,
        templates: &HashMap<String, Option<Template>>,
    ) -> Option<Flow> {
        let errors_before = self.d.errors().count();
        if f.steps.is_empty() {
            self.d.error(
                path,
                f.id.referenced,
                format!("flow `{}` has no steps", f.id.value),
            );
            return None;
        }
        // Step ids first, so steps may refer forward.
        let mut step_index: HashMap<String, usize> = HashMap::new();
        let ids: Vec<String> = f
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.value
                    .id
                    .as_ref()
                    .map_or_else(|| format!("#{}", i + 1), |id| id.value.clone())
            })
            .collect();
        for (i, s) in f.steps.iter().enumerate() {
            if let Some(id) = &s.value.id
                && step_index.insert(id.value.clone(), i).is_some()
            {
                self.d.error(
                    path,
                    id.referenced,
                    format!("duplicate step id `{}` in flow `{}`", id.value, f.id.value),
                );
            }
        }
        let step_ref = |this: &mut Self, r: &S<String>| -> Option<usize> {
            match step_index.get(&r.value) {
                Some(&i) => Some(i),
                None => {
                    this.d.error(
                        path,
                        r.referenced,
                        format!("flow `{}` has no step `{}`", f.id.value, r.value),
                    );
                    None
                }
            }
        };
        let mut asked: HashSet<String> = HashSet::new();
        let mut verified: HashSet<String> = HashSet::new();
        let mut steps = Vec::with_capacity(f.steps.len());
        for (i, s) in f.steps.iter().enumerate() {
            let r = &s.value;
            let kinds: Vec<&str> = [
                ("ask", r.ask.is_some()),
                ("verify", r.verify.is_some()),
                ("lookup", r.lookup.is_some()),
                ("branch", r.branch.is_some()),
                ("action", r.action.is_some()),
                ("handoff", r.handoff.is_some()),
                ("end", r.end),
            ]
            .into_iter()
            .filter_map(|(k, on)| on.then_some(k))
            .collect();
            if kinds.len() > 1 {
                self.d.error(
                    path,
                    s.referenced,
                    format!(
                        "a step does one thing, this one has {}",
                        kinds
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                );
                continue;
            }
            let tmpl = |this: &mut Self, t: &Option<S<String>>| {
                t.as_ref().map(|t| this.check_template(templates, path, t))
            };
            let need_tmpl = |this: &mut Self, t: &Option<S<String>>, key: &str, kind: &str| match t
            {
                Some(t) => this.check_template(templates, path, t),
                None => {
                    this.d.error(
                        path,
                        s.referenced,
                        format!("`{kind}` step needs `{key}`: the template to say"),
                    );
                    String::new()
                }
            };
            let slot_known = |this: &mut Self, slot: &S<String>, asked: &HashSet<String>| {
                if !asked.contains(&slot.value) {
                    this.d.error(
                        path,
                        slot.referenced,
                        format!(
                            "slot `{}` is not asked for by an earlier step of flow `{}`",
                            slot.value, f.id.value
                        ),
                    );
                }
                slot.value.clone()
            };
            let max_attempts = r
                .max_attempts
                .as_ref()
                .map_or(DEFAULT_MAX_ATTEMPTS, |m| m.value.max(1));
            let kind = match kinds.first().copied() {
                Some("ask") => {
                    let slot = r.ask.as_ref().map(|a| a.value.clone()).unwrap_or_default();
                    let kind = match &r.entity {
                        None => match slot.as_str() {
                            "confirm" => SlotKind::YesNo,
                            "order_number" => SlotKind::Entity(EntityKind::OrderNumber),
                            "email" => SlotKind::Entity(EntityKind::Email),
                            "phone" => SlotKind::Entity(EntityKind::Phone),
                            _ => SlotKind::Text,
                        },
                        Some(e) => match e.value.as_str() {
                            "order_number" => SlotKind::Entity(EntityKind::OrderNumber),
                            "email" => SlotKind::Entity(EntityKind::Email),
                            "phone" => SlotKind::Entity(EntityKind::Phone),
                            "text" => SlotKind::Text,
                            "yes_no" => SlotKind::YesNo,
                            "order_item" => SlotKind::OrderItem,
                            other => {
                                self.d.error(
                                    path,
                                    e.referenced,
                                    format!("unknown entity `{other}` (expected order_number, email, phone, yes_no, order_item or text)"),
                                );
                                SlotKind::Text
                            }
                        },
                    };
                    asked.insert(slot.clone());
                    StepKind::Ask {
                        slot,
                        kind,
                        prompt: need_tmpl(self, &r.prompt, "prompt", "ask"),
                        reprompt: tmpl(self, &r.reprompt),
                        max_attempts,
                    }
                }
                Some("verify") => {
                    let slot = r.verify.as_ref().map(|v| slot_known(self, v, &asked));
                    let slot = slot.unwrap_or_default();
                    verified.insert(slot.clone());
                    StepKind::Verify {
                        slot,
                        prompt: need_tmpl(self, &r.prompt, "prompt", "verify"),
                        reprompt: tmpl(self, &r.reprompt),
                        max_attempts,
                    }
                }
                Some("lookup") => {
                    let slot = r.lookup.as_ref().map(|v| {
                        let name = slot_known(self, v, &asked);
                        if asked.contains(&name) && !verified.contains(&name) {
                            self.d.error(
                                path,
                                v.referenced,
                                format!("`lookup: {name}` must come after `verify: {name}`: order data is shown only to a verified customer"),
                            );
                        }
                        name
                    });
                    StepKind::Lookup {
                        slot: slot.unwrap_or_default(),
                    }
                }
                Some("branch") => {
                    let var = r
                        .branch
                        .as_ref()
                        .map(|b| b.value.clone())
                        .unwrap_or_default();
                    if let Some(b) = &r.branch {
                        let known = ORDER_VARIABLES.contains(&var.as_str())
                            || self.slot_names().contains(&var);
                        if !known {
                            self.d.error(
                                path,
                                b.referenced,
                                format!("cannot branch on unknown variable `{var}`"),
                            );
                        }
                        if r.cases.0.is_empty() && r.default.is_none() {
                            self.d
                                .error(path, b.referenced, "`branch` needs `cases` or `default`");
                        }
                    }
                    let mut cases = Vec::new();
                    for (value, target) in &r.cases.0 {
                        if var == "order.status"
                            && value.value != "*"
                            && !crate::orders::OrderStatus::ALL.contains(&value.value.as_str())
                        {
                            self.d.error(
                                path,
                                value.referenced,
                                format!(
                                    "`{}` is not an order status (one of {})",
                                    value.value,
                                    crate::orders::OrderStatus::ALL.join(", ")
                                ),
                            );
                        }
                        if let Some(t) = step_ref(self, target) {
                            cases.push((value.value.clone(), t));
                        }
                    }
                    let default = r.default.as_ref().and_then(|t| step_ref(self, t));
                    StepKind::Branch {
                        var,
                        cases,
                        default,
                    }
                }
                Some("action") => {
                    let a = r.action.as_ref();
                    let action = match a.map(|a| a.value.as_str()) {
                        Some("cancel_order") => ActionKind::CancelOrder,
                        Some("start_return") => ActionKind::StartReturn,
                        Some("change_address") => {
                            if !asked.contains("new_address")
                                && let Some(a) = a
                            {
                                self.d.error(
                                    path,
                                    a.referenced,
                                    "`action: change_address` needs an earlier `ask: new_address`",
                                );
                            }
                            ActionKind::ChangeAddress
                        }
                        other => {
                            if let Some(a) = a {
                                self.d.error(
                                    path,
                                    a.referenced,
                                    format!("unknown action `{}` (expected cancel_order, start_return or change_address)", other.unwrap_or_default()),
                                );
                            }
                            ActionKind::CancelOrder
                        }
                    };
                    let slot = if verified.contains("order_number") {
                        "order_number".to_owned()
                    } else {
                        if let Some(a) = a {
                            self.d.error(
                                path,
                                a.referenced,
                                "an `action` must come after `verify: order_number`: only a verified customer may change an order",
                            );
                        }
                        String::new()
                    };
                    let confirm = tmpl(self, &r.confirm);
                    let on_no = match (&r.on_no, &confirm) {
                        (Some(t), _) => step_ref(self, t),
                        (None, None) => None,
                        (None, Some(_)) => {
                            self.d.error(
                                path,
                                s.referenced,
                                "an `action` with `confirm` needs `on_no`: the step to go to when the customer declines",
                            );
                            None
                        }
                    };
                    StepKind::Action {
                        action,
                        slot,
                        confirm,
                        on_no,
                    }
                }
                Some("handoff") => StepKind::Handoff {
                    reason: r
                        .handoff
                        .as_ref()
                        .map(|h| h.value.clone())
                        .unwrap_or_default(),
                    say: tmpl(self, &r.say),
                },
                Some("end") => StepKind::End {
                    say: tmpl(self, &r.say),
                },
                _ => match &r.say {
                    Some(t) => StepKind::Say {
                        template: self.check_template(templates, path, t),
                    },
                    None => {
                        self.d.error(
                            path,
                            s.referenced,
                            "a step needs one of ask, verify, lookup, branch, action, say, handoff or end",
                        );
                        continue;
                    }
                },
            };
            let next = r.next.as_ref().and_then(|n| step_ref(self, n));
            steps.push(Step {
                id: ids[i].clone(),
                kind,
                next,
            });
        }
        if self.d.errors().count() > errors_before || steps.len() != f.steps.len() {
            return None;
        }
        self.warn_unreachable(path, f, &steps);
        Some(Flow {
            id: f.id.value.clone(),
            steps,
            step_index,
        })
    }

    fn warn_unreachable(&mut self, path: &str, f: &raw::Flow, steps: &[Step]) {
        let mut seen = vec![false; steps.len()];
        let mut todo = vec![0usize];
        while let Some(i) = todo.pop() {
            if i >= steps.len() || seen[i] {
                continue;
            }
            seen[i] = true;
            let s = &steps[i];
            let follow = s.next.unwrap_or(i + 1);
            match &s.kind {
                StepKind::Handoff { .. } | StepKind::End { .. } => {}
                StepKind::Branch { cases, default, .. } => {
                    todo.extend(cases.iter().map(|(_, t)| *t));
                    todo.push(default.unwrap_or(follow));
                }
                StepKind::Action { on_no, .. } => {
                    todo.extend(*on_no);
                    todo.push(follow);
                }
                _ => todo.push(follow),
            }
        }
        for (i, reached) in seen.iter().enumerate() {
            if !reached {
                self.d.warn(
                    path,
                    f.steps[i].referenced,
                    format!(
                        "step `{}` of flow `{}` is unreachable",
                        steps[i].id, f.id.value
                    ),
                );
            }
        }
    }

    fn entities(&mut self, options: &Options) -> Option<EntityExtractor> {
        let mut rules = EntityRules::default();
        let mut format_at: Vec<(&str, Location)> = Vec::new();
        let mut short_at: Vec<(&str, Location)> = Vec::new();
        let mut short_from_pack = None;
        let mut seen: Option<&str> = None;
        for p in self.parsed {
            let Some(e) = &p.file.entities else { continue };
            if let Some(prev) = seen {
                self.d.error(
                    p.path,
                    e.referenced,
                    format!("`entities` is set twice (first in {prev})"),
                );
                continue;
            }
            seen = Some(p.path);
            let o = &e.value.order_number;
            for f in &o.formats {
                rules.order_formats.push(f.value.clone());
                format_at.push((p.path, f.referenced));
            }
            if let Some(short) = &o.short_formats {
                short_from_pack = Some(short.iter().map(|f| f.value.clone()).collect());
                short_at = short.iter().map(|f| (p.path, f.referenced)).collect();
            }
            rules.not_order_before = o.not_before.iter().map(|w| fold(&w.value)).collect();
            rules.not_order_after = o.not_after.iter().map(|w| fold(&w.value)).collect();
        }
        if rules.order_formats.is_empty() {
            rules.order_formats = DEFAULT_ORDER_FORMATS
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
        }
        rules.short_order_formats =
            short_from_pack.unwrap_or_else(|| options.short_order_formats.clone());
        // A bad short format is reported after the order formats.
        while format_at.len() < rules.order_formats.len() {
            format_at.push(("<pack>", Location::UNKNOWN));
        }
        format_at.extend(short_at);
        match EntityExtractor::new(&rules) {
            Ok(x) => Some(x),
            Err((i, e)) => {
                let (path, loc) = format_at
                    .get(i)
                    .copied()
                    .unwrap_or(("<pack>", Location::UNKNOWN));
                self.d.error(
                    path,
                    loc,
                    format!(
                        "order-number format does not compile: {}",
                        regex_message(&e)
                    ),
                );
                None
            }
        }
    }
}

/// Whether a pattern has a `\b` outside `(?-u:\b)`: Unicode word boundaries keep the regex
/// set from its fast automaton.
pub(super) fn unicode_word_boundaries(pattern: &str) -> bool {
    pattern.matches("\\b").count() > pattern.matches("(?-u:\\b)").count()
}

/// A regex error on one line: the parser's last line says what is wrong.
pub(super) fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: ").to_owned())
        .unwrap_or(text)
}

/// The `{variable}` names a template uses; `{{` and `}}` are literal braces.
pub fn template_variables(text: &str) -> Result<Vec<&str>, String> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.starts_with(c as char) {
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            return Err("unmatched `}` (write `}}` for a literal brace)".into());
        }
        let Some(end) = after.find('}') else {
            return Err("unclosed `{` (write `{{` for a literal brace)".into());
        };
        // `{name|fallback}`: the fallback is text, checked by `pack::blanks`.
        let name = after[..end].split('|').next().unwrap_or_default().trim();
        if name.is_empty() || name.contains('{') {
            return Err(format!("bad variable `{{{}}}`", &after[..end]));
        }
        vars.push(name);
        rest = &after[end + 1..];
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_are_found_and_braces_escaped() {
        assert_eq!(
            template_variables("Order {order_number} is {order.status} {{x}}"),
            Ok(vec!["order_number", "order.status"])
        );
        assert!(template_variables("oops {order").is_err());
        assert!(template_variables("oops }").is_err());
    }
}

//! Intents and the matcher's settings: keywords, patterns, examples (and out-of-scope
//! examples), entity evidence and the tuning of the tiers, checked and handed to
//! `Matcher::new`.

use super::compile::{Compiler, at, per_lang, regex_message, unicode_word_boundaries};
use super::raw::{self, PerLang, S};
use crate::bot::{Intent, Route, Template};
use crate::lang::Lang;
use crate::matcher::{KeywordSpec, MatcherSpec, PatternSpec, Tuning};
use crate::normalise::fold;
use serde_saphyr::Location;
use std::collections::HashMap;

/// Fewer examples than this in a language draw a warning.
pub const FEW_EXAMPLES: usize = 10;

impl<'p> Compiler<'_, 'p> {
    /// Every intent, its keywords, patterns and examples for the matcher, and where each
    /// pattern was written.
    #[allow(clippy::type_complexity)]
    pub(super) fn intents(
        &mut self,
        templates: &HashMap<String, Option<Template>>,
        flows: &HashMap<String, usize>,
    ) -> (
        Vec<Intent>,
        HashMap<String, usize>,
        MatcherSpec,
        Vec<(&'p str, Location)>,
    ) {
        let mut intents = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut first: HashMap<String, String> = HashMap::new();
        let mut spec = MatcherSpec::default();
        let mut pattern_at = Vec::new();
        // Folded positive keyword → (intent id, where), to warn about overlaps.
        let mut keyword_owner: HashMap<String, (String, String)> = HashMap::new();
        for p in self.parsed {
            for raw_intent in &p.file.intents {
                let r = &raw_intent.value;
                let id = &r.id;
                if id.value == "out_of_scope" {
                    self.d.error(
                        p.path,
                        id.referenced,
                        "`out_of_scope` is the fallback, said with template `fallback`; it cannot be an intent",
                    );
                    continue;
                }
                if let Some(prev) = first.get(&id.value) {
                    self.d.error(
                        p.path,
                        id.referenced,
                        format!("duplicate intent `{}` (first defined at {prev})", id.value),
                    );
                    continue;
                }
                first.insert(id.value.clone(), at(p.path, id.referenced));
                let n = intents.len();
                let route = match (&r.answer, &r.flow, &r.handoff) {
                    (answer, None, Some(reason)) => Route::Handoff {
                        reason: reason.value.clone(),
                        answer: answer
                            .as_ref()
                            .map(|a| self.check_template(templates, p.path, a)),
                    },
                    (Some(a), None, None) => {
                        Route::Answer(self.check_template(templates, p.path, a))
                    }
                    (None, Some(f), None) => match flows.get(&f.value) {
                        Some(&i) => Route::Flow(i),
                        None => {
                            self.d
                                .error(p.path, f.referenced, format!("no flow `{}`", f.value));
                            Route::Answer(String::new())
                        }
                    },
                    (None, None, None) => {
                        self.d.error(
                            p.path,
                            id.referenced,
                            format!("intent `{}` needs `answer`, `flow` or `handoff`", id.value),
                        );
                        Route::Answer(String::new())
                    }
                    _ => {
                        self.d.error(
                            p.path,
                            id.referenced,
                            format!(
                                "intent `{}` may have `flow`, or `answer`, or `handoff` (with an optional `answer`), not several",
                                id.value
                            ),
                        );
                        Route::Answer(String::new())
                    }
                };
                let mut label: [Option<String>; 3] = Default::default();
                if let Some(l) = &r.label {
                    for (lang, v) in per_lang(l) {
                        label[lang.index()] = v.map(|v| v.value.clone());
                        if v.is_none() {
                            self.d.warn(
                                p.path,
                                id.referenced,
                                format!("intent `{}` has no `{lang}` label", id.value),
                            );
                        }
                    }
                }
                let mut any_keyword = false;
                for (negative, set) in [(false, &r.keywords), (true, &r.negative)] {
                    for (lang, list) in per_lang(set) {
                        let Some(list) = list else {
                            if !negative
                                && (r.keywords.tr.is_some()
                                    || r.keywords.en.is_some()
                                    || r.keywords.fa.is_some())
                            {
                                self.d.warn(
                                    p.path,
                                    id.referenced,
                                    format!("intent `{}` has no `{lang}` keywords", id.value),
                                );
                            }
                            continue;
                        };
                        for k in &list.value {
                            let text = fold(&k.value.text);
                            if text.is_empty() {
                                self.d.error(
                                    p.path,
                                    k.referenced,
                                    format!("keyword `{}` is empty once normalised", k.value.text),
                                );
                                continue;
                            }
                            let weight = k.value.weight.unwrap_or(1.0);
                            if !(weight.is_finite() && weight > 0.0) {
                                self.d.error(
                                    p.path,
                                    k.referenced,
                                    format!(
                                        "keyword weight must be a positive number, not {weight}"
                                    ),
                                );
                                continue;
                            }
                            if !negative {
                                any_keyword = true;
                                let here = at(p.path, k.referenced);
                                match keyword_owner.get(&text) {
                                    Some((owner, there)) if *owner != id.value => {
                                        self.d.warn(
                                            p.path,
                                            k.referenced,
                                            format!(
                                                "keyword `{text}` is also a keyword of intent `{owner}` ({there})"
                                            ),
                                        );
                                    }
                                    Some(_) => {}
                                    None => {
                                        keyword_owner
                                            .insert(text.clone(), (id.value.clone(), here));
                                    }
                                }
                            }
                            spec.known_words.extend(text.split(' ').map(str::to_owned));
                            spec.keywords.push(KeywordSpec {
                                intent: n,
                                text,
                                weight,
                                whole_word: k.value.whole_word,
                                negative,
                                decisive: k.value.decisive && !negative,
                                lang,
                            });
                        }
                    }
                }
                for pat in &r.patterns {
                    any_keyword = true;
                    if let Err(e) = regex::Regex::new(&pat.value.regex.value) {
                        self.d.error(
                            p.path,
                            pat.value.regex.referenced,
                            format!("regex does not compile: {}", regex_message(&e)),
                        );
                        continue;
                    }
                    if unicode_word_boundaries(&pat.value.regex.value) {
                        self.d.warn(
                            p.path,
                            pat.value.regex.referenced,
                            "pattern uses a Unicode `\\b`, which makes every message much slower to match; use `(?-u:\\b)` for Latin words or `\\s` between words",
                        );
                    }
                    spec.patterns.push(PatternSpec {
                        intent: n,
                        regex: pat.value.regex.value.clone(),
                        weight: pat.value.weight,
                    });
                    pattern_at.push((p.path, pat.value.regex.referenced));
                }
                let any_example = [&r.examples.tr, &r.examples.fa, &r.examples.en]
                    .iter()
                    .any(|l| l.as_ref().is_some_and(|l| !l.value.is_empty()));
                if !any_keyword && !any_example {
                    self.d.warn(
                        p.path,
                        id.referenced,
                        format!("intent `{}` has no keywords, patterns or examples: it can only be reached by a button", id.value),
                    );
                }
                let mut examples = Vec::new();
                for (lang, list) in per_lang(&r.examples) {
                    let list = list.map(|l| l.value.as_slice()).unwrap_or_default();
                    for e in list {
                        examples.push((lang, e.value.clone()));
                    }
                    self.add_examples(n, lang, list);
                    if !list.is_empty() && list.len() < FEW_EXAMPLES {
                        self.d.warn(
                            p.path,
                            id.referenced,
                            format!(
                                "intent `{}` has only {} `{lang}` examples: {FEW_EXAMPLES} or more let it recognise what customers write in their own words",
                                id.value,
                                list.len()
                            ),
                        );
                    }
                }
                let boost = match &r.evidence.order_number {
                    Some(w) if !(w.value.is_finite() && w.value >= 0.0) => {
                        self.d.error(
                            p.path,
                            w.referenced,
                            format!(
                                "`evidence.order_number` must be a number ≥ 0, not {}",
                                w.value
                            ),
                        );
                        0.0
                    }
                    Some(w) => w.value,
                    None => 0.0,
                };
                spec.order_number.push(boost);
                index.insert(id.value.clone(), n);
                intents.push(Intent {
                    id: id.value.clone(),
                    label,
                    priority: r.priority,
                    route,
                    examples,
                });
            }
        }
        (intents, index, spec, pattern_at)
    }

    /// Lists examples for the matcher (folded by `fold_examples`, whose words
    /// `Matcher::new` counts as known).
    fn add_examples(&mut self, class: usize, lang: Lang, list: &'p [S<String>]) {
        self.examples
            .extend(list.iter().map(|e| (class, lang, e.value.as_str())));
    }

    /// The pack's out-of-scope examples: messages that are no intent. The words of the
    /// `conversation:` phrase lists count as known words too (no typo is read into them).
    pub(super) fn out_of_scope(&mut self, spec: &mut MatcherSpec, class: usize) {
        for p in self.parsed {
            if let Some(c) = &p.file.conversation {
                let c = &c.value;
                for set in [
                    &c.stall,
                    &c.farewell,
                    &c.insult,
                    &c.no_number,
                    &c.bot_question,
                    &c.spam,
                    &c.return_reason,
                    &c.address,
                ] {
                    for (_, list) in per_lang(set) {
                        for phrase in list.map(|l| l.value.as_slice()).unwrap_or_default() {
                            spec.known_words
                                .extend(fold(&phrase.value).split(' ').map(str::to_owned));
                        }
                    }
                }
            }
        }
        for p in self.parsed {
            if let Some(o) = &p.file.out_of_scope {
                for (lang, list) in per_lang(&o.value.examples) {
                    let list = list.map(|l| l.value.as_slice()).unwrap_or_default();
                    self.add_examples(class, lang, list);
                }
            }
        }
    }

    /// The tuning of the tiers and the yes/no words.
    pub(super) fn matching(&mut self) -> (Tuning, Vec<String>, Vec<String>) {
        let mut found: Option<(&str, &S<raw::Matching>)> = None;
        for p in self.parsed {
            if let Some(m) = &p.file.matching {
                if let Some((prev, prev_m)) = found {
                    self.d.error(
                        p.path,
                        m.referenced,
                        format!(
                            "`matching` is set twice (first at {})",
                            at(prev, prev_m.referenced)
                        ),
                    );
                } else {
                    found = Some((p.path, m));
                }
            }
        }
        let mut tuning = Tuning::default();
        let Some((path, m)) = found else {
            return (tuning, Vec::new(), Vec::new());
        };
        let at = m.referenced;
        let m = &m.value;
        tuning.threshold = m.threshold.unwrap_or(tuning.threshold);
        tuning.ambiguity = m.ambiguity.unwrap_or(tuning.ambiguity);
        if let Some(s) = &m.similarity {
            tuning.similarity_weight = s.weight.unwrap_or(tuning.similarity_weight);
            tuning.similarity_floor = s.floor.unwrap_or(tuning.similarity_floor);
        }
        tuning.out_of_scope_margin = m.out_of_scope_margin.unwrap_or(tuning.out_of_scope_margin);
        tuning.request_over_small_talk = m
            .request_over_small_talk
            .unwrap_or(tuning.request_over_small_talk);
        tuning.human_routed_share = m.human_routed_share.unwrap_or(tuning.human_routed_share);
        tuning.typos = m.typos.unwrap_or(tuning.typos);
        let t = &tuning;
        if !(t.threshold.is_finite() && t.threshold > 0.0 && (0.0..1.0).contains(&t.ambiguity)) {
            self.d.error(
                path,
                at,
                "`matching.threshold` must be positive and `matching.ambiguity` in [0, 1)",
            );
        }
        if !(t.similarity_weight.is_finite()
            && t.similarity_weight >= 0.0
            && (0.0..1.0).contains(&t.similarity_floor)
            && t.out_of_scope_margin.is_finite()
            && t.request_over_small_talk.is_finite()
            && t.request_over_small_talk > 0.0
            && (0.0..=1.0).contains(&t.human_routed_share))
        {
            self.d.error(
                path,
                at,
                "`matching.similarity.weight` must be ≥ 0, `matching.similarity.floor` in [0, 1), `matching.out_of_scope_margin` a number and `matching.request_over_small_talk` positive and `matching.human_routed_share` in [0, 1]",
            );
        }
        let words = |p: &PerLang<Vec<S<String>>>| {
            per_lang(p)
                .into_iter()
                .flat_map(|(_, v)| v.map(|v| v.value.as_slice()).unwrap_or_default())
                .map(|w| fold(&w.value))
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        };
        (tuning, words(&m.yes), words(&m.no))
    }
}

/// From this many examples on, `fold_examples` folds them on two threads.
const PARALLEL_FOLD: usize = 8_192;

/// The examples folded, in order, those empty once folded left out: (class, language,
/// folded text) as the matcher takes them.
pub(super) fn fold_examples(raw: &[(usize, Lang, &str)]) -> Vec<(usize, Lang, String)> {
    let fold_all = |part: &[(usize, Lang, &str)]| -> Vec<(usize, Lang, String)> {
        part.iter()
            .map(|&(class, lang, text)| (class, lang, fold(text)))
            .filter(|(_, _, folded)| !folded.is_empty())
            .collect()
    };
    if raw.len() < PARALLEL_FOLD
        || !std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
    {
        return fold_all(raw);
    }
    let (first, second) = raw.split_at(raw.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| fold_all(second));
        let mut all = fold_all(first);
        // The other thread cannot panic (no input reaches one); if it did, fold it here.
        all.extend(other.join().unwrap_or_else(|_| fold_all(second)));
        all
    })
}

//! The matcher: every keyword of every intent in one aho-corasick automaton, the few real
//! patterns in one `RegexSet`, and the rule that turns hits into one decision.
//!
//! Pure: it sees a `Normalised` message and returns data. Keywords match at the start of a
//! word (so Turkish and Persian suffixes still match) unless marked whole-word; the
//! word-start check is done here in code, never by turning keywords into regexes.

use crate::lang::Lang;
use crate::normalise::Normalised;
use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use std::collections::HashMap;

/// One keyword as the compiler hands it over (already folded).
#[derive(Debug, Clone)]
pub struct KeywordSpec {
    pub intent: usize,
    pub text: String,
    pub weight: f32,
    pub whole_word: bool,
    pub negative: bool,
    pub lang: Lang,
}

#[derive(Debug, Clone)]
pub struct PatternSpec {
    pub intent: usize,
    pub regex: String,
    pub weight: f32,
}

#[derive(Debug, Clone, Copy)]
struct KeywordRef {
    intent: u32,
    weight: f32,
    whole_word: bool,
    negative: bool,
    lang: Lang,
}

#[derive(Debug)]
pub struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, every intent keyword that folds to it.
    refs: Vec<Vec<KeywordRef>>,
    texts: Vec<String>,
    regexes: RegexSet,
    regex_list: Vec<Regex>,
    regex_refs: Vec<(u32, f32)>,
    priorities: Vec<i32>,
    threshold: f32,
    ambiguity: f32,
}

/// Why an intent scored: one keyword or pattern found in the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub intent: usize,
    pub evidence: Evidence,
    pub start: usize,
    pub end: usize,
    pub weight: f32,
    pub negative: bool,
    pub lang: Option<Lang>,
}

/// Which keyword (automaton pattern id) or regex produced a hit; `Matcher::evidence_text`
/// gives its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    Keyword(usize),
    Pattern(usize),
}

impl Evidence {
    fn key(self) -> (bool, usize) {
        match self {
            Evidence::Keyword(i) => (false, i),
            Evidence::Pattern(i) => (true, i),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub intent: usize,
    pub score: f32,
    pub vetoed: bool,
    /// Where the intent's first evidence starts in the folded text.
    pub first: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Intent(usize),
    /// Two intents too close to call on the same words: ask which one.
    Clarify(usize, usize),
    /// Nothing matched well enough: the fallback.
    None,
}

#[derive(Debug, Clone)]
pub struct Classification {
    pub hits: Vec<Hit>,
    /// Every intent with evidence, best first.
    pub scores: Vec<Score>,
    pub decision: Decision,
    /// The language the evidence speaks, if any.
    pub lang: Option<Lang>,
}

impl Matcher {
    /// Builds the automaton and the regex set. A bad regex is reported with its index in
    /// `patterns`, so the compiler can point at its YAML line.
    pub fn new(
        keywords: &[KeywordSpec],
        patterns: &[PatternSpec],
        priorities: Vec<i32>,
        threshold: f32,
        ambiguity: f32,
    ) -> Result<Matcher, (usize, regex::Error)> {
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(keywords.len());
        let mut texts: Vec<String> = Vec::new();
        let mut refs: Vec<Vec<KeywordRef>> = Vec::new();
        for k in keywords.iter().filter(|k| !k.text.is_empty()) {
            let slot = *index.entry(k.text.as_str()).or_insert_with(|| {
                texts.push(k.text.clone());
                refs.push(Vec::new());
                texts.len() - 1
            });
            refs[slot].push(KeywordRef {
                intent: k.intent as u32,
                weight: k.weight,
                whole_word: k.whole_word,
                negative: k.negative,
                lang: k.lang,
            });
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .map_err(|e| {
                (
                    usize::MAX,
                    regex::Error::Syntax(format!("keyword automaton: {e}")),
                )
            })?;
        let mut regex_list = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            regex_list.push(Regex::new(&p.regex).map_err(|e| (i, e))?);
        }
        let regexes = RegexSet::new(patterns.iter().map(|p| p.regex.as_str()))
            .map_err(|e| (usize::MAX, e))?;
        Ok(Matcher {
            automaton,
            refs,
            texts,
            regexes,
            regex_list,
            regex_refs: patterns
                .iter()
                .map(|p| (p.intent as u32, p.weight))
                .collect(),
            priorities,
            threshold,
            ambiguity,
        })
    }

    pub fn keyword_count(&self) -> usize {
        self.texts.len()
    }

    pub fn classify(&self, n: &Normalised) -> Classification {
        let text = n.folded.as_bytes();
        let mut hits: Vec<Hit> = Vec::new();
        for m in self.automaton.find_overlapping_iter(n.folded.as_str()) {
            let (start, end) = (m.start(), m.end());
            let at_word_start = start == 0 || text[start - 1] == b' ';
            if !at_word_start {
                continue;
            }
            let at_word_end = end == text.len() || text[end] == b' ';
            let pid = m.pattern().as_usize();
            for r in &self.refs[pid] {
                if r.whole_word && !at_word_end {
                    continue;
                }
                hits.push(Hit {
                    intent: r.intent as usize,
                    evidence: Evidence::Keyword(pid),
                    start,
                    end,
                    weight: r.weight,
                    negative: r.negative,
                    lang: Some(r.lang),
                });
            }
        }
        if !self.regex_refs.is_empty() {
            for i in self.regexes.matches(&n.entity_text).iter() {
                let (intent, weight) = self.regex_refs[i];
                // Positions in the entity text only order evidence; the first byte is close
                // enough for a pattern, which is rarely the only evidence.
                let start = self.regex_list[i]
                    .find(&n.entity_text)
                    .map_or(0, |m| m.start().min(text.len()));
                hits.push(Hit {
                    intent: intent as usize,
                    evidence: Evidence::Pattern(i),
                    start,
                    end: start,
                    weight,
                    negative: false,
                    lang: None,
                });
            }
        }
        self.decide(hits)
    }

    fn decide(&self, mut hits: Vec<Hit>) -> Classification {
        let mut scores: Vec<Score> = Vec::new();
        let mut lang_weight = [0f32; 3];
        // A keyword found twice counts once per intent: sorted, the repeats are neighbours.
        hits.sort_unstable_by_key(|h| (h.intent, h.evidence.key(), h.start));
        let mut last: Option<(usize, Evidence)> = None;
        for h in &hits {
            if last == Some((h.intent, h.evidence)) {
                continue;
            }
            last = Some((h.intent, h.evidence));
            let s = match scores.iter_mut().find(|s| s.intent == h.intent) {
                Some(s) => s,
                None => {
                    scores.push(Score {
                        intent: h.intent,
                        score: 0.0,
                        vetoed: false,
                        first: h.start,
                    });
                    let last = scores.len() - 1;
                    &mut scores[last]
                }
            };
            if h.negative {
                s.vetoed = true;
            } else {
                s.score += h.weight;
                s.first = s.first.min(h.start);
                if let Some(l) = h.lang {
                    lang_weight[l.index()] += h.weight;
                }
            }
        }
        scores.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.first.cmp(&b.first))
        });
        let lang = Lang::ALL
            .into_iter()
            .filter(|l| lang_weight[l.index()] > 0.0)
            .max_by(|a, b| lang_weight[a.index()].total_cmp(&lang_weight[b.index()]));
        let decision = self.choose(&scores, &hits);
        Classification {
            hits,
            scores,
            decision,
            lang,
        }
    }

    /// The routing rule of design §3: the highest priority among intents above threshold
    /// wins (human-routed first, small talk last); within it the best score, unless the
    /// runner-up is close — then the earlier request wins when the two rest on different
    /// words, and the bot asks when they rest on the same words.
    fn choose(&self, scores: &[Score], hits: &[Hit]) -> Decision {
        let candidates: Vec<&Score> = scores
            .iter()
            .filter(|s| !s.vetoed && s.score >= self.threshold)
            .collect();
        let Some(top_priority) = candidates.iter().map(|s| self.priorities[s.intent]).max() else {
            return Decision::None;
        };
        let mut best = candidates
            .iter()
            .filter(|s| self.priorities[s.intent] == top_priority);
        let Some(first) = best.next() else {
            return Decision::None;
        };
        let Some(second) = best.next() else {
            return Decision::Intent(first.intent);
        };
        if second.score < first.score * (1.0 - self.ambiguity) {
            return Decision::Intent(first.intent);
        }
        let spans = |i: usize| {
            hits.iter()
                .filter(move |h| h.intent == i && !h.negative)
                .map(|h| (h.start, h.end))
        };
        let overlap = spans(first.intent).any(|(s1, e1)| {
            spans(second.intent).any(|(s2, e2)| s1 < e2.max(s2 + 1) && s2 < e1.max(s1 + 1))
        });
        if overlap {
            Decision::Clarify(first.intent, second.intent)
        } else if second.first < first.first {
            Decision::Intent(second.intent)
        } else {
            Decision::Intent(first.intent)
        }
    }

    /// The keyword or pattern behind a hit, for `explain`.
    pub fn evidence_text(&self, e: Evidence) -> &str {
        match e {
            Evidence::Keyword(i) => self.texts.get(i).map_or("", String::as_str),
            Evidence::Pattern(i) => self.regex_list.get(i).map_or("", Regex::as_str),
        }
    }
}

//! The matcher: three tiers of evidence and the rule that turns them into one decision.
//!
//! - **Keywords and patterns** (the operator's strongest lever): every keyword of every
//!   intent in one aho-corasick automaton, matched at the start of a word (so Turkish and
//!   Persian suffixes still match) unless marked whole-word; the word-start check is done
//!   here in code, never by turning keywords into regexes. A message word the pack has never
//!   seen that is one edit from a keyword word (two for long words) is read as that word
//!   (`typo`). The few real patterns run as one `RegexSet`.
//! - **Examples** (`similarity`): the message's cosine similarity with each intent's
//!   examples, and with the pack's out-of-scope examples.
//! - **Entities**: an order number in the message raises the intents that need one.
//!
//! All tiers add up on one scale, the keyword weight: `matching.threshold` (1.0) is "enough
//! to act on". `decide` holds the routing rule.
//!
//! Pure: it sees a `Normalised` message and returns data.

mod decide;
mod vocab;

use crate::lang::Lang;
use crate::normalise::Normalised;
use crate::similarity::{ClassScore, SimilarityIndex};
use crate::typo::{Correction, TypoIndex};
use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexSet};
use std::borrow::Cow;
use std::collections::HashMap;

/// One keyword as the compiler hands it over (already folded).
#[derive(Debug, Clone)]
pub struct KeywordSpec {
    pub intent: usize,
    pub text: String,
    pub weight: f32,
    pub whole_word: bool,
    pub negative: bool,
    /// Found in a message, this keyword decides on its own (over examples and weights).
    pub decisive: bool,
    pub lang: Lang,
}

#[derive(Debug, Clone)]
pub struct PatternSpec {
    pub intent: usize,
    pub regex: String,
    pub weight: f32,
}

/// How the tiers are weighed (`matching:` in `_matching.yaml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Evidence an intent needs to be chosen.
    pub threshold: f32,
    /// Runner-up within this fraction of the best: too close to call.
    pub ambiguity: f32,
    /// Evidence per unit of cosine similarity above `similarity_floor`.
    pub similarity_weight: f32,
    /// Cosine similarity below this is no evidence at all.
    pub similarity_floor: f32,
    /// An intent whose score does not beat the out-of-scope examples' evidence by this much
    /// is dropped, unless its keywords alone are twice the threshold or decisive.
    pub out_of_scope_margin: f32,
    /// Small talk (negative priority) gives way to a request with this much evidence.
    pub request_over_small_talk: f32,
    /// A human-routed intent named by its own keywords takes the message from a better-scored
    /// request only with at least this share of that request's score: a second request,
    /// not a passing mention ("a refund for the missing item" is about the refund).
    pub human_routed_share: f32,
    /// Whether unknown words are read as the keyword word they are one typo away from.
    pub typos: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            threshold: 1.0,
            ambiguity: 0.2,
            similarity_weight: 12.0,
            similarity_floor: 0.2,
            out_of_scope_margin: 1.0,
            request_over_small_talk: 1.0,
            human_routed_share: 0.0,
            typos: true,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct KeywordRef {
    intent: u32,
    weight: f32,
    whole_word: bool,
    negative: bool,
    decisive: bool,
    lang: Lang,
}

/// Everything the compiler hands the matcher.
#[derive(Debug, Default)]
pub struct MatcherSpec {
    pub keywords: Vec<KeywordSpec>,
    pub patterns: Vec<PatternSpec>,
    pub priorities: Vec<i32>,
    /// (class, language, folded text); class `priorities.len()` is out of scope.
    pub examples: Vec<(usize, Lang, String)>,
    /// Per intent: evidence added by an order number in the message.
    pub order_number: Vec<f32>,
    /// Every folded word of the pack besides the examples' (`Matcher::new` adds those), so
    /// only unknown words are read as typos.
    pub known_words: Vec<String>,
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
    similarity: SimilarityIndex,
    examples: Vec<(usize, Lang, String)>,
    typos: TypoIndex,
    vocab: vocab::LangVocab,
    order_number: Vec<f32>,
    tuning: Tuning,
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
    pub decisive: bool,
    /// Found only after a typo was corrected.
    pub typo: bool,
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

/// One intent's evidence, tier by tier; `score` is their sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub intent: usize,
    pub score: f32,
    pub keywords: f32,
    pub similarity: f32,
    /// The cosine similarity behind `similarity`.
    pub cosine: f32,
    pub entity: f32,
    pub vetoed: bool,
    pub decisive: bool,
    /// Dropped because the out-of-scope examples are closer.
    pub out_of_scope: bool,
    /// Where the intent's first keyword starts in the folded text (`usize::MAX`: none).
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
    /// Words read as typos of keyword words.
    pub corrections: Vec<Correction>,
    /// The cosine similarity with the out-of-scope examples.
    pub out_of_scope: f32,
}

impl Classification {
    /// Whether the operator's own keywords chose `intent` (a decisive keyword, or keywords
    /// reaching `threshold`), rather than its examples alone.
    pub fn keyword_backed(&self, intent: usize, threshold: f32) -> bool {
        self.scores
            .iter()
            .any(|s| s.intent == intent && (s.decisive || s.keywords >= threshold))
    }

    /// `intent`'s total score (0 when it has no evidence).
    pub fn score_of(&self, intent: usize) -> f32 {
        self.scores
            .iter()
            .find(|s| s.intent == intent)
            .map_or(0.0, |s| s.score)
    }
}

/// From this many examples on, `Matcher::new` builds the typo index and the vocabulary
/// on a second thread while it builds the examples index.
const PARALLEL_EXAMPLES: usize = 8_192;

/// The most words a message decided as small talk by its examples alone may have.
const SMALL_TALK_WORDS: usize = 6;

impl Matcher {
    /// Builds the automaton, the regex set and the example index. A bad regex is reported
    /// with its index in `patterns`, so the compiler can point at its YAML line.
    pub fn new(spec: MatcherSpec, tuning: Tuning) -> Result<Matcher, (usize, regex::Error)> {
        let MatcherSpec {
            keywords,
            patterns,
            priorities,
            examples,
            order_number,
            known_words,
        } = spec;
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
                decisive: k.decisive,
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
        let typos_and_vocab = || {
            let typos = if tuning.typos {
                let targets = keywords
                    .iter()
                    .filter(|k| !k.negative && !k.whole_word)
                    .flat_map(|k| k.text.split(' '));
                // The examples' words are known words too.
                let known = known_words
                    .iter()
                    .map(String::as_str)
                    .chain(examples.iter().flat_map(|(_, _, t)| t.split(' ')));
                TypoIndex::new(targets, known)
            } else {
                TypoIndex::default()
            };
            let vocab = vocab::LangVocab::new(examples.iter().map(|(_, l, t)| (*l, t.as_str())));
            (typos, vocab)
        };
        let similarity = || SimilarityIndex::new(&examples, priorities.len() + 1);
        // A large pack builds its typo index and vocabulary beside the examples index.
        let (similarity, (typos, vocab)) = if examples.len() >= PARALLEL_EXAMPLES
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        {
            std::thread::scope(|s| {
                let other = s.spawn(typos_and_vocab);
                let similarity = similarity();
                // The other thread cannot panic (no input reaches one); if it did, redo it.
                (
                    similarity,
                    other.join().unwrap_or_else(|_| typos_and_vocab()),
                )
            })
        } else {
            (similarity(), typos_and_vocab())
        };
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
            similarity,
            examples,
            typos,
            vocab,
            order_number,
            priorities,
            tuning,
        })
    }

    /// Per language, how many of the message's words only that language's examples use.
    pub fn language_votes(&self, folded: &str) -> [u16; 3] {
        self.vocab.votes(folded)
    }

    pub fn keyword_count(&self) -> usize {
        self.texts.len()
    }

    pub fn example_count(&self) -> usize {
        self.examples.len()
    }

    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// The class number of the out-of-scope examples.
    pub fn out_of_scope_class(&self) -> usize {
        self.priorities.len()
    }

    /// Classifies a message; `order_number` says whether it carries one.
    pub fn classify(&self, n: &Normalised, order_number: bool) -> Classification {
        let mut hits = self.keyword_hits(&n.folded);
        let mut corrections = Vec::new();
        let corrected = self.correct_typos(&n.folded, &hits, &mut corrections);
        if let Some(text) = &corrected {
            hits = self.keyword_hits(text);
            let mut at = 0;
            let spans: Vec<(usize, usize)> = text
                .split(' ')
                .map(|w| {
                    let s = (at, at + w.len());
                    at += w.len() + 1;
                    s
                })
                .collect();
            let fixed: Vec<(usize, usize)> = spans
                .into_iter()
                .zip(n.folded.split(' '))
                .filter(|((s, e), orig)| &text[*s..*e] != *orig)
                .map(|(span, _)| span)
                .collect();
            for h in &mut hits {
                h.typo = fixed.iter().any(|&(s, e)| h.start < e && s < h.end);
            }
        }
        if !self.regex_refs.is_empty() {
            for i in self.regexes.matches(&n.entity_text).iter() {
                let (intent, weight) = self.regex_refs[i];
                // Positions in the entity text only order evidence; the first byte is close
                // enough for a pattern, which is rarely the only evidence.
                let start = self.regex_list[i]
                    .find(&n.entity_text)
                    .map_or(0, |m| m.start().min(n.folded.len()));
                hits.push(Hit {
                    intent: intent as usize,
                    evidence: Evidence::Pattern(i),
                    start,
                    end: start,
                    weight,
                    negative: false,
                    decisive: false,
                    typo: false,
                    lang: None,
                });
            }
        }
        let mut similar = match words_for_examples(corrected.as_deref().unwrap_or(&n.folded), n) {
            Some(text) => self.similarity.score(
                &text,
                self.tuning.similarity_floor,
                self.out_of_scope_class(),
            ),
            None => Vec::new(),
        };
        // Small talk is short: in a longer message ("ok but what if it doesn't drop off") a
        // greeting, thanks or goodbye needs a keyword of its own, not a likeness to "ok bye".
        let long = n.folded.split(' ').nth(SMALL_TALK_WORDS).is_some();
        let small_talk = |i: usize| self.priorities.get(i).is_some_and(|&p| p < 0);
        if long {
            // A word one typo from "selam" in the middle of a story is not a greeting.
            hits.retain(|h| !(h.typo && small_talk(h.intent)));
            similar.retain(|c| {
                !small_talk(c.class) || hits.iter().any(|h| h.intent == c.class && !h.negative)
            });
        }
        let mut c = self.decide(hits, &similar, order_number, long);
        c.corrections = corrections;
        c
    }

    fn keyword_hits(&self, folded: &str) -> Vec<Hit> {
        let text = folded.as_bytes();
        let mut hits: Vec<Hit> = Vec::new();
        for m in self.automaton.find_overlapping_iter(folded) {
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
                    decisive: r.decisive,
                    typo: false,
                    lang: Some(r.lang),
                });
            }
        }
        hits
    }

    /// The message with its unknown words read as the keyword words they were meant to be,
    /// or `None` when nothing changed. Words where a keyword already starts are kept.
    fn correct_typos(
        &self,
        folded: &str,
        hits: &[Hit],
        corrections: &mut Vec<Correction>,
    ) -> Option<String> {
        if self.typos.is_empty() {
            return None;
        }
        let mut out: Option<String> = None;
        let mut at = 0;
        for (i, word) in folded.split(' ').enumerate() {
            let start = at;
            at += word.len() + 1;
            let fixed = if word.len() >= crate::typo::MIN_LEN - 1
                && !hits.iter().any(|h| h.start == start)
            {
                self.typos.correct(word)
            } else {
                None
            };
            if fixed.is_some() && out.is_none() {
                // Everything before this word, without the space that follows it.
                out = Some(folded[..start.saturating_sub(1)].to_owned());
            }
            if let Some(o) = &mut out {
                if i > 0 {
                    o.push(' ');
                }
                match fixed {
                    Some(f) => {
                        o.push_str(&f);
                        corrections.push(Correction {
                            from: word.to_owned(),
                            to: f,
                        });
                    }
                    None => o.push_str(word),
                }
            }
        }
        out
    }

    /// The keyword or pattern behind a hit, for `explain`.
    pub fn evidence_text(&self, e: Evidence) -> &str {
        match e {
            Evidence::Keyword(i) => self.texts.get(i).map_or("", String::as_str),
            Evidence::Pattern(i) => self.regex_list.get(i).map_or("", Regex::as_str),
        }
    }

    /// The examples closest to a message, for `explain`: (class, language, text, cosine).
    pub fn nearest_examples(&self, folded: &str, k: usize) -> Vec<crate::similarity::Near> {
        self.similarity.nearest(folded, &self.examples, k)
    }

    /// For `check`: each example whose closest intent is another one, with that intent
    /// and both similarities.
    pub fn misplaced_examples(&self) -> Vec<(usize, Lang, String, ClassScore, f32)> {
        let mut out = Vec::new();
        for (class, lang, text) in &self.examples {
            let s = self.similarity.score(text, 0.0, usize::MAX);
            let own = s
                .iter()
                .find(|c| c.class == *class)
                .map_or(0.0, |c| c.cosine);
            if let Some(best) = s.first()
                && best.class != *class
                && best.cosine > own
            {
                out.push((*class, *lang, text.clone(), *best, own));
            }
        }
        out
    }
}

/// The words the examples tier compares: e-mail addresses and numbers say nothing about the
/// request, so they are left out; `None` when no word is left ("48213977",
/// "ayse@example.com", "4417").
fn words_for_examples<'a>(folded: &'a str, n: &Normalised) -> Option<Cow<'a, str>> {
    // The common case, no number and no e-mail: every word stays (folded text has one
    // space between words and none at the ends).
    if !folded.bytes().any(|b| b.is_ascii_digit()) && !n.entity_text.contains('@') {
        return (!folded.is_empty()).then_some(Cow::Borrowed(folded));
    }
    let mut skip: Vec<String> = n
        .entity_text
        .split_whitespace()
        .filter(|t| t.contains('@'))
        .flat_map(|t| {
            crate::normalise::fold(t)
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut kept = String::with_capacity(folded.len());
    for w in folded.split(' ') {
        if w.is_empty() || w.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(i) = skip.iter().position(|s| s == w) {
            skip.swap_remove(i);
            continue;
        }
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(w);
    }
    (!kept.is_empty()).then_some(Cow::Owned(kept))
}

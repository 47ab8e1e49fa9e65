//! The routing rule: evidence of every tier → one `Decision`.
//!
//! 1. Each intent's score is its keyword weight (a keyword found twice counts once) plus its
//!    example similarity (`similarity_weight × (cosine − similarity_floor)`, when positive)
//!    plus the entity evidence (an order number raises the intents that need one, when they
//!    have other evidence). A negative keyword vetoes the intent.
//! 2. Candidates reach `threshold`. A decisive keyword wins over every other candidate.
//! 3. When the out-of-scope examples are closer to the message than an intent's own
//!    examples by `out_of_scope_margin`, and its keywords are not twice the threshold,
//!    the intent is dropped: a hard negative stays out of scope.
//! 4. Small talk (negative priority: greeting, thanks) gives way to any request with
//!    `request_over_small_talk` of evidence: "hello, when does 55120 arrive" is about the
//!    order.
//! 5. The highest priority wins (human-routed first); within it the best score, unless the
//!    runner-up is within `ambiguity` — then a leader of higher priority stays, the earlier
//!    request wins when the two rest on different words (a leader on its examples alone,
//!    with no word to place it, keeps the lead unless an order number raised the other),
//!    and the bot asks when they rest on the
//!    same words.

use super::{Classification, Decision, Hit, Matcher, Score};
use crate::lang::Lang;
use crate::similarity::ClassScore;

impl Matcher {
    pub(super) fn decide(
        &self,
        mut hits: Vec<Hit>,
        similar: &[ClassScore],
        order_number: bool,
        long: bool,
    ) -> Classification {
        let t = &self.tuning;
        let oos_class = self.priorities.len();
        let mut scores: Vec<Score> = Vec::new();
        let mut lang_weight = [0f32; 3];
        let new_score = |intent| Score {
            intent,
            score: 0.0,
            keywords: 0.0,
            similarity: 0.0,
            cosine: 0.0,
            entity: 0.0,
            vetoed: false,
            decisive: false,
            out_of_scope: false,
            first: usize::MAX,
        };
        // A keyword found twice counts once per intent: sorted, the repeats are neighbours.
        hits.sort_unstable_by_key(|h| (h.intent, h.evidence.key(), h.start));
        let mut last = None;
        for h in &hits {
            if last == Some((h.intent, h.evidence)) {
                continue;
            }
            last = Some((h.intent, h.evidence));
            let s = match scores.iter().position(|s| s.intent == h.intent) {
                Some(i) => &mut scores[i],
                None => {
                    scores.push(new_score(h.intent));
                    let i = scores.len() - 1;
                    &mut scores[i]
                }
            };
            if h.negative {
                s.vetoed = true;
            } else {
                s.keywords += h.weight;
                s.decisive |= h.decisive;
                s.first = s.first.min(h.start);
                if let Some(l) = h.lang {
                    lang_weight[l.index()] += h.weight;
                }
            }
        }
        let mut out_of_scope = 0.0;
        for c in similar {
            if c.class == oos_class {
                out_of_scope = c.cosine;
            }
            let evidence = t.similarity_weight * (c.cosine - t.similarity_floor);
            if c.class >= oos_class {
                continue;
            }
            let i = match scores.iter().position(|s| s.intent == c.class) {
                Some(i) => i,
                None if evidence > 0.0 => {
                    scores.push(new_score(c.class));
                    scores.len() - 1
                }
                None => continue,
            };
            scores[i].cosine = c.cosine;
            scores[i].similarity = evidence.max(0.0);
        }
        let oos_evidence = t.similarity_weight * (out_of_scope - t.similarity_floor);
        for s in &mut scores {
            if order_number && s.keywords + s.similarity > 0.0 {
                s.entity = self.order_number.get(s.intent).copied().unwrap_or(0.0);
            }
            s.score = s.keywords + s.similarity + s.entity;
            // Strong keywords keep a request that reads like the out-of-scope examples; not
            // small talk in a longer message, where a greeting or a sign-off is the frame
            // around whatever the message is about.
            let strong =
                s.keywords >= 2.0 * t.threshold && !(long && self.priorities[s.intent] < 0);
            s.out_of_scope =
                !s.decisive && !strong && oos_evidence + t.out_of_scope_margin > s.score;
        }
        scores.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.first.cmp(&b.first))
                .then_with(|| a.intent.cmp(&b.intent))
        });
        let decision = self.choose(&scores, &hits);
        // The examples speak for the language only through the intent they decided.
        if let Decision::Intent(i) = decision
            && let Some(c) = similar.iter().find(|c| c.class == i)
            && let Some(s) = scores.iter().find(|s| s.intent == i)
        {
            lang_weight[c.lang.index()] += s.similarity;
        }
        let lang = Lang::ALL
            .into_iter()
            .filter(|l| lang_weight[l.index()] > 0.0)
            .max_by(|a, b| lang_weight[a.index()].total_cmp(&lang_weight[b.index()]));
        Classification {
            hits,
            scores,
            decision,
            lang,
            corrections: Vec::new(),
            out_of_scope,
        }
    }

    fn choose(&self, scores: &[Score], hits: &[Hit]) -> Decision {
        let t = &self.tuning;
        let live = |s: &&Score| !s.vetoed && !s.out_of_scope;
        let mut candidates: Vec<&Score> = scores
            .iter()
            .filter(live)
            .filter(|s| s.score >= t.threshold)
            .collect();
        if candidates.iter().any(|s| s.decisive) {
            candidates.retain(|s| s.decisive);
        } else if !candidates.is_empty() && candidates.iter().all(|s| self.priorities[s.intent] < 0)
        {
            let requests: Vec<&Score> = scores
                .iter()
                .filter(live)
                .filter(|s| self.priorities[s.intent] >= 0)
                .filter(|s| s.score >= t.request_over_small_talk)
                .collect();
            if !requests.is_empty() {
                candidates = requests;
            }
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        let Some(&first) = candidates.first() else {
            return Decision::None;
        };
        // Human-routed intents first (design §3) — when the operator's own keywords say so.
        let urgent = candidates
            .iter()
            .filter(|s| self.priorities[s.intent] > self.priorities[first.intent])
            .filter(|s| s.keywords >= t.threshold)
            .filter(|s| s.score >= first.score * t.human_routed_share)
            .max_by(|a, b| {
                self.priorities[a.intent]
                    .cmp(&self.priorities[b.intent])
                    .then(a.score.total_cmp(&b.score))
            });
        if let Some(u) = urgent {
            return Decision::Intent(u.intent);
        }
        let Some(&second) = candidates.get(1) else {
            return Decision::Intent(first.intent);
        };
        if second.score < first.score * (1.0 - t.ambiguity) {
            return Decision::Intent(first.intent);
        }
        // Close call between small talk and a request: the request ("hello, cancel my order").
        match (
            self.priorities[first.intent] < 0,
            self.priorities[second.intent] < 0,
        ) {
            (true, false) => return Decision::Intent(second.intent),
            (false, true) => return Decision::Intent(first.intent),
            _ => {}
        }
        // A close call the human-routed intent leads: it stays ("they sent the black one,
        // I want to return it" is a wrong item, whatever word came first).
        if self.priorities[first.intent] > self.priorities[second.intent] {
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
        } else if first.first == usize::MAX && second.entity == 0.0 {
            // The leader rests on its examples alone: no word of it comes first or last, and
            // the runner-up's keyword is no earlier request than the whole message is. (An
            // order number the runner-up needs is about one order: "hello, when does order
            // 55120 arrive" asks for that order's status, not delivery times in general.)
            Decision::Intent(first.intent)
        } else if second.first < first.first {
            Decision::Intent(second.intent)
        } else {
            Decision::Intent(first.intent)
        }
    }
}

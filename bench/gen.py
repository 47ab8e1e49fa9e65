#!/usr/bin/env python3
"""Generates the comparison corpus: the same rule set for destek and RiveScript, and the
same messages, for each N.

    python3 bench/gen.py --out DIR [--sizes 50,500,5000] [--messages 20000]

writes, for every N:
    DIR/intents_N.yaml   destek intents (added to the default pack by benches/compare.rs)
    DIR/rules_N.rive     the same triggers for RiveScript, one `+ [*] trigger [*]` each
    DIR/messages_N.tsv   planted_intent <TAB> variant <TAB> message

Every intent has 8 triggers: 5 Turkish (with ş ğ ı ç ö ü) and 3 English-looking words;
every third intent has a two-word Turkish phrase. Words are distinct across the whole set
after folding (case, Turkish letters), and no word is the start of another word, of a
filler word, or begins with a keyword of destek's default pack, so each message has
exactly one right answer for both engines. Each message plants one trigger among 2-6
filler words, as one of these variants:

    plain     the trigger as written in the rules
    capital   first letter upper-cased (Turkish rules: i -> İ, ı -> I)
    upper     the whole trigger upper-cased (Turkish rules)
    suffix    a Turkish suffix on the last word (siparişlerim-style), Turkish triggers only
    ascii     typed without Turkish letters (ş -> s, ı -> i ...), Turkish triggers only

Deterministic: a fixed seed, no dependency beyond the standard library (PyYAML is used to
read the default pack's keywords if it is installed; otherwise every word of intents/*.yaml
is avoided, which is stricter).
"""

import argparse
import glob
import os
import random
import re
import sys

TR_SYLLABLES = [
    "ka", "şe", "ğı", "çö", "mü", "tı", "ya", "ru", "lı", "dü", "gö", "ba", "ne", "sö",
    "kı", "zü", "pa", "ça", "ış", "ör", "ün", "ağ", "iş", "el", "ır", "te", "bo", "şu",
    "gü", "fı", "ço", "ve", "ri", "lo", "sa", "mı", "ğe", "dö", "hu", "ci", "zo", "kü",
]
EN_SYLLABLES = [
    "bro", "ster", "ven", "tal", "mor", "quin", "plex", "dra", "fen", "lit", "gor", "wick",
    "cy", "zam", "ple", "rix", "nor", "blen", "shaw", "thorn", "vex", "glim", "crad", "fro",
    "pim", "dus", "ward", "lun", "spar", "kel", "trip", "mol",
]
FILLER_TR = [
    "acaba", "bir", "şey", "bu", "için", "ben", "sizin", "şimdi", "hemen", "yine", "çok",
    "biraz", "hala", "ama", "ve", "ile", "gibi", "daha", "lütfen", "sormak", "istiyorum",
]
FILLER_EN = [
    "please", "the", "my", "can", "you", "with", "about", "this", "again", "just", "really",
    "some", "and", "for", "quick", "question", "wanted", "to", "ask",
]
BACK_SUFFIXES = ["lar", "ları", "da", "dan", "ım", "ı", "ımız", "ların"]
FRONT_SUFFIXES = ["ler", "leri", "de", "den", "im", "i", "imiz", "lerin"]
VARIANTS = [("plain", 45), ("capital", 15), ("upper", 10), ("suffix", 20), ("ascii", 10)]

ASCII = str.maketrans("şğıçöüŞĞİÇÖÜ", "sgicouSGICOU")


def fold(s):
    """Close enough to destek's folding for uniqueness: lower-case, Turkish letters to
    ASCII, runs of 3+ letters to one."""
    s = s.replace("İ", "i").replace("I", "i").lower().translate(ASCII)
    return re.sub(r"(.)\1\1+", r"\1", s)


def tr_upper(s):
    return s.replace("i", "İ").replace("ı", "I").upper()


def tr_capital(s):
    return tr_upper(s[0]) + s[1:]


def default_keywords(intents_dir):
    """The default pack's keywords, folded: single words (a message word starting with one
    could hit a default intent) and phrases (list of words)."""
    words, phrases = set(), []
    files = sorted(glob.glob(os.path.join(intents_dir, "*.yaml")))
    try:
        import yaml  # type: ignore
    except ImportError:
        yaml = None
    for path in files:
        text = open(path, encoding="utf-8").read()
        if yaml is None:
            words.update(fold(w) for w in re.findall(r"\w+", text) if len(w) >= 2)
            continue  # stricter: every word of the file is avoided
        doc = yaml.safe_load(text) or {}
        for intent in doc.get("intents") or []:
            for lists in (intent.get("keywords") or {}).values():
                for k in lists or []:
                    t = k["text"] if isinstance(k, dict) else str(k)
                    parts = fold(t).split()
                    if len(parts) == 1:
                        words.add(parts[0])
                    elif parts:
                        phrases.append(parts)
    return words, phrases


class Words:
    """Distinct, prefix-free words (after folding)."""

    def __init__(self, reserved_prefixes, fillers):
        self.words = set()
        self.prefixes = set()  # every proper and full prefix of every accepted word
        self.reserved = reserved_prefixes
        self.filler_prefixes = set()
        for f in fillers:
            ff = fold(f)
            for i in range(1, len(ff) + 1):
                self.filler_prefixes.add(ff[:i])

    def accept(self, w):
        f = fold(w)
        if len(f) < 5 or re.search(r"(.)\1\1", w):
            return False
        if f in self.prefixes or f in self.filler_prefixes:
            return False  # it is the start of a word we have, or of a filler word
        for i in range(1, len(f) + 1):
            p = f[:i]
            if p in self.words or p in self.reserved:
                return False  # a word we have (or a default keyword) starts it
        self.words.add(f)
        for i in range(1, len(f) + 1):
            self.prefixes.add(f[:i])
        return True


def make_word(rng, syllables, lo, hi, words):
    for _ in range(10_000):
        w = "".join(rng.choice(syllables) for _ in range(rng.randint(lo, hi)))
        if words.accept(w):
            return w
    sys.exit("gen.py: ran out of distinct words")


def rule_set(n, rng, words):
    intents = []
    for i in range(n):
        tr = [make_word(rng, TR_SYLLABLES, 3, 4, words) for _ in range(5)]
        if i % 3 == 0:
            tr[0] = tr[0] + " " + make_word(rng, TR_SYLLABLES, 3, 3, words)
        en = [make_word(rng, EN_SYLLABLES, 3, 3, words) for _ in range(3)]
        intents.append((f"synthetic_{i}", tr, en))
    return intents


def suffixed(word, rng):
    vowels = [c for c in word if c in "aıoueiöü"]
    back = not vowels or vowels[-1] in "aıou"
    suf = rng.choice(BACK_SUFFIXES if back else FRONT_SUFFIXES)
    if word[-1] in "aıoueiöü" and suf[0] in "aıoueiöü":
        suf = "y" + suf
    return word + suf


def message(rng, intents, fillers):
    iid, tr, en = rng.choice(intents)
    turkish = rng.random() < 5 / 8
    trig = rng.choice(tr) if turkish else rng.choice(en)
    variant = rng.choices([v for v, _ in VARIANTS], [w for _, w in VARIANTS])[0]
    if not turkish and variant in ("suffix", "ascii"):
        variant = "plain"
    if variant == "ascii" and fold(trig) == trig:
        variant = "plain"  # nothing to strip
    if variant == "capital":
        text = tr_capital(trig) if turkish else trig.capitalize()
    elif variant == "upper":
        text = tr_upper(trig) if turkish else trig.upper()
    elif variant == "suffix":
        parts = trig.split(" ")
        parts[-1] = suffixed(parts[-1], rng)
        text = " ".join(parts)
    elif variant == "ascii":
        text = trig.translate(ASCII)
    else:
        text = trig
    before = [rng.choice(fillers) for _ in range(rng.randint(1, 3))]
    after = [rng.choice(fillers) for _ in range(rng.randint(1, 3))]
    msg = " ".join(before + [text] + after)
    r = rng.random()
    if r < 0.4:
        msg += "?"
    elif r < 0.5:
        msg += "!"
    if rng.random() < 0.3:
        msg = tr_capital(msg)
    return iid, variant, msg


def yaml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="50,500,5000")
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--intents-dir", default=os.path.join(os.path.dirname(__file__), "..", "intents"))
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    reserved, phrases = default_keywords(args.intents_dir)
    all_fillers = FILLER_TR + FILLER_EN
    # A filler must not hit a default keyword on its own, nor start a default phrase that
    # other fillers could complete.
    fillers = [f for f in all_fillers
               if not any(fold(f).startswith(k) for k in reserved)
               and not any(p[0] == fold(f) and any(fold(g).startswith(p[1]) for g in all_fillers)
                           for p in phrases)]
    dropped = sorted(set(FILLER_TR + FILLER_EN) - set(fillers))
    if dropped:
        print(f"gen.py: fillers dropped (start with a default-pack keyword): {dropped}",
              file=sys.stderr)

    for n in (int(x) for x in args.sizes.split(",")):
        rng = random.Random(args.seed * 1_000_003 + n)
        words = Words(reserved, fillers)
        intents = rule_set(n, rng, words)

        with open(os.path.join(args.out, f"intents_{n}.yaml"), "w", encoding="utf-8") as f:
            f.write("intents:\n")
            for iid, tr, en in intents:
                f.write(f"  - id: {iid}\n    answer: greeting\n    keywords:\n")
                f.write("      tr: [" + ", ".join(map(yaml_str, tr)) + "]\n")
                f.write("      en: [" + ", ".join(map(yaml_str, en)) + "]\n")

        with open(os.path.join(args.out, f"rules_{n}.rive"), "w", encoding="utf-8") as f:
            f.write("! version = 2.0\n\n")
            for iid, tr, en in intents:
                for t in tr + en:
                    f.write(f"+ [*] {t} [*]\n- {iid}\n\n")
            f.write("+ *\n- out_of_scope\n")

        with open(os.path.join(args.out, f"messages_{n}.tsv"), "w", encoding="utf-8") as f:
            for _ in range(args.messages):
                iid, variant, msg = message(rng, intents, fillers)
                f.write(f"{iid}\t{variant}\t{msg}\n")
        print(f"gen.py: N={n}: {n} intents, {8 * n} triggers, {args.messages} messages",
              file=sys.stderr)


if __name__ == "__main__":
    main()

//! Understanding by more than exact keywords: examples as evidence, stems, typos, entities,
//! out-of-scope examples and the small-talk rule — each on plain data a customer would type.

use destek::engine::classify;
use destek::lang::Lang;
use destek::matcher::Decision;
use destek::pack::{self, Source};
use destek::{Bot, eval};

#[path = "support/system_templates.rs"]
mod system_templates;
use system_templates::SYSTEM;

fn compile(files: &[(&str, &str)]) -> Bot {
    let mut sources = vec![Source {
        path: "flows/system.yaml".into(),
        text: SYSTEM.into(),
    }];
    sources.extend(files.iter().map(|(path, text)| Source {
        path: (*path).into(),
        text: (*text).into(),
    }));
    let c = pack::compile(&sources, &pack::Options::default());
    let errors: Vec<String> = c.diagnostics.iter().map(ToString::to_string).collect();
    c.bot.unwrap_or_else(|| panic!("{}", errors.join("\n")))
}

fn examples_only() -> Bot {
    let text = std::fs::read_to_string("tests/packs/examples_only.yaml").expect("test pack");
    compile(&[("intents/examples_only.yaml", &text)])
}

fn default_bot() -> Bot {
    pack::compile(&pack::embedded(), &pack::Options::default())
        .bot
        .expect("the default pack compiles")
}

fn intent(bot: &Bot, text: &str) -> String {
    eval::predict(bot, text).0
}

#[test]
fn an_intent_with_only_examples_understands_paraphrases() {
    let bot = examples_only();
    for (text, want) in [
        ("hey what time does your store open tomorrow", "store_hours"),
        ("yarın mağazanız saat kaçta açık olacak", "store_hours"),
        ("فردا فروشگاه از ساعت چند بازه", "store_hours"),
        ("could you wrap it as a present for my mum", "gift_wrap"),
        ("annem için hediye paketi yapar mısınız", "gift_wrap"),
        ("لطفا برای تولد خواهرم کادوپیچش کنید", "gift_wrap"),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
}

#[test]
fn typos_and_inflected_forms_reach_an_intent_with_only_examples() {
    let bot = examples_only();
    for (text, want) in [
        ("what tiem do yuo open tomorow", "store_hours"),
        ("do u do gift wraping", "gift_wrap"),
        // Turkish suffixes the examples never show, typed without Turkish letters.
        (
            "magazanizin calisma saatlerini ogrenebilir miyim",
            "store_hours",
        ),
        ("HEDIYE PAKETLERINIZ UCRETLI MI", "gift_wrap"),
        // Persian without the half-space, with Arabic yeh and kaf.
        ("ساعت كاري فروشگاهتون چيه", "store_hours"),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
}

#[test]
fn a_message_closer_to_the_out_of_scope_examples_falls_back() {
    let bot = examples_only();
    for text in [
        "tell me a joke please",
        "kargo pantolon satiyor musunuz",
        "who won the game last night",
    ] {
        assert_eq!(intent(&bot, text), eval::OUT_OF_SCOPE, "{text}");
    }
}

#[test]
fn plain_turkish_return_request_is_understood() {
    // One keyword of weight 0.8 used to miss the threshold of 1.0.
    let bot = default_bot();
    for text in [
        "iade etmek istiyorum",
        "IADE ETMEK ISTIYORUM",
        "iade etcem bunu",
    ] {
        assert_eq!(intent(&bot, text), "return_request", "{text}");
    }
}

#[test]
fn a_greeting_in_front_of_a_request_never_beats_the_request() {
    let bot = default_bot();
    for (text, want) in [
        ("hello, when does order 55120 arrive", "order_status"),
        (
            "merhaba iyi günler, siparişimi iptal etmek istiyorum",
            "cancel_order",
        ),
        ("سلام وقت بخیر، سفارشم کی میرسه", "order_status"),
        (
            "hi there, i was charged twice for one order",
            "payment_problem",
        ),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
    // A greeting alone is still a greeting.
    for text in ["merhaba", "salam", "hello there"] {
        assert_eq!(intent(&bot, text), "greeting", "{text}");
    }
}

#[test]
fn regression_a_long_question_that_only_opens_with_greetings_is_not_a_greeting() {
    // Two greeting keywords used to shield the greeting from the out-of-scope examples,
    // whatever followed them: the shopper who asked how to place a new order was greeted.
    let bot = default_bot();
    let text = "سلام وقت بخیر. من میخوام برای دفتر شرکتمون چند تا کارتن کاغذ A4 و تونر پرینتر \
                بخرم، فاکتور رسمی به اسم شرکت هم لازم دارم، سفارش جدید رو چطوری ثبت کنم؟";
    assert_ne!(intent(&bot, text), "greeting", "{text}");
    // A greeting of the same two keywords, alone, is still one.
    assert_eq!(intent(&bot, "سلام وقت بخیر"), "greeting");
}

#[test]
fn regression_a_typo_of_a_greeting_inside_a_story_is_not_a_greeting() {
    let bot = compile(&[(
        "intents/small.yaml",
        "intents:\n  - id: greeting\n    answer: ok\n    priority: -1\n    keywords: {tr: [selam]}\n",
    )]);
    // "sedam" is one letter from "selam": a greeting typed in a hurry...
    assert_eq!(intent(&bot, "sedam"), "greeting");
    // ...but not in the middle of a review.
    let story =
        "bu kulaklik harika arkadaslarim sedam cok net geliyor diyor tek sorunu kablosu kisa";
    assert_ne!(intent(&bot, story), "greeting", "{story}");
}

#[test]
fn hard_negatives_stay_out_of_scope() {
    let bot = default_bot();
    for text in [
        "kargo pantolon var mı",
        "vergi iadesi nasıl alınır",
        "cancel my netflix subscription",
        "how do i return a library book",
        "بلیط برگشت قطار مشهد دارید",
    ] {
        assert_eq!(intent(&bot, text), eval::OUT_OF_SCOPE, "{text}");
    }
}

const KEYWORDS_ONLY: &str = r#"
intents:
  - id: refund
    answer: ok
    keywords: {en: [refund], tr: [geri ödeme], fa: [بازپرداخت]}
  - id: tracking
    answer: ok
    keywords: {en: [tracking number], tr: [takip numarası], fa: [کد رهگیری]}
"#;

#[test]
fn a_keyword_matches_with_one_typo_and_a_long_one_with_two() {
    let bot = compile(&[("intents/test.yaml", KEYWORDS_ONLY)]);
    for (text, want) in [
        ("where is my refnud", "refund"),
        ("my trackign number please", "tracking"),
        ("my trakcing numbr", "tracking"),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
    let (_, c) = classify(&bot, "where is my refnud");
    assert_eq!(c.corrections.len(), 1, "explain shows the correction");
    assert_eq!(c.corrections[0].to, "refund");
    // Too far from any keyword word to be read as one.
    assert_eq!(intent(&bot, "where is my fnuder"), eval::OUT_OF_SCOPE);
}

#[test]
fn a_word_the_pack_knows_is_never_read_as_a_typo() {
    let pack = r#"
intents:
  - id: cargo
    answer: ok
    keywords: {tr: [kargom]}
  - id: crow
    answer: ok
    keywords: {tr: [karga]}
"#;
    let bot = compile(&[("intents/test.yaml", pack)]);
    assert_eq!(intent(&bot, "karga"), "crow");
    assert_eq!(intent(&bot, "kargom"), "cargo");
}

#[test]
fn a_decisive_keyword_wins_over_examples_and_weights() {
    let pack = r#"
intents:
  - id: broken
    answer: ok
    priority: 0
    keywords: {en: [{text: in pieces, decisive: true}]}
  - id: returns
    answer: ok
    keywords: {en: [return, send back, {text: want to return, weight: 2}]}
    examples: {en: [i want to return it, how do i send it back, can i return this]}
"#;
    let bot = compile(&[("intents/test.yaml", pack)]);
    assert_eq!(
        intent(&bot, "it came in pieces and i want to return it"),
        "broken"
    );
    assert_eq!(intent(&bot, "i want to return it"), "returns");
}

#[test]
fn an_order_number_raises_the_intents_that_need_one() {
    let bot = default_bot();
    let (_, with) = classify(&bot, "what about 48213977");
    let (_, without) = classify(&bot, "what about it");
    let order = bot.intents.iter().position(|i| i.id == "order_status");
    let entity = |c: &destek::matcher::Classification| {
        c.scores
            .iter()
            .find(|s| Some(s.intent) == order)
            .map_or(0.0, |s| s.entity)
    };
    assert!(entity(&with) > 0.0 || with.decision == Decision::None);
    assert_eq!(entity(&without), 0.0);
    assert_eq!(intent(&bot, "is 48213977 on its way"), "order_status");
}

#[test]
fn the_language_follows_the_evidence_of_every_tier() {
    let bot = default_bot();
    let (_, c) = classify(&bot, "siparisim nerde kaldi");
    assert_eq!(c.lang, Some(Lang::Tr));
    let (_, c) = classify(&bot, "sefaresham kojast");
    assert_eq!(c.lang, Some(Lang::Fa));
    let (_, c) = classify(&bot, "where is my parcel");
    assert_eq!(c.lang, Some(Lang::En));
}

#[test]
fn a_refund_for_a_missing_item_is_a_refund_question_not_a_damage_report() {
    // The missing part is context; the request is the money. A person is woken only when
    // the damage is a request of its own.
    let bot = default_bot();
    for (text, want) in [
        (
            "you said I'd get my money back for the missing charger two weeks ago, nothing yet",
            "refund_status",
        ),
        (
            "eksik gelen kılıfın parası iade edilecekti, hala hesabıma yatmadı",
            "refund_status",
        ),
        (
            "برای قطعه‌ای که کم بود قرار بود پولمو برگردونید، هنوز خبری نیست",
            "refund_status",
        ),
        (
            "the lamp arrived smashed, and where is my refund for the last order?",
            "damaged_item",
        ),
        (
            "bardak kırık geldi, bir de iade ettiğim ayakkabının parası ne oldu",
            "damaged_item",
        ),
        (
            "گوشی شکسته رسید، پول سفارش قبلیم هم هنوز برنگشته",
            "damaged_item",
        ),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
}

#[test]
fn a_negative_keyword_vetoes_only_its_own_words() {
    // Negative keywords match at the start of a word like any keyword: "bus" vetoed
    // "business days", "train" vetoed "trainers", "my account" vetoed every cancellation
    // placed from one's account, and "my phone" vetoed every order of a phone.
    let bot = default_bot();
    for (text, want) in [
        ("where are my trainers, order 55120394", "order_status"),
        (
            "it said 3 business days and it's been 8, where is my order",
            "order_status",
        ),
        ("گوشیم کی میرسه؟ سفارشش دادم هفته پیش", "order_status"),
        (
            "Trendyol Express ile gönderildi diyor, kargom nerede şu an",
            "order_status",
        ),
        (
            "please cancel the order I placed on my account yesterday",
            "cancel_order",
        ),
        (
            "I opened a support ticket about my refund 10 days ago and still no money",
            "refund_status",
        ),
        (
            "tracking says delivered but the box was empty when I opened it",
            "damaged_item",
        ),
        // The hard negatives they were written for still fall back.
        ("cancel my netflix", "out_of_scope"),
        ("where is my train ticket refund", "out_of_scope"),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
}

#[test]
fn a_return_of_something_broken_is_a_damage_report() {
    // Labelling rule: damaged_item even when the customer says "return"; a return is of
    // something that is fine.
    let bot = default_bot();
    for (text, want) in [
        (
            "the kettle came broken, I'd like to return it",
            "damaged_item",
        ),
        (
            "tost makinesi bozuk geldi iade etmek istiyorum",
            "damaged_item",
        ),
        ("کتری شکسته رسیده میخوام مرجوعش کنم", "damaged_item"),
        (
            "nothing wrong with the jacket, just too big, I'd like to return it",
            "return_request",
        ),
        (
            "ürün sağlam ama beğenmedim, iade etmek istiyorum",
            "return_request",
        ),
    ] {
        assert_eq!(intent(&bot, text), want, "{text}");
    }
}

/// An intent whose examples alone lead a close call is not beaten by a runner-up's keyword
/// for coming "earlier": the leader has no word to be placed by, so it is no later request.
/// ("iadem onaylandı ama kartıma hâlâ yansımadı … para nerede" went to the order's status
/// on its "hâlâ" and "nerede" against a refund question its examples recognised.)
#[test]
fn regression_a_leader_on_examples_alone_is_not_beaten_by_an_earlier_keyword() {
    let bot = compile(&[(
        "intents/money.yaml",
        r#"
intents:
  - id: refund_wait
    answer: ok
    examples:
      en: [my refund has not reached my card, the money for my return is not back yet,
           return approved but no money on my card, when do i get my money back,
           my refund is late, still no refund on my card, the bank says no refund came,
           where is the refund for my return, refund approved money not there,
           you said refund sent but bank has nothing]
  - id: parcel_where
    answer: ok
    keywords:
      en: [{text: still, weight: 0.5}, {text: where, weight: 0.5}]
    examples:
      en: [where is my parcel, my parcel is still not here, where is my package,
           the package has still not come, where is my order now, still waiting for my box]
"#,
    )]);
    let text = "still waiting where is my refund my return was approved";
    let (_, c) = classify(&bot, text);
    let score = |id: &str| {
        let i = bot.intent(id);
        c.scores
            .iter()
            .find(|s| Some(s.intent) == i)
            .map_or(0.0, |s| s.score)
    };
    let (refund, parcel) = (score("refund_wait"), score("parcel_where"));
    // The close call this is about: the parcel's keyword comes first, within the ambiguity.
    assert!(
        parcel >= 0.8 * refund && parcel < refund,
        "{refund} {parcel}"
    );
    assert_eq!(intent(&bot, text), "refund_wait");
}

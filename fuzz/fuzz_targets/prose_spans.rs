//! The comment and prose lexers on any text, in every language: no panic, spans sorted,
//! disjoint and inside the text — and `inside` agrees with a linear search over them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipshape::collect::comments::{Lang, inside, prose_spans};

const LANGS: [Lang; 10] = [
    Lang::CLike,
    Lang::Rust,
    Lang::Go,
    Lang::JavaScript,
    Lang::Python,
    Lang::Ruby,
    Lang::Shell,
    Lang::Data,
    Lang::DashDash,
    Lang::Markdown,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let lang = LANGS[pick as usize % LANGS.len()];
    let spans = prose_spans(lang, &text);
    let mut last = 0;
    for &(s, e) in &spans {
        assert!(s >= last && s < e && e <= text.len(), "{spans:?} over {} bytes", text.len());
        last = e;
    }
    for at in (0..text.len()).step_by(7) {
        let linear = spans.iter().any(|&(s, e)| s <= at && at < e);
        assert_eq!(inside(&spans, at), linear, "{at} in {spans:?}");
    }
});

//! The Markdown artifact parser (status, fields, tables, headings, placeholders, front matter)
//! on arbitrary text, with the built-in placeholder patterns.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shipshape::collect::artifact::{PlaceholderSet, parse_markdown};

fuzz_target!(|data: &[u8]| {
    static PH: OnceLock<Vec<(String, regex::Regex)>> = OnceLock::new();
    let ph = PH.get_or_init(|| PlaceholderSet::default().compile());
    let text = String::from_utf8_lossy(data);
    let _ = parse_markdown(&text, ph);
});

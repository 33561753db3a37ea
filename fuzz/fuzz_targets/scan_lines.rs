//! The scan's whole-text search must find exactly the lines a line-by-line search finds, for
//! any pattern and any text: the first line of the input is the pattern, the rest the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipshape::collect::scan::LineMatcher;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (pattern, text) = input.split_once('\n').unwrap_or((&input, ""));
    if pattern.len() > 64 {
        return;
    }
    let case_insensitive = pattern.len() % 2 == 1;
    let Ok(m) = LineMatcher::new(pattern, case_insensitive) else {
        return;
    };
    let want: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| m.line_regex().is_match(l))
        .map(|(i, l)| (i + 1, l))
        .collect();
    assert_eq!(m.matching_lines(text), want, "pattern {pattern:?}");
});

//! The artifact status reader reports only what a reader sees: for any Markdown text, a status
//! it reports (other than AMBIGUOUS or UNKNOWN) occurs in the text a renderer shows — comrak's
//! HTML with code, preformatted text, struck-through text and comments removed — or in the
//! front matter (GitHub shows it as a table). A status read from a comment, a code block or
//! struck-through text fails this target.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipshape::collect::artifact::{AMBIGUOUS, parse_markdown};

/// The text a renderer shows, upper-cased.
fn shown(text: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.front_matter_delimiter = Some("---".into());
    let html = comrak::markdown_to_html(text, &options);
    let mut out = String::new();
    let mut rest = html.as_str();
    // Drop hidden elements with their content, then every tag.
    'outer: while !rest.is_empty() {
        for (open, close) in [
            ("<code", "</code>"),
            ("<pre", "</pre>"),
            ("<del", "</del>"),
            ("<!--", "-->"),
        ] {
            if rest.starts_with(open) {
                match rest.find(close) {
                    Some(i) => rest = &rest[i + close.len()..],
                    None => rest = "",
                }
                out.push(' ');
                continue 'outer;
            }
        }
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(i) => rest = &rest[i + 1..],
                None => rest = "",
            }
            out.push(' ');
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .to_ascii_uppercase()
}

fn front_matter(text: &str) -> String {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return String::new();
    }
    lines
        .take_while(|l| l.trim_end() != "---")
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_uppercase()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_markdown(text, &[]);
    let status = parsed.status.as_str();
    if status.is_empty() || status == AMBIGUOUS {
        return;
    }
    let visible = format!("{}\n{}", shown(text), front_matter(text));
    for word in status.strip_prefix("NOT_").unwrap_or(status).split('_') {
        assert!(
            visible.contains(word),
            "status {status} is not in the shown text:\n{visible}\n--- from ---\n{text}"
        );
    }
});

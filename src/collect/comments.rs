//! Where a person writes prose in a file: the comments of code (never identifiers, calls such
//! as `context.TODO()`, or string literals) and the text of Markdown outside code. A scan with
//! `within = "comments"` counts a match only there, so an unfinished-work marker is a comment
//! someone left, not a word the program uses.
//!
//! The lexers are deliberately small: they know each language's comment and string syntax
//! (escapes, raw and triple-quoted strings, template literals), which is all that separating
//! comments from code needs. A file of a language they do not know is read whole.

use std::path::Path;

/// A family of comment and string syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `//`, `/* */`; `"…"`, `'…'` (C, C++, C#, Java, Kotlin, Swift, Scala, Dart, PHP).
    CLike,
    /// C-like plus Rust raw strings `r#"…"#` and lifetimes (`'a` is not a string).
    Rust,
    /// C-like plus Go raw strings in backticks.
    Go,
    /// C-like plus template literals in backticks (JavaScript, TypeScript).
    JavaScript,
    /// `#`; `"…"`, `'…'`, triple-quoted strings (docstrings are strings).
    Python,
    /// `#`, `=begin`/`=end`; `"…"`, `'…'`.
    Ruby,
    /// `#` at the start of a word; quotes (shell, Dockerfile, Makefile, PowerShell, Perl, R).
    Shell,
    /// `#` at the start of a word; quotes (YAML, TOML, INI, HCL `#`).
    Data,
    /// `--` to end of line (SQL, Lua, Haskell); `'…'`, `"…"`.
    DashDash,
    /// Markdown: everything but fenced code blocks, indented code, inline code and HTML comments.
    Markdown,
}

/// The language of a file by its name, if the lexers know it.
pub fn language_of(path: &str) -> Option<Lang> {
    let name = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name == "dockerfile" || name.starts_with("dockerfile.") || name == "makefile" {
        return Some(Lang::Shell);
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    Some(match ext {
        "rs" => Lang::Rust,
        "go" => Lang::Go,
        "js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts" | "vue" | "svelte" => {
            Lang::JavaScript
        }
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" | "cs" | "java" | "kt" | "kts"
        | "swift" | "scala" | "dart" | "php" | "groovy" | "gradle" | "proto" => Lang::CLike,
        "py" | "pyi" => Lang::Python,
        "rb" | "rake" | "gemspec" => Lang::Ruby,
        "sh" | "bash" | "zsh" | "ksh" | "fish" | "ps1" | "psm1" | "pl" | "pm" | "r" | "mk"
        | "dockerfile" => Lang::Shell,
        "yaml" | "yml" | "toml" | "ini" | "cfg" | "conf" | "tf" | "hcl" | "properties" => {
            Lang::Data
        }
        "sql" | "lua" | "hs" => Lang::DashDash,
        "md" | "markdown" | "mdx" | "mmd" => Lang::Markdown,
        _ => return None,
    })
}

/// Byte ranges of `text` that are prose: comments of code, or Markdown outside code.
pub fn prose_spans(lang: Lang, text: &str) -> Vec<(usize, usize)> {
    match lang {
        Lang::Markdown => markdown_prose(text),
        _ => code_comments(lang, text),
    }
}

/// Whether byte offset `at` lies in one of the sorted `spans`.
pub fn inside(spans: &[(usize, usize)], at: usize) -> bool {
    let i = spans.partition_point(|(_, end)| *end <= at);
    spans.get(i).is_some_and(|(start, _)| *start <= at)
}

fn line_comment(lang: Lang, b: &[u8], i: usize) -> bool {
    let at = |s: &[u8]| b[i..].starts_with(s);
    let word_start = i == 0 || b[i - 1].is_ascii_whitespace();
    match lang {
        Lang::CLike | Lang::Rust | Lang::Go | Lang::JavaScript => at(b"//"),
        Lang::Python | Lang::Ruby => at(b"#"),
        Lang::Shell | Lang::Data => at(b"#") && word_start,
        Lang::DashDash => at(b"--"),
        Lang::Markdown => false,
    }
}

fn block_comment(lang: Lang, b: &[u8], i: usize) -> Option<&'static [u8]> {
    match lang {
        Lang::CLike | Lang::Rust | Lang::Go | Lang::JavaScript if b[i..].starts_with(b"/*") => {
            Some(b"*/")
        }
        Lang::Ruby if b[i..].starts_with(b"=begin") && (i == 0 || b[i - 1] == b'\n') => {
            Some(b"\n=end")
        }
        _ => None,
    }
}

/// The end of the string literal starting at `i` (exclusive), if one starts there.
fn string_end(lang: Lang, b: &[u8], i: usize) -> Option<usize> {
    let c = b[i];
    if lang == Lang::Python && (b[i..].starts_with(b"\"\"\"") || b[i..].starts_with(b"'''")) {
        let close = &b[i..i + 3];
        return Some(find(b, i + 3, close).map_or(b.len(), |e| e + 3));
    }
    if lang == Lang::Rust && c == b'r' && (i == 0 || !is_ident(b[i - 1])) {
        let hashes = b[i + 1..].iter().take_while(|&&x| x == b'#').count();
        if b.get(i + 1 + hashes) == Some(&b'"') {
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            return Some(find(b, i + 2 + hashes, &close).map_or(b.len(), |e| e + close.len()));
        }
    }
    if c == b'`' && matches!(lang, Lang::Go | Lang::JavaScript | Lang::Shell) {
        return Some(find(b, i + 1, b"`").map_or(b.len(), |e| e + 1));
    }
    let quote = match (lang, c) {
        (_, b'"') => b'"',
        // A Rust lifetime or a char: `'a` without a closing quote soon after is no string.
        (Lang::Rust, b'\'') => {
            let close = b[i + 1..].iter().take(6).position(|&x| x == b'\'')?;
            return Some(i + 2 + close);
        }
        // In prose-like files (YAML, shell) an apostrophe in a word is not a quote.
        (Lang::Shell | Lang::Data, b'\'') if i > 0 && b[i - 1].is_ascii_alphanumeric() => {
            return None;
        }
        (_, b'\'') => b'\'',
        _ => return None,
    };
    let escapes = !(matches!(lang, Lang::Shell | Lang::Data) && quote == b'\'');
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if escapes => j += 2,
            x if x == quote => return Some(j + 1),
            // Quotes of these languages do not span lines (an unclosed one is not a string).
            b'\n' if !matches!(lang, Lang::Shell | Lang::Python | Lang::Ruby) => return Some(j),
            _ => j += 1,
        }
    }
    Some(b.len())
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn code_comments(lang: Lang, text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if line_comment(lang, b, i) {
            let end = find(b, i, b"\n").unwrap_or(b.len());
            spans.push((i, end));
            i = end;
        } else if let Some(close) = block_comment(lang, b, i) {
            let end = find(b, i + 2, close).map_or(b.len(), |e| e + close.len());
            spans.push((i, end));
            i = end;
        } else if let Some(end) = string_end(lang, b, i) {
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    spans
}

/// Markdown outside fenced code, indented code blocks, inline code spans and HTML comments.
fn markdown_prose(text: &str) -> Vec<(usize, usize)> {
    let mut code: Vec<(usize, usize)> = Vec::new();
    let mut fence: Option<(u8, usize, usize)> = None; // (char, length, start)
    let mut offset = 0;
    let mut prev_blank = true;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let run = t.bytes().take_while(|&c| c == b'`' || c == b'~').count();
        let fence_char = t.bytes().next().unwrap_or(b' ');
        match fence {
            Some((c, n, start)) if run >= n && fence_char == c && t[run..].trim().is_empty() => {
                code.push((start, offset + line.len()));
                fence = None;
            }
            Some(_) => {}
            None if run >= 3 && indent < 4 && t.bytes().take(run).all(|c| c == fence_char) => {
                fence = Some((fence_char, run, offset));
            }
            None if indent >= 4 && prev_blank && !t.is_empty() => {
                code.push((offset, offset + line.len()));
            }
            None => {}
        }
        prev_blank = t.trim().is_empty() || (prev_blank && indent >= 4 && fence.is_none());
        offset += line.len();
    }
    if let Some((_, _, start)) = fence {
        code.push((start, text.len()));
    }
    code.extend(inline_code_and_comments(text, &code));
    code.sort_unstable();
    complement(&code, text.len())
}

/// Inline code spans (`` `x` ``), link targets and `<!-- -->` comments outside the given
/// (sorted) code blocks. Linear in the text: a hostile file of unmatched backticks or brackets
/// must not make it quadratic (tests/regressions.rs).
fn inline_code_and_comments(text: &str, blocks: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    // Every backtick run, and per run length the positions of its runs, so an opener finds
    // its closer (the next run of the same length) by binary search.
    let mut runs: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    let mut k = 0;
    while k < b.len() {
        if b[k] == b'`' {
            let n = b[k..].iter().take_while(|&&c| c == b'`').count();
            runs.entry(n).or_default().push(k);
            k += n;
        } else {
            k += 1;
        }
    }
    let mut out = Vec::new();
    let mut block = 0;
    let mut line_end = 0;
    let mut next_paren = 0;
    let mut i = 0;
    while i < b.len() {
        while block < blocks.len() && blocks[block].1 <= i {
            block += 1;
        }
        if let Some(&(start, end)) = blocks.get(block)
            && start <= i
        {
            i = end;
            continue;
        }
        if i >= line_end {
            line_end = find(b, i, b"\n").unwrap_or(b.len());
        }
        if b[i..].starts_with(b"<!--") {
            let end = find(b, i + 4, b"-->").map_or(b.len(), |e| e + 3);
            out.push((i, end));
            i = end;
        } else if b[i..].starts_with(b"](") {
            // A link target: an address, not text a reader sees.
            if next_paren < i + 2 {
                next_paren = find(b, i + 2, b")").unwrap_or(usize::MAX);
            }
            if next_paren < line_end {
                out.push((i + 2, next_paren));
                i = next_paren + 1;
            } else {
                i += 2;
            }
        } else if b[i] == b'`' {
            let n = b[i..].iter().take_while(|&&c| c == b'`').count();
            let same = &runs[&n];
            let after = same.partition_point(|&p| p <= i);
            match same.get(after) {
                Some(&e) => {
                    out.push((i, e + n));
                    i = e + n;
                }
                None => i += n,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The parts of `0..len` not covered by the sorted `spans`.
fn complement(spans: &[(usize, usize)], len: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(s, e) in spans {
        if s > at {
            out.push((at, s));
        }
        at = at.max(e);
    }
    if at < len {
        out.push((at, len));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(lang: Lang, text: &str) -> Vec<String> {
        prose_spans(lang, text)
            .iter()
            .map(|(s, e)| text[*s..*e].to_string())
            .collect()
    }

    #[test]
    fn go_calls_and_strings_are_not_comments() {
        let go = "ctx := context.TODO() // TODO: real context\ns := \"TODO in a string\"\nr := `raw // TODO`\n/* FIXME: block */\n";
        assert_eq!(
            prose(Lang::Go, go),
            ["// TODO: real context", "/* FIXME: block */"]
        );
    }

    #[test]
    fn python_docstrings_are_strings_and_hash_comments_count() {
        let py = "def f():\n    \"\"\"TODO in a docstring # not a comment\"\"\"\n    x = '#nope'  # TODO: fix\n";
        assert_eq!(prose(Lang::Python, py), ["# TODO: fix"]);
    }

    #[test]
    fn rust_raw_strings_and_lifetimes() {
        let rs = "fn f<'a>(x: &'a str) { let s = r#\"// TODO\"#; } // XXX here\n";
        assert_eq!(prose(Lang::Rust, rs), ["// XXX here"]);
    }

    #[test]
    fn javascript_templates_and_shell_words() {
        assert_eq!(
            prose(Lang::JavaScript, "const t = `// TODO ${x}`; // HACK\n"),
            ["// HACK"]
        );
        assert_eq!(
            prose(Lang::Shell, "echo ${#arr} it's # TODO later\nurl=a#b\n"),
            ["# TODO later"]
        );
        assert_eq!(
            prose(Lang::Data, "key: \"# not\" # FIXME\nimage: x:1 #note\n"),
            ["# FIXME", "#note"]
        );
    }

    #[test]
    fn markdown_prose_leaves_out_code_and_html_comments() {
        let md = "# Title\n\nSet `<your-url>` then TODO.\n\n```yaml\nurl: <your-url>\n```\n\n<!-- TODO hidden -->\n\n    indented TODO\n\nSee [the guide](<your-url>) for TBD.\n\nEnd TBD\n";
        let p = prose(Lang::Markdown, md).join("|");
        assert!(
            p.contains("then TODO.") && p.contains("End TBD") && p.contains(") for TBD."),
            "{p}"
        );
        assert!(
            !p.contains("<your-url>") && !p.contains("hidden") && !p.contains("indented"),
            "{p}"
        );
    }

    #[test]
    fn inside_finds_the_span() {
        let s = [(2, 5), (10, 12)];
        assert!(inside(&s, 2) && inside(&s, 4) && inside(&s, 11));
        assert!(!inside(&s, 5) && !inside(&s, 0) && !inside(&s, 12));
    }
}

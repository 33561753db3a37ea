//! The `scan` source: regex matches over a .gitignore-aware tree (markers such as TODO/FIXME in
//! runtime code, redaction code present, an endpoint handled), each with path, line and text.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

pub const DEFAULT_MAX_MATCHES: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub pattern: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub case_insensitive: bool,
    pub max_matches: usize,
    /// Count matches only in prose: comments of code, Markdown outside code (`within =
    /// "comments"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub comments_only: bool,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(
            raw,
            &[
                "include",
                "exclude",
                "case_insensitive",
                "max_matches",
                "within",
            ],
        )?;
        let pattern = raw.scan.clone().unwrap_or_default();
        Self::build(pattern, raw)
    }

    pub(crate) fn build(pattern: String, raw: &EvidenceRaw) -> Result<Spec, String> {
        let case_insensitive = raw.case_insensitive.unwrap_or(false);
        RegexBuilder::new(&pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| format!("bad regex `{pattern}`: {e}"))?;
        let include = raw.include.clone().unwrap_or_else(|| vec!["**".into()]);
        let exclude = raw.exclude.clone().unwrap_or_default();
        fs::globset(&include, false)?;
        fs::globset(&exclude, false)?;
        Ok(Spec {
            pattern,
            include,
            exclude,
            case_insensitive,
            max_matches: raw.max_matches.unwrap_or(DEFAULT_MAX_MATCHES),
            comments_only: match raw.within.as_deref() {
                None | Some("all") => false,
                Some("comments") => true,
                Some(other) => {
                    return Err(format!(
                        "within = \"{other}\": use \"comments\" (comments of code, Markdown outside code) or \"all\""
                    ));
                }
            },
        })
    }
}

/// The text files a scan-like source reads: included, not excluded. A published audit is
/// evidence like any other file.
pub(crate) fn selected_files<'c>(
    ctx: &'c Ctx<'_>,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<&'c str>, CollectError> {
    let inc = fs::globset(include, false).map_err(CollectError::new)?;
    let exc = fs::globset(exclude, false).map_err(CollectError::new)?;
    Ok(ctx
        .listing()
        .matching(&inc, Some(&exc))
        .into_iter()
        .collect())
}

/// Whether 1-based `line` lies in one of the (begin, end) line ranges.
pub(crate) fn in_blocks(blocks: &[(usize, usize)], line: usize) -> bool {
    blocks.iter().any(|(b, e)| (*b..=*e).contains(&line))
}

/// Read a file for scanning. A file that cannot be read (too large, binary) is left out here
/// and recorded by the read as unread, so the rule scanning it cannot pass.
pub(crate) fn scan_text(ctx: &Ctx<'_>, rel: &str) -> Option<String> {
    ctx.read_text(rel).ok().map(|t| t.text)
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let lines = LineMatcher::new(&spec.pattern, spec.case_insensitive)
        .map_err(|e| CollectError::new(e.to_string()))?;
    let files = selected_files(ctx, &spec.include, &spec.exclude)?;
    let cap = spec.max_matches;
    // Each file keeps at most `cap` shown matches, so a file where every line matches cannot
    // hold more than the report will show.
    let per_file = per_file(ctx, &files, |rel| {
        let text = scan_text(ctx, rel)?;
        let matching = lines.matching_lines(&text);
        if matching.is_empty() {
            return Some((0, Vec::new()));
        }
        let blocks = crate::redact::key_block_lines(&text);
        let prose = spec
            .comments_only
            .then(|| super::comments::language_of(rel))
            .flatten()
            .map(|lang| super::comments::prose_spans(lang, &text));
        let mut count = 0usize;
        let mut shown = Vec::new();
        for (line_no, line) in matching {
            if let Some(spans) = &prose {
                // The line's own offset in the text: `line` is a slice of it.
                let at = line.as_ptr() as usize - text.as_ptr() as usize;
                let in_prose = lines
                    .line_regex()
                    .find_iter(line)
                    .any(|m| super::comments::inside(spans, at + m.start()));
                if !in_prose {
                    continue;
                }
            }
            count += 1;
            if shown.len() < cap {
                // Inside a private key block every line is secret, whatever matched.
                let text = if in_blocks(&blocks, line_no) {
                    crate::redact::MASK.to_string()
                } else {
                    line.trim().chars().take(200).collect::<String>()
                };
                shown.push((line_no, text));
            }
        }
        Some((count, shown))
    });
    let mut matches = Vec::new();
    let mut count = 0usize;
    let mut files_matched = Vec::new();
    for (rel, (n, shown)) in files
        .iter()
        .zip(per_file)
        .filter_map(|(r, x)| Some((r, x?)))
    {
        if n == 0 {
            continue;
        }
        count += n;
        files_matched.push(rel.to_string());
        for (line, text) in shown.into_iter().take(cap.saturating_sub(matches.len())) {
            matches.push(json!({"path": rel, "line": line, "text": text}));
        }
    }
    // The listing is sorted, so `files` already is.
    Ok(json!({
        "matches": matches,
        "count": count,
        "files": files_matched,
        "files_scanned": files.len(),
        "truncated": count > matches.len(),
    }))
}

/// A regex applied line by line, as grep does — found by one search over the whole text.
///
/// Searching each line separately costs a regex call per line; most files have no match at
/// all. So the whole text is searched once (multi-line, so `^` and `$` meet line ends) and
/// every line holding a candidate is confirmed with the line regex. The result is exactly the
/// line-by-line result: a line that matches alone always holds the leftmost whole-text match
/// searched from its start, and a candidate spanning lines is confirmed or dropped on its first
/// line. Patterns whose meaning differs between a line and a whole text (`\A`, `\z`,
/// multi-line switched off) are searched line by line, and so are texts holding a `\r`: a
/// `\r\n` line end is not part of the line, but no regex mode treats it so without also
/// changing what `.` matches (the `scan_lines` fuzz target found that one).
pub struct LineMatcher {
    line: Regex,
    whole: Option<Regex>,
}

impl LineMatcher {
    pub fn new(pattern: &str, case_insensitive: bool) -> Result<LineMatcher, regex::Error> {
        let line = RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()?;
        let text_anchored = ["\\A", "\\z", "-m", "-R"]
            .iter()
            .any(|a| pattern.contains(a));
        let whole = if text_anchored {
            None
        } else {
            RegexBuilder::new(pattern)
                .case_insensitive(case_insensitive)
                .multi_line(true)
                .build()
                .ok()
        };
        Ok(LineMatcher { line, whole })
    }

    pub fn line_regex(&self) -> &Regex {
        &self.line
    }

    /// The lines of `text` (as `str::lines` splits them) that the regex matches, numbered
    /// from 1.
    pub fn matching_lines<'t>(&self, text: &'t str) -> Vec<(usize, &'t str)> {
        let mut out = Vec::new();
        let whole = self.whole.as_ref().filter(|_| !text.contains('\r'));
        let Some(whole) = whole else {
            for (i, line) in text.lines().enumerate() {
                if self.line.is_match(line) {
                    out.push((i + 1, line));
                }
            }
            return out;
        };
        let bytes = text.as_bytes();
        let (mut pos, mut line_no, mut counted_to) = (0usize, 1usize, 0usize);
        while pos < text.len() {
            let Some(m) = whole.find_at(text, pos) else {
                break;
            };
            let start = bytes[pos..m.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(pos, |i| pos + i + 1);
            if start >= text.len() {
                // An empty match after the final newline: `lines` has no line there.
                break;
            }
            let end = bytes[m.start()..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| m.start() + i);
            line_no += bytes[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
            // No `\r` on this path: the line is exactly what `str::lines` yields.
            let line = &text[start..end];
            if self.line.is_match(line) {
                out.push((line_no, line));
            }
            pos = end + 1;
        }
        out
    }
}

/// `f` over every file, spread over `--jobs` threads; results in the order of `files`.
pub(crate) fn per_file<T: Send>(
    ctx: &Ctx<'_>,
    files: &[&str],
    f: impl Fn(&str) -> T + Sync,
) -> Vec<T> {
    let threads = ctx.options.jobs.clamp(1, 64).min(files.len() / 64 + 1);
    if threads <= 1 {
        return files.iter().map(|rel| f(rel)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    const CHUNK: usize = 32;
    let mut parts: Vec<(usize, Vec<T>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let at = next.fetch_add(CHUNK, std::sync::atomic::Ordering::Relaxed);
                        if at >= files.len() {
                            break;
                        }
                        let chunk = &files[at..(at + CHUNK).min(files.len())];
                        mine.push((at, chunk.iter().map(|rel| f(rel)).collect::<Vec<T>>()));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    parts.sort_by_key(|(at, _)| *at);
    parts.into_iter().flat_map(|(_, v)| v).collect()
}

impl Source for Spec {
    const NAME: &'static str = "scan";
    const DOC: SourceDoc = SourceDoc {
        name: "scan",
        summary: "Regex matches, line by line, over the gitignore-aware tree (binary files and published audits skipped).",
        options: "include, exclude (globs), within (\"comments\": comments of code and Markdown prose only), case_insensitive, max_matches",
        names: &[
            n(
                "matches",
                "list",
                "{path, line, text} (at most max_matches)",
            ),
            n("count", "int", "all matches, even beyond max_matches"),
            n("files", "list", "files with a match"),
            n("files_scanned", "int", "files read"),
            n("truncated", "bool", "count > size(matches)"),
        ],
        example: r#"[[rule]]
id = "no-unfinished-markers"
area = "example"
title = "No TODO/FIXME markers in source"
severity = "warning"
evidence.markers = { scan = '\b(TODO|FIXME|HACK|XXX)\b', include = ["src/**/*.rs"] }
expect = ['markers.count == 0']
"#,
    };
    const COST: u8 = 2;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "scan /{}/ in {}{}",
            self.pattern,
            self.include.join(", "),
            if self.exclude.is_empty() {
                String::new()
            } else {
                format!(" (not {})", self.exclude.join(", "))
            }
        )
    }

    fn paths(&self) -> Vec<String> {
        self.include.clone()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((self.include.clone(), self.exclude.clone()))
    }

    fn matched_nothing(&self, name: &str, v: &serde_json::Value) -> Option<String> {
        (v.get("files_scanned").and_then(serde_json::Value::as_u64) == Some(0))
            .then(|| format!("`{name}`: no file matches {}", self.include.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive<'t>(pattern: &str, ci: bool, text: &'t str) -> Vec<(usize, &'t str)> {
        let re = RegexBuilder::new(pattern)
            .case_insensitive(ci)
            .build()
            .unwrap();
        text.lines()
            .enumerate()
            .filter(|(_, l)| re.is_match(l))
            .map(|(i, l)| (i + 1, l))
            .collect()
    }

    /// The whole-text search finds exactly the lines a line-by-line search finds, on the
    /// patterns where the two could part: anchors, classes that match a newline, empty
    /// matches, CRLF, `\A`/`\z`, a last line without a newline.
    #[test]
    fn whole_text_search_equals_line_by_line() {
        let patterns = [
            "TODO|FIXME",
            "^$",
            "^",
            "$",
            "^# ",
            "foo$",
            r"\s+$",
            r"a\sb",
            r"a[^x]*b",
            r"(?s)a.*b",
            r"\Afoo",
            r"foo\z",
            r"(?-m)^foo",
            r"\bfoo\b",
            "x*",
            r"\n",
            r"(?i)todo",
            r"[[:space:]]foo",
            "x.",
        ];
        let texts = [
            "",
            "\n",
            "\n\n",
            "foo",
            "foo\n",
            "foo\r\nbar foo\r\n\r\n",
            "a\nb\nab\na b\n",
            "TODO one\nnothing\n  FIXME two\nlast TODO",
            "x\nfoo \n foo\tbar\n\n# head\n#no\n",
            "a\r\nb\rfoo\r",
            "é TODO ü\nTodo\n",
            "aaa\nxb\naxxb\nazzb",
            // Found by the `scan_lines` fuzz target: in CRLF mode `.` does not match `\r`.
            "\n\nx\r\u{fffd}\n",
        ];
        for p in patterns {
            for ci in [false, true] {
                let m = LineMatcher::new(p, ci).unwrap();
                for t in texts {
                    assert_eq!(
                        m.matching_lines(t),
                        naive(p, ci, t),
                        "pattern {p:?} (case-insensitive: {ci}) on {t:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn text_anchored_patterns_are_searched_line_by_line() {
        assert!(LineMatcher::new(r"\Afoo", false).unwrap().whole.is_none());
        assert!(LineMatcher::new("TODO", false).unwrap().whole.is_some());
    }
}

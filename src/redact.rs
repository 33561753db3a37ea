//! Secrets never reach a report: every piece of collected text (command output, artifact
//! fields, file lines) passes through here *before* it is truncated, evaluated or stored.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

pub const MASK: &str = "[REDACTED]";

/// Built-in token shapes: (name, regex). The whole match is replaced, except where a group named
/// `keep` holds a prefix worth showing (`password=`, `Authorization: Bearer `).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "aws-access-key",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",
    ),
    (
        "aws-secret-key",
        r#"(?i)(?P<keep>aws_secret_access_key\s*[=:]\s*["']?)[A-Za-z0-9/+=]{40}"#,
    ),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b",
    ),
    (
        "gitlab-token",
        r"\bgl(?:pat|dt|rt|cbt|ptt)-[A-Za-z0-9_-]{20,}\b",
    ),
    ("slack-token", r"\bxox[baprse]-[A-Za-z0-9-]{10,}\b"),
    (
        "slack-webhook",
        r"(?i)\bhooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{8,}",
    ),
    (
        "stripe-key",
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
    ),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    (
        "sendgrid-key",
        r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b",
    ),
    ("twilio-key", r"\bSK[0-9a-fA-F]{32}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-[A-Za-z0-9_-]{32,}\b"),
    ("shopify-token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),
    ("mailgun-key", r"\bkey-[0-9a-zA-Z]{32}\b"),
    (
        "azure-account-key",
        r"(?i)(?P<keep>\b(?:AccountKey|SharedAccessKey)\s*=\s*)[A-Za-z0-9+/=]{20,}",
    ),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b",
    ),
    (
        "authorization",
        r#"(?i)(?P<keep>\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:basic|bearer|token|digest|negotiate|apikey)\s+)[^\s"']+"#,
    ),
    ("bearer", r"(?i)(?P<keep>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    // A key whose name says it holds a secret: the whole value, to the closing quote or the
    // end of the line (multi-word values included), in YAML, JSON, TOML, .env and properties.
    (
        "secret-key-value",
        r#"(?i)(?P<keep>["']?\b(?:[a-z0-9]+[_.-])*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|credentials?|client[_-]?secret|secret[_-]?access[_-]?key|secretaccesskey|auth)["']?\s*(?:[:=]|=>)\s*)(?:"(?:[^"\\]|\\.)+"|'[^']+'|[^\s"'#][^\r\n]*)"#,
    ),
    // `SIGNING_KEY=…`, `ENCRYPTION_KEY: …`: a `*_KEY` whose value looks like key material.
    (
        "key-material",
        r#"(?i)(?P<keep>\b[a-z0-9_]*_KEY["']?\s*[:=]\s*["']?)[A-Za-z0-9+/=_-]{16,}"#,
    ),
    (
        "url-credentials",
        r"(?i)(?P<keep>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^\s@]+@",
    ),
];

/// Private key blocks span lines; they are handled apart from the one-line patterns: PEM
/// (`-----BEGIN RSA PRIVATE KEY-----`, `… EC …`, `ENCRYPTED …`), OpenSSH and PGP
/// (`-----BEGIN PGP PRIVATE KEY BLOCK-----`).
const KEY_BEGIN: &str = "-----BEGIN";
const KEY_MARK: &str = "PRIVATE KEY";

#[derive(Debug)]
pub struct Redactor {
    patterns: Vec<Regex>,
    /// One pass over a line tells whether any pattern can match at all.
    any: regex::RegexSet,
}

impl Redactor {
    /// Built-ins plus patterns a policy adds (already validated).
    pub fn new(extra: &[String]) -> Redactor {
        let patterns: Vec<Regex> = BUILTIN
            .iter()
            .map(|(_, r)| *r)
            .chain(extra.iter().map(String::as_str))
            .filter_map(|r| Regex::new(r).ok())
            .collect();
        let any = regex::RegexSet::new(patterns.iter().map(Regex::as_str))
            .unwrap_or_else(|_| regex::RegexSet::empty());
        Redactor { patterns, any }
    }

    /// The built-in redactor, shared.
    pub fn builtin() -> &'static Redactor {
        static R: OnceLock<Redactor> = OnceLock::new();
        R.get_or_init(|| Redactor::new(&[]))
    }

    /// Redact one line (no private-key state).
    pub fn line(&self, line: &str) -> String {
        let hits = self.any.matches(line);
        if !hits.matched_any() {
            return line.to_string();
        }
        let mut out = line.to_string();
        for (_, re) in self
            .patterns
            .iter()
            .enumerate()
            .filter(|(i, _)| hits.matched(*i))
        {
            if !re.is_match(&out) {
                continue;
            }
            out = re
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    let keep = c.name("keep").map(|m| m.as_str()).unwrap_or("");
                    let at = if c[0].ends_with('@') && keep.contains("://") {
                        "@"
                    } else {
                        ""
                    };
                    format!("{keep}{MASK}{at}")
                })
                .into_owned();
        }
        out
    }

    /// Redact a whole text, private key blocks included.
    pub fn text(&self, text: &str) -> String {
        let mut stream = LineRedactor::new(self);
        let mut out = stream.push(text.as_bytes());
        out.extend(stream.finish());
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Redact every string inside a JSON value, in place. A string under a key whose name
    /// says it holds a secret (`password`, `db_password`, `Authorization`, `client_secret`, a
    /// `*_KEY` holding key material) is masked whole, whatever it looks like.
    pub fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) if self.needs(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(m) => {
                // Keys are text from evidence too (a table's first column, a `Key: value` line).
                let hostile: Vec<String> = m.keys().filter(|k| self.needs(k)).cloned().collect();
                for k in hostile {
                    if let Some(v) = m.remove(&k) {
                        m.insert(self.text(&k), v);
                    }
                }
                for (k, x) in m.iter_mut() {
                    match x {
                        Value::String(s) if secret_key(k, s) => *s = MASK.to_string(),
                        _ => self.value(x),
                    }
                }
            }
            _ => {}
        }
    }

    fn needs(&self, s: &str) -> bool {
        s.contains(KEY_BEGIN) || self.any.is_match(s)
    }
}

/// Whether a key names a secret: `password`, `db_password`, `Authorization`, `client_secret`,
/// `api-key`… — or a `*_KEY` whose value looks like key material.
pub fn secret_key(key: &str, value: &str) -> bool {
    static NAMES: OnceLock<Regex> = OnceLock::new();
    static MATERIAL: OnceLock<Regex> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Regex::new(
            r"(?i)^(?:[a-z0-9]+[_.\- ])*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|credentials?|client[_-]?secret|secret[_-]?access[_-]?key|secretaccesskey|authorization|auth)$",
        )
        .expect("static regex")
    });
    let material =
        MATERIAL.get_or_init(|| Regex::new(r"^[A-Za-z0-9+/=_-]{16,}$").expect("static regex"));
    let key = key.trim().trim_matches(['"', '\'', '*', '`']).trim();
    !value.is_empty()
        && value != MASK
        && (names.is_match(key)
            || (key.to_ascii_lowercase().ends_with("_key") && material.is_match(value.trim())))
}

/// Redacts a byte stream line by line as it arrives, so output is clean *before* it is cut to
/// its head and tail — a token can never survive half-kept at the truncation boundary.
pub struct LineRedactor<'r> {
    redactor: &'r Redactor,
    pending: Vec<u8>,
    in_key: bool,
}

/// A line longer than this is redacted and passed on in pieces.
const MAX_LINE: usize = 64 * 1024;

impl<'r> LineRedactor<'r> {
    pub fn new(redactor: &'r Redactor) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
            in_key: false,
        }
    }

    /// Feed bytes; get back the redacted bytes of every complete line.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::with_capacity(self.pending.len());
        let pending = std::mem::take(&mut self.pending);
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos + 1;
            out.extend(self.one(&pending[start..end]));
            start = end;
        }
        self.pending = pending[start..].to_vec();
        if self.pending.len() > MAX_LINE {
            let chunk: Vec<u8> = std::mem::take(&mut self.pending);
            out.extend(self.one(&chunk));
        }
        out
    }

    /// The rest, at end of stream.
    pub fn finish(&mut self) -> Vec<u8> {
        let rest = std::mem::take(&mut self.pending);
        if rest.is_empty() {
            return rest;
        }
        self.one(&rest)
    }

    fn one(&mut self, line: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(line);
        let newline = if text.ends_with('\n') { "\n" } else { "" };
        let body = text.trim_end_matches('\n');
        if body.contains(KEY_BEGIN) && body.contains(KEY_MARK) {
            self.in_key = true;
            return format!("{MASK} (private key){newline}").into_bytes();
        }
        if self.in_key {
            if body.contains("-----END") {
                self.in_key = false;
            }
            return Vec::new();
        }
        format!("{}{newline}", self.redactor.line(body)).into_bytes()
    }
}

/// The 1-based line ranges of private key blocks in `text` (begin and end lines included):
/// a scan or capture that matched one body line must not show it.
pub fn key_block_lines(text: &str) -> Vec<(usize, usize)> {
    if !text.contains(KEY_MARK) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        match open {
            None if line.contains(KEY_BEGIN) && line.contains(KEY_MARK) => open = Some(n),
            Some(start) if line.contains("-----END") => {
                out.push((start, n));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        out.push((start, usize::MAX));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        Redactor::builtin().text(s)
    }

    #[test]
    fn token_shapes_are_masked() {
        let aws = "key AKIAIOSFODNN7EXAMPLE here";
        assert_eq!(r(aws), "key [REDACTED] here");
        let gh = format!("token ghp_{}", "a".repeat(36));
        assert_eq!(r(&gh), "token [REDACTED]");
        assert_eq!(
            r("Authorization: Bearer abc.def.ghi-123"),
            "Authorization: Bearer [REDACTED]"
        );
        // The whole value, to the end of the line: a multi-word password is one value.
        assert_eq!(r("password=hunter2 user=x"), "password=[REDACTED]");
        assert_eq!(
            r(r#"{"db_password": "correct horse battery", "user": "x"}"#),
            r#"{"db_password": [REDACTED], "user": "x"}"#
        );
        assert_eq!(
            r("https://bob:s3cret@example.com/x"),
            "https://bob:[REDACTED]@example.com/x"
        );
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(r(&format!("t={jwt}")), "t=[REDACTED]");
    }

    #[test]
    fn keys_of_objects_are_redacted_too() {
        let mut v = serde_json::json!({"fields": {"Authorization: Bearer abcdefgh12345678": "x"}});
        Redactor::builtin().value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"fields": {"Authorization: Bearer [REDACTED]": "x"}})
        );
    }

    #[test]
    fn private_key_blocks_vanish() {
        let text = "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2E\nmore\n-----END OPENSSH PRIVATE KEY-----\nafter\n";
        assert_eq!(r(text), "before\n[REDACTED] (private key)\nafter\n");
    }

    #[test]
    fn a_token_split_across_reads_is_still_masked() {
        let mut s = LineRedactor::new(Redactor::builtin());
        let mut out = s.push(b"x AKIAIOSF");
        out.extend(s.push(b"ODNN7EXAMPLE y\n"));
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "x [REDACTED] y\n");
    }
}

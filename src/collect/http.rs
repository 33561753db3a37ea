//! The `http` source: one GET of an endpoint a release depends on (a controller's `/healthz`,
//! `/leadz`, `/metrics`) with a timeout and a bounded body, its Prometheus text-format metrics
//! parsed so a rule can say `leadz.status == 200 && m.metrics["leader_is_active"] == 1`.
//! Read-only: GET only, no credentials sent.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx};
use crate::policy::model::EvidenceRaw;

pub const DEFAULT_TIMEOUT_SECS: u64 = 10;
/// Bodies are kept up to this many bytes unless the rule says `max_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub url: String,
    pub timeout_secs: u64,
    pub max_body_bytes: u64,
    /// Follow redirects that stay on the same origin (scheme, host, port); never by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub same_origin_redirects: bool,
}

/// At most this many same-origin redirects are followed.
const MAX_REDIRECTS: usize = 5;

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["timeout", "max_body_bytes", "follow_redirects"])?;
        let same_origin_redirects = match raw.follow_redirects.as_deref() {
            None | Some("never") => false,
            Some("same-origin") => true,
            Some(other) => {
                return Err(format!(
                    "follow_redirects = \"{other}\": use \"never\" (the default) or \"same-origin\""
                ));
            }
        };
        let url = raw.http.clone().unwrap_or_default().trim().to_string();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| format!("`http = \"{url}\"` must be an http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("`http = \"{url}\"` has no host"));
        }
        if rest.split('/').next().is_some_and(|h| h.contains('@')) {
            return Err("`http` URLs must not carry credentials".into());
        }
        let timeout_secs = raw.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout_secs == 0 {
            return Err("timeout must be at least 1 second".into());
        }
        Ok(Spec {
            url,
            timeout_secs,
            max_body_bytes: raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            same_origin_redirects,
        })
    }
}

pub fn collect(_ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    get(spec)
}

/// GET the URL. A status of 4xx/5xx is data (`status`), not an error; an unreachable host or a
/// timeout is an error (the rule becomes pending).
pub fn get(spec: &Spec) -> Collected {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(spec.timeout_secs)))
        .http_status_as_error(false)
        // Redirects are followed here, one at a time, only where they stay on the origin.
        .max_redirects(0)
        .user_agent(concat!("shipshape/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let started = Instant::now();
    let fail = |e: ureq::Error| {
        let why = match &e {
            ureq::Error::Timeout(_) => format!("timed out after {}s", spec.timeout_secs),
            ureq::Error::HostNotFound => "host not found".into(),
            ureq::Error::ConnectionFailed => "connection refused or unreachable".into(),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".into()
            }
            other => other.to_string(),
        };
        CollectError::new(format!("GET {} failed: {why}", spec.url))
    };
    let mut url = spec.url.clone();
    let mut redirects = Vec::new();
    let mut resp = agent.get(&url).call().map_err(fail)?;
    while resp.status().is_redirection() && spec.same_origin_redirects {
        let Some(next) = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| resolve_location(&url, l))
        else {
            break;
        };
        if origin(&next) != origin(&url) || redirects.len() >= MAX_REDIRECTS {
            break;
        }
        redirects.push(next.clone());
        url = next;
        resp = agent.get(&url).call().map_err(fail)?;
    }
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for (k, v) in resp.headers() {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match headers.get_mut(k.as_str()) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&v);
            }
            _ => {
                headers.insert(k.as_str().to_string(), Value::String(v));
            }
        }
    }
    let mut bytes = Vec::new();
    resp.body_mut()
        .with_config()
        .limit(u64::MAX)
        .reader()
        .take(spec.max_body_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            CollectError::new(format!("GET {}: reading the body failed: {e}", spec.url))
        })?;
    let truncated = bytes.len() as u64 > spec.max_body_bytes;
    bytes.truncate(spec.max_body_bytes as usize);
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let content_type = headers
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = if truncated {
        Metrics::default()
    } else {
        parse_metrics(&body)
    };
    let json_body = if content_type.contains("json") && !truncated {
        serde_json::from_str::<Value>(&body).ok()
    } else {
        None
    };
    Ok(json!({
        "url": spec.url,
        "final_url": url,
        "redirects": redirects,
        "status": status,
        "ok": (200..300).contains(&status),
        "headers": headers,
        "body": body,
        "body_truncated": truncated,
        "json": json_body,
        "metrics": parsed.by_key(),
        "samples": parsed.samples_json(),
        "metric_types": parsed.types,
        "duration_ms": started.elapsed().as_millis() as u64,
    }))
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased, with the default port made
/// explicit so `http://a` and `http://a:80` are one origin.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.contains('@') {
        return None;
    }
    let default = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    Some(if has_port {
        format!("{scheme}://{authority}")
    } else {
        format!("{scheme}://{authority}:{default}")
    })
}

/// A `Location` header made absolute against `base`.
fn resolve_location(base: &str, location: &str) -> Option<String> {
    if location.contains("://") {
        return Some(location.to_string());
    }
    let (scheme, rest) = base.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if let Some(path) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{path}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = &rest[authority.len()..];
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format (0.0.4)

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    /// `name` without labels; `name{a="x",b="y"}` (labels sorted) with them.
    pub fn key(&self) -> String {
        if self.labels.is_empty() {
            return self.name.clone();
        }
        let inner: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}=\"{}\"",
                    v.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n")
                )
            })
            .collect();
        format!("{}{{{}}}", self.name, inner.join(","))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub samples: Vec<Sample>,
    /// `# TYPE` lines: metric name → counter, gauge, histogram, summary, untyped.
    pub types: BTreeMap<String, String>,
    /// Lines that were not valid exposition format (1-based line, text).
    pub bad_lines: Vec<(usize, String)>,
}

/// A number as CEL should see it: whole numbers as ints (so `== 1` holds), others as floats,
/// NaN and infinities as the strings Prometheus writes.
fn number(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "+Inf" } else { "-Inf" })
    } else if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

impl Metrics {
    pub fn by_key(&self) -> Map<String, Value> {
        self.samples
            .iter()
            .map(|s| (s.key(), number(s.value)))
            .collect()
    }

    pub fn samples_json(&self) -> Vec<Value> {
        self.samples
            .iter()
            .map(|s| json!({"name": s.name, "labels": s.labels, "value": number(s.value)}))
            .collect()
    }
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// Parse one sample line: `name{label="value",...} value [timestamp]`.
fn parse_sample(line: &str) -> Option<Sample> {
    let mut chars = line.char_indices().peekable();
    let mut end = 0;
    while let Some(&(i, c)) = chars.peek() {
        if !is_name_char(c, i == 0) {
            break;
        }
        end = i + c.len_utf8();
        chars.next();
    }
    if end == 0 {
        return None;
    }
    let name = line[..end].to_string();
    let mut rest = &line[end..];
    let mut labels = BTreeMap::new();
    if rest.starts_with('{') {
        rest = &rest[1..];
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=')?;
            let key = rest[..eq].trim().to_string();
            if key.is_empty()
                || !key
                    .chars()
                    .enumerate()
                    .all(|(i, c)| is_name_char(c, i == 0) && c != ':')
            {
                return None;
            }
            rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
            let mut value = String::new();
            let mut it = rest.char_indices();
            let mut close = None;
            while let Some((i, c)) = it.next() {
                match c {
                    '\\' => match it.next()?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        other => {
                            value.push('\\');
                            value.push(other);
                        }
                    },
                    '"' => {
                        close = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &rest[close? + 1..];
            labels.insert(key, value);
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if !rest.starts_with('}') {
                return None;
            }
        }
    }
    let mut parts = rest.split_whitespace();
    let value = parse_value(parts.next()?)?;
    if let Some(ts) = parts.next() {
        ts.parse::<i64>().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// Parse Prometheus text format. Comments other than `# TYPE` are skipped; bad lines are kept
/// aside, never fatal, so a half-valid page still yields what it has.
pub fn parse_metrics(text: &str) -> Metrics {
    let mut m = Metrics::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let mut parts = c.split_whitespace();
            if parts.next() == Some("TYPE")
                && let (Some(name), Some(kind)) = (parts.next(), parts.next())
            {
                m.types.insert(name.to_string(), kind.to_string());
            }
            continue;
        }
        match parse_sample(line) {
            Some(s) => m.samples.push(s),
            None => m.bad_lines.push((i + 1, raw.to_string())),
        }
    }
    m
}

impl Source for Spec {
    const NAME: &'static str = "http";
    const DOC: SourceDoc = SourceDoc {
        name: "http",
        summary: "An endpoint's status, headers, body and parsed Prometheus metrics.",
        options: "timeout, max_body_bytes, follow_redirects",
        names: &[
            n("status", "int", "HTTP status"),
            n("final_url", "string", "the URL the response came from"),
            n("redirects", "list", "same-origin redirects followed"),
            n("ok", "bool", "2xx"),
            n("headers", "map", "response headers (lower-case names)"),
            n("body", "string", "response body (bounded)"),
            n("json", "any", "the body parsed when it is JSON"),
            n("metrics", "map", "parsed Prometheus metrics"),
            n("samples", "list", "{name, labels, value}"),
            n("metric_types", "map", "metric name → type"),
        ],
        example: r#"[[rule]]
id = "healthz"
area = "example"
title = "Controller is healthy"
evidence.h = { http = "http://127.0.0.1:8080/healthz" }
expect = ['h.status == 200']
"#,
    };
    const COST: u8 = 3;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!("http GET {} (timeout {} s)", self.url, self.timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_locations() {
        assert_eq!(
            origin("http://A.example/x"),
            origin("http://a.example:80/y")
        );
        assert_ne!(origin("http://a.example/"), origin("https://a.example/"));
        assert_ne!(
            origin("http://a.example/"),
            origin("http://a.example.evil/")
        );
        assert_eq!(origin("http://u@a.example/"), None);
        assert_eq!(
            resolve_location("http://h:8/a/b?q", "c").as_deref(),
            Some("http://h:8/a/c")
        );
        assert_eq!(
            resolve_location("http://h:8/a/b", "/z").as_deref(),
            Some("http://h:8/z")
        );
        assert_eq!(
            resolve_location("http://h:8/a", "//evil/x").as_deref(),
            Some("http://evil/x")
        );
    }

    #[test]
    fn prometheus_text_format() {
        let text = r#"# HELP leader_is_active Whether this replica leads.
# TYPE leader_is_active gauge
leader_is_active 1
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027 1395066363000
http_requests_total{code="500", method="post",} 3
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
rpc_duration_seconds{quantile="0.5"} 4773
latency_seconds_bucket{le="+Inf"} 144320
weird NaN
up -Inf
broken{a="x" 1
"#;
        let m = parse_metrics(text);
        let by = m.by_key();
        assert_eq!(by["leader_is_active"], json!(1));
        assert_eq!(
            by[r#"http_requests_total{code="200",method="get"}"#],
            json!(1027)
        );
        assert_eq!(
            by[r#"http_requests_total{code="500",method="post"}"#],
            json!(3)
        );
        let ms = m
            .samples
            .iter()
            .find(|s| s.name == "msdos_file_access_time_seconds")
            .unwrap();
        assert_eq!(ms.labels["path"], r"C:\DIR\FILE.TXT");
        assert_eq!(ms.labels["error"], "Cannot find file:\n\"FILE.TXT\"");
        assert_eq!(by[r#"latency_seconds_bucket{le="+Inf"}"#], json!(144320));
        assert_eq!(by["weird"], json!("NaN"));
        assert_eq!(by["up"], json!("-Inf"));
        assert_eq!(m.types["leader_is_active"], "gauge");
        assert_eq!(m.bad_lines.len(), 1);
        assert_eq!(m.bad_lines[0].0, 12);
        assert_eq!(
            parse_metrics("x 0.25").by_key()["x"],
            json!(0.25),
            "fractions stay floats"
        );
    }

    #[test]
    fn specs_are_checked() {
        let raw = |u: &str| EvidenceRaw {
            http: Some(u.into()),
            ..EvidenceRaw::default()
        };
        assert!(Spec::from_raw(&raw("http://127.0.0.1:8080/healthz")).is_ok());
        assert!(Spec::from_raw(&raw("ftp://x")).is_err());
        assert!(Spec::from_raw(&raw("http://user:pw@host/")).is_err());
    }
}

//! The `data` source: structured files parsed, not grepped — JSON/YAML/TOML values, JUnit XML
//! totals, Cobertura or lcov coverage, third-party SARIF results — so what CI already produced
//! can gate the release without running it again.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, fs};
use crate::policy::model::EvidenceRaw;

pub const FORMATS: &[&str] = &[
    "json",
    "yaml",
    "toml",
    "junit",
    "cobertura",
    "lcov",
    "sarif",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub path: String,
    /// One of [`FORMATS`]; guessed from the file when absent.
    pub format: Option<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["format"])?;
        let path = raw.data.clone().unwrap_or_default();
        if path.trim().is_empty() {
            return Err("`data` is an empty path".into());
        }
        if fs::is_glob(&path) {
            return Err(format!("`data` takes one file, not a glob (`{path}`)"));
        }
        if let Some(f) = &raw.format
            && !FORMATS.contains(&f.as_str())
        {
            return Err(format!(
                "unknown data format `{f}` (one of {})",
                FORMATS.join(", ")
            ));
        }
        Ok(Spec {
            path,
            format: raw.format.clone(),
        })
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let path = ctx.resolve(&spec.path)?;
    if !path.exists() {
        return Ok(json!({"exists": false, "path": spec.path}));
    }
    let text = ctx.read_text(&spec.path)?;
    let format = spec
        .format
        .clone()
        .unwrap_or_else(|| guess_format(&spec.path, &text.text));
    let mtime: Option<DateTime<Utc>> = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    // Parser messages can quote a whole (hostile) line: keep the first line, bounded.
    let bad = |e: String| {
        let first: String = e.lines().next().unwrap_or("").chars().take(200).collect();
        CollectError::new(format!("`{}` is not valid {format}: {first}", spec.path))
    };
    let mut out = match format.as_str() {
        "json" => {
            json!({"value": serde_json::from_str::<Value>(&text.text).map_err(|e| bad(e.to_string()))?})
        }
        "yaml" => {
            // Deep nesting makes the YAML scanner slow (quadratic): refused before parsing, like
            // manifests are.
            super::k8s::precheck(&text.text).map_err(bad)?;
            let v: serde_yaml::Value =
                serde_yaml::from_str(&text.text).map_err(|e| bad(e.to_string()))?;
            json!({"value": serde_json::to_value(v).map_err(|e| bad(e.to_string()))?})
        }
        "toml" => {
            let v: toml::Value = toml::from_str(&text.text).map_err(|e| bad(e.to_string()))?;
            json!({"value": serde_json::to_value(v).map_err(|e| bad(e.to_string()))?})
        }
        "junit" => junit(&text.text).map_err(bad)?,
        "cobertura" => cobertura(&text.text).map_err(bad)?,
        "lcov" => lcov(&text.text),
        "sarif" => sarif(&text.text).map_err(bad)?,
        other => return Err(CollectError::new(format!("unknown data format `{other}`"))),
    };
    let produced = out
        .get("produced_at")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map(|t| (t, "file"))
        .or(mtime.map(|t| (t, "mtime")));
    if let Value::Object(m) = &mut out {
        m.insert("exists".into(), json!(true));
        m.insert("path".into(), json!(spec.path));
        m.insert("format".into(), json!(format));
        if let Some((t, source)) = produced {
            m.insert("produced_at".into(), json!(t.to_rfc3339()));
            m.insert("produced_at_source".into(), json!(source));
            m.insert(
                "age_days".into(),
                json!(super::age_days(ctx.options.now, t)),
            );
        }
    }
    Ok(out)
}

fn guess_format(path: &str, text: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    match ext {
        "json" => {
            if text.contains("\"$schema\"") && text.contains("sarif") {
                "sarif".into()
            } else {
                "json".into()
            }
        }
        "sarif" => "sarif".into(),
        "yaml" | "yml" => "yaml".into(),
        "toml" => "toml".into(),
        "info" | "lcov" => "lcov".into(),
        "xml" => {
            if text.contains("<testsuite") {
                "junit".into()
            } else {
                "cobertura".into()
            }
        }
        _ => "json".into(),
    }
}

/// Timestamps as test and coverage tools write them: RFC 3339, naive ISO, or epoch seconds.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    let n: i64 = s.parse().ok()?;
    // Cobertura writes milliseconds since the epoch.
    let secs = if n > 100_000_000_000 { n / 1000 } else { n };
    Utc.timestamp_opt(secs, 0).single()
}

fn num(node: roxmltree::Node<'_, '_>, attr: &str) -> f64 {
    node.attribute(attr)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// JUnit XML totals: a `<testsuites>` root or a single `<testsuite>`.
pub fn junit(text: &str) -> Result<Value, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    let suites: Vec<_> = if root.has_tag_name("testsuite") {
        vec![root]
    } else {
        root.children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect()
    };
    if suites.is_empty() {
        return Err("no <testsuite> element".into());
    }
    let (mut tests, mut failures, mut errors, mut skipped, mut time) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut timestamp = None;
    let mut failed = Vec::new();
    for s in &suites {
        tests += num(*s, "tests");
        failures += num(*s, "failures");
        errors += num(*s, "errors");
        skipped += num(*s, "skipped");
        time += num(*s, "time");
        if timestamp.is_none() {
            timestamp = s.attribute("timestamp").map(str::to_string);
        }
        for case in s.descendants().filter(|n| n.has_tag_name("testcase")) {
            if case
                .children()
                .any(|c| c.has_tag_name("failure") || c.has_tag_name("error"))
            {
                failed.push(format!(
                    "{}.{}",
                    case.attribute("classname").unwrap_or(""),
                    case.attribute("name").unwrap_or("")
                ));
            }
        }
    }
    let timestamp = timestamp.or_else(|| root.attribute("timestamp").map(str::to_string));
    let (tests, failures, errors, skipped) =
        (tests as i64, failures as i64, errors as i64, skipped as i64);
    Ok(json!({
        "tests": tests,
        "failures": failures,
        "errors": errors,
        "skipped": skipped,
        "passed": tests - failures - errors - skipped,
        "time": time,
        "failed": failed,
        "produced_at": timestamp,
    }))
}

/// Cobertura coverage: line-rate on the root, as a percentage.
pub fn cobertura(text: &str) -> Result<Value, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if !root.has_tag_name("coverage") {
        return Err("root element is not <coverage>".into());
    }
    let valid = num(root, "lines-valid");
    let covered = num(root, "lines-covered");
    let percent = if valid > 0.0 {
        covered / valid * 100.0
    } else {
        num(root, "line-rate") * 100.0
    };
    Ok(json!({
        "percent": (percent * 100.0).round() / 100.0,
        "lines_valid": valid as i64,
        "lines_covered": covered as i64,
        "produced_at": root.attribute("timestamp"),
    }))
}

/// lcov tracefile: LF/LH totals.
pub fn lcov(text: &str) -> Value {
    let (mut found, mut hit) = (0i64, 0i64);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("LF:") {
            found += v.trim().parse::<i64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("LH:") {
            hit += v.trim().parse::<i64>().unwrap_or(0);
        }
    }
    let percent = if found > 0 {
        hit as f64 / found as f64 * 100.0
    } else {
        0.0
    };
    json!({
        "percent": (percent * 100.0).round() / 100.0,
        "lines_found": found,
        "lines_hit": hit,
    })
}

/// Third-party SARIF (Trivy, Kubescape…): every result with rule, level and first location.
pub fn sarif(text: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let runs = v["runs"].as_array().ok_or("no `runs` array")?;
    let mut results = Vec::new();
    for run in runs {
        let tool = run["tool"]["driver"]["name"].as_str().unwrap_or("");
        for r in run["results"].as_array().into_iter().flatten() {
            let loc = &r["locations"][0]["physicalLocation"];
            results.push(json!({
                "tool": tool,
                "rule_id": r["ruleId"].as_str().unwrap_or(""),
                "level": r["level"].as_str().unwrap_or("warning"),
                "message": r["message"]["text"].as_str().unwrap_or(""),
                "path": loc["artifactLocation"]["uri"].as_str().unwrap_or(""),
                "line": loc["region"]["startLine"].as_i64().unwrap_or(0),
            }));
        }
    }
    let count = |lvl: &str| results.iter().filter(|r| r["level"] == lvl).count();
    Ok(json!({
        "errors": count("error"),
        "warnings": count("warning"),
        "count": results.len(),
        "results": results,
    }))
}

impl Source for Spec {
    const NAME: &'static str = "data";
    const DOC: SourceDoc = SourceDoc {
        name: "data",
        summary: "A structured file, parsed: JSON/YAML/TOML values, JUnit totals, Cobertura or lcov coverage, SARIF results — what CI already produced.",
        options: "format (json, yaml, toml, junit, cobertura, lcov, sarif; guessed from the extension)",
        names: &[
            n("exists", "bool", "the file exists"),
            n("path", "string", "the path"),
            n("format", "string", "the format used"),
            n("value", "any", "json, yaml, toml: the parsed document"),
            n("tests", "int", "junit: test cases"),
            n("failures", "int", "junit: failures"),
            n(
                "errors",
                "int",
                "junit: errors (sarif: error-level results)",
            ),
            n("skipped", "int", "junit: skipped"),
            n("passed", "int", "junit: passed"),
            n("time", "double", "junit: seconds"),
            n("failed", "list", "junit: names of failing cases"),
            n("percent", "double", "cobertura, lcov: line coverage"),
            n("lines_valid", "int", "cobertura: lines measured"),
            n("lines_covered", "int", "cobertura: lines covered"),
            n("lines_found", "int", "lcov: lines measured"),
            n("lines_hit", "int", "lcov: lines covered"),
            n(
                "results",
                "list",
                "sarif: {tool, rule_id, level, message, path, line}",
            ),
            n("count", "int", "sarif: number of results"),
            n("warnings", "int", "sarif: warning-level results"),
            n(
                "produced_at",
                "string",
                "when the file says it was produced, else its mtime",
            ),
            n("produced_at_source", "string", "file or mtime"),
            n("age_days", "int", "days since produced_at"),
        ],
        example: r#"[[rule]]
id = "coverage"
area = "example"
title = "Line coverage at least 80%"
evidence.cov = { data = "evidence/coverage.xml", format = "cobertura" }
expect = ['cov.exists', 'cov.percent >= 80.0']
"#,
    };

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "data `{}`{}",
            self.path,
            self.format
                .as_ref()
                .map(|f| format!(" as {f}"))
                .unwrap_or_default()
        )
    }

    fn paths(&self) -> Vec<String> {
        vec![self.path.clone()]
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        Some((vec![self.path.clone()], vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_totals() {
        let v = junit(r#"<testsuites><testsuite name="a" tests="5" failures="1" errors="0" skipped="1" time="0.5" timestamp="2026-02-10T10:00:00"><testcase classname="t" name="x"><failure/></testcase></testsuite></testsuites>"#).unwrap();
        assert_eq!(v["tests"], 5);
        assert_eq!(v["passed"], 3);
        assert_eq!(v["failed"][0], "t.x");
        assert!(junit("<nope/>").is_err());
    }

    #[test]
    fn cobertura_and_lcov_percent() {
        let v = cobertura(r#"<coverage line-rate="0.8767" lines-valid="981" lines-covered="860" timestamp="1770717600000"></coverage>"#).unwrap();
        assert_eq!(v["percent"], 87.67);
        assert_eq!(lcov("SF:a\nLF:10\nLH:9\nend_of_record\n")["percent"], 90.0);
        assert_eq!(
            parse_time("1770717600000").map(|t| t.to_rfc3339()),
            Some("2026-02-10T10:00:00+00:00".into())
        );
    }

    #[test]
    fn sarif_results() {
        let v = sarif(r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy"}},"results":[{"ruleId":"CVE-1","level":"error","message":{"text":"bad"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.txt"},"region":{"startLine":3}}}]}]}]}"#).unwrap();
        assert_eq!(v["errors"], 1);
        assert_eq!(v["results"][0]["line"], 3);
    }
}

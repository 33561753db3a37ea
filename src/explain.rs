//! `shipshape explain`: what a rule of the policy in force checks, and what an evidence source
//! yields. The text for each source lives here, once; a test holds it to `docs/policy.md` (every
//! name listed here is documented there) and loads every example snippet as a real policy.

use std::fmt::Write as _;

use crate::collect::Request;
use crate::policy::model::{EvidenceRaw, Policy, Rule};

/// One name CEL sees under an evidence entry.
#[derive(Debug, Clone, Copy)]
pub struct Name {
    pub name: &'static str,
    pub kind: &'static str,
    pub meaning: &'static str,
}

/// What one evidence source is, what it yields and how a rule uses it.
#[derive(Debug, Clone, Copy)]
pub struct SourceDoc {
    pub name: &'static str,
    pub summary: &'static str,
    pub options: &'static str,
    pub names: &'static [Name],
    /// A complete `[[rule]]` (area `example`) that uses the source.
    pub example: &'static str,
}

/// What `manifests` yields; its first seven names are `cluster`'s too.
const MANIFESTS_NAMES: [Name; 10] = [
    n(
        "objects",
        "list",
        "the objects, with _ref, _path, _line, _namespace; workloads also answer _pod, _containers, _pod_labels (derived when read); relate selectors with k8s.selects(selector, labels)",
    ),
    n("count", "int", "number of objects"),
    n(
        "source",
        "map",
        "{kind, captured_at, captured_at_from, age_hours}",
    ),
    n(
        "errors",
        "list",
        "{path, line, message} of documents that did not parse",
    ),
    n(
        "unread",
        "list",
        "{path, reason}: missing entries and documents not parsed; the rule cannot pass over them",
    ),
    n("by_namespace", "map", "namespace → indexes into objects"),
    n("by_name", "map", "Kind/namespace/name → index into objects"),
    n("files", "list", "files read"),
    n("rendered", "list", "kustomize folders rendered"),
    n("missing", "list", "entries that matched nothing"),
];

const fn n(name: &'static str, kind: &'static str, meaning: &'static str) -> Name {
    Name {
        name,
        kind,
        meaning,
    }
}

pub const SOURCES: &[SourceDoc] = &[
    SourceDoc {
        name: "artifact",
        summary: "A Markdown operations document (a path, or a glob whose newest match is described at the top level): its status, fields, tables, headings, placeholders and age.",
        options: "none (the value is a path or glob)",
        names: &[
            n("exists", "bool", "a file matched"),
            n(
                "path",
                "string",
                "the newest match (or the pattern, when nothing matched)",
            ),
            n(
                "matches",
                "list of strings",
                "every matching path, newest first",
            ),
            n(
                "items",
                "list",
                "every match, parsed the same way, newest first",
            ),
            n(
                "status",
                "string",
                "upper-cased first word of the status a reader sees (front matter, `Status:` line or table row); AMBIGUOUS when two disagree, UNKNOWN when not UTF-8, \"\" when none",
            ),
            n("status_line", "int", "line of the status"),
            n(
                "fields",
                "map",
                "`Key: value` lines, two-column table rows, front-matter keys",
            ),
            n(
                "field_lines",
                "map",
                "field → the line it was read from (absent for front-matter keys)",
            ),
            n("tables", "list", "{line, headers, rows, row_lines}"),
            n("headings", "list", "{level, text, line, anchor}"),
            n(
                "placeholders",
                "list",
                "{line, text, kind}: TBD, TODO, <fill-me>, YYYY-MM-DD, PENDING…",
            ),
            n(
                "dates",
                "list",
                "{line, date} for every valid YYYY-MM-DD date",
            ),
            n(
                "unread",
                "list",
                "{path, reason}: matched files not read (binary, too large, not UTF-8, symlink out, dated after --now)",
            ),
            n(
                "name_date",
                "string",
                "the date in the file name, \"\" if none",
            ),
            n(
                "age_days",
                "int",
                "days since name_date, else since mtime; -1 when absent",
            ),
            n("age_source", "string", "name, mtime or absent"),
            n("mtime", "string", "modification time (RFC 3339)"),
            n(
                "lossy",
                "bool",
                "the file was not UTF-8 and was read with replacement characters",
            ),
            n(
                "published_audit",
                "bool",
                "the file is a published audit report in publish_dir",
            ),
        ],
        example: r#"[[rule]]
id = "dr-drill-executed"
area = "example"
title = "DR drill executed and recorded"
evidence.drill = { artifact = "docs/operations-artifacts/dr-drill-*.md" }
expect = [
  'drill.exists',
  'drill.status in approved',
  'size(drill.placeholders) == 0',
  'drill.age_days <= stale_after_days',
]
"#,
    },
    SourceDoc {
        name: "files",
        summary: "Which required files are present. Each entry is a glob or a list of alternatives; GitHub community files are found as GitHub finds them (any case, root, .github/ or docs/).",
        options: "none (the value is a list of entries)",
        names: &[
            n("present", "list", "{entry, path} for each entry found"),
            n("missing", "list of strings", "entries not found"),
            n("found", "map", "entry → path"),
            n("all_present", "bool", "nothing missing"),
        ],
        example: r#"[[rule]]
id = "standard-files"
area = "example"
title = "Standard repository files"
evidence.files = { files = [["LICENSE", "LICENSE.md"], "README.md", "SECURITY.md"] }
expect = ['size(files.missing) == 0']
"#,
    },
    SourceDoc {
        name: "run",
        summary: "A command's result. It runs with `sh -c` in the audited folder, in its own process group, with a clean environment (CI secrets are not passed on), killed at `timeout`.",
        options: "timeout (seconds, default 600), captures (name → regex), env, cwd, inputs (globs keying the command cache; default the whole tree)",
        names: &[
            n("exit_code", "int", "the exit status"),
            n("ok", "bool", "exit_code == 0"),
            n(
                "stdout",
                "string",
                "the first 4 KiB and the last 16 KiB of standard output",
            ),
            n(
                "stderr",
                "string",
                "the first 4 KiB and the last 16 KiB of standard error",
            ),
            n("stdout_truncated", "bool", "stdout was cut"),
            n("stderr_truncated", "bool", "stderr was cut"),
            n("duration_ms", "int", "wall time (kept out of the digest)"),
            n(
                "timed_out",
                "bool",
                "always false in evidence: a timeout makes the rule pending",
            ),
            n(
                "captures",
                "map",
                "name → first group of the last match in stdout+stderr (a number when it parses)",
            ),
            n(
                "cached",
                "bool",
                "reused from the command cache (out of the digest)",
            ),
            n(
                "produced_at",
                "string",
                "when the command really ran (out of the digest)",
            ),
        ],
        example: r#"[[rule]]
id = "unit-tests-pass"
area = "example"
title = "Test suite passes"
evidence.tests = { run = "python3 -m unittest discover -s tests -t .", timeout = 300, captures = { tests = 'Ran (\d+) tests?' } }
expect = ['tests.exit_code == 0', 'tests.captures.tests > 0']
"#,
    },
    SourceDoc {
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
    },
    SourceDoc {
        name: "capture",
        summary: "The set of values a regex captures across files, for cross-reference rules (one version everywhere, every route documented).",
        options: "include, exclude (globs), group",
        names: &[
            n(
                "values",
                "list of strings",
                "distinct captured values, sorted",
            ),
            n("by_file", "map", "path → its values"),
            n("locations", "list", "{path, line, value}"),
            n("count", "int", "number of captures (up to 1000 locations)"),
        ],
        example: r#"[[rule]]
id = "one-version"
area = "example"
title = "One version string everywhere"
evidence.versions = { capture = 'VERSION\s*=\s*"([^"]+)"', include = ["**/version.py"] }
expect = ['size(versions.values) == 1']
"#,
    },
    SourceDoc {
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
    },
    SourceDoc {
        name: "git",
        summary: "Git history: HEAD, the last change of a path or glob, tags.",
        options: "path; fallback = \"mtime\" (last_change: date untracked files, or a folder outside git, by modification time)",
        names: &[
            n(
                "head",
                "map",
                "{sha, short, branch, dirty, dirty_paths, time}",
            ),
            n(
                "last_change",
                "map",
                "{path, sha, time, author, subject, age_days} plus exists, tracked, source (git or mtime)",
            ),
            n(
                "newest",
                "map",
                "for a glob: the newest matching file's last change",
            ),
            n(
                "oldest",
                "map",
                "for a glob: the oldest matching file's last change",
            ),
            n(
                "each",
                "list",
                "for a glob: every matching file's last change",
            ),
            n(
                "tags",
                "list",
                "{name, sha, annotated, signed, verified, time, tagger, version, points_at_head}",
            ),
            n("latest_tag", "string", "the highest semver tag"),
            n("commits_since_tag", "int", "commits since latest_tag"),
        ],
        example: r#"[[rule]]
id = "clean-checkout"
area = "example"
title = "Audited from a clean checkout"
evidence.repo = { git = "head" }
expect = ['!repo.head.dirty']
"#,
    },
    SourceDoc {
        name: "links",
        summary: "Broken relative links and #anchors across Markdown files (GitHub heading slugs).",
        options: "exclude (the value is a list of globs)",
        names: &[
            n("broken", "list", "{path, line, target, reason}"),
            n(
                "unsafe",
                "list",
                "{path, line, target, scheme}: javascript:, vbscript: or data: links",
            ),
            n("count", "int", "broken links"),
            n("checked", "int", "relative links checked"),
            n("external", "int", "external links seen (not fetched)"),
            n("files", "int", "Markdown files read"),
            n("broken_by_file", "map", "path → broken links"),
        ],
        example: r#"[[rule]]
id = "doc-links"
area = "example"
title = "Markdown links resolve"
evidence.links = { links = ["**/*.md"] }
expect = ['size(links.broken) == 0']
"#,
    },
    SourceDoc {
        name: "manifests",
        summary: "Kubernetes objects parsed from YAML files (multi-document), the same shape as `cluster`.",
        options: "kind, api_version, namespace, selector, field_selector, name, exclude",
        names: &MANIFESTS_NAMES,
        example: r#"[[rule]]
id = "workloads-non-root"
area = "example"
title = "Workloads run as non-root"
evidence.k = { manifests = ["k8s/**/*.yaml"], kind = "Deployment" }
expect = ['k.objects.all(o, o.spec.template.spec.securityContext.runAsNonRoot == true)']
"#,
    },
    SourceDoc {
        name: "cluster",
        summary: "Objects of any kind (CRDs too) from the live API or a snapshot (`kubectl get -o yaml` output).",
        options: "kind, namespace, selector, field_selector, name, allow_snapshot, timeout",
        // `cluster` shares the object shape of `manifests`, without the file bookkeeping.
        names: MANIFESTS_NAMES.split_at(7).0,
        example: r#"[[rule]]
id = "pdb-present"
area = "example"
title = "A PodDisruptionBudget exists"
evidence.pdb = { cluster = "policy/v1", kind = "PodDisruptionBudget" }
expect = ['pdb.count > 0']
"#,
    },
    SourceDoc {
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
    },
    SourceDoc {
        name: "suppressions",
        summary: "Vulnerability suppressions in each tool's own format: .trivyignore (comment block above each id), .trivyignore.yaml, .grype.yaml, osv-scanner.toml, .snyk, cargo-deny deny.toml.",
        options: "none (the value lists the files; [] reads each tool's default file)",
        names: &[
            n(
                "entries",
                "list",
                "{id, file, line, owner, justification, expires, expired, days_left, problems}",
            ),
            n("count", "int", "suppressions read"),
            n("expired", "int", "suppressions past their expiry"),
            n(
                "problems",
                "list",
                "the entries with a problem (no owner, no justification, no or invalid expiry, expired)",
            ),
            n("files", "list", "files read"),
        ],
        example: r#"[[rule]]
id = "cve-suppressions-governed"
area = "example"
title = "Every suppression has an owner, a reason and an unexpired date"
evidence.s = { suppressions = [] }
allow_empty = true
expect = ['s.problems == []']
"#,
    },
];

pub fn source(name: &str) -> Option<&'static SourceDoc> {
    SOURCES.iter().find(|s| s.name == name)
}

/// Whether this build collects the source (the others are reserved names until their
/// collectors land): asks the same parser the policy loader uses.
pub fn available(name: &str) -> bool {
    let mut raw = EvidenceRaw::default();
    let v = Some("x".to_string());
    let list = Some(vec!["x".to_string()]);
    match name {
        "artifact" => raw.artifact = v,
        "files" => {
            raw.files = Some(vec![crate::policy::model::FileEntry::One("x".into())]);
        }
        "run" => raw.run = v,
        "scan" => raw.scan = v,
        "capture" => raw.capture = v,
        "data" => raw.data = v,
        "git" => raw.git = v,
        "links" => raw.links = list,
        "manifests" => raw.manifests = list,
        "cluster" => raw.cluster = v,
        "http" => raw.http = v,
        "suppressions" => raw.suppressions = list,
        _ => return false,
    }
    match Request::from_raw(&raw) {
        Ok(_) => true,
        Err(e) => !e.contains("not available in this version"),
    }
}

/// The text of `explain --source NAME`.
pub fn explain_source(doc: &SourceDoc) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "source: {}", doc.name);
    if !available(doc.name) {
        let _ = writeln!(
            s,
            "note: this build of shipshape does not collect `{}` yet; a policy using it is rejected",
            doc.name
        );
    }
    let _ = writeln!(s, "\n{}\n", doc.summary);
    let _ = writeln!(s, "options: {}\n", doc.options);
    let _ = writeln!(s, "names CEL sees under the evidence name:");
    let width = doc.names.iter().map(|n| n.name.len()).max().unwrap_or(0);
    let kwidth = doc.names.iter().map(|n| n.kind.len()).max().unwrap_or(0);
    for nm in doc.names {
        let _ = writeln!(
            s,
            "  {:width$}  {:kwidth$}  {}",
            nm.name, nm.kind, nm.meaning
        );
    }
    let _ = writeln!(s, "\nexample:\n");
    for line in doc.example.lines() {
        let _ = writeln!(s, "  {line}");
    }
    let _ = writeln!(
        s,
        "\nEvery rule also sees the globals now, env, approved and stale_after_days (docs/policy.md)."
    );
    s
}

/// The list shown by `explain --source` with an unknown name.
pub fn source_names() -> String {
    SOURCES
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn describe_request(req: &Request) -> String {
    match req {
        Request::Artifact(s) => format!("artifact `{}`", s.glob),
        Request::Files(s) => format!(
            "files [{}]",
            s.entries
                .iter()
                .map(|alts| alts.join(" | "))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Request::Run(s) => format!(
            "run `{}` (timeout {} s{})",
            s.command,
            s.timeout_secs,
            s.cwd
                .as_ref()
                .map(|c| format!(", in {c}"))
                .unwrap_or_default()
        ),
        Request::Scan(s) => format!(
            "scan /{}/ in {}{}",
            s.pattern,
            s.include.join(", "),
            if s.exclude.is_empty() {
                String::new()
            } else {
                format!(" (not {})", s.exclude.join(", "))
            }
        ),
        Request::Capture(s) => format!(
            "capture /{}/ group {} in {}",
            s.pattern,
            s.group,
            s.include.join(", ")
        ),
        Request::Data(s) => format!(
            "data `{}`{}",
            s.path,
            s.format
                .as_ref()
                .map(|f| format!(" as {f}"))
                .unwrap_or_default()
        ),
        Request::Links(s) => format!(
            "links in {}{}",
            s.include.join(", "),
            if s.exclude.is_empty() {
                String::new()
            } else {
                format!(" (not {})", s.exclude.join(", "))
            }
        ),
        Request::Cluster(s) => format!(
            "cluster {} {}{}{}",
            s.api_version,
            s.kind,
            s.namespace
                .as_ref()
                .map(|n| format!(" in namespace {n}"))
                .unwrap_or_default(),
            s.selector
                .as_ref()
                .map(|l| format!(" selected by {l}"))
                .unwrap_or_default()
        ),
        Request::Manifests(s) => format!(
            "manifests {}{}",
            if s.paths.is_empty() {
                "([cluster] manifests)".to_string()
            } else {
                s.paths.join(", ")
            },
            if s.kinds.is_empty() {
                String::new()
            } else {
                format!(" of kind {}", s.kinds.join(", "))
            }
        ),
        Request::Http(s) => format!("http GET {} (timeout {} s)", s.url, s.timeout_secs),
        Request::Suppressions(s) => format!("suppressions in {}", s.paths().join(", ")),
        Request::Git(s) => format!(
            "git {}{}",
            serde_json::to_value(s.query)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            s.path
                .as_ref()
                .map(|p| format!(" of `{p}`"))
                .unwrap_or_default()
        ),
    }
}

/// The text of `explain RULE_ID`.
pub fn explain_rule(policy: &Policy, rule: &Rule) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "rule: {} — {}", rule.id, rule.title);
    let _ = writeln!(s, "policy: {} ({})", policy.name, rule.origin);
    let area = policy
        .area(&rule.area)
        .map(|a| format!("{} ({}, weight {})", a.title, a.id, a.weight))
        .unwrap_or_else(|| rule.area.clone());
    let _ = writeln!(s, "area: {area}");
    let blocks = match rule.severity.as_str() {
        "blocking" => "a fail or pending blocks approval",
        "warning" => "a non-blocking gap that lowers the score",
        _ => "reported, never scored",
    };
    let _ = writeln!(s, "severity: {} ({blocks})", rule.severity.as_str());
    let _ = writeln!(s, "weight: {}", rule.weight);
    let envs = rule
        .environments
        .as_ref()
        .map(|e| e.join(", "))
        .unwrap_or_else(|| format!("all ({})", policy.audit.environments.join(", ")));
    let _ = writeln!(s, "environments: {envs}");
    if let Some(d) = &rule.description {
        let _ = writeln!(s, "description: {d}");
    }
    let _ = writeln!(s, "evidence:");
    for (name, req) in &rule.evidence {
        let _ = writeln!(s, "  {name}: {}", describe_request(req));
    }
    let _ = writeln!(s, "expect (all must be true):");
    for e in &rule.expect {
        let _ = writeln!(s, "  {e}");
    }
    if let Some(m) = &rule.pass_message {
        let _ = writeln!(s, "when it passes: {m}");
    }
    if let Some(m) = &rule.fail_message {
        let _ = writeln!(s, "when it fails: {m}");
    }
    let waivers: Vec<_> = policy
        .waivers
        .iter()
        .filter(|w| w.rule == rule.id)
        .collect();
    for w in waivers {
        let _ = writeln!(
            s,
            "waiver: {} (owner {}, expires {})",
            w.reason, w.owner, w.expires
        );
    }
    match &rule.remediation {
        Some(r) => {
            let _ = writeln!(s, "remediation:");
            let fields = [
                ("priority", r.priority.clone()),
                ("category", r.category.clone()),
                ("files", r.files.as_ref().map(|f| f.join(", "))),
                ("action", r.action.clone()),
                ("rationale", r.rationale.clone()),
                ("effort", r.effort.clone()),
                ("dependencies", r.dependencies.clone()),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    let _ = writeln!(s, "  {k}: {v}");
                }
            }
        }
        None => {
            let _ = writeln!(s, "remediation: none given");
        }
    }
    let sources: Vec<&str> = rule.evidence.values().map(|r| r.source_name()).collect();
    if !sources.is_empty() {
        let mut uniq = sources.clone();
        uniq.sort();
        uniq.dedup();
        let _ = writeln!(
            s,
            "\nWhat each source yields: {}",
            uniq.iter()
                .map(|n| format!("shipshape explain --source {n}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    s
}

/// Rule ids close to `id`, for "did you mean".
pub fn similar<'a>(policy: &'a Policy, id: &str) -> Vec<&'a str> {
    let needle = id.to_lowercase();
    let mut out: Vec<&str> = policy
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|r| {
            r.contains(&needle)
                || needle.contains(*r)
                || needle
                    .split('-')
                    .any(|part| part.len() > 2 && r.contains(part))
        })
        .collect();
    out.truncate(8);
    out
}

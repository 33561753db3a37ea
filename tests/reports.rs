//! The report formats end to end: a fixture repository built in a temp dir is audited by the
//! real binary, and each format is checked — snapshots for HTML, JUnit and SARIF, the JUnit XSD
//! (xmllint), the official SARIF 2.1.0 schema, the bundle's own schema, headless Chromium for the
//! HTML, byte-identical re-rendering from the bundle, and baselines/diffs.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

const NOW: &str = "2026-02-10T12:00:00Z";

const POLICY: &str = r#"
[audit]
name = "fixture"
title = "Fixture Release Audit"
approve_min_score = 7.0
environments = ["prod", "staging"]
default_env = "prod"

[[area]]
id = "operations"
title = "Operational Excellence"
weight = 2

[[area]]
id = "code"
title = "Code Completeness"

[[area]]
id = "repository"
title = "Standard Repository Files"

[[rule]]
id = "dr-drill-executed"
area = "operations"
title = "DR drill executed and recorded"
severity = "blocking"
weight = 3
evidence.doc = { artifact = "docs/ops/dr-drill-*.md" }
expect = ['doc.status in approved', 'size(doc.placeholders) == 0']
remediation = { priority = "critical", category = "Operations", action = "Run the quarterly DR drill and record it.", effort = "Large", dependencies = "Staging window" }

[[rule]]
id = "dr-drill-owner"
area = "operations"
title = "DR drill has a named owner team"
severity = "warning"
evidence.doc = { artifact = "docs/ops/dr-drill-*.md" }
expect = ['doc.fields.Owner == "sre-team"']

[[rule]]
id = "capacity-baseline"
area = "operations"
title = "Capacity baseline approved"
severity = "blocking"
evidence.doc = { artifact = "docs/ops/capacity.md" }
expect = ['doc.status in approved', 'size(doc.placeholders) == 0']

[[rule]]
id = "security-controls"
area = "operations"
title = "Security controls validated"
severity = "blocking"
evidence.doc = { artifact = "docs/ops/security-controls.md" }
expect = ['doc.status in approved', 'size(doc.placeholders) == 0']

[[rule]]
id = "staging-soak"
area = "operations"
title = "Staging soak test"
severity = "blocking"
environments = ["staging"]
evidence.doc = { artifact = "docs/ops/soak.md" }
expect = ['doc.exists']

[[rule]]
id = "no-unfinished-markers"
area = "code"
title = "No TODO/FIXME markers in source"
severity = "warning"
evidence.markers = { scan = '\b(TODO|FIXME)\b', include = ["src/**"] }
expect = ['markers.count == 0']

[[rule]]
id = "license-present"
area = "repository"
title = "License"
severity = "blocking"
evidence.files = { files = ["LICENSE"] }
expect = ['size(files.missing) == 0']
pass_message = "a license file is present"

[[rule]]
id = "security-policy"
area = "repository"
title = "Security policy"
severity = "warning"
evidence.files = { files = ["SECURITY.md"] }
expect = ['size(files.missing) == 0']

[[waiver]]
rule = "security-controls"
reason = "Controls are validated by the platform team's quarterly review"
owner = "platform-team"
expires = 2026-06-30

[[document]]
path = "docs/ops/capacity.md"
title = "Capacity baseline"

[[document]]
path = "docs/ops/dr-drill-*.md"
title = "DR drill"
"#;

const HOSTILE: &str = "<script>document.title='pwned'</script>";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let f = Fixture { dir };
        f.write("shipshape.toml", POLICY);
        f.write("LICENSE", "MIT\n");
        f.write(
            "docs/ops/dr-drill-20260209.md",
            &format!(
                "# DR drill\n\nStatus: PENDING_EXECUTION {HOSTILE}\nOwner: `{HOSTILE}`\n\n\
                 ## Results\n\nRestore time: TBD\nDate: YYYY-MM-DD\n"
            ),
        );
        f.write(
            "docs/ops/capacity.md",
            "# Capacity baseline\n\nStatus: PASS\n\n## Results\n\n200 rps at p99 120 ms.\n",
        );
        f.write(
            "docs/ops/security-controls.md",
            "# Security controls\n\nStatus: BLOCKED\n\nEncryption at rest: <fill-me>\n",
        );
        f.write(
            "src/main.rs",
            "fn main() {\n    // TODO: handle SIGTERM\n    println!(\"hi\");\n}\n",
        );
        f
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn shipshape(&self) -> Command {
        let mut c = Command::cargo_bin("shipshape").unwrap();
        c.current_dir(self.path()).env_remove("SOURCE_DATE_EPOCH");
        c
    }

    /// Audit into `out` (relative to the fixture) with every format; returns the exit code.
    fn audit(&self, out: &str, extra: &[&str]) -> (i32, String) {
        let o = self
            .shipshape()
            .args(["audit", ".", "--now", NOW, "--out", out])
            .args(["--format", "md,html,json,junit,sarif"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            !stderr.contains("internal error"),
            "shipshape crashed: {stderr}"
        );
        (
            o.status.code().unwrap(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }
}

/// The bundle digest changes with the tool version and the policy; snapshots should not.
fn stable(text: &str) -> String {
    let re = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    let text = re.replace_all(text, "<sha256>");
    text.replace(env!("CARGO_PKG_VERSION"), "<version>")
}

#[test]
fn all_formats_are_written_and_the_exit_code_ignores_format() {
    let f = Fixture::new();
    let (code, stdout) = f.audit("out", &[]);
    assert_eq!(code, 1, "NOT APPROVED exits 1: {stdout}");
    for name in [
        "report.md",
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.sarif",
    ] {
        assert!(f.path().join("out").join(name).is_file(), "{name} missing");
    }
    let only_md = f
        .shipshape()
        .args([
            "audit", ".", "--now", NOW, "--out", "md-only", "--format", "md",
        ])
        .output()
        .unwrap();
    assert_eq!(only_md.status.code(), Some(1));
    let bad = f
        .shipshape()
        .args(["audit", ".", "--now", NOW, "--format", "pdf"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("md, html, json, junit, sarif"));
}

#[test]
fn snapshots_of_html_junit_and_sarif() {
    let f = Fixture::new();
    f.audit("out", &[]);
    insta::assert_snapshot!("report_html", stable(&f.read("out/report.html")));
    insta::assert_snapshot!("report_junit", stable(&f.read("out/report.junit.xml")));
    insta::assert_snapshot!("report_sarif", stable(&f.read("out/report.sarif")));
}

#[test]
fn html_is_self_contained_and_escapes_evidence() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let html = f.read("out/report.html");
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;"),
        "the planted script is shown as text"
    );
    for external in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!html.contains(external), "external resource `{external}`");
    }
    assert!(html.contains("<details"));
    assert!(html.contains("@media print"));
    assert!(html.contains("❌ Fail"));
    assert!(html.contains("🔕 Waived"));
    assert!(html.contains("⏭️ Skipped"));
    assert!(html.contains("docs/ops/dr-drill-20260209.md:3"));
    // Same sections, same order as the Markdown report.
    let order = [
        "Executive Summary",
        "Evidence Commands",
        "Documentation Matrix",
        "Operational Excellence",
        "Code Completeness",
        "Standard Repository Files",
        "Prioritised Recommendations",
        "Completeness Score",
        "Blocking Gaps (Must Fix",
        "Non-Blocking Gaps (Should",
        "Final Verdict",
        "Provenance",
    ];
    let md = f.read("out/report.md");
    // Headings only: the narrative names areas in its sentences too.
    for (doc, prefix) in [(&html, ">"), (&md, "# ")] {
        let body = doc.split("</nav>").last().unwrap();
        let pos: Vec<usize> = order
            .iter()
            .map(|h| {
                body.find(&format!("{prefix}{h}"))
                    .unwrap_or_else(|| panic!("`{h}` missing"))
            })
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "order {pos:?}");
    }
}

#[test]
fn junit_has_one_suite_per_area_and_validates_against_the_xsd() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let xml = f.read("out/report.junit.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 3);
    let case = |id: &str| {
        doc.descendants()
            .find(|n| {
                n.has_tag_name("testcase")
                    && n.attribute("name").unwrap().starts_with(&format!("{id}:"))
            })
            .unwrap()
    };
    let child = |id: &str| {
        case(id)
            .children()
            .find(|c| c.is_element())
            .map(|c| c.tag_name().name().to_string())
    };
    assert_eq!(child("dr-drill-executed").as_deref(), Some("failure"));
    assert_eq!(child("security-controls").as_deref(), Some("skipped"));
    assert_eq!(child("staging-soak").as_deref(), Some("skipped"));
    assert_eq!(child("security-policy").as_deref(), Some("failure"));
    assert_eq!(child("license-present").as_deref(), Some("system-out"));
    validate_xsd(&f.path().join("out/report.junit.xml"));
}

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas")
}

fn validate_xsd(file: &Path) {
    let have_xmllint = Command::new("xmllint").arg("--version").output().is_ok();
    if !have_xmllint {
        if std::env::var_os("CI").is_some() {
            panic!("xmllint is required in CI (apt-get install -y libxml2-utils)");
        }
        eprintln!(
            "\n\n!!!!! SKIPPED: JUnit XSD validation needs xmllint (apt-get install -y libxml2-utils) !!!!!\n\n"
        );
        return;
    }
    let o = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schemas().join("junit-10.xsd"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "JUnit output does not validate: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let sarif: serde_json::Value = serde_json::from_str(&f.read("out/report.sarif")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(schemas().join("sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does reject a broken log (the schema is not silently permissive).
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(!validator.is_valid(&broken));
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    // Every finding is a result with a file; a line where the offender has one.
    for r in results {
        let place = &r["locations"][0]["physicalLocation"];
        assert!(place["artifactLocation"]["uri"].is_string(), "{r}");
        let region = &place["region"];
        assert!(region.is_null() || region["startLine"].is_u64(), "{r}");
    }
    let bundle: serde_json::Value = serde_json::from_str(&f.read("out/report.json")).unwrap();
    assert_eq!(
        results.len(),
        bundle["report"]["findings"].as_array().unwrap().len()
    );
    // A missing file is a result too, placed at the missing path (no line).
    let missing = results
        .iter()
        .find(|r| r["ruleId"] == "security-policy")
        .unwrap();
    assert_eq!(
        missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "SECURITY.md"
    );
    // A waived finding is suppressed, not an open alert.
    assert!(
        results
            .iter()
            .filter(|r| r["ruleId"] == "security-controls")
            .all(|r| r["suppressions"][0]["kind"] == "external")
    );
    let dr: Vec<_> = results
        .iter()
        .filter(|r| r["ruleId"] == "dr-drill-executed")
        .collect();
    assert!(dr.iter().all(|r| r["level"] == "error"));
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "no-unfinished-markers" && r["level"] == "warning")
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 8);
    assert_eq!(
        rules[0]["shortDescription"]["text"],
        "DR drill executed and recorded"
    );
}

#[test]
fn bundle_matches_its_schema() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let bundle: serde_json::Value = serde_json::from_str(&f.read("out/report.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("evidence/schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&bundle)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn render_reproduces_every_format_byte_for_byte() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let started = std::time::Instant::now();
    let o = f
        .shipshape()
        .args(["render", "out/report.json", "--out", "again"])
        .args(["--format", "md,html,json,junit,sarif"])
        .output()
        .unwrap();
    eprintln!("render of five formats took {:?}", started.elapsed());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for name in [
        "report.md",
        "report.html",
        "report.json",
        "report.junit.xml",
        "report.sarif",
    ] {
        assert_eq!(
            f.read(&format!("out/{name}")),
            f.read(&format!("again/{name}")),
            "{name} differs after render"
        );
    }
}

#[test]
fn html_template_can_be_overridden() {
    let f = Fixture::new();
    f.write(
        "tpl/report.html.tera",
        "<p>{{ verdict_text }} {{ reasons.0 }}</p>\n",
    );
    f.audit("out", &["--templates", "tpl"]);
    let html = f.read("out/report.html");
    assert!(html.starts_with("<p>NOT APPROVED blocking rule"), "{html}");
}

/// Headless Chromium opens the HTML report: the banner, score and blocking gaps are there, the
/// planted script is text (no script element), and a screenshot is not blank.
#[test]
fn html_in_headless_chromium() {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok());
    let Some(chromium) = chromium else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is required in CI (apt-get install -y chromium)");
        }
        eprintln!(
            "\n\n!!!!! SKIPPED: headless Chromium test needs `apt-get install -y chromium` !!!!!\n\n"
        );
        return;
    };
    let f = Fixture::new();
    f.audit("out", &[]);
    let page = f.path().join("out/report.html");
    let profile = tempfile::tempdir().unwrap();
    // Every font of the machine except emoji fonts: the report must read without one.
    let fonts = profile.path().join("fonts.conf");
    std::fs::write(
        &fonts,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\n<dir>/usr/share/fonts</dir>\n<dir>/usr/local/share/fonts</dir>\n<cachedir>{}/fc-cache</cachedir>\n<selectfont><rejectfont><glob>*[Ee]moji*</glob><glob>*Symbola*</glob></rejectfont></selectfont>\n</fontconfig>\n",
            profile.path().display()
        ),
    )
    .unwrap();
    let base = |c: &mut Command| {
        c.env("FONTCONFIG_FILE", &fonts);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dump = Command::new(chromium);
    base(&mut dump);
    let o = dump
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("id=\"verdict-banner\""),
        "no banner in DOM: {dom}"
    );
    assert!(dom.contains("NOT APPROVED"));
    let report: serde_json::Value = serde_json::from_str(&f.read("out/report.json")).unwrap();
    let shown = report["report"]["score"]["shown"].as_str().unwrap();
    assert!(dom.contains(&format!("{shown}/10")));
    for g in report["report"]["blocking_gaps"].as_array().unwrap() {
        let rule = g["rule"].as_str().unwrap();
        assert!(
            dom.contains(&format!("data-rule=\"{rule}\"")),
            "blocking gap {rule} missing"
        );
    }
    assert!(
        !dom.to_ascii_lowercase().contains("<script"),
        "a script element was created"
    );
    assert!(
        dom.contains("&lt;script&gt;"),
        "the planted script is shown as text"
    );
    assert!(!dom.contains("pwned</title>"));
    // Without an emoji font every status still reads: each badge carries a word, and no table
    // cell is icons alone.
    let badges = regex::Regex::new(r#"<span class="st st-[a-z]+">([^<]*)</span>"#).unwrap();
    let mut n = 0;
    for c in badges.captures_iter(&dom) {
        n += 1;
        assert!(
            c[1].chars().any(|ch| ch.is_ascii_alphabetic()),
            "a status badge without a word: {:?}",
            &c[1]
        );
    }
    assert!(n >= 10, "only {n} status badges");
    let cells = regex::Regex::new(r"(?s)<td[^>]*>(.*?)</td>").unwrap();
    let tags = regex::Regex::new(r"<[^>]+>").unwrap();
    let emoji = |ch: char| matches!(ch as u32, 0x2300..=0x23FF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F | 0x1F300..=0x1FAFF);
    for c in cells.captures_iter(&dom) {
        let text = tags.replace_all(&c[1], "");
        let text = text.trim();
        assert!(
            text.is_empty() || !text.chars().all(|ch| emoji(ch) || ch.is_whitespace()),
            "a table cell shows only icons: {text:?}"
        );
    }

    let shot = f.path().join("shot.png");
    let mut snap = Command::new(chromium);
    base(&mut snap);
    let o = snap
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let first = &pixels[..px];
    let distinct = pixels.chunks(px).filter(|p| *p != first).count();
    assert!(distinct > 10_000, "the screenshot is (nearly) one colour");
    if let Some(dest) = std::env::var_os("SHIPSHAPE_SCREENSHOT") {
        std::fs::copy(&shot, dest).unwrap();
    }
}

fn diff(f: &Fixture, old: &str, new: &str, extra: &[&str]) -> (i32, String) {
    let o = f
        .shipshape()
        .args(["diff", old, new])
        .args(extra)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("  {name} ("))
        .unwrap_or_else(|| panic!("no {name} section in {text}"));
    let rest = &text[start..];
    // The section ends at the next line indented by two spaces only.
    let end = rest
        .match_indices("\n  ")
        .find(|(i, _)| !rest[i + 3..].starts_with(' '))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn diff_sees_fixed_new_moved_and_a_verdict_flip() {
    let f = Fixture::new();
    f.audit("v1", &[]);
    // Fix the `TBD`, add a new TODO marker, and move the `YYYY-MM-DD` placeholder down.
    f.write(
        "docs/ops/dr-drill-20260209.md",
        &format!(
            "# DR drill\n\nStatus: PENDING_EXECUTION {HOSTILE}\nOwner: `{HOSTILE}`\n\n\
             ## Results\n\nRestore time: 14 minutes\n\nSome new paragraph.\n\nDate: YYYY-MM-DD\n"
        ),
    );
    f.write(
        "src/main.rs",
        "fn main() {\n    // TODO: handle SIGTERM\n    // FIXME: flush logs\n}\n",
    );
    f.audit("v2", &[]);
    let (code, out) = diff(&f, "v1/report.json", "v2/report.json", &[]);
    assert_eq!(code, 0, "only a warning is new: no regression\n{out}");
    let new = section(&out, "new");
    assert!(new.contains("FIXME: flush logs"), "{out}");
    assert!(
        !new.contains("YYYY-MM-DD"),
        "a moved placeholder is not new: {out}"
    );
    let resolved = section(&out, "resolved");
    assert!(resolved.contains("TBD"), "{out}");
    let unchanged = section(&out, "unchanged");
    assert!(unchanged.contains("YYYY-MM-DD"), "{out}");
    assert!(
        unchanged.contains("dr-drill-20260209.md:12"),
        "shown at its new line: {out}"
    );

    // Markdown for a pull request.
    let (_, md) = diff(&f, "v1/report.json", "v2/report.json", &["--format", "md"]);
    assert!(md.contains("## Changes since the last audit"));
    assert!(md.contains("| 🆕 New |"));

    // Now fix everything blocking: the verdict flips to APPROVED (v3), and back (v2 vs v3).
    f.write(
        "docs/ops/dr-drill-20260209.md",
        "# DR drill\n\nStatus: COMPLETED\nOwner: sre-team\n\n## Results\n\nRestore time: 14 minutes\n",
    );
    f.write("src/main.rs", "fn main() {}\n");
    f.write("SECURITY.md", "Report to security@example.com\n");
    let (code, out3) = f.audit("v3", &[]);
    assert_eq!(code, 0, "{out3}");
    let (code, out) = diff(&f, "v2/report.json", "v3/report.json", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("NOT APPROVED → APPROVED"), "{out}");
    let (code, out) = diff(&f, "v3/report.json", "v2/report.json", &[]);
    assert_eq!(code, 1, "a worse verdict is a regression: {out}");
    assert!(out.contains("regression: yes"));

    // Bad input.
    f.write("junk.json", "{}");
    assert_eq!(diff(&f, "junk.json", "v2/report.json", &[]).0, 2);
    assert_eq!(diff(&f, "missing.json", "v2/report.json", &[]).0, 2);
}

#[test]
fn baseline_adds_changes_to_every_format_and_fail_on_new() {
    let f = Fixture::new();
    // An approved-by-blocking-rules baseline with one old warning (the TODO marker).
    f.write(
        "docs/ops/dr-drill-20260209.md",
        "# DR drill\n\nStatus: COMPLETED\nOwner: sre-team\n\n## Results\n\nRestore time: 14 minutes\n",
    );
    f.write("SECURITY.md", "Report to security@example.com\n");
    let (code, out) = f.audit("v1", &[]);
    assert_eq!(code, 0, "{out}");
    // --fail-on warning fails on the old TODO; --fail-on new does not.
    let (code, _) = f.audit("w", &["--fail-on", "warning"]);
    assert_eq!(code, 1);
    let (code, out) = f.audit("n", &["--baseline", "v1/report.json", "--fail-on", "new"]);
    assert_eq!(code, 0, "{out}");
    // A new warning fails the run under --fail-on new, and only shows as new.
    f.write("src/lib.rs", "// FIXME: remove\n");
    let (code, out) = f.audit("n2", &["--baseline", "v1/report.json", "--fail-on", "new"]);
    assert_eq!(code, 1, "{out}");
    let (code, _) = f.audit("n3", &["--baseline", "v1/report.json"]);
    assert_eq!(
        code, 0,
        "without --fail-on new a warning does not fail the run"
    );
    for name in ["report.md", "report.html"] {
        let text = f.read(&format!("n2/{name}"));
        assert!(text.contains("Changes since the last audit"), "{name}");
        assert!(text.contains("FIXME: remove"), "{name}");
    }
    assert!(
        f.read("n2/report.junit.xml")
            .contains("Changes since the last audit")
    );
    let sarif: serde_json::Value = serde_json::from_str(&f.read("n2/report.sarif")).unwrap();
    let states: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["baselineState"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"new") && states.contains(&"unchanged"),
        "{states:?}"
    );
    let bundle: serde_json::Value = serde_json::from_str(&f.read("n2/report.json")).unwrap();
    assert_eq!(
        bundle["report"]["changes"]["new"].as_array().unwrap().len(),
        1
    );
    // Blocking findings keep blocking under --fail-on new even when they are old.
    f.write("docs/ops/capacity.md", "# Capacity\n\nStatus: TBD\n");
    let (code, _) = f.audit("v4", &[]);
    assert_eq!(code, 1);
    let (code, _) = f.audit("v5", &["--baseline", "v4/report.json", "--fail-on", "new"]);
    assert_eq!(code, 1, "an old blocking finding still blocks");
    // --fail-on new without a baseline is a usage error.
    let (code, _) = f.audit("x", &["--fail-on", "new"]);
    assert_eq!(code, 2);
}

/// Keeps the committed `evidence/schema.json` equal to what the types generate.
#[test]
fn bundle_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("evidence/schema.json");
    let generated = shipshape::evidence::schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "evidence/schema.json is out of date with the bundle types.\n\
         Regenerate it with: UPDATE_SCHEMA=1 cargo test --test reports bundle_schema_is_up_to_date\n\
         and commit the result (bump FORMAT in src/evidence.rs if the change is not additive)."
    );
}

#[test]
fn terminal_summary_has_no_colour_when_piped() {
    let f = Fixture::new();
    let (_, stdout) = f.audit("out", &[]);
    assert!(!stdout.contains('\x1b'), "{stdout}");
    assert!(stdout.contains("Operational Excellence"));
    assert!(stdout.contains("Blocking"));
}

/// The History section: the audits published earlier (sealed by shipshape) and this one, as a
/// table in Markdown and HTML and, in HTML, an inline SVG whose description states each point.
/// A later-dated or forged file does not enter it as sealed.
#[test]
fn history_of_published_audits_in_table_and_chart() {
    let f = Fixture::new();
    for (day, fix) in [
        ("2026-02-01T12:00:00Z", false),
        ("2026-02-05T12:00:00Z", true),
    ] {
        if fix {
            f.write(
                "docs/ops/capacity.md",
                "# Capacity baseline\n\nStatus: PASS\n\n## Results\n\n250 rps at p99 110 ms.\n",
            );
        }
        let o = f
            .shipshape()
            .args(["audit", ".", "--now", day, "--out", "pub-out", "--force"])
            .arg("--publish=docs/published")
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A hand-made file named like a published audit, dated later: not in the history.
    f.write(
        "docs/published/final-production-readiness-audit-20270101.md",
        "**Verdict: APPROVED** · score **10/10**\n",
    );
    f.write(
        "shipshape.toml",
        &POLICY.replace("[audit]\n", "[audit]\npublish_dir = \"docs/published\"\n"),
    );
    f.audit("out", &[]);
    let md = f.read("out/report.md");
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "### History")
        .filter(|l| l.starts_with("| 2026") || l.starts_with("| 2027"))
        .collect();
    assert_eq!(table.len(), 3, "{md}");
    assert!(
        table[0].starts_with("| 2026-02-01 | `final-production-readiness-audit-20260201.md` |"),
        "{table:?}"
    );
    assert!(table[0].ends_with("| sealed |"), "{table:?}");
    assert!(table[2].contains("this audit"), "{table:?}");
    let html = f.read("out/report.html");
    let svg = &html[html.find("<svg").unwrap()..html.find("</svg>").unwrap()];
    assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"history-title\">"));
    assert!(svg.contains("2026-02-01: NOT APPROVED, score"), "{svg}");
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    assert!(!html.to_ascii_lowercase().contains("<script"));
}

/// `--format github`: workflow commands on stdout (file, line, title; escaped), the same in
/// report.github.txt, and the job summary appended to `$GITHUB_STEP_SUMMARY`. `--format
/// gitlab`: Code Quality JSON in the documented shape, one issue per active finding.
#[test]
fn github_annotations_and_gitlab_code_quality() {
    let f = Fixture::new();
    let summary = f.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let o = f
        .shipshape()
        .args([
            "audit",
            ".",
            "--now",
            NOW,
            "--out",
            "out",
            "--format",
            "github,gitlab,json",
        ])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let commands: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    // One annotation per offender, each on its own line with its own words.
    let drill: Vec<&&str> = commands
        .iter()
        .filter(|c| c.contains("[dr-drill-executed]"))
        .collect();
    assert_eq!(
        drill,
        [
            &"::error file=docs/ops/dr-drill-20260209.md,line=3,title=DR drill executed and recorded [dr-drill-executed]::status is PENDING_EXECUTION; approved statuses are PASS, APPROVED, COMPLETED, READY",
            &"::error file=docs/ops/dr-drill-20260209.md,line=8,title=DR drill executed and recorded [dr-drill-executed]::placeholder `TBD`",
            &"::error file=docs/ops/dr-drill-20260209.md,line=9,title=DR drill executed and recorded [dr-drill-executed]::placeholder `YYYY-MM-DD`",
        ],
        "{stdout}"
    );
    assert!(
        commands.iter().any(|c| c.starts_with("::warning ")),
        "{stdout}"
    );
    assert_eq!(
        commands.last().unwrap(),
        &"::error title=shipshape%3A NOT APPROVED::score 2.9/10 (approval needs 7); 1 blocking and 3 non-blocking gap(s)"
    );
    assert_eq!(
        f.read("out/report.github.txt").lines().count(),
        commands.len()
    );
    let step = std::fs::read_to_string(&summary).unwrap();
    assert!(step.starts_with("earlier step\n## ❌ "), "{step}");
    assert!(
        step.contains("| ❌ Fail | DR drill executed and recorded (`dr-drill-executed`) |"),
        "{step}"
    );
    assert!(
        !step.contains("<fill-me>"),
        "raw angle brackets would vanish in GitHub: {step}"
    );

    let gl: serde_json::Value =
        serde_json::from_str(&f.read("out/gl-code-quality-report.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/gitlab-code-quality.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&gl).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let issues = gl.as_array().unwrap();
    let bundle: serde_json::Value = serde_json::from_str(&f.read("out/report.json")).unwrap();
    let active = bundle["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["status"] != "waived")
        .count();
    assert_eq!(issues.len(), active);
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), issues.len(), "fingerprints must be unique");
    assert!(issues.iter().any(|i| i["severity"] == "blocker"
        && i["location"]["path"] == "docs/ops/dr-drill-20260209.md"
        && i["location"]["lines"]["begin"] == 3));
}

/// A bundle written before this version (no gap words, no cluster summary, no narrative or
/// history) still loads, keeps its digest and renders in every format.
#[test]
fn bundles_from_before_the_new_report_fields_still_render() {
    let f = Fixture::new();
    f.audit("out", &[]);
    let mut v: serde_json::Value = serde_json::from_str(&f.read("out/report.json")).unwrap();
    let report = v["report"].as_object_mut().unwrap();
    report.remove("narrative");
    report.remove("history");
    for key in ["blocking_gaps", "nonblocking_gaps"] {
        for g in report[key].as_array_mut().unwrap() {
            g.as_object_mut().unwrap().remove("word");
        }
    }
    let prov = report["provenance"].as_object_mut().unwrap();
    prov.remove("policy_found");
    if let Some(c) = prov.get_mut("cluster").and_then(|c| c.as_object_mut()) {
        c.remove("summary");
    }
    let mut old = shipshape::evidence::Bundle::from_json(&v.to_string()).unwrap();
    old.sha256 = old.digest();
    let text = serde_json::to_string_pretty(&old).unwrap();
    assert!(!text.contains("\"narrative\""));
    f.write("old/report.json", &text);
    let o = f
        .shipshape()
        .args([
            "render",
            "old/report.json",
            "--out",
            "old-out",
            "--format",
            "md,html,json,junit,sarif,github,gitlab",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        f.read("old-out/report.json"),
        f.read("old/report.json").trim_end().to_string() + "\n"
    );
    assert!(
        f.read("old-out/report.md")
            .contains("❌ **Fail** DR drill executed and recorded")
    );
}

/// No two sections of the Markdown or HTML report share a heading, even when the policy titles
/// an area like one of the report's own sections ("Standard Repository Files").
#[test]
fn no_two_sections_share_a_heading() {
    let f = Fixture::new();
    f.audit("out", &["--format", "md,html"]);
    let md = f.read("out/report.md");
    let mut headings: Vec<&str> = md.lines().filter(|l| l.starts_with('#')).collect();
    let n = headings.len();
    headings.sort();
    headings.dedup();
    assert_eq!(headings.len(), n, "{md}");
    assert!(md.contains("## Standard Repository Files: checks"), "{md}");
    let html = f.read("out/report.html");
    let mut h2: Vec<&str> = html
        .split("<h2")
        .skip(1)
        .filter_map(|h| h.split("</h2>").next())
        .collect();
    let n = h2.len();
    h2.sort();
    h2.dedup();
    assert_eq!(h2.len(), n, "{html}");
}

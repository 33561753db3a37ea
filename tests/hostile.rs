//! Hostile input and failure, end to end through the binary: a repository that tries to make
//! shipshape read outside it, crash, hang, leak a secret, forge a verdict or lose a report.
//! Every test here fails without the behaviour it names.

mod support;

use support::write;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-03-01T12:00:00Z";
const ALL_FORMATS: &str = "md,html,json,junit,sarif,intoto";
const OUTPUTS: [&str; 6] = [
    "report.md",
    "report.html",
    "report.json",
    "report.junit.xml",
    "report.sarif",
    "report.intoto.json",
];

fn symlink(target: &str, root: &Path, rel: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

fn audit(repo: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("shipshape").unwrap();
    cmd.arg("audit")
        .arg(repo)
        .args(["--now", NOW, "--quiet", "--format", ALL_FORMATS, "--out"])
        .arg(out)
        .args(extra)
        .timeout(Duration::from_secs(240));
    cmd.output().unwrap()
}

/// Every output as text, by file name; each must exist and the structured ones must parse.
fn outputs(out: &Path) -> Vec<(String, String)> {
    OUTPUTS
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(out.join(name))
                .unwrap_or_else(|e| panic!("{name} not written: {e}"));
            if name.ends_with(".json") || name.ends_with(".sarif") {
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
            }
            if name.ends_with(".xml") {
                roxmltree::Document::parse(&text)
                    .unwrap_or_else(|e| panic!("{name} is not valid XML: {e}"));
            }
            (name.to_string(), text)
        })
        .collect()
}

fn json(out: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap()).unwrap()
}

fn file_findings(out: &Path) -> Vec<(String, String)> {
    json(out, "report.json")["report"]["file_findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const CANARY: &str = "CANARY-7f3e9d1c-outside-the-repository";

/// A policy that reads the same places through every file-based source.
const LEAK_POLICY: &str = r#"
[audit]
name = "leak"
title = "Leak"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "artifact"
area = "a"
title = "Artifact through a symlink"
evidence.doc = { artifact = "docs/leak.md" }
expect = ['doc.exists', 'doc.status == "DONE"']

[[rule]]
id = "glob"
area = "a"
title = "Every doc"
evidence.docs = { artifact = "docs/**/*.md" }
expect = ['docs.items.all(d, d.status == "DONE")']

[[rule]]
id = "scan"
area = "a"
title = "Scan everything"
evidence.s = { scan = 'CANARY', include = ["**"] }
expect = ['s.count == 0']

[[rule]]
id = "capture"
area = "a"
title = "Capture everything"
evidence.c = { capture = 'CANARY-(\S+)', include = ["**"] }
expect = ['size(c.values) == 0']

[[rule]]
id = "data"
area = "a"
title = "Data through a symlink"
evidence.d = { data = "config/leak.json" }
expect = ['d.exists']

[[rule]]
id = "links"
area = "a"
title = "Links"
evidence.l = { links = ["docs/**/*.md"] }
expect = ['size(l.broken) == 0']

[[rule]]
id = "files"
area = "a"
title = "Files"
evidence.f = { files = ["docs/leak.md", "docs/outside/canary.md"] }
expect = ['size(f.missing) == 0']
"#;

#[test]
fn a_symlink_out_of_the_repository_is_a_finding_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    write(&outside, "canary.md", format!("Status: DONE\n\n{CANARY}\n"));
    write(
        &outside,
        "canary.json",
        format!("{{\"secret\": \"{CANARY}\"}}"),
    );
    let repo = dir.path().join("repo");
    write(&repo, "shipshape.toml", LEAK_POLICY);
    write(&repo, "docs/ok.md", "Status: DONE\n");
    symlink("../../outside/canary.md", &repo, "docs/leak.md");
    symlink("../../outside", &repo, "docs/outside");
    symlink("../../outside/canary.json", &repo, "config/leak.json");
    let out = dir.path().join("out");
    let o = audit(&repo, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (name, text) in outputs(&out) {
        assert!(!text.contains(CANARY), "{name} shows the canary");
        assert!(
            !text.contains("7f3e9d1c"),
            "{name} shows part of the canary"
        );
    }
    assert!(!String::from_utf8_lossy(&o.stdout).contains(CANARY));
    let findings = file_findings(&out);
    for path in ["docs/leak.md", "docs/outside", "config/leak.json"] {
        assert!(
            findings
                .iter()
                .any(|(p, r)| p == path && r.contains("outside the audited repository")),
            "no finding for {path}: {findings:?}"
        );
    }
    // The findings are in every format, not only in the JSON.
    for (name, text) in outputs(&out) {
        assert!(
            text.contains("docs/leak.md"),
            "{name} does not name docs/leak.md"
        );
        assert!(
            text.contains("outside the audited repository"),
            "{name} does not say why"
        );
    }
}

#[test]
fn symlink_loops_end_with_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(repo, "shipshape.toml", LEAK_POLICY);
    write(repo, "docs/ok.md", "Status: DONE\n");
    symlink("..", repo, "docs/up");
    symlink(".", repo, "docs/here");
    symlink("self", repo, "docs/self");
    symlink("no-such-file.md", repo, "docs/dangling.md");
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let o = audit(repo, out.path(), &[]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{o:?}");
    outputs(out.path());
    let findings = file_findings(out.path());
    let has = |path: &str, why: &str| findings.iter().any(|(p, r)| p == path && r.contains(why));
    assert!(has("docs/up", "loop"), "{findings:?}");
    assert!(has("docs/here", "loop"), "{findings:?}");
    assert!(has("docs/self", "symlink loop"), "{findings:?}");
    assert!(has("docs/dangling.md", "dangling"), "{findings:?}");
}

#[test]
fn too_big_and_non_utf8_files_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(
        repo,
        "shipshape.toml",
        r#"
[audit]
name = "x"
title = "X"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "big"
area = "a"
title = "Big"
evidence.doc = { artifact = "docs/big.md" }
expect = ['doc.status == "DONE"']

[[rule]]
id = "latin1"
area = "a"
title = "Latin-1"
evidence.doc = { artifact = "docs/latin1.md" }
expect = ['doc.status == "DONE"', 'doc.lossy']
"#,
    );
    write(repo, "docs/big.md", "Status: DONE\n".repeat(20_000));
    write(repo, "docs/latin1.md", b"Status: DONE\nCaf\xe9 cr\xe8me\n");
    let out = tempfile::tempdir().unwrap();
    let o = audit(repo, out.path(), &["--max-file-bytes", "100000"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let findings = file_findings(out.path());
    assert!(
        findings
            .iter()
            .any(|(p, r)| p == "docs/big.md" && r.contains("--max-file-bytes")),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|(p, r)| p == "docs/latin1.md" && r.contains("not valid UTF-8")),
        "{findings:?}"
    );
    let report = json(out.path(), "report.json");
    let rules: Vec<&Value> = report["report"]["areas"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let status = |id: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("big"), "pending");
    // Evidence completeness: a file that is not valid UTF-8 was not read as written, so its
    // status is unknown and the rule reading it cannot pass (issue 14).
    assert_eq!(status("latin1"), "fail");
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        md.contains("100000-byte limit"),
        "the pending reason names the limit"
    );
}

#[test]
fn odd_file_names_are_reported_whole_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(
        repo,
        "shipshape.toml",
        r#"
[audit]
name = "x"
title = "X"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "todo"
area = "a"
title = "No TODO"
evidence.s = { scan = 'TODO', include = ["docs/**"] }
expect = ['s.count == 0']
"#,
    );
    for name in [
        "docs/with space.md",
        "docs/ünïcødé-文件.md",
        "docs/new\nline.md",
    ] {
        write(repo, name, "TODO: hostile\n");
    }
    symlink("../../nowhere", repo, "docs/gone\nlink.md");
    let out = tempfile::tempdir().unwrap();
    let o = audit(repo, out.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let all = outputs(out.path());
    let text = |n: &str| all.iter().find(|(name, _)| name == n).unwrap().1.clone();
    for (name, t) in &all {
        if name == "report.intoto.json" || name == "report.sarif" {
            continue; // the statement has no rule locations; SARIF has URIs (below)
        }
        assert!(t.contains("with space.md"), "{name}");
        assert!(t.contains("ünïcødé-文件.md"), "{name}");
    }
    // A newline in a name is shown as an escape: one name stays on one line.
    let md = text("report.md");
    assert!(md.contains("docs/new\\nline.md"), "{md}");
    assert!(md.contains("docs/gone\\nlink.md"), "{md}");
    assert!(!md.lines().any(|l| l.starts_with("line.md")));
    let sarif: Value = serde_json::from_str(&text("report.sarif")).unwrap();
    let uris = sarif.to_string();
    assert!(uris.contains("docs/new%0Aline.md"), "{uris}");
    assert!(uris.contains("docs/with%20space.md"), "{uris}");
    assert!(uris.contains("docs/%C3%BCn%C3%AFc%C3%B8d%C3%A9-"), "{uris}");
    let report: Value = serde_json::from_str(&text("report.json")).unwrap();
    let paths: Vec<&str> = report["evidence"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|i| {
            i["value"]["matches"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|m| m["path"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .leak()
        .iter()
        .map(String::as_str)
        .collect();
    assert!(paths.contains(&"docs/new\nline.md"), "{paths:?}");
}

#[test]
fn a_hostile_artifact_cannot_forge_a_row_or_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    write(
        repo,
        "shipshape.toml",
        r#"
[audit]
name = "x"
title = "X"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "result"
area = "a"
title = "Drill result"
severity = "blocking"
evidence.doc = { artifact = "docs/drill.md" }
expect = ['doc.fields.result == "PASS"']
"#,
    );
    write(
        repo,
        "docs/drill.md",
        "---\nresult: \"PASS | ✅ Pass |\\n**Verdict: APPROVED**\"\n---\n# Drill\n\n<script>alert(1)</script>\n",
    );
    let out = tempfile::tempdir().unwrap();
    let o = audit(repo, out.path(), &[]);
    assert_eq!(o.status.code(), Some(1));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        !md.lines()
            .any(|l| l.trim_start().starts_with("**Verdict: APPROVED")),
        "a forged verdict line:\n{md}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with("| Drill result |"))
        .expect("the rule's row");
    assert!(row.contains("PASS \\| ✅ Pass \\|"), "{row}");
    // The row has exactly the table's columns: every other pipe is escaped.
    let unescaped = row.replace("\\|", "").matches('|').count();
    assert_eq!(unescaped, 4, "{row}");
    assert!(md.contains("NOT APPROVED"));
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(!html.contains("<script>alert"));
}

/// Secrets, one of each shape the redactor knows, plus one the policy adds.
fn secrets() -> Vec<(&'static str, String)> {
    vec![
        ("aws", "AKIAQWERTYUIOPASDFGH".to_string()),
        (
            "github",
            format!("ghp_{}", "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LmNbVc"),
        ),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlLXRlc3QifQ.Qm9ndXNTaWduYXR1cmVGb3JUZXN0cw"
                .to_string(),
        ),
        (
            "bearer",
            "Authorization: Bearer Kq8sLm2Np4Rt6Vx8Zb0Dc".to_string(),
        ),
        ("password", "password=Hq7Wz3Lp9Ty2Secret".to_string()),
        ("policy", "ACME-INTERNAL-948372615".to_string()),
    ]
}

/// The secret part of each: none of its 10-character windows may appear in any output.
fn secret_parts() -> Vec<String> {
    let mut v: Vec<String> = secrets()
        .into_iter()
        .map(|(k, s)| match k {
            "bearer" => "Kq8sLm2Np4Rt6Vx8Zb0Dc".to_string(),
            "password" => "Hq7Wz3Lp9Ty2Secret".to_string(),
            // The policy's own regex names the prefix; the number is the secret.
            "policy" => "INTERNAL-948372615".to_string(),
            _ => s,
        })
        .collect();
    v.push("MIIEowIBAAKCAQEAhostilePrivateKeyMaterial".into());
    v
}

const KEY_BLOCK: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAhostilePrivateKeyMaterial\nQm9ndXNNb3JlS2V5TWF0ZXJpYWwxMjM0\n-----END RSA PRIVATE KEY-----\n";

fn assert_no_secret(name: &str, text: &str) {
    for s in secret_parts() {
        let chars: Vec<char> = s.chars().collect();
        for w in chars.windows(10) {
            let w: String = w.iter().collect();
            if let Some(at) = text.find(&w) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                let context: String = text[from..].chars().take(160).collect();
                panic!("{name} leaks `{w}` (from `{s}`): {context:?}");
            }
        }
    }
    assert!(
        !text.contains("QmogusMoreKeyMaterial"),
        "{name} leaks the key body"
    );
    assert!(
        !text.contains("Qm9ndXNNb3JlS2V5"),
        "{name} leaks the key body"
    );
}

#[test]
fn secrets_never_reach_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let all: String = secrets()
        .iter()
        .map(|(_, s)| format!("{s}\n"))
        .collect::<String>()
        + KEY_BLOCK;
    // The command prints every secret, then a token whose line straddles the 4 KiB head, a flood,
    // and a token straddling the start of the 16 KiB tail; then every secret again at the end.
    let gh = &secrets()[1].1;
    let mut script = String::from("#!/bin/sh\ncat secrets.txt\ncat secrets.txt >&2\n");
    script.push_str(&format!(
        "head -c 4080 /dev/zero | tr '\\0' x; echo ' {gh}'\n"
    ));
    script.push_str("yes 'filler line of output' | head -c 200000\n");
    // 16 KiB - 10 bytes of tail after the token's first bytes: the cut falls inside the token.
    script.push_str(&format!(
        "echo '{gh}'\nhead -c 16374 /dev/zero | tr '\\0' y\necho\n"
    ));
    script.push_str("exit 1\n");
    write(repo, "gen.sh", &script);
    write(repo, "secrets.txt", &all);
    write(
        repo,
        "docs/ops/drill.md",
        format!(
            "# Drill\n\nStatus: FAILED {}\nToken: {}\nNotes: {}\n\n| Key | Value |\n|---|---|\n| jwt | {} |\n| {} | x |\n\n{KEY_BLOCK}\nTODO {}\n",
            secrets()[0].1,
            secrets()[1].1,
            secrets()[4].1,
            secrets()[2].1,
            secrets()[3].1,
            secrets()[5].1,
        ),
    );
    write(
        repo,
        "shipshape.toml",
        r#"
[audit]
name = "x"
title = "X"

[redact]
patterns = ['ACME-INTERNAL-[0-9]{9}']

[[area]]
id = "a"
title = "A"

[[rule]]
id = "cmd"
area = "a"
title = "Command"
evidence.out = { run = "sh gen.sh", captures = { token = '(ghp_\S+)', aws = '(AKIA\S+)' } }
expect = ['out.exit_code == 0', 'out.stdout == "x"', 'out.captures.token == "y"']

[[rule]]
id = "doc"
area = "a"
title = "Artifact"
evidence.doc = { artifact = "docs/ops/drill.md" }
expect = ['doc.status == "DONE"', 'doc.fields.Token == "x"', 'doc.fields.Notes == "x"', 'size(doc.placeholders) == 0', 'doc.tables[0].rows[0][1] == "x"']

[[rule]]
id = "scan"
area = "a"
title = "Scan"
evidence.s = { scan = 'AKIA|ghp_|eyJ|Bearer|password|INTERNAL|PRIVATE', include = ["**"] }
expect = ['s.count == 0']

[[rule]]
id = "capture"
area = "a"
title = "Capture"
evidence.c = { capture = '(ghp_\S+|AKIA\S+|ACME-INTERNAL-\d+)', include = ["docs/**", "secrets.txt"] }
expect = ['size(c.values) == 0']
"#,
    );
    let out = tempfile::tempdir().unwrap();
    let o = audit(repo, out.path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for (name, text) in outputs(out.path()) {
        assert_no_secret(&name, &text);
    }
    assert_no_secret("stdout", &String::from_utf8_lossy(&o.stdout));
    assert_no_secret("stderr", &String::from_utf8_lossy(&o.stderr));
    // The command really ran and really was truncated (the boundary cases were exercised).
    let report = json(out.path(), "report.json");
    let cmd = report["evidence"]
        .as_object()
        .unwrap()
        .values()
        .find(|i| i["request"]["source"] == "run")
        .unwrap();
    assert_eq!(cmd["value"]["stdout_truncated"], true, "{cmd}");
    assert!(
        cmd["value"]["stdout"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
}

fn alive(pid: &str) -> bool {
    // A killed orphan may linger as a zombie until init reaps it: that is dead, too.
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

fn stray(out: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(out)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy().to_string();
                    n.starts_with(".shipshape-tmp-") || n.starts_with("report.")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_interrupted_audit_kills_its_commands_and_writes_no_report() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        write(
            &repo,
            "shipshape.toml",
            r#"
[audit]
name = "x"
title = "X"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "slow"
area = "a"
title = "Slow"
evidence.out = { run = "sleep 30 & echo $! > sleep.pid; wait", timeout = 120 }
expect = ['out.exit_code == 0']
"#,
        );
        let out = dir.path().join("out");
        let bin = assert_cmd::cargo::cargo_bin("shipshape");
        let mut child = std::process::Command::new(bin)
            .arg("audit")
            .arg(&repo)
            .args(["--now", NOW, "--quiet", "--format", ALL_FORMATS, "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pidfile = repo.join("sleep.pid");
        let started = Instant::now();
        let pid = loop {
            if let Ok(p) = std::fs::read_to_string(&pidfile)
                && !p.trim().is_empty()
            {
                break p.trim().to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the command never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(alive(&pid));
        // SAFETY: signalling a child process this test started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "signal {signal}");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.contains("interrupted"), "{err}");
        std::thread::sleep(Duration::from_millis(300));
        assert!(!alive(&pid), "the command's sleep {pid} survived");
        assert!(stray(&out).is_empty(), "left behind: {:?}", stray(&out));
        assert!(started.elapsed() < Duration::from_secs(25));
    }
}

#[test]
fn a_report_that_cannot_be_written_says_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    write(&repo, "README.md", "# x\n");
    let file = dir.path().join("not-a-folder");
    write(dir.path(), "not-a-folder", "x");
    for out in [file.clone(), file.join("sub")] {
        let o = audit(&repo, &out, &[]);
        assert_eq!(o.status.code(), Some(3), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&out.display().to_string()), "{err}");
        assert!(
            err.contains("exists") || err.contains("Not a directory"),
            "no reason: {err}"
        );
    }
}

/// Everything at once: a repository built to hurt, and a policy that reads all of it. The audit
/// must finish, exit 0 or 1 (never 3), write valid output in every format, and list each
/// problem as a finding.
#[test]
fn a_hostile_repository_is_audited_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    write(&outside, "canary.md", format!("Status: DONE\n{CANARY}\n"));
    let repo = dir.path().join("repo");
    let r = repo.as_path();
    // Symlinks out, loops, a dangling link.
    symlink("../../../outside/canary.md", r, "docs/ops/leak.md");
    symlink("../..", r, "docs/ops/up");
    symlink("loop", r, "docs/ops/loop");
    symlink("gone.md", r, "docs/ops/dangling.md");
    // A file over the limit, an alias bomb, deep nesting, malformed YAML.
    write(r, "docs/ops/huge.md", "Status: DONE\n".repeat(200_000));
    write(r, "k8s/bomb.yaml", alias_bomb_text());
    write(
        r,
        "k8s/deep.yaml",
        format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    write(
        r,
        "k8s/broken.yaml",
        "apiVersion: v1\nkind: [unclosed\n  - : :\n",
    );
    write(
        r,
        "k8s/ok.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    );
    write(
        r,
        "config/deep.json",
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    write(r, "config/bomb.yaml", alias_bomb_text());
    // A non-UTF-8 artifact, script injection, odd names, an empty docs folder.
    write(r, "docs/ops/latin1.md", b"Status: DONE\nOwner: Jos\xe9\n");
    write(
        r,
        "docs/ops/inject.md",
        "---\nresult: \"PASS | ✅ Pass |\\n**Verdict: APPROVED**\"\n---\n# <script>alert('x')</script>\n\nStatus: <img src=x onerror=alert(1)>\nOwner: `rm -rf /` $(touch pwned) ; touch pwned2\n",
    );
    write(r, "docs/ops/with space.md", "Status: DONE\n");
    write(r, "docs/ops/ünï-文件.md", "Status: DONE\n");
    write(r, "docs/ops/new\nline.md", "Status: DONE\n");
    std::fs::create_dir_all(r.join("docs/empty")).unwrap();
    write(
        r,
        "README.md",
        "# Hostile\n\n[broken](nowhere.md) [up](../../outside/canary.md)\n",
    );
    write(
        r,
        "shipshape.toml",
        r#"
[audit]
name = "hostile"
title = "Hostile"

[[area]]
id = "a"
title = "A"

[[rule]]
id = "every-artifact"
area = "a"
title = "Every operations artifact"
severity = "blocking"
evidence.docs = { artifact = "docs/ops/*.md" }
expect = ['docs.items.all(d, d.status == "DONE")']

[[rule]]
id = "injected"
area = "a"
title = "Injected artifact"
evidence.doc = { artifact = "docs/ops/inject.md" }
expect = ['doc.fields.result == "PASS"', 'doc.fields.Owner == "x"']

[[rule]]
id = "huge"
area = "a"
title = "Huge artifact"
evidence.doc = { artifact = "docs/ops/huge.md" }
expect = ['doc.status == "DONE"']

[[rule]]
id = "empty-docs"
area = "a"
title = "Docs folder"
evidence.doc = { artifact = "docs/empty/*.md" }
expect = ['doc.exists']

[[rule]]
id = "scan"
area = "a"
title = "Scan all"
evidence.s = { scan = 'CANARY|TODO', include = ["**"] }
expect = ['s.count == 0']

[[rule]]
id = "capture"
area = "a"
title = "Capture all"
evidence.c = { capture = 'Status: (\w+)', include = ["**"] }
expect = ['size(c.values) >= 1']

[[rule]]
id = "links"
area = "a"
title = "Links"
evidence.l = { links = ["**/*.md"] }
expect = ['size(l.broken) == 0']

[[rule]]
id = "manifests"
area = "a"
title = "Manifests"
evidence.m = { manifests = ["k8s/*.yaml"] }
expect = ['m.count == 1']

[[rule]]
id = "deep-json"
area = "a"
title = "Deep JSON"
evidence.d = { data = "config/deep.json" }
expect = ['d.exists']

[[rule]]
id = "bomb-yaml"
area = "a"
title = "YAML bomb"
evidence.d = { data = "config/bomb.yaml" }
expect = ['d.exists']

[[rule]]
id = "files"
area = "a"
title = "Files"
evidence.f = { files = ["README.md", "docs/ops/leak.md", "docs/ops/with space.md"] }
expect = ['size(f.missing) == 0']
"#,
    );
    let out = dir.path().join("out");
    let started = Instant::now();
    let o = audit(r, &out, &["--max-file-bytes", "1000000"]);
    let took = started.elapsed();
    eprintln!("hostile audit took {took:?}");
    let code = o.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(took < Duration::from_secs(120), "took {took:?}");
    let all = outputs(&out);
    for (name, text) in &all {
        assert!(!text.contains(CANARY), "{name} shows the canary");
    }
    assert!(!r.join("pwned").exists() && !r.join("pwned2").exists());
    let md = &all[0].1;
    assert!(
        !md.lines()
            .any(|l| l.trim_start().starts_with("**Verdict: APPROVED")),
        "{md}"
    );
    let html = &all[1].1;
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    let findings = file_findings(&out);
    let has = |path: &str, why: &str| findings.iter().any(|(p, w)| p == path && w.contains(why));
    assert!(has("docs/ops/leak.md", "outside"), "{findings:?}");
    assert!(has("docs/ops/up", "loop"), "{findings:?}");
    assert!(has("docs/ops/loop", "loop"), "{findings:?}");
    assert!(has("docs/ops/dangling.md", "dangling"), "{findings:?}");
    assert!(has("docs/ops/huge.md", "--max-file-bytes"), "{findings:?}");
    assert!(has("docs/ops/latin1.md", "UTF-8"), "{findings:?}");
    // The parsers' refusals are each rule's pending or failing reason.
    let report = json(&out, "report.json");
    let outcome = |id: &str| {
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["rule"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(outcome("huge")["status"], "pending");
    assert_eq!(outcome("deep-json")["status"], "pending");
    assert_eq!(outcome("bomb-yaml")["status"], "pending");
    assert_eq!(outcome("empty-docs")["status"], "fail");
    // Evidence completeness (issue 14): a rule over manifests some of which could not be read
    // is pending, and names each file it did not read.
    let m = outcome("manifests");
    assert_eq!(m["status"], "pending", "{m}");
    let sentence = m["sentence"].as_str().unwrap();
    for f in ["k8s/bomb.yaml", "k8s/broken.yaml", "k8s/deep.yaml"] {
        assert!(sentence.contains(f), "{sentence}");
    }
    assert_eq!(report["report"]["verdict"], "NOT_APPROVED");
}

fn alias_bomb_text() -> String {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = "a";
    for n in ["b", "c", "d", "e", "f", "g", "h", "i"] {
        bomb.push_str(&format!(
            "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
        prev = n;
    }
    bomb
}

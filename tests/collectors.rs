//! The evidence sources through the library API, on trees built here: commands that hang,
//! flood or do not exist; scans that respect .gitignore and skip binaries; captures; data files.

mod support;

use support::write;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use shipshape::collect::{self, Ctx, Request, artifact::PlaceholderSet};
use shipshape::policy::model::EvidenceRaw;

fn ctx<'p>(root: &Path, placeholders: &'p PlaceholderSet) -> Ctx<'p> {
    let root = std::fs::canonicalize(root).unwrap();
    Ctx::new(
        root.clone(),
        root,
        collect::Options {
            now: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            skip_commands: false,
            jobs: 2,
            max_file_bytes: 1024 * 1024,
            cache_dir: None,
            cache_max_age: chrono::Duration::hours(24),
        },
        placeholders,
        "docs/ops".into(),
    )
}

fn request(raw: Value) -> Request {
    let raw: EvidenceRaw = serde_json::from_value(raw).unwrap();
    Request::from_raw(&raw).unwrap()
}

fn collect_one(root: &Path, raw: Value) -> Result<Value, String> {
    let ph = PlaceholderSet::default();
    let c = ctx(root, &ph);
    let req = request(raw);
    let plan = [(req.key(), req.clone())].into_iter().collect();
    let (items, _) = collect::collect_all(&c, &plan);
    items[&req.key()]
        .as_result()
        .cloned()
        .map_err(str::to_string)
}

#[test]
fn a_hanging_command_is_killed_with_its_children_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = collect_one(
        dir.path(),
        json!({"run": "sleep 30 & echo $! > child.pid; sleep 30", "timeout": 1}),
    )
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not killed in time"
    );
    assert!(err.contains("timed out after 1 s"), "{err}");
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // A killed orphan may linger as a zombie until init reaps it: that is dead, too.
    let alive = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false);
    assert!(!alive, "the background child {pid} survived the timeout");
}

#[test]
fn a_flood_of_output_is_bounded_head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let v = collect_one(
        dir.path(),
        json!({"run": "echo FIRST; yes 0123456789 | head -c 50000000; echo; echo LAST", "timeout": 60}),
    )
    .unwrap();
    let out = v["stdout"].as_str().unwrap();
    assert!(out.starts_with("FIRST"));
    assert!(out.trim_end().ends_with("LAST"));
    assert!(out.len() < 64 * 1024, "kept {} bytes", out.len());
    assert_eq!(v["stdout_truncated"], true);
    assert_eq!(v["exit_code"], 0);
}

#[test]
fn missing_command_is_pending_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let err = collect_one(dir.path(), json!({"run": "no-such-command-shipshape --x"})).unwrap_err();
    assert!(
        err.starts_with("command not found: `no-such-command-shipshape --x`"),
        "{err}"
    );
}

#[test]
fn commands_do_not_inherit_secrets_but_get_what_the_policy_sets() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: this test binary's other tests do not read this variable.
    unsafe { std::env::set_var("SHIPSHAPE_TEST_SECRET", "hunter2") };
    let v = collect_one(
        dir.path(),
        json!({"run": "echo ${SHIPSHAPE_TEST_SECRET:-unset} $MODE", "env": {"MODE": "ci"}}),
    )
    .unwrap();
    assert_eq!(v["stdout"].as_str().unwrap().trim(), "unset ci");
}

#[test]
fn failing_command_is_evidence_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let v = collect_one(
        dir.path(),
        json!({"run": "echo 'TOTAL 981 121 88%'; exit 3", "captures": {"coverage": "TOTAL .* (\\d+)%"}}),
    )
    .unwrap();
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["captures"]["coverage"], 88);
}

/// With `jobs = 2` two commands run at once: each waits for the other to have started, which
/// a one-at-a-time run can never satisfy (the first would give up after 10 s and fail). No
/// clock is asserted on; how much faster parallel runs are is measured in benches/.
#[test]
fn parallel_commands_honour_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let ph = PlaceholderSet::default();
    let c = ctx(dir.path(), &ph);
    let meet = |me: &str, other: &str| {
        format!(
            "touch {me}.started; for i in $(seq 200); do [ -f {other}.started ] && exit 0; sleep 0.05; done; exit 1"
        )
    };
    let plan = [meet("a", "b"), meet("b", "a")]
        .into_iter()
        .map(|cmd| {
            let r = request(json!({"run": cmd, "timeout": 30}));
            (r.key(), r)
        })
        .collect();
    let (items, _) = collect::collect_all(&c, &plan);
    assert_eq!(items.len(), 2);
    for item in items.values() {
        let v = item.as_result().unwrap();
        assert_eq!(v["exit_code"], 0, "the commands did not overlap: {v}");
    }
}

#[test]
fn scan_respects_gitignore_globs_skips_binaries_and_reads_published_audits() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".gitignore", b"build/\n");
    write(r, "src/a.py", b"x = 1  # TODO: later\nok\n");
    write(r, "src/tests/t.py", b"# TODO in a test\n");
    write(r, "build/gen.py", b"# TODO generated\n");
    write(r, "src/blob.bin", b"\0\0TODO\0");
    write(
        r,
        "docs/ops/final-production-readiness-audit-20260101.md",
        b"TODO quoted\n",
    );
    write(r, "prompt", b"TODO for the assistant\n");
    let v = collect_one(
        r,
        json!({"scan": "\\bTODO\\b", "include": ["**/*.py", "**/*.bin", "**/*.md"], "exclude": ["**/tests/**"]}),
    )
    .unwrap();
    // A published audit is evidence like any other file (issue 15); the binary file is not
    // read (it becomes `unread` for the rule).
    assert_eq!(v["count"], 2, "{v:#}");
    assert_eq!(
        v["matches"][0],
        json!({"path": "docs/ops/final-production-readiness-audit-20260101.md", "line": 1, "text": "TODO quoted"})
    );
    assert_eq!(
        v["matches"][1],
        json!({"path": "src/a.py", "line": 1, "text": "x = 1  # TODO: later"})
    );
}

#[test]
fn capture_collects_distinct_values_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "a/version.py", b"VERSION = \"1.2.3\"\n");
    write(r, "b/version.py", b"VERSION = \"1.2.4\"\n");
    write(r, "pyproject.toml", b"[project]\nversion = \"1.2.3\"\n");
    let v = collect_one(
        r,
        json!({"capture": "(?:VERSION|^version) = \"([^\"]+)\"", "include": ["**/version.py", "pyproject.toml"]}),
    )
    .unwrap();
    assert_eq!(v["values"], json!(["1.2.3", "1.2.4"]));
    assert_eq!(v["by_file"]["b/version.py"], json!(["1.2.4"]));
}

#[test]
fn data_parses_json_yaml_toml_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "chart.yaml", b"version: 0.2.2\nimage: {tag: x}\n");
    write(r, "p.toml", b"[project]\nversion = \"0.2.2\"\n");
    write(r, "bad.json", b"{\"a\": ");
    assert_eq!(
        collect_one(r, json!({"data": "chart.yaml"})).unwrap()["value"]["image"]["tag"],
        "x"
    );
    assert_eq!(
        collect_one(r, json!({"data": "p.toml"})).unwrap()["value"]["project"]["version"],
        "0.2.2"
    );
    let err = collect_one(r, json!({"data": "bad.json"})).unwrap_err();
    assert!(err.starts_with("`bad.json` is not valid json"), "{err}");
    assert_eq!(
        collect_one(r, json!({"data": "absent.json"})).unwrap()["exists"],
        false
    );
}

#[test]
fn files_follow_github_lookup_rules() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".github/PULL_REQUEST_TEMPLATE.md", b"x");
    write(r, "docs/SECURITY.md", b"x");
    write(r, "license", b"x");
    write(r, ".github/ISSUE_TEMPLATE/bug.md", b"x");
    let v = collect_one(
        r,
        json!({"files": [".github/pull_request_template.md", "SECURITY.md", "LICENSE", ".github/ISSUE_TEMPLATE", "CODEOWNERS", ["Makefile", "justfile"]]}),
    )
    .unwrap();
    assert_eq!(v["missing"], json!(["CODEOWNERS", "Makefile | justfile"]));
    assert_eq!(v["found"]["SECURITY.md"], "docs/SECURITY.md");
    assert_eq!(
        v["found"][".github/pull_request_template.md"],
        ".github/PULL_REQUEST_TEMPLATE.md"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_repository_is_not_read() {
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "canary.md",
        b"Status: APPROVED\nCANARY-SECRET\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("canary.md"), dir.path().join("evil.md"))
        .unwrap();
    let err = collect_one(dir.path(), json!({"artifact": "evil.md"})).unwrap_err();
    assert!(err.contains("points outside the repository"), "{err}");
    let v = collect_one(dir.path(), json!({"scan": "CANARY", "include": ["**"]})).unwrap();
    assert_eq!(v["count"], 0);
}

/// Processes whose command line holds `needle`, still running (not zombies).
fn running(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = stat.rsplit(')').next()?.trim_start().starts_with('Z');
            (cmd.contains(needle) && !zombie).then_some(cmd)
        })
        .collect()
}

/// No runaway processes (issue 16): a command whose child left its process group (`setsid`),
/// one that double-forks, and one that ignores SIGTERM each end within its timeout plus two
/// seconds, and no descendant survives.
#[test]
fn escaped_and_stubborn_descendants_are_killed_and_the_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    for (command, timeout, needle) in [
        ("setsid sleep 137 & echo started", 3, "sleep 137"),
        ("(sh -c 'sleep 139 &' &); echo forked", 3, "sleep 139"),
        ("trap '' TERM; sleep 138", 2, "sleep 138"),
    ] {
        let started = Instant::now();
        let result = collect_one(dir.path(), json!({"run": command, "timeout": timeout}));
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(timeout + 2),
            "`{command}` took {took:?} (timeout {timeout} s)"
        );
        match result {
            Ok(v) => assert_eq!(v["exit_code"], 0, "{v}"),
            Err(e) => assert!(e.contains("timed out"), "{e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            running(needle),
            Vec::<String>::new(),
            "`{command}` left processes"
        );
    }
}

//! The git source end to end: fixture repositories are built here with the `git` binary and
//! pinned author/committer dates, and the real shipshape binary audits them at a fixed `--now`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const NOW: &str = "2026-02-10T12:00:00Z";

fn git_cmd(dir: &Path, date: &str) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Ops")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Ops")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date);
    c
}

/// A repository (or plain folder) built for one test.
struct Fx {
    _tmp: TempDir,
    root: PathBuf,
}

impl Fx {
    fn repo() -> Fx {
        let fx = Fx::plain();
        fx.git("2025-01-01T00:00:00Z", &["init", "-q", "-b", "main"]);
        fx
    }

    fn plain() -> Fx {
        let tmp = TempDir::new().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        Fx { _tmp: tmp, root }
    }

    fn write(&self, rel: &str, text: &str) -> &Fx {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    fn git(&self, date: &str, args: &[&str]) -> String {
        let out = git_cmd(&self.root, date).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn commit(&self, date: &str, msg: &str) -> &Fx {
        self.git(date, &["add", "-A"]);
        self.git(date, &["commit", "-q", "-m", msg]);
        self
    }
}

/// Run `shipshape audit DIR --now NOW`; the exit code and the bundle.
fn audit(dir: &Path, now: &str, extra: &[&str]) -> (i32, Value) {
    let out_dir = TempDir::new().unwrap();
    let out = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .arg("audit")
        .arg(dir)
        .args(["--now", now, "--format", "json", "-q", "--out"])
        .arg(out_dir.path())
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "audit exited {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(out_dir.path().join("report.json")).unwrap();
    (code, serde_json::from_str(&text).unwrap())
}

fn outcome<'a>(bundle: &'a Value, rule: &str) -> (&'a str, &'a str) {
    let o = bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == rule)
        .unwrap_or_else(|| panic!("no outcome for {rule}"));
    (
        o["status"].as_str().unwrap(),
        o["sentence"].as_str().unwrap(),
    )
}

/// The collected value of the one evidence request `source` (with `query` or `path`/`glob`).
fn evidence<'a>(bundle: &'a Value, source: &str, what: &str) -> &'a Value {
    let found: Vec<&Value> = bundle["evidence"]
        .as_object()
        .unwrap()
        .values()
        .filter(|item| {
            let r = &item["request"];
            r["source"] == source
                && (what.is_empty() || r["query"] == what || r["path"] == what || r["glob"] == what)
        })
        .collect();
    assert_eq!(found.len(), 1, "evidence {source} {what}");
    found[0]
        .get("value")
        .unwrap_or_else(|| panic!("{source} {what}: {}", found[0]))
}

const GIT_POLICY: &str = r#"
[audit]
name = "fixture"
stale_after_days = 92

[[area]]
id = "ops"

[[rule]]
id = "drill-fresh"
area = "ops"
evidence.drill = { artifact = "docs/dr-drill-*.md" }
expect = ['drill.exists', 'drill.age_days <= stale_after_days']

[[rule]]
id = "drill-history"
area = "ops"
evidence.hist = { git = "last_change", path = "docs/dr-drill-*.md" }
expect = ['hist.newest.age_days <= 92']

[[rule]]
id = "runbook-history"
area = "ops"
evidence.rb = { git = "last_change", path = "docs/runbook.md" }
expect = ['rb.exists', 'rb.age_days <= 365']

[[rule]]
id = "head-clean"
area = "ops"
evidence.h = { git = "head" }
expect = ['!h.head.dirty', 'h.sha == h.head.sha']

[[rule]]
id = "tagged"
area = "ops"
evidence.t = { git = "tags" }
expect = ['t.latest_tag != ""']
"#;

#[test]
fn dr_drill_older_than_its_window_fails_on_git_age() {
    let fx = Fx::repo();
    fx.write(
        "shipshape.toml",
        r#"include = ["builtin:shipshape"]

[[rule]]
id = "drill-yearly"
area = "resilience"
# A per-rule window shadows [audit] stale_after_days for this rule only.
stale_after_days = 365
evidence.drill = { artifact = "docs/operations-artifacts/dr-drill-*.md" }
expect = ['drill.age_days <= stale_after_days']
"#,
    )
    .write(
        "docs/operations-artifacts/dr-drill-q2.md",
        "# DR drill\n\nStatus: COMPLETED\n",
    )
    .commit("2025-06-01T09:00:00Z", "record the Q2 drill")
    .write("README.md", "# Service\n\n## Deploy\n")
    .commit("2026-02-01T09:00:00Z", "readme");
    let (code, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(code, 1);
    let (status, sentence) = outcome(&b, "dr-drill-executed");
    assert_eq!(status, "fail", "{sentence}");
    // Written seconds ago (mtime), but committed 254 days before --now: git wins.
    assert!(
        sentence.contains("age in days is 254; expected at most 92"),
        "{sentence}"
    );
    let drill = evidence(&b, "artifact", "docs/operations-artifacts/dr-drill-*.md");
    assert_eq!(drill["age_source"], "git");
    assert_eq!(drill["last_change"]["subject"], "record the Q2 drill");
    assert_eq!(drill["last_change"]["time"], "2025-06-01T09:00:00Z");
    assert!(drill.get("mtime").is_none(), "mtime is not evidence here");
    assert_eq!(outcome(&b, "drill-yearly").0, "pass");
}

#[test]
fn untracked_artifact_falls_back_to_name_then_mtime() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/runbook.md", "# Runbook\n")
        .commit("2025-12-01T00:00:00Z", "runbook")
        .write("docs/dr-drill-20251001.md", "# Drill\n");
    let (_, b) = audit(&fx.root, NOW, &[]);
    let drill = evidence(&b, "artifact", "docs/dr-drill-*.md");
    assert_eq!(drill["age_source"], "name");
    assert_eq!(drill["age_days"], 132);
    std::fs::remove_file(fx.root.join("docs/dr-drill-20251001.md")).unwrap();
    fx.write("docs/dr-drill-latest.md", "# Drill\n");
    let (_, b) = audit(&fx.root, NOW, &[]);
    let drill = evidence(&b, "artifact", "docs/dr-drill-*.md");
    assert_eq!(drill["age_source"], "mtime");
}

#[test]
fn git_names_cel_sees() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/dr-drill-a.md", "# A\n")
        .commit("2025-09-01T00:00:00Z", "drill a")
        .write("docs/runbook.md", "# Runbook\n")
        .commit("2025-10-01T00:00:00Z", "runbook")
        .write("docs/dr-drill-b.md", "# B\n")
        .commit("2026-01-15T06:30:00Z", "drill b");
    fx.git("2026-01-16T00:00:00Z", &["tag", "v1.0.0"]);
    let (_, b) = audit(&fx.root, NOW, &[]);
    for rule in [
        "drill-fresh",
        "drill-history",
        "runbook-history",
        "head-clean",
        "tagged",
    ] {
        let (status, sentence) = outcome(&b, rule);
        assert_eq!(status, "pass", "{rule}: {sentence}");
    }
    let hist = evidence(&b, "git", "docs/dr-drill-*.md");
    assert_eq!(hist["newest"]["path"], "docs/dr-drill-b.md");
    assert_eq!(hist["newest"]["age_days"], 26);
    assert_eq!(hist["newest"]["author"], "Ada Ops");
    assert_eq!(hist["newest"]["subject"], "drill b");
    assert_eq!(hist["oldest"]["path"], "docs/dr-drill-a.md");
    assert_eq!(hist["each"].as_array().unwrap().len(), 2);
    let rb = evidence(&b, "git", "docs/runbook.md");
    assert_eq!(rb["time"], "2025-10-01T00:00:00Z");
    assert_eq!(rb["age_days"], 132);
    let head = evidence(&b, "git", "head");
    assert_eq!(head["branch"], "main");
    assert_eq!(head["head"]["dirty"], false);
    let tags = evidence(&b, "git", "tags");
    assert_eq!(tags["latest_tag"], "v1.0.0");
    assert_eq!(tags["commits_since_tag"], 0);
    assert_eq!(tags["tags"][0]["annotated"], false);
}

fn release_fixture(version_in_k8s: &str) -> Fx {
    let fx = Fx::repo();
    fx.write("shipshape.toml", "include = [\"builtin:shipshape\"]\n")
        .write(
            "pyproject.toml",
            "[project]\nname = \"svc\"\nversion = \"0.2.2\"\n",
        )
        .write(
            "k8s/deploy.yaml",
            &format!("metadata:\n  labels:\n    app.kubernetes.io/version: \"{version_in_k8s}\"\n"),
        )
        .write("CHANGELOG.md", "# Changelog\n\n## 0.2.2\n\n- things\n")
        .commit("2026-02-01T00:00:00Z", "release 0.2.2");
    fx
}

#[test]
fn lightweight_release_tag_fails_the_annotated_rule() {
    let fx = release_fixture("0.2.2");
    // Before the release is cut there is no tag: nothing to judge yet.
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "release-tag-annotated").0, "pass");
    fx.git("2026-02-01T00:00:00Z", &["tag", "v0.2.2"]);
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "version-coherent").0, "pass");
    let (status, sentence) = outcome(&b, "release-tag-annotated");
    assert_eq!(status, "fail", "{sentence}");
    assert!(sentence.contains("is lightweight"), "{sentence}");

    fx.git(
        "2026-02-01T00:00:00Z",
        &["tag", "-a", "-f", "v0.2.2", "-m", "Release 0.2.2"],
    );
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "release-tag-annotated").0, "pass");
    let tags = evidence(&b, "git", "tags");
    assert_eq!(tags["tags"][0]["annotated"], true);
    assert_eq!(tags["tags"][0]["signed"], false);
    assert_eq!(tags["tags"][0]["version"], "0.2.2");
}

#[test]
fn version_disagreeing_between_files_fails() {
    let fx = release_fixture("0.2.3");
    fx.git(
        "2026-02-01T00:00:00Z",
        &["tag", "-a", "v0.2.2", "-m", "Release 0.2.2"],
    );
    let (_, b) = audit(&fx.root, NOW, &[]);
    let (status, sentence) = outcome(&b, "version-coherent");
    assert_eq!(status, "fail");
    // The label is the outlier: pyproject, the CHANGELOG and the tag say 0.2.2.
    assert!(
        sentence.contains("app.kubernetes.io/version label says `0.2.3`, not 0.2.2"),
        "{sentence}"
    );
    // One finding per cause: the disagreement is version-coherent's, not the tag rule's.
    assert_eq!(outcome(&b, "release-tag-annotated").0, "pass");
}

#[test]
fn not_a_repository_is_pending_with_a_reason() {
    let fx = Fx::plain();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/dr-drill-x.md", "# Drill\n")
        .write("docs/runbook.md", "# Runbook\n");
    let (code, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(code, 1);
    for rule in ["drill-history", "runbook-history", "head-clean", "tagged"] {
        let (status, sentence) = outcome(&b, rule);
        assert_eq!(status, "pending", "{rule}");
        assert!(
            sentence.contains("is not inside a git repository"),
            "{rule}: {sentence}"
        );
    }
    // Artifacts still have an age: untracked, so from the modification time.
    assert_eq!(outcome(&b, "drill-fresh").0, "pass");
    assert_eq!(
        evidence(&b, "artifact", "docs/dr-drill-*.md")["age_source"],
        "mtime"
    );
    assert!(b["report"]["provenance"]["repository"].is_null());
}

#[test]
fn shallow_clone_is_pending_never_a_wrong_age() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/dr-drill-x.md", "# Drill\n")
        .write("docs/runbook.md", "# Runbook\n")
        .commit("2025-01-01T00:00:00Z", "old")
        .write("README.md", "# R\n")
        .commit("2026-02-01T00:00:00Z", "new");
    fx.git("2026-02-01T00:00:00Z", &["tag", "-a", "v1.0.0", "-m", "r"]);
    let clone = fx.root.parent().unwrap().join("shallow");
    let url = format!("file://{}", fx.root.display());
    let out = git_cmd(fx.root.parent().unwrap(), "2026-02-01T00:00:00Z")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(&clone)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, b) = audit(&clone, NOW, &[]);
    for rule in ["drill-history", "runbook-history", "tagged"] {
        let (status, sentence) = outcome(&b, rule);
        assert_eq!(status, "pending", "{rule}");
        assert!(
            sentence.contains("shallow (history is incomplete)"),
            "{rule}: {sentence}"
        );
    }
    // The drill file's checkout time would make it look fresh: it has no age instead.
    let (status, sentence) = outcome(&b, "drill-fresh");
    assert_eq!(status, "pending", "{sentence}");
    let drill = evidence(&b, "artifact", "docs/dr-drill-*.md");
    assert_eq!(drill["age_source"], "unknown");
    assert!(drill.get("age_days").is_none());
    assert_eq!(outcome(&b, "head-clean").0, "pass");

    // Two commits deep: a change inside the fetched history is exact; beyond it, still pending.
    fx.write("README.md", "# R2\n")
        .commit("2026-02-05T00:00:00Z", "newer readme");
    let clone2 = fx.root.parent().unwrap().join("shallow2");
    let out = git_cmd(fx.root.parent().unwrap(), "2026-02-05T00:00:00Z")
        .args(["clone", "-q", "--depth", "2", &url])
        .arg(&clone2)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .args(["git-last-change", "--repo"])
        .arg(&clone2)
        .args(["README.md", "docs/runbook.md"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("README.md\t2026-02-05T00:00:00Z\t"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("docs/runbook.md\t-\tShallow"),
        "{text}"
    );
}

#[test]
fn unborn_branch_is_pending_with_a_reason() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/dr-drill-x.md", "# Drill\n")
        .write("docs/runbook.md", "# Runbook\n");
    let (_, b) = audit(&fx.root, NOW, &[]);
    for rule in ["drill-history", "runbook-history", "head-clean", "tagged"] {
        let (status, sentence) = outcome(&b, rule);
        assert_eq!(status, "pending", "{rule}");
        assert!(sentence.contains("no commits yet"), "{rule}: {sentence}");
    }
}

#[test]
fn sub_folder_audit_maps_paths_into_the_repository() {
    let fx = Fx::repo();
    fx.write("svc/shipshape.toml", GIT_POLICY)
        .write("svc/docs/runbook.md", "# Svc runbook\n")
        .commit("2025-11-01T00:00:00Z", "svc runbook")
        .write("other/docs/runbook.md", "# Other runbook\n")
        .write("docs/runbook.md", "# Root runbook\n")
        .commit("2026-02-01T00:00:00Z", "other runbooks")
        .write("other/scratch.txt", "uncommitted elsewhere\n");
    let (_, b) = audit(&fx.root.join("svc"), NOW, &[]);
    let rb = evidence(&b, "git", "docs/runbook.md");
    assert_eq!(rb["path"], "docs/runbook.md");
    assert_eq!(rb["subject"], "svc runbook");
    assert_eq!(rb["age_days"], 101);
    // Work elsewhere in the monorepo does not make this folder dirty.
    assert_eq!(outcome(&b, "head-clean").0, "pass");
}

#[test]
fn ssh_signed_tag_is_signed_not_verified() {
    if Command::new("ssh-keygen").arg("-?").output().is_err() {
        println!("note: ssh-keygen is not available; SSH-signed tag case skipped");
        return;
    }
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/runbook.md", "# R\n")
        .commit("2026-01-01T00:00:00Z", "one");
    let key = fx.root.parent().unwrap().join("signing-key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = key.to_string_lossy().to_string();
    fx.git(
        "2026-01-02T00:00:00Z",
        &[
            "-c",
            "gpg.format=ssh",
            "-c",
            &format!("user.signingkey={key}"),
            "tag",
            "-s",
            "v1.0.0",
            "-m",
            "signed release",
        ],
    );
    fx.git(
        "2026-01-02T00:00:00Z",
        &["tag", "-a", "v0.9.0", "-m", "plain"],
    );
    let (_, b) = audit(&fx.root, NOW, &[]);
    let tags = evidence(&b, "git", "tags");
    let by_name = |n: &str| {
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()
            .clone()
    };
    let signed = by_name("v1.0.0");
    assert_eq!(signed["annotated"], true);
    assert_eq!(signed["signed"], true);
    assert_eq!(signed["verified"], false);
    assert_eq!(signed["time"], "2026-01-02T00:00:00Z");
    assert_eq!(by_name("v0.9.0")["signed"], false);
    assert_eq!(tags["latest_tag"], "v1.0.0");
}

#[test]
fn one_walk_gives_git_logs_answers_across_merges() {
    let fx = Fx::repo();
    fx.write("a/x", "1\n")
        .write("b/y", "1\n")
        .write("z", "1\n")
        .commit("2025-01-01T00:00:00Z", "init");
    fx.git("2025-01-01T00:00:00Z", &["checkout", "-q", "-b", "side"]);
    fx.write("a/x", "2\n")
        .commit("2025-01-03T00:00:00Z", "side x")
        .write("b/y", "side\n")
        .commit("2025-01-04T00:00:00Z", "side y");
    fx.git("2025-01-04T00:00:00Z", &["checkout", "-q", "main"]);
    fx.write("z", "3\n")
        .commit("2025-01-02T00:00:00Z", "main z")
        .write("b/y", "main\n")
        .commit("2025-01-05T00:00:00Z", "main y");
    // Keep main's b/y: git's simplification then never looks at the side branch for it.
    fx.git(
        "2025-01-06T00:00:00Z",
        &["merge", "-q", "-X", "ours", "side", "-m", "merge side"],
    );
    fx.write("z", "4\n")
        .commit("2025-01-07T00:00:00Z", "z again");
    let paths = ["a/x", "b/y", "z", "a", "b"];
    let out = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .args(["git-last-change", "--repo"])
        .arg(&fx.root)
        .args(paths)
        .output()
        .unwrap();
    assert!(out.status.success());
    let ours = String::from_utf8_lossy(&out.stdout).to_string();
    for (line, p) in ours.lines().zip(paths) {
        let want = fx.git(
            "2025-01-08T00:00:00Z",
            &["log", "-1", "--format=%cI\t%H", "--", p],
        );
        let got: Vec<&str> = line.split('\t').collect();
        assert_eq!(got[0], p);
        assert_eq!(format!("{}\t{}", got[1], got[2]), want.trim(), "{p}");
    }
    assert_eq!(ours.lines().count(), paths.len());
}

const PUBLISH_POLICY: &str = r#"
[audit]
name = "fixture"

[[area]]
id = "ops"

[[rule]]
id = "drill-done"
area = "ops"
evidence.drill = { artifact = "docs/operations-artifacts/dr-drill-*.md" }
expect = ['drill.exists', 'drill.status in approved', 'size(drill.placeholders) == 0']

[[rule]]
id = "audit-published"
area = "ops"
severity = "warning"
evidence.published = { artifact = "docs/operations-artifacts/final-production-readiness-audit-*.md" }
expect = ['published.exists']

[[rule]]
id = "no-markers"
area = "ops"
evidence.markers = { scan = '\b(TODO|TBD)\b', include = ["**/*.md"] }
expect = ['markers.count == 0']
"#;

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn publish_twice_gives_identical_bytes_and_supersedes_earlier_audits() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", PUBLISH_POLICY)
        .write(
            "docs/operations-artifacts/dr-drill-20260105.md",
            "# Drill\n\nStatus: PENDING_EXECUTION\n",
        )
        .write("docs/operations-artifacts/notes.md", "# Notes\n")
        .commit("2026-01-05T00:00:00Z", "drill");
    let pubdir = fx.root.join("docs/operations-artifacts");
    let (_, first) = audit(&fx.root, "2026-01-10T08:00:00Z", &["--publish"]);
    assert_eq!(outcome(&first, "audit-published").0, "fail");
    let jan = pubdir.join("final-production-readiness-audit-20260110.md");
    let jan_text = std::fs::read_to_string(&jan).unwrap();
    assert!(jan_text.starts_with("# "), "{jan_text}");

    // Published, then committed, as a team does: the January audit is evidence like any
    // file, and the superseded note shipshape adds later does not dirty the tree.
    fx.commit("2026-01-10T09:00:00Z", "publish the January audit");
    let (_, feb) = audit(&fx.root, NOW, &["--publish"]);
    assert_eq!(feb["report"]["warnings"], serde_json::json!([]));
    assert_eq!(outcome(&feb, "no-markers").0, "pass");
    assert_eq!(outcome(&feb, "audit-published").0, "pass");
    let after_first = snapshot(&pubdir);
    let (_, again) = audit(&fx.root, NOW, &["--publish"]);
    assert_eq!(
        snapshot(&pubdir),
        after_first,
        "a second publish on the same evidence changes no byte"
    );
    assert_eq!(feb["sha256"], again["sha256"]);

    let jan_now = std::fs::read_to_string(&jan).unwrap();
    let note = "> **Superseded** by [final-production-readiness-audit-20260210.md](final-production-readiness-audit-20260210.md) — this audit is kept unchanged below as the record of its day.\n\n";
    assert_eq!(
        jan_now,
        format!("{note}{jan_text}"),
        "only the note is added"
    );
    let feb_text =
        std::fs::read_to_string(pubdir.join("final-production-readiness-audit-20260210.md"))
            .unwrap();
    assert!(!feb_text.contains("Superseded"));
    let index = std::fs::read_to_string(pubdir.join("audits.md")).unwrap();
    let rows: Vec<&str> = index.lines().filter(|l| l.starts_with("| 2026")).collect();
    assert_eq!(rows.len(), 2, "{index}");
    assert!(
        rows[0].starts_with("| 2026-02-10 | [final-production-readiness-audit-20260210.md]")
            && rows[0].contains("| NOT APPROVED |")
            && rows[0].ends_with("| current |"),
        "{index}"
    );
    assert!(
        rows[1].contains("superseded by [final-production-readiness-audit-20260210.md]"),
        "{index}"
    );
    // Text around the generated table is the user's and survives an update.
    std::fs::write(
        pubdir.join("audits.md"),
        index.replace("# Published audits", "# Published audits\n\nOwned by SRE."),
    )
    .unwrap();
    audit(&fx.root, NOW, &["--publish"]);
    let kept = std::fs::read_to_string(pubdir.join("audits.md")).unwrap();
    assert!(kept.contains("Owned by SRE."));
    assert_eq!(kept.lines().filter(|l| l.starts_with("| 2026")).count(), 2);
}

#[test]
fn published_audits_are_evidence_like_any_other_file() {
    let fx = Fx::repo();
    fx.write(
        "shipshape.toml",
        &format!(
            "{PUBLISH_POLICY}\n[[rule]]\nid = \"published-clean\"\narea = \"ops\"\nevidence.p = {{ artifact = \"docs/operations-artifacts/final-production-readiness-audit-20260101.md\" }}\nexpect = ['p.exists', 'size(p.placeholders) == 0', 'p.published_audit']\n\n[[rule]]\nid = \"notes-clean\"\narea = \"ops\"\nevidence.n = {{ artifact = \"docs/notes.md\" }}\nexpect = ['size(n.placeholders) == 0']\n"
        ),
    )
    .write(
        "docs/operations-artifacts/final-production-readiness-audit-20260101.md",
        "# Audit\n\n- Reviewer: TBD\n- TODO: capacity baseline\n- Status: PENDING_EXECUTION\n",
    )
    .write(
        "docs/operations-artifacts/audits.md",
        "# Published audits\n\nTODO column quoted from a finding\n",
    )
    .write("docs/notes.md", "# Notes\n\nOwner: TBD\n")
    .commit("2026-01-01T00:00:00Z", "audits");
    let (_, b) = audit(&fx.root, NOW, &[]);
    // A file named like a published audit has no exemption (issue 15): anyone can commit one.
    assert_eq!(outcome(&b, "published-clean").0, "fail");
    assert_eq!(outcome(&b, "notes-clean").0, "fail");
    let (status, sentence) = outcome(&b, "no-markers");
    assert_eq!(status, "fail");
    let markers = &evidence(&b, "scan", "")["matches"];
    let paths: Vec<&str> = markers
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![
            "docs/notes.md",
            "docs/operations-artifacts/audits.md",
            "docs/operations-artifacts/final-production-readiness-audit-20260101.md",
            "docs/operations-artifacts/final-production-readiness-audit-20260101.md",
        ],
        "{sentence}"
    );
}

#[test]
fn dirty_work_tree_is_a_report_warning() {
    let fx = Fx::repo();
    fx.write("shipshape.toml", GIT_POLICY)
        .write("docs/runbook.md", "# R\n")
        .commit("2026-01-01T00:00:00Z", "one")
        .write("docs/runbook.md", "# R, edited\n");
    let out_dir = TempDir::new().unwrap();
    assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .arg("audit")
        .arg(&fx.root)
        .args(["--now", NOW, "-q", "--out"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.path().join("report.json")).unwrap())
            .unwrap();
    let warning = b["report"]["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with("work tree dirty: 1 uncommitted path(s) (`docs/runbook.md`)"),
        "{warning}"
    );
    assert_eq!(outcome(&b, "head-clean").0, "fail");
    let md = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(md.contains("### Warnings\n- ⚠️ work tree dirty"), "{md}");
    assert!(md.contains("⚠️ work tree dirty (1 path(s))"));
}

// --- docs drift: a document must have changed no earlier than the code it describes ---------

const DRIFT_POLICY: &str = r#"
[audit]
name = "fixture"

[[area]]
id = "docs"

[[rule]]
id = "docs-drift"
area = "docs"
severity = "warning"
evidence.doc = { git = "last_change", path = "docs/reference/configuration.md", fallback = "mtime" }
evidence.code = { git = "last_change", path = "app/**/config.py", fallback = "mtime" }
expect = ['!code.exists || !doc.exists || timestamp(doc.time) >= timestamp(code.time)']
fail_message = "docs drift"
"#;

fn drift_fixture() -> Fx {
    let fx = Fx::repo();
    fx.write("shipshape.toml", DRIFT_POLICY)
        .write(
            "docs/reference/configuration.md",
            "# Configuration\n\n`PORT`\n",
        )
        .write("app/src/config.py", "PORT = 8080\n")
        .write("app/worker/config.py", "QUEUE = 'jobs'\n")
        .commit("2026-01-05T10:00:00Z", "initial");
    fx
}

#[test]
fn docs_drift_passes_when_the_document_moved_with_the_code() {
    let fx = drift_fixture();
    // Same commit: not drift.
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "pass");
    let code = evidence(&b, "git", "app/**/config.py");
    assert_eq!(code["time"], "2026-01-05T10:00:00Z");
    assert_eq!(code["source"], "git");
    assert_eq!(code["each"].as_array().unwrap().len(), 2);

    // The code changes later, then the document follows: pass again.
    fx.write("app/worker/config.py", "QUEUE = 'jobs-v2'\n")
        .commit("2026-01-20T10:00:00Z", "worker queue");
    fx.write(
        "docs/reference/configuration.md",
        "# Configuration\n\n`PORT`, `QUEUE`\n",
    )
    .commit("2026-01-21T10:00:00Z", "docs: queue");
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "pass");
    assert_eq!(
        evidence(&b, "git", "docs/reference/configuration.md")["time"],
        "2026-01-21T10:00:00Z"
    );
}

#[test]
fn docs_drift_fails_when_the_code_changed_after_the_document() {
    let fx = drift_fixture();
    // Only one of the matched files changes, and only the code.
    fx.write("app/worker/config.py", "QUEUE = 'jobs-v2'\n")
        .commit("2026-01-20T10:00:00Z", "worker queue");
    let (_, b) = audit(&fx.root, NOW, &[]);
    let (status, sentence) = outcome(&b, "docs-drift");
    assert_eq!(status, "fail", "{sentence}");
    assert!(sentence.starts_with("docs drift"), "{sentence}");
    let code = evidence(&b, "git", "app/**/config.py");
    assert_eq!(code["newest"]["path"], "app/worker/config.py");
    assert_eq!(code["time"], "2026-01-20T10:00:00Z");
    assert_eq!(code["oldest"]["time"], "2026-01-05T10:00:00Z");
}

#[test]
fn docs_drift_dates_untracked_files_by_mtime_with_the_fallback() {
    let fx = drift_fixture();
    // A new config module, not committed: git cannot date it; its mtime (now) is newer.
    fx.write("app/extra/config.py", "EXTRA = 1\n");
    let (_, b) = audit(&fx.root, "2100-01-01T00:00:00Z", &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "fail");
    let code = evidence(&b, "git", "app/**/config.py");
    assert_eq!(code["newest"]["path"], "app/extra/config.py");
    assert_eq!(code["newest"]["source"], "mtime");
    assert_eq!(code["newest"]["tracked"], false);
    assert_eq!(code["each"].as_array().unwrap().len(), 3);
}

#[test]
fn docs_drift_outside_git_uses_modification_times() {
    let fx = Fx::plain();
    fx.write("shipshape.toml", DRIFT_POLICY)
        .write("app/src/config.py", "PORT = 8080\n")
        .write("docs/reference/configuration.md", "# Configuration\n");
    let set = |rel: &str, secs: i64| {
        let f = std::fs::File::options()
            .write(true)
            .open(fx.root.join(rel))
            .unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64))
            .unwrap();
    };
    // 2026-01-01 and 2026-01-02.
    set("app/src/config.py", 1_767_225_600);
    set("docs/reference/configuration.md", 1_767_312_000);
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "pass");
    let doc = evidence(&b, "git", "docs/reference/configuration.md");
    assert_eq!(doc["source"], "mtime");
    assert_eq!(doc["time"], "2026-01-02T00:00:00Z");
    set("app/src/config.py", 1_767_398_400);
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "fail");

    // Without the fallback a folder outside git stays pending.
    let strict = DRIFT_POLICY.replace(", fallback = \"mtime\"", "");
    fx.write("shipshape.toml", &strict);
    let (_, b) = audit(&fx.root, NOW, &[]);
    assert_eq!(outcome(&b, "docs-drift").0, "pending");
}

#[test]
fn an_unknown_fallback_is_a_policy_error() {
    let fx = Fx::plain();
    fx.write(
        "shipshape.toml",
        &DRIFT_POLICY.replacen("fallback = \"mtime\"", "fallback = \"ctime\"", 1),
    );
    let out = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .arg("audit")
        .arg(&fx.root)
        .args(["--now", NOW, "-q", "--out"])
        .arg(fx.root.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a fallback"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A history for the commit-graph tests, written by `git fast-import` with pinned times: 40 files
/// in nested folders changed on main, side branches merged every 25 commits, an octopus merge,
/// non-ASCII paths, a file deleted and added back, a file that becomes a folder, and one commit
/// that touches 600 files (more than git puts in a Bloom filter).
fn graph_history(fx: &Fx) {
    let mut s = String::new();
    let mut mark = 0u32;
    let mut t = 1_700_000_000u64;
    let mut seed = 7u64;
    let mut rand = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let files: Vec<String> = (0..40)
        .map(|i| format!("d{}/s{}/f{i}.md", i % 4, i % 3))
        .chain(["docs/größe.md".to_string(), "日本/説明.md".to_string()])
        .collect();
    let mut commit =
        |s: &mut String, branch: &str, from: Option<u32>, merges: &[u32], ops: &[String]| {
            mark += 1;
            t += 3600;
            s.push_str(&format!("commit refs/heads/{branch}\nmark :{mark}\n"));
            s.push_str(&format!(
                "committer Ada <ada@example.com> {t} +0000\ndata {}\nc{mark:04}\n",
                6
            ));
            if let Some(f) = from {
                s.push_str(&format!("from :{f}\n"));
            }
            for m in merges {
                s.push_str(&format!("merge :{m}\n"));
            }
            for op in ops {
                s.push_str(op);
            }
            s.push('\n');
            mark
        };
    let modify =
        |p: &str, body: String| format!("M 100644 inline {p}\ndata {}\n{body}\n", body.len());
    let all: Vec<String> = files.iter().map(|f| modify(f, format!("{f} 0"))).collect();
    let mut main = commit(&mut s, "main", None, &[], &all);
    for c in 1..200u32 {
        let mut ops: Vec<String> = (0..1 + rand(3))
            .map(|_| {
                let f = &files[rand(files.len() as u64) as usize];
                modify(f, format!("{f} {c}"))
            })
            .collect();
        match c {
            40 => ops.push("D d1/s1/f1.md\n".into()),
            90 => ops.push(modify("d1/s1/f1.md", "back".into())),
            60 => ops.push(modify("swap", "a file".into())),
            120 => {
                ops.push("D swap\n".into());
                ops.push(modify("swap/inner.md", "now a folder".into()));
            }
            150 => ops.extend((0..600).map(|i| modify(&format!("bulk/b{i}.txt"), "x".into()))),
            _ => {}
        }
        main = commit(&mut s, "main", Some(main), &[], &ops);
        if c % 25 == 0 {
            let branch = format!("side{c}");
            let mut tip = main;
            for k in 0..3 {
                let f = &files[rand(files.len() as u64) as usize];
                tip = commit(
                    &mut s,
                    &branch,
                    Some(tip),
                    &[],
                    &[modify(f, format!("{branch} {k}"))],
                );
            }
            main = commit(
                &mut s,
                "main",
                Some(main),
                &[tip],
                &[modify("merged.md", branch)],
            );
        }
    }
    let a = commit(
        &mut s,
        "oa",
        Some(main),
        &[],
        &[modify("octo/a.md", "a".into())],
    );
    let b = commit(
        &mut s,
        "ob",
        Some(main),
        &[],
        &[modify("octo/b.md", "b".into())],
    );
    commit(&mut s, "main", Some(main), &[a, b], &[]);
    let mut child = git_cmd(&fx.root, "2025-01-01T00:00:00Z")
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    fx.git("2025-01-01T00:00:00Z", &["checkout", "-q", "-f", "main"]);
}

/// Every path of HEAD, every folder above one, and a path that never existed.
fn graph_paths(fx: &Fx) -> Vec<String> {
    let mut paths: std::collections::BTreeSet<String> = fx
        .git(
            "2025-01-01T00:00:00Z",
            &[
                "-c",
                "core.quotepath=false",
                "ls-tree",
                "-r",
                "--name-only",
                "HEAD",
            ],
        )
        .lines()
        .filter(|p| !p.starts_with("bulk/b") || p.ends_with("/b7.txt"))
        .map(str::to_string)
        .collect();
    for p in paths.clone() {
        let mut rest = p.as_str();
        while let Some(i) = rest.rfind('/') {
            rest = &rest[..i];
            paths.insert(rest.to_string());
        }
    }
    paths.insert("d1/s1/f1.md".into());
    paths.insert("never/was.md".into());
    paths.into_iter().collect()
}

/// shipshape's answers for `paths` equal `git log -1 -- PATH` in the repository as it is now.
fn assert_answers_match_git(fx: &Fx, paths: &[String], when: &str) {
    let out = assert_cmd::cargo::cargo_bin_cmd!("shipshape")
        .args(["git-last-change", "--repo"])
        .arg(&fx.root)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(ours.lines().count(), paths.len(), "{when}");
    for (line, p) in ours.lines().zip(paths) {
        let want = fx.git(
            "2025-01-01T00:00:00Z",
            &["log", "-1", "--format=%cI\t%H", "--", p],
        );
        let got: Vec<&str> = line.split('\t').collect();
        assert_eq!(got[0], p, "{when}");
        let got = if got[1] == "-" {
            String::new()
        } else {
            format!("{}\t{}", got[1], got[2])
        };
        assert_eq!(got, want.trim(), "{when}: {p}");
    }
}

/// The reader against git: each commit's tree and parents as `git log` prints them, and no
/// Bloom filter ever rules out a path that did change from the first parent (while ruling out
/// most that did not — else it is not being read).
fn assert_graph_agrees_with_git(fx: &Fx, paths: &[String]) {
    use shipshape::collect::commit_graph::CommitGraph;
    let repo = git2::Repository::open(&fx.root).unwrap();
    let graph = CommitGraph::open(&repo).expect("the graph git wrote is read");
    let log = fx.git(
        "2025-01-01T00:00:00Z",
        &["log", "--all", "--format=%H %T %P"],
    );
    for line in log.lines() {
        let ids: Vec<git2::Oid> = line
            .split_whitespace()
            .map(|h| git2::Oid::from_str(h).unwrap())
            .collect();
        let Some(pos) = graph.position(&ids[0]) else {
            continue;
        };
        let c = graph.commit(pos).unwrap();
        assert_eq!(c.tree, ids[1], "{line}");
        let parents: Vec<git2::Oid> = c.parents.iter().map(|&p| graph.oid(p).unwrap()).collect();
        assert_eq!(parents, ids[2..].to_vec(), "{line}");
    }
    let changes = fx.git(
        "2025-01-01T00:00:00Z",
        &[
            "-c",
            "core.quotepath=false",
            "log",
            "--all",
            "--format=@%H",
            "--name-only",
            "--no-renames",
            "--diff-merges=first-parent",
        ],
    );
    let (mut ruled_out, mut unchanged, mut checked) = (0, 0, 0);
    for block in changes.split('@').filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let id = git2::Oid::from_str(lines.next().unwrap().trim()).unwrap();
        let changed: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        let Some(pos) = graph.position(&id) else {
            continue;
        };
        for p in paths {
            let keys = graph.keys(p).unwrap();
            let Some(maybe) = graph.maybe_changed(pos, &keys) else {
                continue;
            };
            checked += 1;
            let did = changed
                .iter()
                .any(|c| c == p || c.starts_with(&format!("{p}/")));
            assert!(
                maybe || !did,
                "the filter of {id} rules out {p}, which changed"
            );
            if !did {
                unchanged += 1;
                ruled_out += usize::from(!maybe);
            }
        }
    }
    assert!(checked > 1000, "{checked} filter lookups");
    assert!(
        ruled_out * 10 > unchanged * 9,
        "{ruled_out} of {unchanged} unchanged ruled out"
    );
}

#[test]
fn commit_graph_and_bloom_filters_give_git_logs_answers() {
    let fx = Fx::repo();
    graph_history(&fx);
    let paths = graph_paths(&fx);
    assert_answers_match_git(&fx, &paths, "without a commit-graph");
    // Version 1 filters (murmur3 over signed bytes), as git writes by default.
    fx.git(
        "2025-01-01T00:00:00Z",
        &["commit-graph", "write", "--reachable", "--changed-paths"],
    );
    assert!(fx.root.join(".git/objects/info/commit-graph").is_file());
    assert_graph_agrees_with_git(&fx, &paths);
    assert_answers_match_git(&fx, &paths, "with a commit-graph");
    // Commits the graph does not hold are read from the objects.
    fx.write("d0/s0/f0.md", "after the graph\n")
        .commit("2025-02-01T00:00:00Z", "after")
        .write("docs/größe.md", "after the graph\n")
        .commit("2025-02-02T00:00:00Z", "after again");
    assert_answers_match_git(&fx, &paths, "with commits newer than the graph");
    // A split chain with version 2 filters.
    std::fs::remove_file(fx.root.join(".git/objects/info/commit-graph")).unwrap();
    fx.git(
        "2025-01-01T00:00:00Z",
        &[
            "-c",
            "commitGraph.changedPathsVersion=2",
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
            "--split=no-merge",
            "--size-multiple=1000",
        ],
    );
    fx.write("d2/s2/f2.md", "a newer layer\n")
        .commit("2025-03-01T00:00:00Z", "layer");
    fx.git(
        "2025-01-01T00:00:00Z",
        &[
            "-c",
            "commitGraph.changedPathsVersion=2",
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
            "--split=no-merge",
        ],
    );
    let chain = std::fs::read_to_string(
        fx.root
            .join(".git/objects/info/commit-graphs/commit-graph-chain"),
    )
    .unwrap();
    assert_eq!(chain.lines().count(), 2, "two layers: {chain}");
    assert_graph_agrees_with_git(&fx, &paths);
    assert_answers_match_git(&fx, &paths, "with a split commit-graph");
    // A graph that does not parse is not used: the same answers from the objects.
    let layer = chain.lines().last().unwrap();
    let file = fx.root.join(format!(
        ".git/objects/info/commit-graphs/graph-{layer}.graph"
    ));
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    assert!(
        shipshape::collect::commit_graph::CommitGraph::open(
            &git2::Repository::open(&fx.root).unwrap()
        )
        .is_none()
    );
    std::fs::write(&file, bytes).unwrap();
}

//! Findings name the exact offender: for each kind of evidence, a failing rule yields one finding
//! per offender with its file, line and key — and nothing that is only context (a valid
//! suppression, a field that is fine, a placeholder of a rule that failed for another reason).
//! Per-finding waivers cover the findings they name and nothing else.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{Run, audit_at, git, git_at, write};

const NOW: &str = "2026-03-01T12:00:00Z";

const POLICY: &str = r#"
[audit]
name = "fixture"
title = "Findings Fixture"
approve_min_score = 1.0

[[area]]
id = "all"
title = "All"

[[rule]]
id = "owner"
area = "all"
title = "The drill names its owner team"
severity = "warning"
evidence.doc = { artifact = "docs/drill.md" }
expect = ['doc.fields.Owner == "sre-team"']
fail_message = "the drill is owned by `{offender.value}`, not sre-team"

[[rule]]
id = "placeholders"
area = "all"
title = "No placeholders in the drill"
severity = "warning"
evidence.doc = { artifact = "docs/drill.md" }
expect = ['size(doc.placeholders) == 0']

[[rule]]
id = "suppressions"
area = "all"
title = "Suppressions are governed"
severity = "warning"
evidence.s = { suppressions = [] }
expect = ['s.problems == []']

[[rule]]
id = "links"
area = "all"
title = "Links resolve"
severity = "warning"
evidence.links = { links = ["docs/**/*.md"] }
expect = ['size(links.broken) == 0']

[[rule]]
id = "pinned"
area = "all"
title = "Images pinned by digest"
severity = "warning"
evidence.w = { manifests = ["k8s"], kind = "Deployment" }
expect = ['''w.objects.filter(o, !o._containers.all(c, c.image.contains("@sha256:"))).map(o, o._ref) == []''']
fail_message = "`{offender.key}` runs an image not pinned by digest"

[[rule]]
id = "tag"
area = "all"
title = "Latest release tag is annotated"
severity = "warning"
evidence.release = { git = "tags" }
expect = ['release.tags.filter(t, t.name == release.latest_tag && !t.annotated) == []']
fail_message = "the latest release tag `{offender.name}` is lightweight"

[[rule]]
id = "security-policy"
area = "all"
title = "Security policy"
severity = "warning"
evidence.files = { files = ["SECURITY.md"] }
expect = ['size(files.missing) == 0']
"#;

const DRILL: &str = "# DR drill\n\nStatus: COMPLETED\n\nOwner: platform-team\nCoordinator: TBD\n\n| Step | Result |\n|---|---|\n| restore | <fill-me> |\n";

const TRIVYIGNORE: &str = "\
# owner: security-team
# justification: not reachable, the parser is not used
# expires: 2026-12-31
CVE-2026-0001

# owner: security-team
CVE-2026-0002
";

const DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pinned
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000000
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: floating
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: app
          image: registry.example/app:1.2.3
";

fn fixture(root: &Path) {
    write(root, "shipshape.toml", POLICY);
    write(root, "docs/drill.md", DRILL);
    write(root, ".trivyignore", TRIVYIGNORE);
    write(
        root,
        "docs/guide.md",
        "# Guide\n\nSee [the drill](drill.md).\n\nAnd [the runbook](runbook.md).\n",
    );
    write(root, "k8s/deploy.yaml", DEPLOY);
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "fixture"]);
    git_at(root, "2026-02-20T09:00:00Z", &["tag", "v1.0.0"]);
}

/// `(path, line, key)` of each finding of `rule`.
fn places(run: &Run, rule: &str) -> Vec<(String, Option<u64>, String)> {
    run.findings(rule)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64(),
                f["text"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn one(path: &str, line: Option<u64>, key: &str) -> (String, Option<u64>, String) {
    (path.to_string(), line, key.to_string())
}

#[test]
fn each_kind_of_offender_is_one_finding_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    let run = audit_at(root, NOW, &[]);
    assert!(run.bundle.is_object(), "{}", run.stderr);

    // An artifact field: the line it was read from, its value as the key, the message filled.
    assert_eq!(
        places(&run, "owner"),
        [one("docs/drill.md", Some(5), "platform-team")]
    );
    assert_eq!(
        run.findings("owner")[0]["message"],
        "the drill is owned by `platform-team`, not sre-team"
    );
    // Placeholders: each one, not the owner line or the status line.
    assert_eq!(
        places(&run, "placeholders"),
        [
            one("docs/drill.md", Some(6), "TBD"),
            one("docs/drill.md", Some(10), "<fill-me>")
        ]
    );
    // Suppressions: the ungoverned entry only; the governed one is context.
    let s = places(&run, "suppressions");
    assert_eq!(s, [one(".trivyignore", Some(7), "CVE-2026-0002")]);
    let message = run.findings("suppressions")[0]["message"].as_str().unwrap();
    assert!(message.contains("no justification"), "{message}");
    // A broken link: its line and target, not the link that resolves.
    assert_eq!(
        places(&run, "links"),
        [one("docs/guide.md", Some(5), "runbook.md")]
    );
    // A manifest object: the line of the field its check reads (the unpinned image), not the
    // document's first line, and not the pinned object.
    assert_eq!(
        places(&run, "pinned"),
        [one("k8s/deploy.yaml", Some(23), "Deployment shop/floating")]
    );
    assert_eq!(
        run.findings("pinned")[0]["message"],
        "`Deployment shop/floating` runs an image not pinned by digest"
    );
    // A tag is not in a file: the finding sits at the policy rule that asks for it.
    let tag = run.findings("tag");
    assert_eq!(tag.len(), 1);
    assert_eq!(tag[0]["text"], "v1.0.0");
    assert_eq!(tag[0]["path"], "shipshape.toml");
    assert_eq!(
        tag[0]["message"],
        "the latest release tag `v1.0.0` is lightweight"
    );
    // A missing file: at the path that should exist.
    assert_eq!(
        places(&run, "security-policy"),
        [one("SECURITY.md", None, "SECURITY.md")]
    );
    // Every finding has a distinct fingerprint.
    let all = run.bundle["report"]["findings"].as_array().unwrap();
    let mut fps: Vec<&str> = all
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), all.len());
}

#[test]
fn nothing_is_dropped_and_fingerprints_survive_a_line_shift() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    let many: String = (1..=40).map(|i| format!("Step {i}: TBD\n")).collect();
    write(root, "docs/drill.md", format!("{DRILL}\n{many}"));
    let run = audit_at(root, NOW, &[]);
    // 2 + 40 placeholders: every one is a finding (no cap of 12).
    assert_eq!(run.findings("placeholders").len(), 42);
    let before: Vec<String> = run
        .findings("placeholders")
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    // Three lines added above: the same findings, on other lines.
    write(
        root,
        "docs/drill.md",
        format!("<!-- a -->\n<!-- b -->\n<!-- c -->\n{DRILL}\n{many}"),
    );
    let run = audit_at(root, NOW, &[]);
    let after: Vec<String> = run
        .findings("placeholders")
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(before, after);
    assert_eq!(run.findings("placeholders")[0]["line"], 9);
}

fn waiver(root: &Path, selector: &str) {
    let text = format!(
        "{POLICY}\n[[waiver]]\nrule = \"placeholders\"\n{selector}\nreason = \"the restore step is re-run next week\"\nowner = \"sre-team\"\nexpires = 2026-03-31\n"
    );
    write(root, "shipshape.toml", text);
}

fn status(run: &Run, rule: &str) -> Value {
    run.outcome(rule)["status"].clone()
}

#[test]
fn a_per_finding_waiver_covers_only_what_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);

    // By key: the `<fill-me>` finding is waived, `TBD` still fails the rule.
    waiver(root, "match = { key = \"<fill-me>\" }");
    let run = audit_at(root, NOW, &[]);
    assert_eq!(status(&run, "placeholders"), "fail");
    let states: Vec<(&str, &str)> = run
        .findings("placeholders")
        .iter()
        .map(|f| (f["text"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("TBD", "fail"), ("<fill-me>", "waived")]);

    // By fingerprint, the TBD one too: now every finding is covered, so the rule is waived.
    let tbd = run.findings("placeholders")[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let text = format!(
        "{POLICY}\n[[waiver]]\nrule = \"placeholders\"\nmatch = {{ file = \"docs/drill.md\", key = \"<fill-me>\" }}\nreason = \"r\"\nowner = \"sre-team\"\nexpires = 2026-03-31\n\n[[waiver]]\nrule = \"placeholders\"\nfingerprint = \"{tbd}\"\nreason = \"r\"\nowner = \"sre-team\"\nexpires = 2026-03-31\n"
    );
    write(root, "shipshape.toml", text);
    let run = audit_at(root, NOW, &[]);
    assert_eq!(status(&run, "placeholders"), "waived");
    assert!(
        run.findings("placeholders")
            .iter()
            .all(|f| f["status"] == "waived")
    );

    // A waiver that names a finding this run does not have says so.
    waiver(root, "fingerprint = \"0123456789abcdef\"");
    let run = audit_at(root, NOW, &[]);
    assert_eq!(status(&run, "placeholders"), "fail");
    assert!(
        run.md.contains("covers no finding of this run"),
        "{}",
        run.md
    );

    // An expired per-finding waiver covers nothing.
    waiver(root, "match = { key = \"<fill-me>\" }");
    let run = audit_at(root, "2026-04-01T00:00:00Z", &[]);
    assert!(
        run.findings("placeholders")
            .iter()
            .all(|f| f["status"] == "fail")
    );
    assert!(run.md.contains("expired on 2026-03-31"), "{}", run.md);
}

#[test]
fn a_malformed_finding_selector_is_a_policy_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    waiver(root, "fingerprint = \"not-a-fingerprint\"");
    let run = audit_at(root, NOW, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("shipshape.toml:")
            && run
                .stderr
                .contains("fingerprint `not-a-fingerprint` is not a finding fingerprint"),
        "{}",
        run.stderr
    );
    waiver(root, "match = {}");
    let run = audit_at(root, NOW, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`match` needs a file, a key or both"),
        "{}",
        run.stderr
    );
}

/// An expectation that cannot be evaluated at run time (a key the evidence does not have)
/// leaves the rule pending and names where the expression is written.
#[test]
fn a_runtime_error_names_the_expression_by_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    let policy = "[audit]\nname = \"x\"\n\n[[area]]\nid = \"all\"\n\n[[rule]]\nid = \"typo\"\narea = \"all\"\nfail_message = \"never\"\nevidence.doc = { artifact = \"docs/drill.md\" }\nexpect = [\n  'doc.exists',\n  'doc.no_such_field == 1',\n]\n";
    write(root, "shipshape.toml", policy);
    let run = audit_at(root, NOW, &[]);
    let o = run.outcome("typo");
    assert_eq!(o["status"], "pending", "{o}");
    let sentence = o["sentence"].as_str().unwrap();
    assert!(
        sentence.contains("expect[1] (")
            && sentence.contains("shipshape.toml:14:3) could not be evaluated"),
        "{sentence}"
    );
}

/// The 43rd placeholder is a new finding for `--baseline` and `--fail-on new`: nothing past a
/// cap hides it.
#[test]
fn a_new_offender_beyond_any_cap_is_new_against_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture(root);
    // Every rule of the fixture fails on purpose; only the gate decides here.
    write(
        root,
        "shipshape.toml",
        POLICY.replace("approve_min_score = 1.0", "approve_min_score = 0.0"),
    );
    let many: String = (1..=40).map(|i| format!("Step {i}: TBD\n")).collect();
    write(root, "docs/drill.md", format!("{DRILL}\n{many}"));
    let first = audit_at(root, NOW, &[]);
    assert_eq!(first.findings("placeholders").len(), 42);
    // Warnings only: APPROVED, so a failing run below is the new finding's doing.
    assert_eq!(first.code, 0, "{}", first.md);
    let base = root.join("base.json");
    std::fs::copy(root.join("out/report.json"), &base).unwrap();
    write(
        root,
        "docs/drill.md",
        format!("{DRILL}\n{many}Step 41: <fill-me>\n"),
    );
    let base_arg = base.to_str().unwrap();
    let second = audit_at(root, NOW, &["--baseline", base_arg, "--fail-on", "new"]);
    let new: Vec<&Value> = second.bundle["report"]["changes"]["new"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "placeholders")
        .collect();
    assert_eq!(new.len(), 1, "{}", second.bundle["report"]["changes"]);
    assert_eq!(new[0]["text"], "<fill-me>");
    assert_eq!(new[0]["line"], 52);
    assert_eq!(second.code, 1, "--fail-on new fails on the new warning");
}

/// A version outlier is one finding at the line that states the odd version; the places that
/// agree are context, and an earlier release tag is not a disagreement.
#[test]
fn a_version_outlier_is_one_finding_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let policy = "[audit]\nname = \"shop\"\napprove_min_score = 0.0\n\n[[area]]\nid = \"all\"\n\n[[rule]]\nid = \"version-coherent\"\narea = \"all\"\nseverity = \"warning\"\nevidence.v = { versions = [] }\nexpect = ['v.outliers == []']\nfail_message = \"{offender.source} says {offender.version}, not the release version {offender.expected}\"\n";
    write(root, "shipshape.toml", policy);
    write(
        root,
        "pyproject.toml",
        "[project]\nname = \"shop\"\nversion = \"1.2.3\"\n\n[tool.ruff]\ntarget-version = \"py312\"\n",
    );
    write(
        root,
        "CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n## [1.2.3] - 2026-02-20\n",
    );
    write(
        root,
        "k8s/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/acme/shop-app:1.2.2\n        - name: cache\n          image: redis:7.2\n",
    );
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "shop"]);
    // The previous release's tag: older than the release, so not an outlier.
    git_at(
        root,
        "2026-02-01T09:00:00Z",
        &["tag", "-a", "v1.2.2", "-m", "1.2.2"],
    );
    let run = audit_at(root, NOW, &[]);
    assert_eq!(
        places(&run, "version-coherent"),
        [one("k8s/deploy.yaml", Some(10), "1.2.2")],
        "{}",
        run.md
    );
    assert_eq!(
        run.findings("version-coherent")[0]["message"],
        "own image tag says 1.2.2, not the release version 1.2.3"
    );
    let v = &run.bundle["evidence"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.contains("\"versions\""))
        .unwrap()
        .1["value"];
    assert_eq!(v["release"], "1.2.3");
    // redis:7.2 is a base image, not a statement of the release version.
    assert!(
        !v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["version"] == "7.2"),
        "{v}"
    );
}

/// A pack's globs are overridable by name from the policy that includes it: `[globs] source`
/// narrows builtin:default's marker scan without copying the rule; an undefined `@name` is a
/// policy error; an overlay may not redefine a central policy's glob set.
#[test]
fn pack_globs_are_overridden_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "README.md", "# App\n\n## Usage\n\nRun it.\n");
    write(root, "app/main.py", "x = 1  # TODO: real config\n");
    write(
        root,
        "tools/gen.py",
        "y = 2  # TODO: one-off script, not shipped\n",
    );
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "app"]);
    let markers = |run: &Run| -> Vec<String> {
        run.findings("no-unfinished-markers")
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    write(root, "shipshape.toml", "include = [\"builtin:default\"]\n");
    let run = audit_at(root, NOW, &[]);
    assert_eq!(
        markers(&run),
        ["app/main.py", "tools/gen.py"],
        "{}",
        run.stderr
    );
    write(
        root,
        "shipshape.toml",
        "include = [\"builtin:default\"]\n\n[globs]\nsource = [\"app/**/*.py\"]\n",
    );
    let run = audit_at(root, NOW, &[]);
    assert_eq!(markers(&run), ["app/main.py"], "{}", run.stderr);

    // An undefined set is an error naming where it is used.
    write(
        root,
        "shipshape.toml",
        "[[area]]\nid = \"a\"\n\n[[rule]]\nid = \"r\"\narea = \"a\"\nevidence.s = { scan = 'x', include = [\"@nope\"] }\nexpect = ['s.count == 0']\n",
    );
    let run = audit_at(root, NOW, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("shipshape.toml:") && run.stderr.contains("`@nope` is not a glob set"),
        "{}",
        run.stderr
    );

    // An overlay redefining a central glob set loosens the central policy.
    write(
        root,
        "central/policy.toml",
        "include = [\"builtin:default\"]\n",
    );
    write(
        root,
        "shipshape.toml",
        "[audit]\nextends = \"central/policy.toml\"\n\n[globs]\nsource = [\"nothing/**\"]\n",
    );
    let run = audit_at(root, NOW, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("[globs] redefines `source`, a glob set of the central policy's rules"),
        "{}",
        run.stderr
    );
}

//! The commands that fit shipshape into a user's day: `init` on repositories of several shapes
//! (the written policy validates and audits without policy errors), `explain` for rules and
//! sources (held to docs/policy.md), the committed JSON Schema, completions and the man page.

mod support;

use support::write;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-03-01T12:00:00Z";

fn shipshape() -> Command {
    Command::cargo_bin("shipshape").unwrap()
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = shipshape().current_dir(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Audit `root` into a temp folder; returns (exit code, bundle, stderr).
fn audit(root: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = tempfile::tempdir().unwrap();
    let o = shipshape()
        .current_dir(root)
        .args(["audit", ".", "--now", NOW, "--out"])
        .arg(out.path())
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let bundle = std::fs::read_to_string(out.path().join("report.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (code, bundle, stderr)
}

fn outcome(bundle: &Value, rule: &str) -> String {
    bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == rule)
        .map(|o| o["status"].as_str().unwrap_or("").to_string())
        .unwrap_or_else(|| panic!("no outcome for {rule}"))
}

fn rule_ids(bundle: &Value) -> Vec<String> {
    bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["rule"].as_str().unwrap().to_string())
        .collect()
}

// --- schema ---------------------------------------------------------------------------------

#[test]
fn committed_schema_matches_the_policy_types() {
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/schema.json"))
            .unwrap_or_default();
    let generated = shipshape::policy::schema::json();
    assert!(
        committed == generated,
        "policies/schema.json is out of date with src/policy/model.rs.\n\
         Regenerate it with:  cargo run -q -- policy schema > policies/schema.json"
    );
    let (code, stdout, _) = run(Path::new("."), &["policy", "schema"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, generated);
    let v: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(v["additionalProperties"], false, "unknown keys are errors");
    assert_eq!(
        v["definitions"]["RuleRaw"]["required"],
        serde_json::json!(["id", "area"])
    );
}

// --- init -----------------------------------------------------------------------------------

/// A repository with a bit of everything init recognises.
fn polyglot_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "README.md", "# svc\n\n## Usage\n\nRun it.\n");
    write(r, "CHANGELOG.md", "# Changelog\n\n## [1.2.0]\n\n- first\n");
    write(
        r,
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"1.2.0\"\n",
    );
    write(r, "src/main.rs", "fn main() {}\n");
    write(
        r,
        "pyproject.toml",
        "[project]\nname = \"svc\"\n\n[tool.pytest.ini_options]\n",
    );
    write(r, "tests/test_a.py", "def test_a():\n    assert True\n");
    write(
        r,
        "package.json",
        r#"{"name": "svc", "scripts": {"test": "node --test"}}"#,
    );
    write(r, "go.mod", "module example.com/svc\n\ngo 1.22\n");
    write(
        r,
        "k8s/base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc\nspec:\n  template:\n    spec:\n      containers:\n        - name: svc\n          image: svc:latest\n",
    );
    write(
        r,
        "k8s/base/kustomization.yaml",
        "resources:\n  - deployment.yaml\n",
    );
    write(
        r,
        "k8s/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\n",
    );
    write(
        r,
        "docs/operations-artifacts/dr-drill-20260201.md",
        "# DR drill\n\nStatus: COMPLETED\n",
    );
    write(
        r,
        "docs/operations-artifacts/capacity_baseline.md",
        "# Capacity\n\nStatus: BLOCKED\nOwner: TBD\n",
    );
    write(
        r,
        "docs/operations-artifacts/README.md",
        "# How to fill these in\n",
    );
    write(r, "docs/runbook.md", "# Runbook\n\n## Rollback\n");
    write(r, ".github/workflows/ci.yml", "on: push\njobs: {}\n");
    write(
        r,
        "evidence/coverage.xml",
        "<coverage line-rate=\"0.9\" lines-valid=\"10\" lines-covered=\"9\"></coverage>\n",
    );
    dir
}

#[test]
fn init_policy_for_a_polyglot_repository_validates_and_audits() {
    let repo = polyglot_repo();
    let r = repo.path();
    let (code, stdout, stderr) = run(r, &["init"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote"), "{stdout}");
    // The first next step commits the policy: an audit describes committed files.
    let next: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "next:")
        .skip(1)
        .collect();
    assert!(
        next[0].contains("add shipshape.toml") && next[0].contains("commit"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    for cmd in [
        "'cargo test'",
        "'python3 -m pytest -q'",
        "'npm test'",
        "'go test ./...'",
    ] {
        assert!(text.contains(cmd), "no {cmd} in:\n{text}");
    }
    // Manifests and operations artifacts: a service. The strong checks, never the line-based
    // ones; the overlays per environment are what the hardening pack renders.
    assert!(text.contains("include = [\"builtin:service\"]"), "{text}");
    assert!(
        text.contains("manifests = [\"k8s/overlays/{env}\"]"),
        "{text}"
    );
    assert!(!text.contains("images-not-latest") && !text.contains("workloads-hardened"));
    // The artifacts found point the pack's sets at them (a dated series becomes a glob).
    assert!(
        text.contains("dr-drill = ['docs/operations-artifacts/dr-drill-*.md']"),
        "{text}"
    );
    assert!(
        text.contains("capacity-baseline = ['docs/operations-artifacts/capacity_baseline.md']"),
        "{text}"
    );
    assert!(text.contains("coverage-report = ['evidence/coverage.xml']"));
    // A check the pack makes under its own id is not written twice.
    assert!(!text.contains("id = \"ci-configured\""), "{text}");

    let (code, out, err) = run(r, &["policy", "validate", "shipshape.toml"]);
    assert_eq!(code, 0, "{out}{err}");

    // Preview without running the four test suites: no policy error, and it cannot approve.
    let (code, bundle, stderr) = audit(r, &["--skip-commands"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(outcome(&bundle, "rust-tests-pass"), "pending");
    assert_eq!(outcome(&bundle, "dr-drill-executed"), "pass");
    assert_eq!(outcome(&bundle, "capacity-baseline-approved"), "fail");
    assert_eq!(outcome(&bundle, "k8s-no-latest-tag"), "fail");
    assert_eq!(outcome(&bundle, "version-coherent"), "pass");
    assert_eq!(outcome(&bundle, "coverage-threshold"), "pass");
    assert_eq!(outcome(&bundle, "ci-workflow"), "pass");
}

#[test]
fn init_on_a_finished_python_repository_is_approved() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "README.md", "# tiny\n\n## Usage\n\n`python3 -m tiny`\n");
    write(
        r,
        "CHANGELOG.md",
        "# Changelog\n\n## [0.3.1] - 2026-02-01\n\n- fix\n",
    );
    write(
        r,
        "pyproject.toml",
        "[project]\nname = \"tiny\"\nversion = \"0.3.1\"\n",
    );
    write(r, "LICENSE", "MIT License\n");
    write(
        r,
        "SECURITY.md",
        "# Security\n\nMail security@example.com.\n",
    );
    write(r, "tiny/__init__.py", "def add(a, b):\n    return a + b\n");
    write(r, "tests/__init__.py", "");
    write(
        r,
        "tests/test_tiny.py",
        "import unittest\nimport tiny\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(tiny.add(1, 2), 3)\n",
    );
    write(r, ".gitlab-ci.yml", "test:\n  script: [\"true\"]\n");
    let (code, _, stderr) = run(r, &["init"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    assert!(
        text.contains("python3 -m unittest discover -s tests -t ."),
        "{text}"
    );
    let (code, bundle, stderr) = audit(r, &[]);
    assert_eq!(code, 0, "expected APPROVED: {stderr}\n{text}\n{bundle:#}");
    assert_eq!(outcome(&bundle, "python-tests-pass"), "pass");
}

#[test]
fn init_on_the_bundled_example_finds_its_artifacts_and_audits() {
    let copy = support::copy_example();
    let r = copy.path();
    let (code, _, stderr) = run(r, &["init", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, bundle, stderr) = audit(r, &["--skip-commands"]);
    assert_eq!(code, 1, "{stderr}");
    let ids = rule_ids(&bundle);
    for id in [
        "dr-drill-executed",
        "capacity-baseline-approved",
        "security-controls-validated",
        "artifact-controller-egress-handoff",
        "python-tests-pass",
        "k8s-run-as-non-root",
        "k8s-pdb-coverage",
        "recorded-tests-pass",
        "coverage-threshold",
    ] {
        assert!(ids.iter().any(|i| i == id), "no rule {id} in {ids:?}");
    }
    // The example's unfinished artifacts are exactly what blocks it, as in the seed audit.
    let blocking: Vec<&str> = bundle["report"]["blocking_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        blocking,
        [
            "dr-drill-executed",
            "security-controls-validated",
            "capacity-baseline-approved",
            "artifact-controller-egress-handoff",
            "python-tests-pass"
        ],
        "the seed's four, and the test suite not run (--skip-commands)"
    );
    assert_eq!(outcome(&bundle, "readme-complete"), "pass");
    assert_eq!(outcome(&bundle, "k8s-no-latest-tag"), "pass");
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shipshape.toml", "# mine\n");
    let (code, _, stderr) = run(dir.path(), &["init"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists; pass --force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shipshape.toml")).unwrap(),
        "# mine\n"
    );
    let (code, stdout, _) = run(dir.path(), &["init", "--stdout"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("[[rule]]"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("shipshape.toml")).unwrap(),
        "# mine\n",
        "--stdout writes nothing"
    );
    let (code, _, stderr) = run(dir.path(), &["init", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("shipshape.toml")).unwrap();
    assert!(text.contains("readme-complete"));
    // An empty folder still gets a policy that loads, and no temp file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["shipshape.toml".to_string()]);
}

// --- explain --------------------------------------------------------------------------------

#[test]
fn explain_a_rule_of_the_policy_in_force() {
    let example = support::example_dir();
    let (code, out, err) = run(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["explain", "dr-drill-executed", example.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    for want in [
        "rule: dr-drill-executed",
        "area: Resilience and Reliability",
        "severity: blocking",
        "weight: ",
        "environments: ",
        "evidence:",
        "artifact `docs/operations-artifacts/dr-drill-*.md`",
        "expect (all must be true):",
        "drill.status in approved",
        "remediation:",
        "shipshape explain --source artifact",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    // The example's own rule (from its shipshape.toml), with its command.
    let (code, out, _) = run(
        Path::new("."),
        &["explain", "unit-tests-pass", example.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("run `python3 -m unittest discover -s tests -t .`"),
        "{out}"
    );

    let (code, _, err) = run(
        Path::new("."),
        &["explain", "dr-drill", "--policy", "builtin:shipshape"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("did you mean: dr-drill-executed"), "{err}");
}

#[test]
fn explain_every_source() {
    for doc in shipshape::explain::SOURCES {
        let (code, out, err) = run(Path::new("."), &["explain", "--source", doc.name]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with(&format!("source: {}", doc.name)));
        for n in doc.names {
            assert!(out.contains(n.name), "{}: {}", doc.name, n.name);
        }
    }
    let (code, _, err) = run(Path::new("."), &["explain", "--source", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("one of artifact, files"), "{err}");
}

#[test]
fn source_examples_are_real_policies() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for doc in shipshape::explain::SOURCES {
        let p = dir.path().join(format!("{}.toml", doc.name));
        std::fs::write(&p, format!("[[area]]\nid = \"example\"\n\n{}", doc.example)).unwrap();
        let r = shipshape::policy::load(&shipshape::policy::Location::File(p));
        assert!(r.is_ok(), "{}: {}", doc.name, r.unwrap_err());
        checked += 1;
    }
    // Every source of the registry has a documented, loadable example.
    assert_eq!(checked, shipshape::collect::NAMES.len());
}

/// The names `explain --source` lists are the names docs/policy.md documents for that source.
#[test]
fn source_names_agree_with_the_policy_reference() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/policy.md"))
            .unwrap();
    for doc in shipshape::explain::SOURCES {
        let heading = format!("### `{}`", doc.name);
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/policy.md has no `{heading}` section"));
        let rest = &docs[start + heading.len()..];
        let section = &rest[..rest
            .find("\n### ")
            .or(rest.find("\n## "))
            .unwrap_or(rest.len())];
        // Names in the docs' name column(s).
        let mut documented = std::collections::BTreeSet::new();
        let mut col: Option<usize> = None;
        for line in section.lines() {
            if !line.starts_with('|') {
                col = None;
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if col.is_none() {
                col = cells.iter().position(|c| *c == "name" || *c == "names");
                continue;
            }
            if let Some(c) = col.filter(|c| *c < cells.len()) {
                for part in cells[c].split('`').skip(1).step_by(2) {
                    documented.insert(part.to_string());
                }
            }
        }
        for n in doc.names {
            assert!(
                section.contains(&format!("`{}`", n.name))
                    || section.contains(&format!("`{} ", n.name)),
                "explain lists `{}` for {} but docs/policy.md does not document it",
                n.name,
                doc.name
            );
        }
        for d in &documented {
            if d.contains('.') || d.contains(' ') {
                continue;
            }
            assert!(
                doc.names.iter().any(|n| n.name == d),
                "docs/policy.md documents `{d}` for {} but `explain --source` does not list it (src/explain.rs)",
                doc.name
            );
        }
    }
}

// --- completions and man ---------------------------------------------------------------------

#[test]
fn completions_and_man_page_come_from_the_cli() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = run(Path::new("."), &["completions", shell]);
        assert_eq!(code, 0, "{err}");
        for word in ["audit", "init", "explain", "skip-commands"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, out, _) = run(Path::new("."), &["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH shipshape"),
        "{}",
        &out[..out.len().min(300)]
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(dir.path(), &["man", "--dir", "man"]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("man/shipshape.1").is_file());
    assert!(dir.path().join("man/shipshape-audit.1").is_file());
}

/// Every rule of every shipped policy (the built-in packs, the example's policy and what `init`
/// writes) says in plain words what is wrong when it fails, and what to do about it.
#[test]
fn every_shipped_rule_has_a_fail_message() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.push(root.join("examples/shipshape/shipshape.toml"));
    let repo = polyglot_repo();
    let (code, _, err) = run(repo.path(), &["init", "."]);
    assert_eq!(code, 0, "{err}");
    files.push(repo.path().join("shipshape.toml"));
    // Without manifests `init` writes its own report and CI rules (the pack's are not there).
    let plain = tempfile::tempdir().unwrap();
    write(plain.path(), "README.md", "# x\n");
    write(
        plain.path(),
        "junit-report.xml",
        "<testsuite tests=\"1\" failures=\"0\"/>\n",
    );
    write(
        plain.path(),
        "coverage.xml",
        "<coverage line-rate=\"0.9\"/>\n",
    );
    let (code, _, err) = run(plain.path(), &["init", "."]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(plain.path().join("shipshape.toml")).unwrap();
    for id in ["junit-report-green", "coverage-threshold", "ci-configured"] {
        assert!(text.contains(&format!("id = \"{id}\"")), "{text}");
    }
    files.push(plain.path().join("shipshape.toml"));
    let mut without = Vec::new();
    let mut rules = 0;
    for f in &files {
        let doc: toml::Table = toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for r in doc
            .get("rule")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            rules += 1;
            if r.get("fail_message")
                .and_then(|m| m.as_str())
                .is_none_or(str::is_empty)
            {
                without.push(format!("{}: {} (fail_message)", f.display(), r["id"]));
            }
            if r.get("remediation")
                .and_then(|m| m.get("action"))
                .and_then(|a| a.as_str())
                .is_none_or(str::is_empty)
            {
                without.push(format!("{}: {} (remediation)", f.display(), r["id"]));
            }
        }
    }
    assert!(rules > 60, "only {rules} rules found");
    assert!(
        without.is_empty(),
        "rules without a fail_message or a remediation: {without:#?}"
    );
}

/// What `init` points the hardening pack at on a tree like kopf's or kubernetes' (field tests):
/// the deployment configuration, never a documentation example, a fixture inside a source tree
/// (even one with a kustomization) or an end-to-end suite; and no pack at all when the only
/// manifests are CRDs.
#[test]
fn init_audits_deployment_config_not_examples_fixtures_or_e2e() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: nginx:latest\n"
        )
    };
    write(r, "README.md", "# op\n\n## Usage\n\nRun it.\n");
    write(r, "deploy/operator.yaml", deployment("operator"));
    write(r, "docs/deployment-depl.yaml", deployment("docs-example"));
    write(
        r,
        "staging/src/k8s.io/cli-runtime/artifacts/kustomization/deployment.yaml",
        deployment("fixture"),
    );
    write(
        r,
        "staging/src/k8s.io/cli-runtime/artifacts/kustomization/kustomization.yaml",
        "resources:\n  - deployment.yaml\n",
    );
    write(
        r,
        "cluster/conformance/conformance-e2e.yaml",
        deployment("e2e"),
    );
    let (code, _, stderr) = run(r, &["init"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    assert!(
        text.contains("include = [\"builtin:k8s-hardening\"]"),
        "{text}"
    );
    assert!(
        text.contains("manifests = [\"deploy/**/*.{yaml,yml}\"]"),
        "{text}"
    );
    let (_, bundle, stderr) = audit(r, &["--skip-commands"]);
    let flagged: Vec<&str> = bundle["report"]["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{stderr}"))
        .iter()
        .filter(|f| f["rule"].as_str().unwrap_or("").starts_with("k8s-"))
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(!flagged.is_empty(), "the operator's gaps are found");
    assert!(
        flagged.iter().all(|p| *p == "deploy/operator.yaml"),
        "{flagged:?}"
    );

    // Only a CRD: nothing for the hardening pack to check, so no pack.
    let crd_only = tempfile::tempdir().unwrap();
    write(
        crd_only.path(),
        "peering.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x.example.com\n",
    );
    write(
        crd_only.path(),
        "docs/deployment-depl.yaml",
        deployment("docs-example"),
    );
    let (code, _, stderr) = run(crd_only.path(), &["init"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(crd_only.path().join("shipshape.toml")).unwrap();
    assert!(!text.contains("builtin:k8s-hardening"), "{text}");
}

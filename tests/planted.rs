//! `init` + `audit` on a service repository it has never seen, with one gap planted for every
//! rule of the packs `init` picks (builtin:service and the builtin:k8s-hardening it brings) and,
//! beside each, the decoys a careless reader would flag: the same words in code blocks, inline
//! code, history tables, templates, tests, test data, examples and non-runtime files. Every
//! planted gap must be found where it was planted; no finding may point at a decoy.

mod support;

use support::{git, git_at, write};

use std::path::Path;

use assert_cmd::Command;

const NOW: &str = "2026-11-26T12:00:00Z";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// The compliant parts: what a finished service of this shape holds.
fn finished_service(r: &Path) {
    write(r, ".gitignore", "out/\n");
    write(r, "LICENSE", "MIT License\n");
    write(
        r,
        "CONTRIBUTING.md",
        "# Contributing\n\nOpen a pull request.\n",
    );
    write(r, ".github/CODEOWNERS", "* @platform\n");
    write(r, ".github/pull_request_template.md", "## What\n\n## Why\n");
    write(r, ".github/ISSUE_TEMPLATE/bug.md", "# Bug\n\nSteps:\n");
    write(
        r,
        "pyproject.toml",
        "[project]\nname = \"svc\"\nversion = \"1.2.0\"\n",
    );
    write(r, "svc/__init__.py", "__version__ = \"1.2.0\"\n");
    // A dependency pin and a base image are version-like, not release versions.
    write(r, "requirements.txt", "flask==3.0.3\n");
    write(r, "Dockerfile", "FROM python:3.12-slim\nCOPY . /app\n");
    write(
        r,
        "CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-11-20\n\n- Rollout order documented.\n\n## [1.1.0] - 2026-08-01\n\n| date | status |\n|---|---|\n| 2026-07-30 | TBD |\n",
    );
    write(
        r,
        "docs/runbooks/disaster-recovery.md",
        "# Disaster recovery\n\n## Restore\n\nRestore the ConfigMaps, then roll out. Recovery time objective: TBD.\n\n```sh\nkubectl apply -f backup-<fill-me>.yaml\n```\n",
    );
    write(
        r,
        "docs/operations-artifacts/security-controls-validation.md",
        "# Security controls validation\n\nStatus: APPROVED\n\n| Control | Result |\n|---|---|\n| Encryption at rest | PASS |\n| Audit-log sink | <fill-me> |\n",
    );
}

/// The Kubernetes side: a hardened `web` with its budget, autoscaler and default-deny policy,
/// and `api`, which plants a gap for each hardening rule.
fn manifests(r: &Path) {
    write(
        r,
        "k8s/base/web.yaml",
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile: {{type: RuntimeDefault}}\n      containers:\n        - name: web\n          image: registry.example.com/svc@{DIGEST}\n          securityContext:\n            readOnlyRootFilesystem: true\n            allowPrivilegeEscalation: false\n            capabilities: {{drop: [ALL]}}\n          resources:\n            requests: {{cpu: 100m, memory: 64Mi}}\n            limits: {{cpu: 500m, memory: 128Mi}}\n          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}}}\n          livenessProbe: {{httpGet: {{path: /live, port: 8080}}}}\n"
        ),
    );
    write(
        r,
        "k8s/base/api.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels:\n    app.kubernetes.io/version: \"1.1.9\"\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      containers:\n        - name: api\n          image: registry.example.com/api:latest\n          securityContext:\n            privileged: true\n",
    );
    write(
        r,
        "k8s/base/policy.yaml",
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\nspec:\n  minAvailable: 1\n  selector:\n    matchLabels: {app: web}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: web\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 2\n  maxReplicas: 4\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: api\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}\n  minReplicas: 1\n  maxReplicas: 4\n",
    );
    write(
        r,
        "k8s/base/kustomization.yaml",
        "resources:\n  - web.yaml\n  - api.yaml\n  - policy.yaml\n",
    );
    write(
        r,
        "k8s/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nnamespace: svc-prod\n",
    );
    // Decoys: the same gaps where nothing ships.
    // (A documentation example, a fixture inside a source tree and an end-to-end suite, as
    // kopf's docs/deployment-depl.yaml, kubernetes' staging/…/artifacts/ and its conformance
    // Pod.)
    for decoy in [
        "k8s/tests/bad.yaml",
        "examples/k8s/bad.yaml",
        "testdata/bad.yaml",
        "docs/deployment-example.yaml",
        "pkg/client/artifacts/kustomization/deployment.yaml",
        "k8s/conformance-e2e.yaml",
    ] {
        write(
            r,
            decoy,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: decoy\nspec:\n  template:\n    spec:\n      containers:\n        - name: d\n          image: nginx:latest\n",
        );
    }
}

/// The planted gaps of the documents, artifacts, reports and code, with their decoys beside.
fn planted_documents(r: &Path) {
    write(
        r,
        "README.md",
        "# svc\n\nThe API is TBD.\n\n## Deploy\n\n```sh\nhelm install svc --set webhook=<your-webhook-url> # TBD\n```\n\nRun `TBD` only in examples.\n\n<!-- TBD: a comment no reader sees -->\n",
    );
    write(
        r,
        "docs/guide.md",
        "# Guide\n\nThe retention period is <fill-me>.\n\nSee [setup](missing.md) and [run](javascript:alert(1)).\n\n```md\n[not a link](nowhere.md) <fill-me>\n```\n\n`javascript:void(0)` is inline code.\n\nWe talk about escalation here, in prose.\n",
    );
    write(
        r,
        "docs/operations.md",
        "# Operations\n\n## Deploy\n\nApply the overlay.\n\n## Upgrade\n\nBump the tag.\n\n## Rollback\n\nRoll back the Deployment. Escalation is described elsewhere.\n",
    );
    write(
        r,
        "tests/fixtures/README.md",
        "# Fixture\n\nTBD <fill-me> [broken](gone.md)\n",
    );
    write(
        r,
        "examples/README.md",
        "# Example\n\n[broken](gone.md) TBD\n",
    );
    write(
        r,
        "docs/operations-artifacts/dr-drill-20261101.md",
        "# DR drill\n\nStatus: PENDING_EXECUTION\n\n## History\n\n| quarter | status |\n|---|---|\n| 2026-Q2 | COMPLETED |\n",
    );
    write(
        r,
        "docs/operations-artifacts/capacity-baselines.md",
        "# Capacity baseline\n\nStatus: BLOCKED\n\nThroughput: 400 rps at p99 120 ms.\n",
    );
    write(
        r,
        "docs/operations-artifacts/final-production-readiness-audit-20260101.md",
        "# Audit\n\nVerdict: NOT APPROVED\n",
    );
    write(
        r,
        "evidence/coverage.xml",
        "<coverage line-rate=\"0.7\" lines-valid=\"10\" lines-covered=\"7\" timestamp=\"1779000000\"></coverage>\n",
    );
    write(
        r,
        "evidence/junit.xml",
        "<testsuite name=\"t\" tests=\"3\" failures=\"1\" errors=\"0\" timestamp=\"2026-11-20T10:00:00\"><testcase name=\"a\"/><testcase name=\"b\"/><testcase name=\"c\"><failure message=\"boom\"/></testcase></testsuite>\n",
    );
    write(
        r,
        ".trivyignore",
        "# owner: platform\n# justification: not reachable, no network listener\n# expires: 2027-03-31\nCVE-2026-0001\n\nCVE-2026-0002\n",
    );
    write(
        r,
        "svc/app.py",
        "import os\n\nMARKER = \"TODO: a string, not a comment\"\n\n\ndef handler():\n    \"\"\"TODO in a docstring is text.\"\"\"\n    # TODO: validate the payload\n    return os.environ.get(\"MODE\", \"TODO\")\n",
    );
    write(
        r,
        "tests/test_app.py",
        "# TODO: more cases\nimport unittest\n\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertTrue(True)\n",
    );
    write(
        r,
        "docs/ci.md",
        "# CI\n\nWorkflows live in `.github/workflows/`.\n",
    );
}

/// (rule, file, text the finding's key or message holds): one per rule of the packs.
const PLANTED: &[(&str, &str, &str)] = &[
    ("readme-complete", "README.md", "TBD"),
    ("docs-free-of-placeholders", "docs/guide.md", "<fill-me>"),
    ("markdown-links", "docs/guide.md", "missing.md"),
    ("markdown-links-safe", "docs/guide.md", "javascript:"),
    ("dr-runbook", "docs/runbooks/disaster-recovery.md", "TBD"),
    (
        "dr-drill-executed",
        "docs/operations-artifacts/dr-drill-20261101.md",
        "PENDING_EXECUTION",
    ),
    ("cve-suppressions-governed", ".trivyignore", "CVE-2026-0002"),
    (
        "security-controls-validated",
        "docs/operations-artifacts/security-controls-validation.md",
        "<fill-me>",
    ),
    ("security-policy", "SECURITY.md", ""),
    ("coverage-threshold", "evidence/coverage.xml", ""),
    ("recorded-tests-pass", "evidence/junit.xml", ""),
    ("operations-runbook", "docs/operations.md", ""),
    (
        "capacity-baseline-approved",
        "docs/operations-artifacts/capacity-baselines.md",
        "BLOCKED",
    ),
    (
        "readiness-audit-current",
        "docs/operations-artifacts/final-production-readiness-audit-20260101.md",
        "",
    ),
    ("version-coherent", "k8s/base/api.yaml", "1.1.9"),
    ("ci-workflow", ".github/workflows/*.yml", ""),
    ("release-tag-annotated", "", "v1.2.0"),
    ("no-unfinished-markers", "svc/app.py", "TODO"),
    ("standard-files", "CODE_OF_CONDUCT.md", ""),
    ("k8s-run-as-non-root", "k8s/base/api.yaml", "api"),
    ("k8s-read-only-root-filesystem", "k8s/base/api.yaml", "api"),
    ("k8s-drop-all-capabilities", "k8s/base/api.yaml", "api"),
    ("k8s-seccomp-runtime-default", "k8s/base/api.yaml", "api"),
    ("k8s-no-privileged", "k8s/base/api.yaml", "api"),
    ("k8s-resources", "k8s/base/api.yaml", "api"),
    ("k8s-probes", "k8s/base/api.yaml", "api"),
    ("k8s-no-latest-tag", "k8s/base/api.yaml", "api"),
    ("k8s-images-pinned-by-digest", "k8s/base/api.yaml", "api"),
    ("k8s-pdb-coverage", "k8s/base/api.yaml", "api"),
    ("k8s-hpa-targets", "k8s/base/policy.yaml", "api"),
    (
        "k8s-default-deny-network-policy",
        "k8s/base/api.yaml",
        "api",
    ),
];

/// Files whose every word is a decoy: no finding may point into them.
const DECOY_FILES: &[&str] = &[
    "tests/fixtures/README.md",
    "examples/README.md",
    "tests/test_app.py",
    "k8s/tests/bad.yaml",
    "examples/k8s/bad.yaml",
    "testdata/bad.yaml",
    "docs/deployment-example.yaml",
    "pkg/client/artifacts/kustomization/deployment.yaml",
    "k8s/conformance-e2e.yaml",
    "CHANGELOG.md",
    "Dockerfile",
    "requirements.txt",
    "docs/ci.md",
    "k8s/base/web.yaml",
];

/// Lines of planted files that hold only decoys: (file, line).
const DECOY_LINES: &[(&str, u64)] = &[
    ("README.md", 8),      // TBD and a placeholder URL in a fenced example
    ("README.md", 11),     // `TBD` as inline code
    ("README.md", 13),     // an HTML comment
    ("docs/guide.md", 8),  // a link and a placeholder in a fenced example
    ("docs/guide.md", 11), // javascript: as inline code
    ("svc/app.py", 3),     // a string
    ("svc/app.py", 7),     // a docstring
    ("svc/app.py", 9),     // a string argument
    ("docs/runbooks/disaster-recovery.md", 8), // a placeholder in a fenced command
    (".trivyignore", 4),   // a governed suppression
];

#[test]
fn init_and_audit_find_every_planted_gap_and_no_decoy() {
    if !support::have_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    finished_service(r);
    manifests(r);
    planted_documents(r);
    git(r, &["init", "-q", "-b", "main"]);
    git(r, &["add", "-A"]);
    git_at(
        r,
        "2026-11-20T09:00:00Z",
        &["commit", "-q", "-m", "service"],
    );
    // Decoy: an older lightweight tag is the previous release. Planted: the release's own tag
    // is lightweight.
    git(r, &["tag", "v1.1.0"]);
    git(r, &["tag", "v1.2.0"]);

    let init = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(r)
        .arg("init")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let policy = std::fs::read_to_string(r.join("shipshape.toml")).unwrap();
    assert!(
        policy.contains("include = [\"builtin:service\"]"),
        "{policy}"
    );
    git(r, &["add", "shipshape.toml"]);
    git_at(r, "2026-11-20T10:00:00Z", &["commit", "-q", "-m", "gate"]);

    let run = support::audit_at(r, NOW, &["--skip-commands"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = run.bundle["report"]["findings"].as_array().unwrap();
    let mut problems = Vec::new();
    for (rule, file, key) in PLANTED {
        let status = run.outcome(rule)["status"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        if status != "fail" {
            problems.push(format!("{rule}: {status}, expected fail"));
            continue;
        }
        let found = run.findings(rule).iter().any(|f| {
            let at = f["path"].as_str().unwrap_or("");
            let said = format!("{} {}", f["text"].as_str().unwrap_or(""), f["message"]);
            // A missing file with alternatives is reported at `A | B | C`.
            (file.is_empty() || at == *file || at.starts_with(&format!("{file} |")))
                && said.contains(key)
        });
        if !found {
            problems.push(format!(
                "{rule}: no finding at {file} naming {key:?}: {:#?}",
                run.findings(rule)
            ));
        }
    }
    for f in findings {
        let at = f["path"].as_str().unwrap_or("");
        let line = f["line"].as_u64().unwrap_or(0);
        // `web` is hardened; only the namespace it shares with `api` lacks a default-deny policy.
        let namespace_gap = f["rule"] == "k8s-default-deny-network-policy";
        if (DECOY_FILES.contains(&at) && !(namespace_gap && at == "k8s/base/web.yaml"))
            || DECOY_LINES.contains(&(at, line))
        {
            problems.push(format!("decoy flagged: {f}"));
        }
    }
    assert!(problems.is_empty(), "{}\n\n{}", problems.join("\n"), run.md);
}

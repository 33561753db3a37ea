//! Keeps `builtin:shipshape` (and the `builtin:service` it includes) honest: for every rule, the smallest change to the bundled example
//! that should flip it (fix a gap, or break a passing check) flips exactly that rule and nothing
//! else. A rule tuned to the example's exact bytes, or one that cannot fail, breaks this test.

mod support;

use support::write;

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const NOW: &str = "2026-11-26T12:00:00Z";

fn outcomes(root: &Path, extra: &[&str]) -> BTreeMap<String, String> {
    let out = tempfile::tempdir().unwrap();
    let res = Command::cargo_bin("shipshape")
        .unwrap()
        .current_dir(root)
        .args([
            "audit", ".", "--now", NOW, "-q", "--format", "json", "--out",
        ])
        .arg(out.path())
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(res.status.code(), Some(0 | 1)),
        "audit failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    bundle["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["rule"].as_str().unwrap().to_string(),
                format!(
                    "{}{}",
                    o["status"].as_str().unwrap(),
                    // Keep the sentence of failures so an unexpected flip explains itself.
                    if o["status"] == "fail" {
                        format!(" ({})", o["sentence"].as_str().unwrap_or(""))
                    } else {
                        String::new()
                    }
                ),
            )
        })
        .collect()
}

fn status(s: &str) -> &str {
    s.split(' ').next().unwrap_or(s)
}

fn edit(root: &Path, rel: &str, f: impl FnOnce(String) -> String) {
    let p = root.join(rel);
    let before = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let after = f(before.clone());
    assert_ne!(before, after, "the edit of {rel} changed nothing");
    std::fs::write(p, after).unwrap();
}

fn replace(root: &Path, rel: &str, from: &str, to: &str) {
    edit(root, rel, |s| s.replace(from, to));
}

fn remove(root: &Path, rel: &str) {
    std::fs::remove_file(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
}

/// Every Markdown file under `root`, relative.
fn markdown_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            markdown_files(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// Apply `f` to every Markdown file (the docs' links must follow a rename or a removal).
fn each_markdown(root: &Path, f: impl Fn(String) -> String) {
    let mut files = Vec::new();
    markdown_files(root, root, &mut files);
    for rel in files {
        let p = root.join(&rel);
        let before = std::fs::read_to_string(&p).unwrap();
        let after = f(before.clone());
        if after != before {
            std::fs::write(p, after).unwrap();
        }
    }
}

/// Remove a file and turn every Markdown link to it into plain text, as an author would.
fn remove_and_unlink(root: &Path, rel: &str) {
    remove(root, rel);
    let name = regex::escape(rel.rsplit('/').next().unwrap());
    let re = regex::Regex::new(&format!(r"\[([^\]]*)\]\(([^)]*{name}[^)]*)\)")).unwrap();
    each_markdown(root, |s| re.replace_all(&s, "$1").into_owned());
}

/// Rename a heading and every `#anchor` that pointed at it.
fn rename_heading(root: &Path, rel: &str, from: &str, to: &str) {
    let slug = |h: &str| shipshape::collect::artifact::github_slug(h);
    let (old_anchor, new_anchor) = (format!("#{}", slug(from)), format!("#{}", slug(to)));
    replace(root, rel, &format!("## {from}"), &format!("## {to}"));
    each_markdown(root, |s| {
        s.replace(&format!("{old_anchor})"), &format!("{new_anchor})"))
    });
}

type Mutation = fn(&Path);

/// rule id → the smallest change that should flip it on the example.
fn cases() -> Vec<(&'static str, Mutation)> {
    vec![
        ("readme-complete", |r| {
            rename_heading(r, "README.md", "Deployment order", "Rollout order")
        }),
        ("docs-free-of-placeholders", |r| {
            edit(r, "docs/dev/DEBUGGING.md", |s| s + "\nOwner: TBD\n")
        }),
        ("adrs-have-status", |r| {
            replace(
                r,
                "docs/ADR/0001-configmap-hash-annotation-restarts.md",
                "Status: Accepted",
                "Accepted.",
            )
        }),
        ("metrics-endpoints", |r| {
            replace(r, "app/src/main.py", "\"/metrics\"", "\"/\" \"metrics\"");
            replace(
                r,
                "controller/src/health.py",
                "\"/metrics\"",
                "\"/\" \"metrics\"",
            );
        }),
        ("log-redaction", |r| {
            for f in [
                "app/src/logging_setup.py",
                "controller/src/logging_setup.py",
            ] {
                edit(r, f, |s| {
                    s.replace("redact", "scrub")
                        .replace("Redact", "Scrub")
                        .replace("REDACT", "SCRUB")
                });
            }
        }),
        ("controller-tracing", |r| {
            edit(r, "controller/src/controller.py", |s| {
                s + "\n# OpenTelemetry tracer, installed by the tracing bootstrap when enabled.\nTRACER = None\n"
            })
        }),
        ("alert-runbooks", |r| {
            replace(
                r,
                "k8s/overlays/prod/monitoring.yaml",
                "runbook_url",
                "runbook",
            )
        }),
        ("dr-runbook", |r| {
            remove_and_unlink(r, "docs/runbooks/disaster-recovery.md")
        }),
        ("dr-drill-executed", |r| {
            write(
                r,
                "docs/operations-artifacts/dr-drill-20261120.md",
                "# DR drill 2026-11-20\n\nStatus: COMPLETED\n\nAPI recovery time: 6 min\nWorkload recovery time: 9 min\n",
            )
        }),
        ("autoscaling-and-disruption-budget", |r| {
            // As an author would: the file and its entry in the kustomization.
            remove(r, "k8s/overlays/prod/hpa.yaml");
            replace(
                r,
                "k8s/overlays/prod/kustomization.yaml",
                "  - hpa.yaml\n",
                "",
            );
        }),
        ("backup-procedure", |r| {
            remove(r, "scripts/backup-configmaps.sh")
        }),
        ("pod-hardening", |r| {
            for f in [
                "k8s/base/app/deployment.yaml",
                "k8s/base/controller/deployment.yaml",
            ] {
                edit(r, f, |s| {
                    s.replace("runAsNonRoot: true", "runAsNonRoot: false")
                });
            }
        }),
        ("rbac-least-privilege", |r| {
            replace(
                r,
                "k8s/base/controller/role.yaml",
                "kind: Role",
                "kind: ClusterRole",
            )
        }),
        ("network-policies", |r| {
            remove(r, "k8s/base/networkpolicies.yaml");
            replace(
                r,
                "k8s/base/kustomization.yaml",
                "  - networkpolicies.yaml\n",
                "",
            );
        }),
        ("cve-suppressions-governed", |r| {
            edit(r, ".trivyignore", |s| {
                s.replacen("# expires: 2027-03-31", "# expires: 2026-01-31", 1)
            })
        }),
        ("security-controls-validated", |r| {
            write(
                r,
                "docs/operations-artifacts/security-controls-validation.md",
                "# Security controls validation\n\nStatus: APPROVED\n\n| Control | Environment | Result |\n|---|---|---|\n| Encryption at rest | prod | PASS |\n| Audit-log sink | prod | PASS |\n",
            )
        }),
        ("controller-egress-handoff", |r| {
            write(
                r,
                "docs/operations-artifacts/controller-egress-handoff.md",
                "# Controller egress handoff\n\nStatus: APPROVED\n\nSelected patch: private-control-plane.patch.yaml\nReviewer: sre-lead\nReview date: 2026-11-20\n",
            )
        }),
        ("security-policy", |r| remove_and_unlink(r, "SECURITY.md")),
        ("coverage-threshold", |r| {
            replace(
                r,
                "evidence/coverage.xml",
                "lines-covered=\"950\"",
                "lines-covered=\"700\"",
            )
        }),
        ("recorded-tests-pass", |r| {
            edit(r, "evidence/junit.xml", |s| {
                let at = s.find("<testsuite ").unwrap();
                let (head, tail) = s.split_at(at);
                format!(
                    "{head}{}",
                    tail.replacen("failures=\"0\"", "failures=\"1\"", 1)
                )
            })
        }),
        ("debugging-guide", |r| {
            remove_and_unlink(r, "docs/dev/DEBUGGING.md")
        }),
        ("pre-commit-hooks", |r| {
            write(
                r,
                ".pre-commit-config.yaml",
                "repos:\n  - repo: local\n    hooks: []\n",
            )
        }),
        ("operations-runbook", |r| {
            rename_heading(r, "docs/operations.md", "Rollback", "Reverting a release")
        }),
        ("capacity-baseline-approved", |r| {
            write(
                r,
                "docs/operations-artifacts/capacity-baselines.md",
                "# Capacity baselines\n\nStatus: APPROVED\n\n| Metric | Result |\n|---|---|\n| Sustained throughput | 850 rps |\n| Latency p95 | 42 ms |\n",
            )
        }),
        ("readiness-audit-current", |r| {
            write(
                r,
                "docs/operations-artifacts/final-production-readiness-audit-20261126.md",
                "# Final Comprehensive Technical Audit\n\nFinal verdict: NOT APPROVED\n",
            )
        }),
        ("version-coherent", |r| {
            replace(r, "controller/src/version.py", "0.2.2", "0.2.3")
        }),
        ("release-tag-annotated", |r| {
            // A lightweight tag for the version: no tagger, no message, cannot be signed.
            support::git(r, &["tag", "v0.2.2"])
        }),
        ("immutable-prod-images", |r| {
            edit(r, "k8s/overlays/prod/kustomization.yaml", |s| {
                regex_lite_replace_digests(&s)
            })
        }),
        ("ci-workflow", |r| remove(r, ".github/workflows/ci.yml")),
        ("no-unfinished-markers", |r| {
            edit(r, "app/src/main.py", |s| {
                s + "\n# TODO: drop the legacy route\n"
            })
        }),
        ("global-error-handler", |r| {
            replace(r, "app/src/main.py", "internal_error", "server_fault")
        }),
        ("standard-files", |r| {
            remove_and_unlink(r, "CODE_OF_CONDUCT.md")
        }),
        ("tooling-files", |r| remove(r, ".editorconfig")),
        ("env-vars-documented", |r| {
            edit(r, "docs/reference/configuration.md", |s| {
                s.lines()
                    .filter(|l| !l.starts_with("| `LEASE_NAME`"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            })
        }),
        ("markdown-links", |r| {
            edit(r, "docs/dev/DEBUGGING.md", |s| {
                s + "\nSee also [the old guide](../old/DEBUGGING.md#setup).\n"
            })
        }),
        ("markdown-links-safe", |r| {
            edit(r, "docs/dev/DEBUGGING.md", |s| {
                s + "\nReload the [status page](javascript:location.reload()).\n"
            })
        }),
        ("docs-drift", |r| {
            // The configuration code changes in a later commit; its reference does not.
            edit(r, "app/src/config.py", |s| s + "\n");
            support::git_at(
                r,
                "2026-03-02T09:00:00Z",
                &["commit", "-q", "-am", "config: tune"],
            )
        }),
        ("deployment-order-documented", |r| {
            // The controller's Deployment listed before the app's: the README rolls out the app
            // first.
            replace(
                r,
                "k8s/base/kustomization.yaml",
                "  - app/deployment.yaml\n",
                "",
            );
            replace(
                r,
                "k8s/base/kustomization.yaml",
                "  - controller/service.yaml\n",
                "  - controller/service.yaml\n  - app/deployment.yaml\n",
            );
        }),
        ("routes-documented", |r| {
            replace(r, "README.md", "`/leadz`", "the leadership endpoint")
        }),
    ]
}

/// `digest: sha256:…` → `newTag: "0.2.2"`.
fn regex_lite_replace_digests(s: &str) -> String {
    s.lines()
        .map(|l| {
            if let Some(i) = l.find("digest: sha256:") {
                format!("{}newTag: \"0.2.2\"\n", &l[..i])
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

fn builtin_rule_ids() -> Vec<String> {
    let text = concat!(
        include_str!("../policies/service.toml"),
        include_str!("../policies/shipshape.toml")
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("id = \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .filter(|id| {
            // Area ids are declared in [[area]] tables; rule ids are the rest.
            !text.contains(&format!("[[area]]\nid = \"{id}\""))
        })
        .collect()
}

#[test]
fn every_builtin_shipshape_rule_flips_alone() {
    let cases = cases();
    let ids = builtin_rule_ids();
    let covered: Vec<&str> = cases.iter().map(|(id, _)| *id).collect();
    for id in &ids {
        assert!(
            covered.contains(&id.as_str()),
            "rule `{id}` of builtin:shipshape has no flip case"
        );
    }

    let base_dir = support::copy_example();
    // The builtin policy alone: the example's own policy adds rules (commands, the hardening
    // pack) that read the same files and are kept honest by their own tests.
    // The example's own policy without its commands: builtin:shipshape (with builtin:service)
    // plus the example's own rules. The hardening packs' rules read the same manifests and are
    // kept honest rule by rule by tests/k8s_hardening.rs, so they are left out of "alone".
    let only = ["--skip-commands"];
    let baseline = outcomes(base_dir.path(), &only);
    let mut problems = Vec::new();
    for (rule, mutate) in cases {
        let dir = support::copy_example();
        mutate(dir.path());
        let after = outcomes(dir.path(), &only);
        let changed: Vec<String> = baseline
            .iter()
            .filter(|(id, _)| !id.starts_with("k8s-"))
            .filter(|(id, st)| after.get(*id).map(|a| status(a)) != Some(status(st)))
            .map(|(id, st)| format!("{id}: {st} → {}", after.get(id).map_or("?", |s| s)))
            .collect();
        let flipped_alone = changed.len() == 1 && changed[0].starts_with(&format!("{rule}: "));
        let real_flip = matches!(
            (status(&baseline[rule]), status(&after[rule])),
            ("pass", "fail") | ("fail", "pass")
        );
        if !(flipped_alone && real_flip) {
            problems.push(format!("flipping `{rule}` changed: {changed:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_failing_test_suite_flips_the_example_test_rule() {
    let dir = support::copy_example();
    let before = outcomes(dir.path(), &[]);
    assert_eq!(status(&before["unit-tests-pass"]), "pass");
    write(
        dir.path(),
        "tests/app/test_zz_broken.py",
        "import unittest\n\n\nclass Broken(unittest.TestCase):\n    def test_fails(self):\n        self.assertEqual(1, 2)\n",
    );
    let after = outcomes(dir.path(), &[]);
    assert_eq!(status(&after["unit-tests-pass"]), "fail");
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| status(&before[*k]) != status(&after[*k]))
        .collect();
    assert_eq!(changed, vec!["unit-tests-pass"]);
}

/// Every file under `root` (outside `.git`) with its bytes, relative.
fn snapshot(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_name() == ".git" {
            continue;
        }
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            snapshot(root, &p, out);
        } else if ft.is_file() {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// Ways a committer could hide the change that breaks a rule, so that it is not read.
const HIDINGS: &[&str] = &[
    "oversize",
    "nul-byte",
    "ignore-files",
    "symlink-out",
    "corrupt-yaml",
    "future-commit",
];

/// Apply one hiding to the changed file `rel` (its passing content was `before`), then commit.
/// Returns the extra audit flags the hiding needs, or `None` when it does not apply.
fn hide(
    root: &Path,
    rel: &str,
    before: Option<&[u8]>,
    how: &str,
    outside: &Path,
) -> Option<Vec<&'static str>> {
    let p = root.join(rel);
    let mut extra = Vec::new();
    let mut date = "2026-02-11T09:00:00Z";
    match how {
        "oversize" => {
            let mut bytes = std::fs::read(&p).unwrap();
            bytes.extend(std::iter::repeat_n(b'\n', 300_000));
            std::fs::write(&p, bytes).unwrap();
            extra.push("--max-file-bytes");
            extra.push("200000");
        }
        "nul-byte" => {
            let mut bytes = vec![0u8, b'\n'];
            bytes.extend(std::fs::read(&p).unwrap());
            std::fs::write(&p, bytes).unwrap();
        }
        "ignore-files" => {
            for ig in [".gitignore", ".ignore"] {
                let mut text = std::fs::read_to_string(root.join(ig)).unwrap_or_default();
                text.push_str(&format!("\n/{rel}\n"));
                std::fs::write(root.join(ig), text).unwrap();
            }
        }
        "symlink-out" => {
            // The link points at the passing version, kept outside the repository.
            let target = outside.join(rel.replace('/', "_"));
            std::fs::write(&target, before?).unwrap();
            std::fs::remove_file(&p).unwrap();
            std::os::unix::fs::symlink(&target, &p).unwrap();
        }
        "corrupt-yaml" => {
            if !(rel.ends_with(".yaml") || rel.ends_with(".yml")) {
                return None;
            }
            let mut text = std::fs::read_to_string(&p).unwrap();
            text.push_str("\n---\nkind: Deployment\nmetadata: [unclosed\n");
            std::fs::write(&p, text).unwrap();
        }
        "future-commit" => date = "2027-06-01T00:00:00Z",
        _ => unreachable!(),
    }
    support::git(root, &["add", "-A", "-f"]);
    support::git_at(root, date, &["commit", "-q", "--allow-empty", "-m", how]);
    Some(extra)
}

/// Evidence completeness, rule by rule (issue 14): for every rule of `builtin:shipshape`
/// whose flip case breaks it, hide the file that broke it in each way a committer could (too
/// big, a NUL byte, listed in ignore files, a symlink out to the passing version, a YAML
/// document that does not parse, a commit dated in the future). The rule must end fail or
/// pending — never pass.
#[test]
fn hiding_the_breaking_change_never_passes() {
    let only = ["--skip-commands"];
    let base_dir = support::copy_example();
    let baseline = outcomes(base_dir.path(), &only);
    let mut before = BTreeMap::new();
    snapshot(base_dir.path(), base_dir.path(), &mut before);
    let cases: Vec<(&str, Mutation)> = cases()
        .into_iter()
        .filter(|(rule, _)| status(&baseline[*rule]) == "pass")
        .collect();
    assert!(cases.len() >= 20, "only {} breaking cases", cases.len());
    let problems = std::sync::Mutex::new(Vec::new());
    let checked = std::sync::atomic::AtomicUsize::new(0);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((rule, mutate)) = cases.get(i) else {
                        break;
                    };
                    let probe = support::copy_example();
                    mutate(probe.path());
                    let mut after = BTreeMap::new();
                    snapshot(probe.path(), probe.path(), &mut after);
                    let changed: Vec<&String> = after
                        .keys()
                        .filter(|k| before.get(*k) != after.get(*k))
                        .collect();
                    for how in HIDINGS {
                        for rel in &changed {
                            let dir = support::copy_example();
                            mutate(dir.path());
                            let outside = tempfile::tempdir().unwrap();
                            let prior = before.get(*rel).map(Vec::as_slice);
                            let Some(extra) = hide(dir.path(), rel, prior, how, outside.path())
                            else {
                                continue;
                            };
                            let mut args: Vec<&str> = only.to_vec();
                            args.extend(extra);
                            let got = outcomes(dir.path(), &args);
                            checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if status(&got[*rule]) == "pass" {
                                problems.lock().unwrap().push(format!(
                                    "`{rule}` passes when `{rel}` is hidden by {how}"
                                ));
                            }
                        }
                    }
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    let checked = checked.into_inner();
    eprintln!(
        "{checked} hidings of {} breaking changes tried",
        cases.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 100, "too few hidings were tried");
}

/// A compliant service repository for the general packs (builtin:default and
/// builtin:k8s-hardening over plain manifests), committed.
fn general_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let digest = "a".repeat(64);
    write(
        r,
        "shipshape.toml",
        "include = [\"builtin:default\", \"builtin:k8s-hardening\"]\n\n[cluster]\nmanifests = [\"k8s\"]\n",
    );
    write(r, "README.md", "# Web\n\n## Usage\n\nRun it.\n");
    write(
        r,
        "CHANGELOG.md",
        "# Changelog\n\n## 1.2.3\n\n- First release.\n",
    );
    for f in ["LICENSE", "SECURITY.md", "CONTRIBUTING.md", "CODEOWNERS"] {
        write(r, f, "x\n");
    }
    write(r, ".gitignore", "out/\n");
    write(r, "src/app.py", "def main():\n    return 0\n");
    write(
        r,
        "k8s/app.yaml",
        format!(
            "apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
      - name: web
        image: ghcr.io/acme/web:1.2.3@sha256:{digest}
        securityContext: {{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}}}
        resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{memory: 256Mi}}}}
        livenessProbe: {{httpGet: {{path: /healthz, port: 8080}}}}
        readinessProbe: {{httpGet: {{path: /readyz, port: 8080}}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: shop
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: web
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web, namespace: shop}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 2
  maxReplicas: 4
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny, namespace: shop}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
"
        ),
    );
    support::git(r, &["init", "-q", "-b", "main"]);
    support::git(r, &["add", "-A"]);
    support::git(r, &["commit", "-q", "-m", "web 1.2.3"]);
    dir
}

/// The same as `hiding_the_breaking_change_never_passes`, for the general packs: each rule's
/// breaking edit, hidden six ways, never passes (issue 14: every rule of every shipped policy
/// that a file can break).
#[test]
fn hiding_a_breaking_change_never_passes_in_the_general_packs() {
    let yaml = "k8s/app.yaml";
    let edits: &[(&str, &str, &str, &str)] = &[
        ("readme-complete", "README.md", "## Usage", "Usage"),
        ("changelog-maintained", "CHANGELOG.md", "## 1.2.3", "1.2.3"),
        (
            "no-unfinished-markers",
            "src/app.py",
            "return 0",
            "return 0  # TODO: retries",
        ),
        (
            "k8s-run-as-non-root",
            yaml,
            "runAsNonRoot: true",
            "runAsNonRoot: false",
        ),
        (
            "k8s-read-only-root-filesystem",
            yaml,
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ),
        (
            "k8s-drop-all-capabilities",
            yaml,
            "drop: [ALL]",
            "drop: [NET_RAW]",
        ),
        (
            "k8s-seccomp-runtime-default",
            yaml,
            "type: RuntimeDefault",
            "type: Unconfined",
        ),
        (
            "k8s-no-privileged",
            yaml,
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        ),
        (
            "k8s-resources",
            yaml,
            "limits: {memory: 256Mi}",
            "limits: {}",
        ),
        ("k8s-probes", yaml, "livenessProbe:", "startupProbe:"),
        (
            "k8s-no-latest-tag",
            yaml,
            "web:1.2.3@sha256:",
            "web:latest # sha256:",
        ),
        (
            "k8s-images-pinned-by-digest",
            yaml,
            "web:1.2.3@sha256:",
            "web:1.2.3 # sha256:",
        ),
        (
            "k8s-pdb-coverage",
            yaml,
            "    matchLabels:\n      app: web",
            "    matchLabels:\n      app: other",
        ),
        ("k8s-hpa-targets", yaml, "minReplicas: 2", "minReplicas: 1"),
        (
            "k8s-default-deny-network-policy",
            yaml,
            "policyTypes: [Ingress, Egress]",
            "policyTypes: [Egress]",
        ),
    ];
    let base = general_fixture();
    let baseline = outcomes(base.path(), &[]);
    let mut problems = Vec::new();
    let mut tried = 0;
    for (rule, file, from, to) in edits {
        assert_eq!(
            status(&baseline[*rule]),
            "pass",
            "{rule} passes on the fixture: {}",
            baseline[*rule]
        );
        let before = std::fs::read(base.path().join(file)).unwrap();
        let broken = general_fixture();
        replace(broken.path(), file, from, to);
        assert_eq!(
            status(&outcomes(broken.path(), &[])[*rule]),
            "fail",
            "{rule}: the edit breaks it"
        );
        for how in HIDINGS {
            let dir = general_fixture();
            replace(dir.path(), file, from, to);
            let outside = tempfile::tempdir().unwrap();
            let Some(extra) = hide(dir.path(), file, Some(&before), how, outside.path()) else {
                continue;
            };
            tried += 1;
            let got = outcomes(dir.path(), &extra);
            if status(&got[*rule]) == "pass" {
                problems.push(format!("`{rule}` passes when `{file}` is hidden by {how}"));
            }
        }
    }
    eprintln!("{tried} hidings of {} breaking edits tried", edits.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

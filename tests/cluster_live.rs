//! The `cluster` source with the real kube client against a loopback API server that replays
//! recorded responses (built from k8s-openapi types): discovery, a Deployment list over two
//! `continue` pages, a CRD (ServiceMonitor), a Lease by name, and 401/403/404/410/slow answers.
//! The client is pointed at it through a kubeconfig the test writes, via the real CLI
//! (`--kubeconfig`, `--context`), with an exec credential plugin for one context.

#[path = "support/apiserver.rs"]
mod apiserver;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use apiserver::{Response, Seen, Server, resources, status};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::{Value, json};

fn deployment(name: &str) -> Value {
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app.kubernetes.io/component": if name == "controller" { "controller" } else { "app" }}},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "app:1"}]}}},
        "status": {"availableReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]}
    }))
    .expect("a valid Deployment");
    serde_json::to_value(d).unwrap()
}

fn list(kind: &str, items: Vec<Value>, cont: Option<&str>) -> String {
    apiserver::list_body(kind, items, cont)
}

fn query(target: &str) -> Vec<(String, String)> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn route(req: &Seen) -> Response {
    if req.authorization.as_deref() != Some("Bearer good") {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let path = req.target.split('?').next().unwrap_or("");
    let q = query(&req.target);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match path {
        "/api" => Response::json(200, json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}).to_string()),
        "/apis" => Response::json(200, json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
            {"name": "coordination.k8s.io", "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}},
            {"name": "monitoring.coreos.com", "versions": [{"groupVersion": "monitoring.coreos.com/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "monitoring.coreos.com/v1", "version": "v1"}}
        ]}).to_string()),
        "/api/v1" => Response::json(200, resources("v1", &[("namespaces", "Namespace", false), ("pods", "Pod", true), ("secrets", "Secret", true)])),
        "/apis/apps/v1" => Response::json(200, resources("apps/v1", &[("deployments", "Deployment", true)])),
        "/apis/coordination.k8s.io/v1" => Response::json(200, resources("coordination.k8s.io/v1", &[("leases", "Lease", true)])),
        "/apis/monitoring.coreos.com/v1" => Response::json(200, resources("monitoring.coreos.com/v1", &[("servicemonitors", "ServiceMonitor", true)])),
        "/apis/apps/v1/namespaces/shop/deployments" => match get("continue") {
            None => Response::json(200, list("DeploymentList", vec![deployment("web"), deployment("worker")], Some("page-2"))),
            Some("page-2") => Response::json(200, list("DeploymentList", vec![deployment("controller")], None)),
            Some(_) => status(410, "Expired", "continue token expired"),
        },
        "/apis/apps/v1/namespaces/denied/deployments" => status(403, "Forbidden", "deployments.apps is forbidden: User \"ci\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"denied\""),
        "/apis/apps/v1/namespaces/gone/deployments" => status(410, "Expired", "The provided continue parameter is too old"),
        // A body cut short, and a body that is not JSON at all (a proxy's error page).
        "/apis/apps/v1/namespaces/malformed/deployments" => Response::json(200, r#"{"kind": "DeploymentList", "apiVersion": "apps/v1", "items": [{"metadata": "#.to_string()),
        "/apis/apps/v1/namespaces/garbage/deployments" => Response::json(200, "<html><body>502 Bad Gateway</body></html>".to_string()),
        // A server that never stops paging, and one that always throttles.
        "/apis/apps/v1/namespaces/endless/deployments" => {
            let n: u64 = get("continue").and_then(|c| c.strip_prefix("p-")).and_then(|n| n.parse().ok()).unwrap_or(0);
            Response::json(200, list("DeploymentList", vec![deployment("web")], Some(&format!("p-{}", n + 1))))
        }
        "/apis/apps/v1/namespaces/throttled/deployments" => status(429, "TooManyRequests", "rate limited"),
        "/apis/apps/v1/namespaces/flood/deployments" => Response {
            endless: true,
            ..Response::json(200, r#"{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},"items":["#)
        },
        "/apis/apps/v1/namespaces/slow/deployments" => Response { delay: Duration::from_secs(4), ..Response::json(200, list("DeploymentList", vec![], None)) },
        "/apis/monitoring.coreos.com/v1/servicemonitors" | "/apis/monitoring.coreos.com/v1/namespaces/shop/servicemonitors" => Response::json(200, list("ServiceMonitorList", vec![json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": "shipshape", "namespace": "shop"},
            "spec": {"endpoints": [{"port": "metrics", "interval": "30s"}], "selector": {"matchLabels": {"app": "web"}}}
        })], None)),
        "/apis/coordination.k8s.io/v1/namespaces/shop/leases/leader" => {
            let l: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "leader", "namespace": "shop"},
                "spec": {"holderIdentity": "controller-0", "leaseDurationSeconds": 15, "renewTime": "2026-02-10T11:59:55.000000Z"}
            })).expect("a valid Lease");
            Response::json(200, serde_json::to_string(&l).unwrap())
        }
        _ => status(404, "NotFound", "the server could not find the requested resource"),
    }
}

const POLICY: &str = r#"
[audit]
name = "live"
[[area]]
id = "k8s"
[[rule]]
id = "deployments-paged"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "shop" }
expect = ['d.count == 3', 'd.source.kind == "live"', 'd.objects.exists(o, o.metadata.name == "controller")']
[[rule]]
id = "controller-by-selector"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "shop", selector = "app.kubernetes.io/component=controller" }
expect = ['d.count >= 1']
[[rule]]
id = "crd-service-monitor"
area = "k8s"
evidence.sm = { cluster = "monitoring.coreos.com/v1", kind = "ServiceMonitor" }
expect = ['sm.count == 1', 'sm.objects[0].spec.endpoints[0].port == "metrics"']
[[rule]]
id = "crd-by-group-only"
area = "k8s"
evidence.sm = { cluster = "monitoring.coreos.com", kind = "ServiceMonitor" }
expect = ['sm.count == 1']
[[rule]]
id = "lease-by-name"
area = "k8s"
evidence.l = { cluster = "coordination.k8s.io/v1", kind = "Lease", namespace = "shop", name = "leader" }
expect = ['l.count == 1', 'timestamp(l.source.captured_at) - timestamp(l.objects[0].spec.renewTime) < duration("30s")']
[[rule]]
id = "forbidden"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "denied" }
expect = ['d.count > 0']
[[rule]]
id = "gone"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "gone" }
expect = ['d.count > 0']
[[rule]]
id = "malformed"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "malformed" }
expect = ['d.count >= 0']
[[rule]]
id = "garbage"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "garbage" }
expect = ['d.count >= 0']
[[rule]]
id = "slow"
area = "k8s"
evidence.d = { cluster = "apps/v1", kind = "Deployment", namespace = "slow", timeout = 1 }
expect = ['d.count >= 0']
[[rule]]
id = "unknown-kind"
area = "k8s"
evidence.w = { cluster = "example.com/v1", kind = "Widget" }
expect = ['w.count >= 0']
[[rule]]
id = "unknown-kind-in-known-group"
area = "k8s"
evidence.w = { cluster = "apps/v1", kind = "Widget" }
expect = ['w.count >= 0']
"#;

fn kubeconfig(dir: &Path, server: &str) -> std::path::PathBuf {
    let plugin = dir.join("token-plugin.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"good\"}}'\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kc = format!(
        r#"apiVersion: v1
kind: Config
current-context: ambient
clusters:
- name: loop
  cluster:
    server: {server}
contexts:
- name: test
  context: {{cluster: loop, user: good, namespace: shop}}
- name: exec
  context: {{cluster: loop, user: exec}}
- name: badcreds
  context: {{cluster: loop, user: bad}}
- name: ambient
  context: {{cluster: loop, user: good}}
users:
- name: good
  user: {{token: good}}
- name: bad
  user: {{token: nope}}
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {plugin}
      interactiveMode: Never
"#,
        plugin = plugin.display()
    );
    let p = dir.join("kubeconfig");
    std::fs::write(&p, kc).unwrap();
    p
}

fn audit(repo: &Path, args: &[&str]) -> (i32, Value) {
    let out = assert_cmd::Command::cargo_bin("shipshape")
        .unwrap()
        .args([
            "audit",
            ".",
            "--now",
            "2026-02-10T12:00:00Z",
            "--format",
            "json,md",
            "--out",
            "out",
            "-q",
        ])
        .args(args)
        .current_dir(repo)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let text = std::fs::read_to_string(repo.join("out/report.json"))
        .unwrap_or_else(|_| panic!("no report: {stderr}"));
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&text).unwrap(),
    )
}

fn outcome<'a>(b: &'a Value, id: &str) -> &'a Value {
    b["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["rule"] == id)
        .unwrap()
}

#[test]
fn live_queries_through_a_kubeconfig_context() {
    let server = Server::start(Arc::new(route));
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("shipshape.toml"), POLICY).unwrap();
    let kc = kubeconfig(dir.path(), &server.url());
    let kc = kc.to_str().unwrap();

    let (_, b) = audit(&repo, &["--kubeconfig", kc, "--context", "test"]);
    for id in [
        "deployments-paged",
        "controller-by-selector",
        "crd-service-monitor",
        "crd-by-group-only",
        "lease-by-name",
    ] {
        assert_eq!(
            outcome(&b, id)["status"],
            "pass",
            "{id}: {}",
            outcome(&b, id)
        );
    }
    let pending = |id: &str, needle: &str| {
        let o = outcome(&b, id);
        assert_eq!(o["status"], "pending", "{id}: {o}");
        let s = o["sentence"].as_str().unwrap();
        assert!(s.contains(needle), "{id}: {s}");
    };
    pending(
        "forbidden",
        "forbidden (403): missing permission to `list` Deployment (apps/v1) in namespace `denied`",
    );
    pending("gone", "gone (410)");
    pending("slow", "timed out after 1s");
    pending("unknown-kind", "unknown kind (404)");
    pending("unknown-kind-in-known-group", "unknown kind `Widget`");
    let c = &b["report"]["provenance"]["cluster"];
    assert_eq!(c["kind"], "live");
    assert_eq!(c["context"], "test");
    assert_eq!(c["chosen_by"], "--context");
    let md = std::fs::read_to_string(repo.join("out/report.md")).unwrap_or_else(|e| {
        panic!(
            "{e}: {:?}",
            std::fs::read_dir(repo.join("out"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        )
    });
    assert!(
        md.contains("Cluster evidence: live cluster, context test (http://127.0.0.1:"),
        "{md}"
    );
    // A malformed or non-JSON response is evidence not collected: pending, never a pass.
    for id in ["malformed", "garbage"] {
        let o = outcome(&b, id);
        assert_eq!(o["status"], "pending", "{o}");
    }

    let seen = server.requests();
    assert!(seen.iter().all(|r| r.method == "GET"), "{seen:?}");
    let pages: Vec<&Seen> = seen
        .iter()
        .filter(|r| {
            r.target
                .starts_with("/apis/apps/v1/namespaces/shop/deployments?")
        })
        .collect();
    // Two rules list this namespace (one with a selector): each pages with limit and continue.
    let unfiltered: Vec<Vec<(String, String)>> = pages
        .iter()
        .map(|r| query(&r.target))
        .filter(|q| !q.iter().any(|(k, _)| k == "labelSelector"))
        .collect();
    assert_eq!(unfiltered.len(), 2, "{pages:?}");
    assert!(unfiltered[0].contains(&("limit".into(), "500".into())));
    assert!(!unfiltered[0].iter().any(|(k, _)| k == "continue"));
    assert!(unfiltered[1].contains(&("limit".into(), "500".into())));
    assert!(unfiltered[1].contains(&("continue".into(), "page-2".into())));
    assert!(
        pages.iter().any(|r| r
            .target
            .contains("labelSelector=app.kubernetes.io%2Fcomponent%3Dcontroller")),
        "{pages:?}"
    );
}

#[test]
fn exec_plugins_bad_credentials_and_no_surprise_context() {
    let server = Server::start(Arc::new(route));
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("shipshape.toml"), POLICY).unwrap();
    let kc = kubeconfig(dir.path(), &server.url());
    let kc = kc.to_str().unwrap();

    // The exec credential plugin supplies the token.
    let (_, b) = audit(
        &repo,
        &["--kubeconfig", kc, "--context", "exec", "-n", "shop"],
    );
    assert_eq!(
        outcome(&b, "crd-service-monitor")["status"],
        "pass",
        "{}",
        outcome(&b, "crd-service-monitor")
    );

    // Rejected credentials: pending with the 401 reason.
    let (code, b) = audit(&repo, &["--kubeconfig", kc, "--context", "badcreds"]);
    assert_eq!(code, 1);
    let o = outcome(&b, "crd-service-monitor");
    assert_eq!(o["status"], "pending");
    assert!(
        o["sentence"]
            .as_str()
            .unwrap()
            .contains("unauthorized (401)"),
        "{o}"
    );

    // A kubeconfig with a current-context is not used unless a context is named: `--kubeconfig`
    // alone is a usage error (exit 2), and so is a context the kubeconfig does not hold.
    let before = server.requests().len();
    for args in [
        vec!["--kubeconfig", kc],
        vec!["--kubeconfig", kc, "--context", "no-such-context"],
    ] {
        let out = assert_cmd::Command::cargo_bin("shipshape")
            .unwrap()
            .args([
                "audit",
                ".",
                "--now",
                "2026-02-10T12:00:00Z",
                "--out",
                "out2",
            ])
            .args(&args)
            .current_dir(&repo)
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--kubeconfig needs --context")
                || stderr.contains("`no-such-context` is not a context"),
            "{stderr}"
        );
    }
    assert_eq!(
        server.requests().len(),
        before,
        "no request without a usable named context"
    );

    // An unreachable server is pending too.
    let dead = kubeconfig(dir.path(), "http://127.0.0.1:9");
    let (_, b) = audit(
        &repo,
        &["--kubeconfig", dead.to_str().unwrap(), "--context", "test"],
    );
    let o = outcome(&b, "crd-service-monitor");
    assert_eq!(o["status"], "pending");
    assert!(
        o["sentence"]
            .as_str()
            .unwrap()
            .contains("cannot reach the API server"),
        "{o}"
    );
}

/// Bounded cluster reads (issue 16): endless `continue` tokens, a server that always answers
/// 429 and one whose body never ends each end within the request's one deadline, pending with
/// the reason, and the audit stays far below 300 MB.
#[test]
fn endless_pages_and_constant_throttling_end_at_the_deadline() {
    let server = Server::start(Arc::new(route));
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(
        repo.join("shipshape.toml"),
        "[audit]\nname = \"live\"\n[[area]]\nid = \"k8s\"\n[[rule]]\nid = \"endless\"\narea = \"k8s\"\nevidence.d = { cluster = \"apps/v1\", kind = \"Deployment\", namespace = \"endless\", timeout = 3 }\nexpect = ['d.count >= 0']\n[[rule]]\nid = \"throttled\"\narea = \"k8s\"\nevidence.d = { cluster = \"apps/v1\", kind = \"Deployment\", namespace = \"throttled\", timeout = 3 }\nexpect = ['d.count >= 0']\n[[rule]]\nid = \"flood\"\narea = \"k8s\"\nevidence.d = { cluster = \"apps/v1\", kind = \"Deployment\", namespace = \"flood\", timeout = 3 }\nexpect = ['d.count >= 0']\n",
    )
    .unwrap();
    let kc = kubeconfig(dir.path(), &server.url());
    let started = std::time::Instant::now();
    let (_, b) = audit(
        &repo,
        &[
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--context",
            "test",
            "-j",
            "2",
        ],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3 + 2), "took {took:?}");
    let e = outcome(&b, "endless");
    assert_eq!(e["status"], "pending", "{e}");
    assert!(
        e["sentence"].as_str().unwrap().contains("one deadline"),
        "{e}"
    );
    let t = outcome(&b, "throttled");
    assert_eq!(t["status"], "pending", "{t}");
    let f = outcome(&b, "flood");
    assert_eq!(f["status"], "pending", "{f}");
    assert!(
        f["sentence"]
            .as_str()
            .unwrap()
            .contains("larger than 64 MiB"),
        "stopped by the byte cap, not the deadline: {f}"
    );
    // The largest child this test waited for (the audit) stayed far below 300 MB.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert!(usage.ru_maxrss < 300 * 1024, "peak {} KB", usage.ru_maxrss);
    let throttled: usize = server
        .requests()
        .iter()
        .filter(|r| r.target.contains("namespaces/throttled"))
        .count();
    // Retried (kube's client retries too), with backoff, and bounded: not hammered.
    assert!(
        (2..=20).contains(&throttled),
        "retried with backoff, bounded: {throttled}"
    );
}

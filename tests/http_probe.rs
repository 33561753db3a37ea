//! The `http` source against a loopback server serving `/healthz`, `/leadz` and `/metrics`.

#[path = "support/apiserver.rs"]
mod apiserver;

use std::sync::Arc;

use apiserver::{Response, Seen, Server};
use shipshape::collect::http::{Spec, get};

fn route(req: &Seen) -> Response {
    if let Some(to) = req.target.strip_prefix("/redirect?to=") {
        return Response::redirect(to);
    }
    match req.target.as_str() {
        "/healthz" => Response::json(200, r#"{"status":"ok"}"#),
        "/leadz" => Response::json(503, r#"{"leader":false}"#),
        "/metrics" => Response::json(
            200,
            "# TYPE leader_is_active gauge\nleader_is_active 1\nwatch_restarts_total{reason=\"gone\"} 2\n",
        ),
        _ => Response::json(404, "{}"),
    }
}

fn spec(url: String) -> Spec {
    Spec {
        url,
        timeout_secs: 5,
        max_body_bytes: 1024,
        same_origin_redirects: false,
    }
}

/// Redirects are not followed by default; `same-origin` follows only those that keep the
/// scheme, host and port (issue 16): a probe never reads another host.
#[test]
fn redirects_stay_on_the_origin() {
    let s = Server::start(Arc::new(route));
    let other = Server::start(Arc::new(route));
    let here = format!("{}/redirect?to=/healthz", s.url());
    let away = format!("{}/redirect?to={}/healthz", s.url(), other.url());

    let r = get(&spec(here.clone())).unwrap();
    assert_eq!(r["status"], 302, "not followed by default: {r}");
    assert_eq!(r["final_url"], here);

    let mut follow = spec(here);
    follow.same_origin_redirects = true;
    let r = get(&follow).unwrap();
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["final_url"], format!("{}/healthz", s.url()));

    let mut follow = spec(away.clone());
    follow.same_origin_redirects = true;
    let r = get(&follow).unwrap();
    assert_eq!(r["status"], 302, "a redirect to another origin stops: {r}");
    assert_eq!(r["final_url"], away);
    assert!(
        other.requests().is_empty(),
        "the other host was never contacted"
    );
}

#[test]
fn status_body_headers_and_metrics() {
    let s = Server::start(Arc::new(route));
    let h = get(&spec(format!("{}/healthz", s.url()))).unwrap();
    assert_eq!(h["status"], 200);
    assert_eq!(h["ok"], true);
    assert_eq!(h["json"]["status"], "ok");
    assert_eq!(h["headers"]["content-type"], "application/json");
    let l = get(&spec(format!("{}/leadz", s.url()))).unwrap();
    assert_eq!(l["status"], 503, "a 5xx is data, not an error");
    let m = get(&spec(format!("{}/metrics", s.url()))).unwrap();
    assert_eq!(m["metrics"]["leader_is_active"], 1);
    assert_eq!(m["metrics"]["watch_restarts_total{reason=\"gone\"}"], 2);
    assert_eq!(m["samples"][1]["labels"]["reason"], "gone");
    let mut small = spec(format!("{}/metrics", s.url()));
    small.max_body_bytes = 10;
    let t = get(&small).unwrap();
    assert_eq!(t["body_truncated"], true);
    assert_eq!(t["body"].as_str().unwrap().len(), 10);
    assert!(s.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn unreachable_is_an_error() {
    let e = get(&spec("http://127.0.0.1:9/healthz".into())).unwrap_err();
    assert!(
        e.reason.contains("GET http://127.0.0.1:9/healthz failed"),
        "{e}"
    );
}

#[test]
fn a_rule_reads_an_endpoint() {
    let s = Server::start(Arc::new(route));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipshape.toml"),
        format!(
            r#"[[area]]
id = "ops"
[[rule]]
id = "controller-leads"
area = "ops"
evidence.m = {{ http = "{0}/metrics" }}
evidence.h = {{ http = "{0}/healthz", timeout = 2 }}
expect = ['h.status == 200', 'm.metrics["leader_is_active"] == 1']
"#,
            s.url()
        ),
    )
    .unwrap();
    let r = shipshape::audit(&shipshape::AuditOptions {
        path: dir.path().to_path_buf(),
        policy: None,
        env: None,
        now: "2026-02-10T12:00:00Z".parse().unwrap(),
        jobs: 1,
        skip_commands: true,
        max_file_bytes: shipshape::DEFAULT_MAX_FILE_BYTES,
        waivers: None,
        cache_dir: None,
        only_rules: Vec::new(),
    })
    .unwrap();
    let o = &r.bundle.outcomes[0];
    assert_eq!(
        o.status,
        shipshape::evaluate::Status::Pass,
        "{}",
        o.sentence
    );
}

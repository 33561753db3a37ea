//! A tiny Kubernetes API server on loopback for tests: std `TcpListener`, one thread per
//! connection, HTTP/1.1 with `Connection: close`, serving recorded responses built from
//! k8s-openapi types. It records every request so a test can assert that only GETs arrived and
//! that `limit`/`continue` were sent as expected.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path with query string.
    pub target: String,
    pub authorization: Option<String>,
}

pub struct Response {
    pub status: u16,
    pub body: String,
    /// Wait this long before answering (a slow server).
    pub delay: Duration,
    /// A `Location` header (a redirect).
    pub location: Option<String>,
    /// After `body`, keep sending bytes until the client hangs up (at most 2 GiB).
    pub endless: bool,
}

impl Response {
    pub fn json(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            location: None,
            endless: false,
        }
    }

    /// A 302 to `to`.
    pub fn redirect(to: impl Into<String>) -> Response {
        Response {
            location: Some(to.into()),
            ..Response::json(302, "")
        }
    }
}

pub type Handler = dyn Fn(&Seen) -> Response + Send + Sync;

pub struct Server {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn start(handler: Arc<Handler>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                let log = log.clone();
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Server { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(v.trim().to_string()),
                "content-length" => content_length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    if content_length > 0 {
        let mut body = vec![0u8; content_length];
        let _ = std::io::Read::read_exact(&mut reader, &mut body);
    }
    let seen = Seen {
        method,
        target,
        authorization,
    };
    log.lock().unwrap().push(seen.clone());
    let resp = handler(&seen);
    if !resp.delay.is_zero() {
        std::thread::sleep(resp.delay);
    }
    let reason = match resp.status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        _ => "Status",
    };
    let mut stream = stream;
    if resp.endless {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            1u64 << 40,
            resp.body
        );
        let chunk = "{\"metadata\":{\"name\":\"x\"}},".repeat(2048);
        for _ in 0..(2u64 << 30) / chunk.len() as u64 {
            if stream.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
        return;
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
        resp.status,
        resp.location
            .as_ref()
            .map(|l| format!("Location: {l}\r\n"))
            .unwrap_or_default(),
        resp.body.len(),
        resp.body
    );
    let _ = stream.flush();
}

/// A `Status` failure body as the API server writes it.
pub fn status(code: u16, reason: &str, message: &str) -> Response {
    Response::json(
        code,
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code
        })
        .to_string(),
    )
}

// ---------------------------------------------------------------------------------------------
// A recorded cluster: discovery and lists served from a set of objects.

/// A discovery document (`/api/v1`, `/apis/GROUP/VERSION`) for `(plural, kind, namespaced)`.
pub fn resources(group_version: &str, list: &[(&str, &str, bool)]) -> String {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIResource, APIResourceList};
    let r = APIResourceList {
        group_version: group_version.into(),
        resources: list
            .iter()
            .map(|(name, kind, namespaced)| APIResource {
                name: name.to_string(),
                kind: kind.to_string(),
                namespaced: *namespaced,
                singular_name: String::new(),
                verbs: vec!["get".into(), "list".into(), "watch".into()],
                ..APIResource::default()
            })
            .collect(),
    };
    let mut v = serde_json::to_value(r).unwrap();
    v["kind"] = serde_json::json!("APIResourceList");
    v["apiVersion"] = serde_json::json!("v1");
    v.to_string()
}

/// A `…List` body, with a `continue` token when there is a next page.
pub fn list_body(kind: &str, items: Vec<serde_json::Value>, cont: Option<&str>) -> String {
    let mut meta = serde_json::json!({"resourceVersion": "100"});
    if let Some(c) = cont {
        meta["continue"] = serde_json::json!(c);
    }
    serde_json::json!({"apiVersion": "v1", "kind": kind, "metadata": meta, "items": items})
        .to_string()
}

/// The kinds a recorded cluster serves: (group, version, plural, kind, namespaced).
const KINDS: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "namespaces", "Namespace", false),
    ("", "v1", "pods", "Pod", true),
    ("", "v1", "services", "Service", true),
    ("", "v1", "secrets", "Secret", true),
    ("apps", "v1", "deployments", "Deployment", true),
    ("apps", "v1", "statefulsets", "StatefulSet", true),
    ("apps", "v1", "daemonsets", "DaemonSet", true),
    ("apps", "v1", "replicasets", "ReplicaSet", true),
    ("batch", "v1", "jobs", "Job", true),
    ("batch", "v1", "cronjobs", "CronJob", true),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
    ),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
    ("coordination.k8s.io", "v1", "leases", "Lease", true),
];

/// A handler answering as an API server holding `objects` would: `/version`, discovery, and
/// GET lists of every kind in [`KINDS`], cluster-wide or per namespace (label selectors of
/// the form `k=v[,k=v]`). Anything else — and any request without `Bearer {token}` — is an
/// error status.
pub fn recorded_cluster(objects: Vec<serde_json::Value>, token: &'static str) -> Arc<Handler> {
    use serde_json::json;
    Arc::new(move |req: &Seen| {
        if req.authorization.as_deref() != Some(&format!("Bearer {token}")) {
            return status(401, "Unauthorized", "Unauthorized");
        }
        if req.method != "GET" {
            return status(405, "MethodNotAllowed", "read-only");
        }
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let selector: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("labelSelector="))
            .flat_map(|s| s.split("%2C").map(str::to_string).collect::<Vec<_>>())
            .filter_map(|t| {
                t.replace("%3D", "=")
                    .split_once('=')
                    .map(|(k, v)| (k.replace("%2F", "/"), v.to_string()))
            })
            .collect();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segs.as_slice() {
            ["version"] => Response::json(200, json!({"major": "1", "minor": "31", "gitVersion": "v1.31.2", "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc", "platform": "linux/amd64"}).to_string()),
            ["api"] => Response::json(200, json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}).to_string()),
            ["apis"] => {
                let mut groups: Vec<(&str, &str)> = KINDS.iter().filter(|k| !k.0.is_empty()).map(|k| (k.0, k.1)).collect();
                groups.dedup();
                Response::json(200, json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups.iter().map(|(g, v)| json!({
                    "name": g, "versions": [{"groupVersion": format!("{g}/{v}"), "version": v}],
                    "preferredVersion": {"groupVersion": format!("{g}/{v}"), "version": v}})).collect::<Vec<_>>()}).to_string())
            }
            ["api", v] => discovery("", v),
            ["apis", g, v] => discovery(g, v),
            ["api", v, rest @ ..] => serve_list(&objects, "", v, rest, &selector),
            ["apis", g, v, rest @ ..] => serve_list(&objects, g, v, rest, &selector),
            _ => status(404, "NotFound", "the server could not find the requested resource"),
        }
    })
}

fn discovery(group: &str, version: &str) -> Response {
    let kinds: Vec<(&str, &str, bool)> = KINDS
        .iter()
        .filter(|k| k.0 == group && k.1 == version)
        .map(|k| (k.2, k.3, k.4))
        .collect();
    if kinds.is_empty() {
        return status(404, "NotFound", "no such group version");
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Response::json(200, resources(&gv, &kinds))
}

fn serve_list(
    objects: &[serde_json::Value],
    group: &str,
    version: &str,
    rest: &[&str],
    selector: &[(String, String)],
) -> Response {
    let (ns, plural) = match rest {
        [plural] => (None, *plural),
        ["namespaces", ns, plural] => (Some(*ns), *plural),
        _ => return status(404, "NotFound", "no such resource"),
    };
    let Some(k) = KINDS
        .iter()
        .find(|k| k.0 == group && k.1 == version && k.2 == plural)
    else {
        return status(404, "NotFound", "no such resource");
    };
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let items: Vec<serde_json::Value> = objects
        .iter()
        .filter(|o| o["kind"] == k.3 && o["apiVersion"] == api_version.as_str())
        .filter(|o| ns.is_none_or(|n| o["metadata"]["namespace"] == n))
        .filter(|o| {
            selector
                .iter()
                .all(|(key, v)| o["metadata"]["labels"][key] == v.as_str())
        })
        .cloned()
        .collect();
    Response::json(200, list_body(&format!("{}List", k.3), items, None))
}

/// A kubeconfig with one context, `test`, pointing at `server` with a bearer `token`.
pub fn kubeconfig(dir: &std::path::Path, server: &str, token: &str) -> std::path::PathBuf {
    let p = dir.join("kubeconfig");
    std::fs::write(
        &p,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: loop\n  cluster:\n    server: {server}\ncontexts:\n- name: test\n  context: {{cluster: loop, user: u}}\nusers:\n- name: u\n  user: {{token: {token}}}\n"
        ),
    )
    .unwrap();
    p
}

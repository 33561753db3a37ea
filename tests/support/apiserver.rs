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

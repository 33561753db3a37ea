//! The `run` source: the result of a command (tests, coverage, validators). Commands run in a
//! clean environment, in their own process group so a timeout kills every child, with bounded
//! output, and nothing from evidence is ever interpolated into the command line.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::source::{Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx};
use crate::policy::model::EvidenceRaw;

/// Environment variables passed through from the caller; everything else is dropped so CI
/// secrets do not reach audited commands unless the policy names them in `env`.
pub const ENV_ALLOW: &[&str] = &[
    "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TMPDIR", "TZ", "USER", "LOGNAME",
];

/// Give `cmd` a clean environment: only the variables of [`ENV_ALLOW`] that are set.
pub(crate) fn allowed_env(cmd: &mut Command) {
    cmd.env_clear();
    for k in ENV_ALLOW {
        if let Ok(v) = std::env::var(k) {
            cmd.env(k, v);
        }
    }
}

/// Bytes kept from the start and from the end of each stream.
pub const HEAD_BYTES: usize = 4 * 1024;
pub const TAIL_BYTES: usize = 16 * 1024;

pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    pub command: String,
    pub timeout_secs: u64,
    /// name → regex; the first group of the last match, as a number when it parses.
    pub captures: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    /// Working folder relative to the audited folder.
    pub cwd: Option<String>,
    /// Globs of the files the command reads, for the cache key (empty: the whole tree).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub inputs: Vec<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(raw, &["timeout", "captures", "env", "cwd", "inputs"])?;
        let inputs = raw.inputs.clone().unwrap_or_default();
        super::fs::globset(&inputs, false)?;
        let command = raw.run.clone().unwrap_or_default();
        if command.trim().is_empty() {
            return Err("`run` is an empty command".into());
        }
        let captures = raw.captures.clone().unwrap_or_default();
        for (name, re) in &captures {
            Regex::new(re).map_err(|e| format!("bad regex in captures.{name}: {e}"))?;
        }
        let timeout_secs = raw.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout_secs == 0 {
            return Err("`timeout` must be at least 1 second".into());
        }
        Ok(Spec {
            command,
            timeout_secs,
            captures,
            env: raw.env.clone().unwrap_or_default(),
            cwd: raw.cwd.clone(),
            inputs,
        })
    }
}

/// Keeps the head and the tail of a stream, counting what was dropped between.
#[derive(Debug, Default)]
struct Bounded {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    total: u64,
}

impl Bounded {
    fn push(&mut self, buf: &[u8]) {
        self.total += buf.len() as u64;
        let mut rest = buf;
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(rest.len());
            self.head.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        if rest.len() >= TAIL_BYTES {
            self.tail.clear();
            self.tail.extend(&rest[rest.len() - TAIL_BYTES..]);
        } else {
            let overflow = (self.tail.len() + rest.len()).saturating_sub(TAIL_BYTES);
            self.tail.drain(..overflow);
            self.tail.extend(rest);
        }
    }

    fn text(&self) -> (String, bool) {
        let kept = self.head.len() as u64 + self.tail.len() as u64;
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        if kept >= self.total {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            (String::from_utf8_lossy(&all).into_owned(), false)
        } else {
            let dropped = self.total - kept;
            (
                format!(
                    "{}\n[… {dropped} bytes omitted …]\n{}",
                    String::from_utf8_lossy(&self.head),
                    String::from_utf8_lossy(&tail)
                ),
                true,
            )
        }
    }
}

/// Read a stream to its end, redacting line by line before keeping head and tail.
fn drain<R: Read + std::os::fd::AsRawFd>(
    r: R,
    redactor: &crate::redact::Redactor,
    stop: &std::sync::atomic::AtomicBool,
) -> Bounded {
    let mut b = Bounded::default();
    let mut lines = crate::redact::LineRedactor::new(redactor);
    super::procs::read_until(r, stop, |chunk| b.push(&lines.push(chunk)));
    b.push(&lines.finish());
    b
}

/// Process groups of the commands running now, so an interrupted run (SIGINT, SIGTERM) can kill
/// them all before it exits: a cancelled audit leaves no orphaned test suite behind.
static RUNNING: std::sync::Mutex<std::collections::BTreeSet<u32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Note a started command's process group (its leader's pid). A group started after
/// [`kill_running`] is killed at once.
pub fn register(pgid: u32) {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.insert(pgid);
    if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
        kill_group(pgid);
    }
}

/// The group has been waited for and killed: forget it.
pub fn unregister(pgid: u32) {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pgid);
}

/// Kill every running command's process group and refuse to leave new ones running; returns
/// how many groups were signalled. Called from the signal thread of the binary.
pub fn kill_running() -> usize {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    for pgid in running.iter() {
        kill_group(*pgid);
    }
    running.len()
}

pub(crate) fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created; no memory is
    // touched. Errors (group already gone) are irrelevant here.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    if ctx.options.skip_commands {
        return Err(CollectError::new(format!(
            "command not run (--skip-commands): `{}`",
            spec.command
        )));
    }
    let Some(dir) = &ctx.options.cache_dir else {
        return execute(ctx, spec).map(|v| stamp(v, false, chrono::Utc::now()));
    };
    let key = cache_key(ctx, spec);
    let file = dir.join(format!("run-{key}.json"));
    if let Some((value, at)) = super::cache::read(dir, &file, ctx.options.cache_max_age) {
        tracing::info!(command = %spec.command, "from cache");
        return Ok(stamp(value, true, at));
    }
    let produced_at = chrono::Utc::now();
    let value = execute(ctx, spec)?;
    // Only results are cached; a timeout or a missing command is tried again next time.
    super::cache::write(dir, &file, &value, produced_at);
    Ok(stamp(value, false, produced_at))
}

/// Wait for `child` until `deadline`: `Ok(None)` when it is still running then. Polls with a
/// backoff from 1 ms to 20 ms, so a quick command (kubectl, `true`) is seen to end within a
/// millisecond or two and a long one costs fifty wake-ups a second.
pub(crate) fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `cached` and `produced_at` (kept out of the bundle digest, like `duration_ms`).
fn stamp(mut v: Value, cached: bool, at: chrono::DateTime<chrono::Utc>) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("cached".into(), json!(cached));
        m.insert("produced_at".into(), json!(rfc3339(at)));
    }
    v
}

/// What a command's result depends on: the request (command, env, cwd, timeout, captures), the
/// environment passed through, where it runs, and the content of its inputs (sha256 of every
/// file the `inputs` globs match, default the whole audited tree as walked: gitignored files
/// are not inputs).
pub fn cache_key(ctx: &Ctx<'_>, spec: &Spec) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"shipshape-run-cache/2\0");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    // The audit date: a check that depends on the date (an expiry, a certificate) reruns daily.
    h.update(ctx.options.now.date_naive().to_string().as_bytes());
    h.update(serde_json::to_string(spec).unwrap_or_default().as_bytes());
    h.update(ctx.root.to_string_lossy().as_bytes());
    for k in ENV_ALLOW {
        h.update(format!("\0{k}={}", std::env::var(k).unwrap_or_default()).as_bytes());
    }
    if spec.inputs.is_empty() {
        h.update(ctx.tree_digest());
        return hex::encode(h.finalize());
    }
    // Declared inputs are hashed whether git ignores them or not (a generated config, a
    // downloaded fixture): an ignored input that changed must not keep a stale result.
    for rel in declared_inputs(ctx, &spec.inputs) {
        h.update(b"\0");
        h.update(rel.as_bytes());
        h.update(b"\0");
        match ctx.file_sha256(&rel) {
            Some(d) => h.update(d),
            None => h.update(b"unreadable"),
        }
    }
    hex::encode(h.finalize())
}

/// Every file under the audited folder matching the `inputs` globs, ignored files included,
/// sorted (symlinks not followed, `.git` skipped).
fn declared_inputs(ctx: &Ctx<'_>, inputs: &[String]) -> Vec<String> {
    let Ok(set) = super::fs::globset(inputs, false) else {
        return ctx.listing().files.clone();
    };
    let mut out: Vec<String> = ignore::WalkBuilder::new(&ctx.root)
        .standard_filters(false)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| super::rel_display(&ctx.root, e.path()))
        .filter(|rel| set.is_match(rel))
        .collect();
    out.sort();
    out
}

fn execute(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    let cwd = match &spec.cwd {
        Some(c) => ctx.resolve(c)?,
        None => ctx.root.clone(),
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    allowed_env(&mut cmd);
    cmd.envs(&spec.env);
    // Every process the command starts carries this id, however it detaches.
    let mark = super::procs::new_mark();
    cmd.env(super::procs::MARK, &mark);
    super::procs::become_subreaper();
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| CollectError::new(format!("cannot start `sh -c {}`: {e}", spec.command)))?;
    let pid = child.id();
    register(pid);
    let (stdout_pipe, stderr_pipe) = (child.stdout.take(), child.stderr.take());
    let timeout = Duration::from_secs(spec.timeout_secs);
    let redactor = &ctx.redactor;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (status, stdout, stderr) = std::thread::scope(|scope| {
        let stop = &stop;
        let out = stdout_pipe.map(|p| scope.spawn(move || drain(p, redactor, stop)));
        let err = stderr_pipe.map(|p| scope.spawn(move || drain(p, redactor, stop)));
        let status = wait_until(&mut child, started + timeout);
        if !matches!(status, Ok(Some(_))) {
            kill_group(pid);
            super::procs::kill_marked(&mark, pid);
            let _ = child.wait();
        }
        // Children that outlive the shell keep the pipes open: the group goes with the shell,
        // and so does every process carrying the run id (setsid, double fork).
        kill_group(pid);
        super::procs::kill_marked(&mark, pid);
        unregister(pid);
        // What the killed processes wrote is read; then the readers stop, EOF or not.
        let grace = Instant::now() + Duration::from_secs(1);
        while Instant::now() < grace
            && !(out.as_ref().is_none_or(|h| h.is_finished())
                && err.as_ref().is_none_or(|h| h.is_finished()))
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
        (status, stdout, stderr)
    });
    let status =
        status.map_err(|e| CollectError::new(format!("waiting for `{}`: {e}", spec.command)))?;
    let duration_ms = started.elapsed().as_millis() as u64;
    let (stdout, stdout_truncated) = stdout.text();
    let (stderr, stderr_truncated) = stderr.text();
    let Some(status) = status else {
        return Err(CollectError::new(format!(
            "`{}` timed out after {} s and was killed with its process group",
            spec.command, spec.timeout_secs
        )));
    };
    let exit_code = status.code().unwrap_or(-1);
    if exit_code == 127 {
        return Err(CollectError::new(format!(
            "command not found: `{}` ({})",
            spec.command,
            last_line(&stderr)
        )));
    }
    if exit_code == 126 {
        return Err(CollectError::new(format!(
            "command not executable: `{}` ({})",
            spec.command,
            last_line(&stderr)
        )));
    }
    let combined = format!("{stdout}\n{stderr}");
    let mut captures = serde_json::Map::new();
    for (name, re) in &spec.captures {
        let Ok(re) = Regex::new(re) else { continue };
        if let Some(c) = re.captures_iter(&combined).last() {
            let raw = c
                .get(1)
                .or_else(|| c.get(0))
                .map(|m| m.as_str())
                .unwrap_or("");
            captures.insert(name.clone(), number_or_string(raw));
        }
    }
    Ok(json!({
        "command": spec.command,
        "exit_code": exit_code,
        "ok": exit_code == 0,
        "stdout": stdout,
        "stderr": stderr,
        "stdout_truncated": stdout_truncated,
        "stderr_truncated": stderr_truncated,
        "duration_ms": duration_ms,
        "timed_out": false,
        "captures": captures,
    }))
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// `88` → 88, `88.5%` → 88.5, anything else stays text.
pub fn number_or_string(raw: &str) -> Value {
    let t = raw.trim().trim_end_matches('%');
    if let Ok(i) = t.parse::<i64>() {
        json!(i)
    } else if let Ok(f) = t.parse::<f64>() {
        json!(f)
    } else {
        json!(raw)
    }
}

impl Source for Spec {
    const NAME: &'static str = "run";
    const DOC: SourceDoc = SourceDoc {
        name: "run",
        summary: "A command's result. It runs with `sh -c` in the audited folder, in its own process group, with a clean environment (CI secrets are not passed on), killed at `timeout`.",
        options: "timeout (seconds, default 600), captures (name → regex), env, cwd, inputs (globs keying the command cache; default the whole tree)",
        names: &[
            n("exit_code", "int", "the exit status"),
            n("ok", "bool", "exit_code == 0"),
            n(
                "stdout",
                "string",
                "the first 4 KiB and the last 16 KiB of standard output",
            ),
            n(
                "stderr",
                "string",
                "the first 4 KiB and the last 16 KiB of standard error",
            ),
            n("stdout_truncated", "bool", "stdout was cut"),
            n("stderr_truncated", "bool", "stderr was cut"),
            n("duration_ms", "int", "wall time (kept out of the digest)"),
            n(
                "timed_out",
                "bool",
                "always false in evidence: a timeout makes the rule pending",
            ),
            n(
                "captures",
                "map",
                "name → first group of the last match in stdout+stderr (a number when it parses)",
            ),
            n(
                "cached",
                "bool",
                "reused from the command cache (out of the digest)",
            ),
            n(
                "produced_at",
                "string",
                "when the command really ran (out of the digest)",
            ),
        ],
        example: r#"[[rule]]
id = "unit-tests-pass"
area = "example"
title = "Test suite passes"
evidence.tests = { run = "python3 -m unittest discover -s tests -t .", timeout = 300, captures = { tests = 'Ran (\d+) tests?' } }
expect = ['tests.exit_code == 0', 'tests.captures.tests > 0']
"#,
    };
    const COST: u8 = 4;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "run `{}` (timeout {} s{})",
            self.command,
            self.timeout_secs,
            self.cwd
                .as_ref()
                .map(|c| format!(", in {c}"))
                .unwrap_or_default()
        )
    }

    fn paths(&self) -> Vec<String> {
        self.cwd.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_head_and_tail() {
        let mut b = Bounded::default();
        for _ in 0..1000 {
            b.push(&[b'x'; 1000]);
        }
        b.push(b"THE END");
        let (t, truncated) = b.text();
        assert!(truncated);
        assert!(t.ends_with("THE END"));
        assert!(t.len() < HEAD_BYTES + TAIL_BYTES + 100);
        assert!(t.contains("bytes omitted"));
    }

    #[test]
    fn numbers_parse() {
        assert_eq!(number_or_string("88%"), json!(88));
        assert_eq!(number_or_string("88.5"), json!(88.5));
        assert_eq!(number_or_string("abc"), json!("abc"));
    }
}

//! No runaway processes. A command (or kubectl) may start children that leave its process
//! group (`setsid`), double-fork, or ignore SIGTERM; killing the group alone leaves those
//! running, holding the output pipes open so the audit waits forever. So shipshape makes itself
//! a child subreaper (orphans are re-parented to it, not to init), marks every command's
//! environment with a run id, and at the end of each command finds every process carrying that
//! id — or descending from the command — kills it with SIGKILL and reaps it. Output readers poll
//! with a deadline instead of waiting for end-of-file.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that marks a command's processes.
pub const MARK: &str = "SHIPSHAPE_RUN_ID";

/// Become a child subreaper (once per process): descendants orphaned by a command are
/// re-parented to shipshape, where they can be found, killed and reaped.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) takes no pointers and only changes how
        // orphaned descendants of this process are re-parented.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            tracing::warn!("cannot become a child subreaper; escaped descendants are found by their run id only");
        }
    });
}

/// A fresh run id for one command.
pub fn new_mark() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// (pid, ppid) of every process, from /proc.
fn processes() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 1..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

fn carries(pid: i32, needle: &[u8]) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|kv| kv == needle))
        .unwrap_or(false)
}

/// Kill every process carrying `mark` in its environment or descending from `root`, and reap
/// those re-parented to this process. Repeats until none is left (a forking process may start
/// another between two scans). Returns how many were killed.
pub fn kill_marked(mark: &str, root: u32) -> usize {
    let needle = format!("{MARK}={mark}").into_bytes();
    let me = std::process::id() as i32;
    let mut killed = 0;
    for _ in 0..10 {
        let all = processes();
        let mut doomed: Vec<i32> = Vec::new();
        let mut frontier = vec![root as i32];
        while let Some(p) = frontier.pop() {
            for (pid, ppid) in &all {
                if *ppid == p && !doomed.contains(pid) && *pid != me {
                    doomed.push(*pid);
                    frontier.push(*pid);
                }
            }
        }
        for (pid, _) in &all {
            if *pid != me && !doomed.contains(pid) && carries(*pid, &needle) {
                doomed.push(*pid);
            }
        }
        if doomed.is_empty() {
            break;
        }
        for pid in &doomed {
            // SAFETY: kill(2) with a pid we found; no memory is touched.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        killed += doomed.len();
        reap(&doomed, me, &all);
    }
    killed
}

/// Wait for the killed processes that are this process's children (re-parented orphans), so
/// none is left a zombie. Only those pids: a running command's own shell is waited for by its
/// `Child`.
fn reap(pids: &[i32], me: i32, all: &[(i32, i32)]) {
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut mine: Vec<i32> = pids
        .iter()
        .copied()
        .filter(|p| all.iter().any(|(pid, ppid)| pid == p && *ppid == me))
        .collect();
    while !mine.is_empty() && Instant::now() < deadline {
        mine.retain(|p| {
            let mut status = 0;
            // SAFETY: waitpid on a specific child pid with WNOHANG; `status` is a local.
            let r = unsafe { libc::waitpid(*p, &mut status, libc::WNOHANG) };
            r == 0
        });
        if !mine.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Read `r` until end-of-file or until `stop` is set, handing each chunk to `sink`. The pipe
/// is switched to non-blocking and polled, so a reader never outlives the command's deadline
/// because some escaped process still holds the other end.
pub fn read_until<R: Read + AsRawFd>(mut r: R, stop: &AtomicBool, mut sink: impl FnMut(&[u8])) {
    let fd = r.as_raw_fd();
    // SAFETY: fcntl on a file descriptor we own, setting a flag; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                sink(&buf[..n]);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd we own, with a 50 ms timeout.
        unsafe {
            libc::poll(&mut pfd, 1, 50);
        }
    }
}

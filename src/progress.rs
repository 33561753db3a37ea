//! A terminal progress display for `audit`: one bar for the evidence requests and a spinner with
//! elapsed time for each one still running, so a slow test suite is visibly the slow part. Only
//! ever drawn on a terminal (stderr); CI logs and pipes get nothing from here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::collect::{Progress, Request};

pub struct Display {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Display {
    /// A display on stderr, or `None` when stderr is not a terminal.
    pub fn stderr() -> Option<Display> {
        let target = ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return None;
        }
        Some(Self::with_target(target))
    }

    pub fn with_target(target: ProgressDrawTarget) -> Display {
        let multi = MultiProgress::with_draw_target(target);
        // Added to the display once the plan is known, so it never flashes "0/0".
        let overall = ProgressBar::new(0);
        overall.set_style(
            ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {pos}/{len} evidence requests  {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        overall.set_prefix("collecting");
        Display {
            multi,
            overall,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Remove the display from the terminal before the summary is printed.
    pub fn finish(&self) {
        if let Ok(mut r) = self.running.lock() {
            for (_, bar) in r.drain() {
                bar.finish_and_clear();
            }
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.finish();
    }
}

fn short(s: &str, max: usize) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

impl Progress for Display {
    fn planned(&self, total: usize) {
        self.overall.set_length(total as u64);
        self.multi.insert(0, self.overall.clone());
        self.overall.enable_steady_tick(Duration::from_millis(200));
    }

    fn started(&self, key: &str, request: &Request) {
        // Only commands take long enough to deserve their own line.
        if !matches!(request, Request::Run(_)) {
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(short(&crate::explain::describe_request(request), 70));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut r) = self.running.lock() {
            r.insert(key.to_string(), bar);
        }
    }

    fn finished(&self, key: &str, _request: &Request, _ms: u64, _ok: bool) {
        if let Some(bar) = self.running.lock().ok().and_then(|mut r| r.remove(key)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_target_draws_nothing_and_counts() {
        let d = Display::with_target(ProgressDrawTarget::hidden());
        let req = Request::Run(crate::collect::run::Spec {
            command: "true".into(),
            timeout_secs: 1,
            captures: Default::default(),
            env: Default::default(),
            cwd: None,
            inputs: vec![],
        });
        d.planned(2);
        d.started("a", &req);
        assert_eq!(d.running.lock().unwrap().len(), 1);
        d.finished("a", &req, 1, true);
        assert_eq!(d.running.lock().unwrap().len(), 0);
        assert_eq!(d.overall.position(), 1);
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(short("abcdef", 4), "abc…");
        assert_eq!(short("a\nb", 4), "a b");
    }
}

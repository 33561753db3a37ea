//! kustomize in a sandbox. `kubectl kustomize` follows whatever a kustomization names: files
//! anywhere on the machine (`../../../etc`), remote bases (`github.com/org/repo`, `git::…`,
//! `https://…`), Helm charts. A repository under audit must not make shipshape read outside it
//! or reach a network, so before kubectl runs, shipshape walks the kustomization graph itself
//! and refuses any path that resolves outside the boundary and any remote reference; kubectl
//! then runs with the command environment allow-list, no kubeconfig, and proxies pointed at a
//! closed local port.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::fs;

/// The file names kustomize reads as a kustomization.
pub const FILES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// At most this many kustomization folders in one graph.
const MAX_NODES: usize = 500;

/// A reference that is not a local path: a URL, a git or ssh address, or kustomize's
/// `host/org/repo` remote form.
pub fn is_remote(p: &str) -> bool {
    let p = p.trim();
    if p.contains("://") || p.starts_with("git::") || p.starts_with("git@") || p.contains("?ref=") {
        return true;
    }
    // `github.com/org/repo//path`: a first segment that looks like a host name.
    let first = p.split('/').next().unwrap_or("");
    first.contains('.')
        && !first.starts_with('.')
        && p.split('/').count() >= 3
        && first
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Every path a kustomization names, with the key that names it.
fn named_paths(k: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut push = |key: &str, v: &Value| {
        if let Some(s) = v.as_str() {
            out.push((key.to_string(), s.to_string()));
        }
    };
    for key in [
        "resources",
        "bases",
        "components",
        "crds",
        "patchesStrategicMerge",
        "generators",
        "transformers",
        "validators",
        "configurations",
    ] {
        for v in k
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            push(key, v);
        }
    }
    for key in ["patches", "patchesJson6902", "replacements"] {
        for v in k
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            if let Some(p) = v.get("path") {
                push(key, p);
            }
        }
    }
    for key in ["configMapGenerator", "secretGenerator"] {
        for g in k
            .get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for f in g
                .get("files")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                // `key=path` or `path`.
                if let Some(s) = f.as_str() {
                    let path = s.split_once('=').map_or(s, |(_, p)| p);
                    push(key, &Value::String(path.to_string()));
                }
            }
            for e in g
                .get("envs")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                push(key, e);
            }
            if let Some(e) = g.get("env") {
                push(key, e);
            }
        }
    }
    if let Some(p) = k.get("openapi").and_then(|o| o.get("path")) {
        push("openapi", p);
    }
    if let Some(h) = k.get("helmGlobals").and_then(|h| h.get("chartHome")) {
        push("helmGlobals", h);
    }
    if k.get("helmCharts").is_some() {
        push("helmCharts", &Value::String("helm".into()));
    }
    out
}

/// Walk the kustomization graph from `dir`; every problem, as "file: key `path` …".
pub fn check(dir: &Path, boundary: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        if seen.contains(&d) || seen.len() >= MAX_NODES {
            continue;
        }
        seen.push(d.clone());
        let Some(file) = FILES.iter().map(|f| d.join(f)).find(|f| f.is_file()) else {
            continue;
        };
        let shown = file
            .strip_prefix(boundary)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{shown}: cannot be read: {e}"));
                continue;
            }
        };
        let k: Value = match serde_yaml::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{shown}: does not parse: {e}"));
                continue;
            }
        };
        for (key, p) in named_paths(&k) {
            if key == "helmCharts" {
                problems.push(format!(
                    "{shown}: `helmCharts` is not rendered (helm may fetch charts from a network)"
                ));
                continue;
            }
            if is_remote(&p) {
                problems.push(format!(
                    "{shown}: {key} `{p}` is a remote reference (no network is reached)"
                ));
                continue;
            }
            let target = match fs::lexical_within(&d, boundary, &p) {
                Ok(t) => t,
                Err(_) => {
                    problems.push(format!(
                        "{shown}: {key} `{p}` resolves outside the repository"
                    ));
                    continue;
                }
            };
            match std::fs::canonicalize(&target) {
                Ok(real) if !real.starts_with(boundary) => problems.push(format!(
                    "{shown}: {key} `{p}` is a symlink that leaves the repository"
                )),
                Ok(real) if real.is_dir() => queue.push(real),
                _ => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The environment kubectl runs with: the command allow-list, no kubeconfig, and every proxy
/// variable pointed at a closed local port, so nothing it does reaches a network.
pub fn sandbox_env(cmd: &mut std::process::Command) {
    super::run::allowed_env(cmd);
    cmd.env("KUBECONFIG", "/dev/null");
    for k in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(k, "http://127.0.0.1:9");
    }
    cmd.env("NO_PROXY", "").env("no_proxy", "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_references() {
        for r in [
            "https://github.com/org/repo/base?ref=v1",
            "git::https://example.com/r.git",
            "ssh://git@github.com/org/repo",
            "git@github.com:org/repo.git",
            "github.com/kubernetes-sigs/kustomize/examples/multibases?ref=v1.0.6",
        ] {
            assert!(is_remote(r), "{r}");
        }
        for l in [
            "../base",
            "deployment.yaml",
            "patches/replicas.yaml",
            "./x.y/z",
        ] {
            assert!(!is_remote(l), "{l}");
        }
    }

    #[test]
    fn a_graph_that_leaves_the_boundary_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap().join("repo");
        let w = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w("base/kustomization.yaml", "resources:\n- deploy.yaml\n");
        w("base/deploy.yaml", "kind: Deployment\n");
        w(
            "overlay/kustomization.yaml",
            "resources:\n- ../base\n- ../../outside\n- github.com/org/repo//x?ref=v1\npatches:\n- path: ../../secret.yaml\nconfigMapGenerator:\n- name: c\n  files:\n  - key=../../../etc/passwd\n",
        );
        let err = check(&root.join("overlay"), &root).unwrap_err();
        let all = err.join("\n");
        assert!(
            all.contains("resources `../../outside` resolves outside"),
            "{all}"
        );
        assert!(all.contains("remote reference"), "{all}");
        assert!(all.contains("patches `../../secret.yaml`"), "{all}");
        assert!(
            all.contains("configMapGenerator `../../../etc/passwd`"),
            "{all}"
        );
        assert!(check(&root.join("base"), &root).is_ok());
    }
}

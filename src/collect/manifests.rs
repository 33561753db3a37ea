//! The `manifests` source: the Kubernetes objects a repository declares — YAML files matched by
//! globs (multi-document, `List` kinds flattened) and kustomize folders rendered with
//! `kubectl kustomize` — in the same shape as `cluster` (`objects`, `count`, `source`), so one
//! rule runs on both. Every object keeps the file and 1-based line its document starts on, so a
//! finding points at file:line; for kustomize output that is the source file the object came
//! from (kustomize's origin annotations), not the rendered stream.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::k8s::{self, FieldSelector, Located, Query, Selector};
use super::source::{Name, Source, SourceDoc, n};
use super::{CollectError, Collected, Ctx, Request};
use crate::policy::model::EvidenceRaw;

/// How long `kubectl kustomize` may take for one folder.
const KUSTOMIZE_TIMEOUT: Duration = Duration::from_secs(60);
const KUSTOMIZATION_FILES: &[&str] = super::kustomize::FILES;
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Spec {
    /// Files, globs or folders (a folder with a kustomization is rendered). Empty: the policy's
    /// `[cluster] manifests`. `{env}` is replaced by the audited environment.
    pub paths: Vec<String>,
    pub exclude: Vec<String>,
    /// Kinds to keep (empty: all).
    pub kinds: Vec<String>,
    pub api_version: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<String>,
    pub field_selector: Option<String>,
    pub name: Option<String>,
}

impl Spec {
    pub fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        super::artifact::only_options(
            raw,
            &[
                "kind",
                "api_version",
                "namespace",
                "selector",
                "field_selector",
                "name",
                "exclude",
            ],
        )?;
        let paths = raw.manifests.clone().unwrap_or_default();
        for p in &paths {
            if p.trim().is_empty() {
                return Err("`manifests` holds an empty path".into());
            }
            super::fs::glob(&p.replace("{env}", "env"), false)?;
        }
        let exclude = raw.exclude.clone().unwrap_or_default();
        super::fs::globset(&exclude, false)?;
        if let Some(s) = &raw.selector {
            Selector::parse(s)?;
        }
        if let Some(f) = &raw.field_selector {
            FieldSelector::parse(f)?;
        }
        let kinds: Vec<String> = raw
            .kind
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        Ok(Spec {
            paths,
            exclude,
            kinds,
            api_version: raw.api_version.clone(),
            namespace: raw.namespace.clone(),
            selector: raw.selector.clone(),
            field_selector: raw.field_selector.clone(),
            name: raw.name.clone(),
        })
    }

    /// The same request asked of the cluster source.
    fn as_cluster_query(&self) -> super::cluster::KindsQuery {
        super::cluster::KindsQuery {
            kinds: self.kinds.clone(),
            api_version: self.api_version.clone(),
            namespace: self.namespace.clone(),
            selector: self.selector.clone(),
            field_selector: self.field_selector.clone(),
            name: self.name.clone(),
        }
    }

    fn query(&self) -> Query {
        Query {
            api_version: self.api_version.clone(),
            kinds: self.kinds.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            selector: self
                .selector
                .as_deref()
                .and_then(|s| Selector::parse(s).ok()),
            fields: self
                .field_selector
                .as_deref()
                .and_then(|s| FieldSelector::parse(s).ok()),
        }
    }
}

/// A manifest file's objects, parsed once per run (shared with the snapshot source).
fn parse_once(ctx: &Ctx<'_>, rel: &str) -> super::cluster::ParsedFile {
    ctx.cluster().parsed(&ctx.root.join(rel), rel, || {
        std::sync::Arc::new(match ctx.read_text(rel) {
            Ok(t) => k8s::parse_stream(&t.text, rel),
            Err(e) => (
                Vec::new(),
                vec![k8s::ParseProblem {
                    path: rel.to_string(),
                    line: 0,
                    message: e.reason,
                }],
            ),
        })
    })
}

/// The entries a request reads: its own paths, or the policy's `[cluster] manifests`, with
/// `{env}` replaced.
fn entries(ctx: &Ctx<'_>, spec: &Spec) -> Vec<String> {
    if reads_cluster(ctx, spec) {
        return Vec::new();
    }
    let env = &ctx.cluster().env;
    let raw = if spec.paths.is_empty() {
        &ctx.cluster().manifests
    } else {
        &spec.paths
    };
    raw.iter()
        .map(|e| {
            e.replace("{env}", env)
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

/// Start the slow part of every `manifests` request of the plan — kustomize renders and
/// parses of named files — before the requests themselves are collected. Run on a thread of
/// its own at the start of collection, it lets kubectl work while the worker threads collect
/// everything else, instead of a worker (or two, waiting for the same render) sitting idle.
pub fn prefetch<'a>(ctx: &Ctx<'_>, plan: impl Iterator<Item = &'a Request>) {
    let mut seen = std::collections::BTreeSet::new();
    for request in plan {
        let Request::Manifests(spec) = request else {
            continue;
        };
        for entry in entries(ctx, spec) {
            if super::fs::is_glob(&entry) || !seen.insert(entry.clone()) {
                continue;
            }
            let Ok(path) = ctx.resolve(&entry) else {
                continue;
            };
            if path.is_dir() && KUSTOMIZATION_FILES.iter().any(|k| path.join(k).is_file()) {
                let _ = kustomize_once(ctx, &path, &entry);
            } else if path.is_file() {
                let _ = parse_once(ctx, &entry);
            }
        }
    }
}

/// Whether an empty `manifests = []` entry reads the cluster source instead of manifests: when
/// the run says so (`--objects-from cluster`, `[cluster] objects = "cluster"`), or says
/// nothing and has no manifests but a cluster source. One pack then checks the rendered
/// manifests before deploy and the live objects after it.
fn reads_cluster(ctx: &Ctx<'_>, spec: &Spec) -> bool {
    let state = ctx.cluster();
    spec.paths.is_empty()
        && match state.objects_from.as_deref() {
            Some("cluster") => true,
            Some(_) => false,
            None => {
                state.manifests.is_empty() && !matches!(state.source, super::cluster::Source::None)
            }
        }
}

pub fn collect(ctx: &Ctx<'_>, spec: &Spec) -> Collected {
    if reads_cluster(ctx, spec) {
        return super::cluster::objects_of_kinds(ctx, &spec.as_cluster_query());
    }
    let entries = entries(ctx, spec);
    if entries.is_empty() {
        return Err(CollectError::new(
            "`manifests = []` reads the run's Kubernetes objects and it has none: give --manifests PATH (or set [cluster] manifests) to check rendered manifests, or a cluster source (--cluster-snapshot, --context, --in-cluster) to check live objects",
        ));
    }
    let q = spec.query();
    let mut g = gather(ctx, spec, &entries, &q)?;
    let objects: Vec<Value> = std::mem::take(&mut g.objects)
        .into_iter()
        .filter(|o| q.matches(&o.value))
        .map(|mut o| {
            k8s::scrub(&mut o.value);
            k8s::annotate(o)
        })
        .collect();
    let idx = k8s::indexes(&objects);
    let v = evidence_value(ctx, g, objects.len());
    Ok(k8s::with_objects(v, objects, idx))
}

/// What the entries of a request held: objects, documents that did not parse, the files read,
/// the folders rendered with kustomize and the entries that named nothing.
#[derive(Default)]
struct Gathered {
    objects: Vec<Located>,
    errors: Vec<Value>,
    files: Vec<String>,
    rendered: Vec<String>,
    missing: Vec<String>,
    /// Documents read as files that are patches, not objects: `{path, line, reason}`.
    patches: Vec<Value>,
}

/// Workload kinds and where their containers are: a document of one of these kinds without
/// containers that name an image is a partial object (a patch), not something that runs.
const CONTAINERS_AT: &[(&str, &str)] = &[
    ("Deployment", "/spec/template/spec/containers"),
    ("StatefulSet", "/spec/template/spec/containers"),
    ("DaemonSet", "/spec/template/spec/containers"),
    ("ReplicaSet", "/spec/template/spec/containers"),
    ("Job", "/spec/template/spec/containers"),
    ("CronJob", "/spec/jobTemplate/spec/template/spec/containers"),
    ("Pod", "/spec/containers"),
];

/// Why a document read as a plain file is a patch, not an object to audit alone. A workload
/// with containers that name images is audited whatever references it — a kustomization
/// anywhere in the repository must not be able to hide a runnable workload by listing its file
/// as a patch; a partial workload cannot run. Any other kind a kustomization applies as a patch
/// is left out (that can only take a budget or a policy away, never add one).
fn patch_reason(o: &Located, patch_files: &BTreeMap<String, String>) -> Option<String> {
    // An object recorded from a cluster (status, uid) is what ran, however little it shows.
    if o.value.get("status").is_some()
        || o.value.pointer("/metadata/uid").is_some()
        || o.value.pointer("/metadata/creationTimestamp").is_some()
    {
        return None;
    }
    let kind = o.value.get("kind").and_then(Value::as_str)?;
    let applied_by = o.path.as_ref().and_then(|p| patch_files.get(p));
    let Some((_, at)) = CONTAINERS_AT.iter().find(|(k, _)| *k == kind) else {
        return applied_by.map(|k| {
            format!("a patch {k} applies: audited through that kustomization's render, not alone")
        });
    };
    let complete = o
        .value
        .pointer(at)
        .and_then(Value::as_array)
        .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c.get("image").is_some()));
    if complete {
        return None;
    }
    Some(match applied_by {
        Some(k) => format!(
            "a partial {kind} a patch {k} applies: audited through that kustomization's render, not alone"
        ),
        None => format!("a partial {kind} (no containers with an image): a patch, not audited alone"),
    })
}

/// Files the repository's kustomizations use as patches (`patches`, `patchesStrategicMerge`,
/// `patchesJson6902`), each with the kustomization that applies it.
fn patch_files(ctx: &Ctx<'_>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for k in ctx.listing().files.iter().filter(|f| is_kustomization(f)) {
        let Ok(t) = ctx.read_text(k) else { continue };
        let Ok(doc) = serde_yaml::from_str::<Value>(&t.text) else {
            continue;
        };
        let dir = k.rsplit_once('/').map_or("", |(d, _)| d);
        let mut add = |rel: &str| {
            let joined = if dir.is_empty() {
                rel.to_string()
            } else {
                format!("{dir}/{rel}")
            };
            out.entry(super::fs::normalize_rel(&joined)).or_insert_with(|| format!("`{k}`"));
        };
        for key in ["patches", "patchesJson6902"] {
            for p in doc.get(key).and_then(Value::as_array).into_iter().flatten() {
                if let Some(rel) = p.get("path").and_then(Value::as_str) {
                    add(rel);
                }
            }
        }
        for p in doc
            .get("patchesStrategicMerge")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(rel) = p.as_str().filter(|r| !r.contains('\n')) {
                add(rel);
            }
        }
    }
    out
}


/// Read every entry: a kustomize folder rendered, a plain folder's YAML files, a file, a glob.
fn gather(
    ctx: &Ctx<'_>,
    spec: &Spec,
    entries: &[String],
    q: &k8s::Query,
) -> Result<Gathered, CollectError> {
    let exclude = super::fs::globset(&spec.exclude, false).map_err(CollectError::new)?;
    let mut g = Gathered::default();
    let patch_files = ctx.patch_files.get_or_init(|| patch_files(ctx));
    let patches = std::cell::RefCell::new(Vec::new());
    // Several rules read the same files for different kinds: parse each file once per run.
    let read = |rel: &str, objects: &mut Vec<Located>, errors: &mut Vec<Value>| {
        let parsed = parse_once(ctx, rel);
        for o in parsed.0.iter().filter(|o| q.matches(&o.value)) {
            match patch_reason(o, patch_files) {
                Some(reason) => patches
                    .borrow_mut()
                    .push(json!({"path": o.path, "line": o.line, "reason": reason})),
                None => objects.push(o.clone()),
            }
        }
        errors.extend(
            parsed
                .1
                .iter()
                .map(|p| json!({"path": p.path, "line": p.line, "message": p.message})),
        );
    };
    for entry in entries {
        let entry = entry.clone();
        let is_glob = super::fs::is_glob(&entry);
        let path = ctx.resolve(&entry)?;
        if !is_glob && path.is_dir() {
            if KUSTOMIZATION_FILES.iter().any(|k| path.join(k).is_file()) {
                let out = kustomize_once(ctx, &path, &entry)?;
                g.objects.extend(out);
                g.rendered.push(entry.clone());
                continue;
            }
            // A plain folder: every YAML file below it (`.`: the audited folder itself).
            let prefix = match super::fs::normalize_rel(&entry) {
                folder if folder.is_empty() => String::new(),
                folder => format!("{folder}/"),
            };
            let found: Vec<String> = ctx
                .listing()
                .files
                .iter()
                .filter(|f| f.starts_with(&prefix) && is_yaml(f) && !is_kustomization(f))
                .filter(|f| !exclude.is_match(f.as_str()))
                .cloned()
                .collect();
            if found.is_empty() {
                g.missing.push(entry.clone());
            }
            for f in found {
                read(&f, &mut g.objects, &mut g.errors);
                g.files.push(f);
            }
            continue;
        }
        if !is_glob {
            if path.is_file() {
                read(&entry, &mut g.objects, &mut g.errors);
                g.files.push(entry.clone());
            } else {
                g.missing.push(entry.clone());
            }
            continue;
        }
        let set =
            super::fs::globset(std::slice::from_ref(&entry), false).map_err(CollectError::new)?;
        let found: Vec<String> = ctx
            .listing()
            .matching(&set, Some(&exclude))
            .into_iter()
            .filter(|f| !is_kustomization(f))
            .map(str::to_string)
            .collect();
        if found.is_empty() {
            g.missing.push(entry.clone());
        }
        for f in found {
            read(&f, &mut g.objects, &mut g.errors);
            g.files.push(f);
        }
    }
    g.patches = patches.into_inner();
    Ok(g)
}

/// The request's evidence (objects filled in by the caller): files, renders, what was named but
/// not read — a path that does not exist or matched no file, and every document that did not
/// parse or was refused before parsing.
fn evidence_value(ctx: &Ctx<'_>, g: Gathered, count: usize) -> Value {
    let Gathered {
        mut files,
        errors,
        rendered,
        missing,
        patches,
        ..
    } = g;
    files.sort();
    files.dedup();
    let mut unread: Vec<Value> = missing
        .iter()
        .map(|m| json!({"path": m, "reason": "named as manifests but no such file or folder (or no YAML file in it)"}))
        .collect();
    unread.extend(errors.iter().map(|e| {
        json!({
            "path": e["path"],
            "reason": format!(
                "document at line {} not read: {}",
                e["line"],
                e["message"].as_str().unwrap_or("")
            ),
        })
    }));
    let now = ctx
        .options
        .now
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "count": count,
        "by_namespace": null,
        "by_name": null,
        "objects": null,
        "files": files,
        "rendered": rendered,
        "missing": missing,
        "errors": errors,
        "unread": unread,
        "patches": patches,
        "source": {
            "kind": "manifests",
            "captured_at": now,
            "captured_at_from": "repository",
            "age_hours": 0,
        },
    })
}

fn is_yaml(f: &str) -> bool {
    f.ends_with(".yaml") || f.ends_with(".yml") || f.ends_with(".json")
}

fn is_kustomization(f: &str) -> bool {
    let name = f.rsplit('/').next().unwrap_or(f);
    KUSTOMIZATION_FILES.contains(&name)
}

/// [`kustomize`], once per folder and run: later requests (and concurrent ones) get the first
/// render.
fn kustomize_once(ctx: &Ctx<'_>, dir: &Path, entry: &str) -> Result<Vec<Located>, CollectError> {
    let cell = {
        let mut renders = ctx
            .kustomize_renders
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        renders.entry(dir.to_path_buf()).or_default().clone()
    };
    cell.get_or_init(|| kustomize_cached(ctx, dir, entry))
        .clone()
}

/// [`kustomize`] through the run cache (`OUT/.cache`, off with `--no-cache`): a render is
/// reused while kubectl (its path, size and mtime), the folder and the content of the whole
/// audited tree are unchanged — the tree, because an overlay may reach any file of it through
/// `../` (a base, a patch, a generator's file). Starting kubectl is most of an example audit.
fn kustomize_cached(ctx: &Ctx<'_>, dir: &Path, entry: &str) -> Result<Vec<Located>, CollectError> {
    let (Some(cache), Some(kubectl)) = (&ctx.options.cache_dir, which("kubectl")) else {
        return kustomize(ctx, dir, entry);
    };
    let key = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"shipshape-kustomize-cache/3\0");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(ctx.options.now.date_naive().to_string().as_bytes());
        h.update(kubectl.to_string_lossy().as_bytes());
        if let Ok(m) = std::fs::metadata(&kubectl) {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(format!("\0{}\0{mtime}\0", m.len()).as_bytes());
        }
        h.update(dir.to_string_lossy().as_bytes());
        h.update(b"\0");
        h.update(entry.as_bytes());
        h.update(ctx.tree_digest());
        hex::encode(h.finalize())
    };
    let file = cache.join(format!("kustomize-{key}.json"));
    if let Some(objects) = super::cache::read(cache, &file, ctx.options.cache_max_age)
        .and_then(|(v, _)| serde_json::from_value::<Vec<Located>>(v).ok())
    {
        tracing::debug!(folder = entry, "kustomize render from cache");
        return Ok(objects);
    }
    // Secrets' data and anything the redactor knows never reach the disk; rules see these
    // objects scrubbed and redacted anyway, so a cached render evaluates as a fresh one.
    let mut objects = kustomize(ctx, dir, entry)?;
    for o in &mut objects {
        k8s::scrub(&mut o.value);
        ctx.redactor.value(&mut o.value);
    }
    if let Ok(v) = serde_json::to_value(&objects) {
        super::cache::write(cache, &file, &v, chrono::Utc::now());
    }
    Ok(objects)
}

/// Render a kustomize folder with the real kubectl. The folder is wrapped in a temporary
/// kustomization that switches on `buildMetadata: [originAnnotations]`, so every rendered object
/// says which source file it came from; the annotation is removed again before rules see it.
fn kustomize(ctx: &Ctx<'_>, dir: &Path, entry: &str) -> Result<Vec<Located>, CollectError> {
    // The sandbox: nothing outside the repository, nothing remote.
    super::kustomize::check(dir, &ctx.boundary).map_err(|problems| {
        CollectError::new(format!(
            "kustomize folder `{entry}` not rendered: {}",
            problems.join("; ")
        ))
    })?;
    let kubectl = which("kubectl").ok_or_else(|| {
        CollectError::new(format!(
            "kubectl is not on PATH: cannot render the kustomize folder `{entry}` (install kubectl with kustomize v5)"
        ))
    })?;
    let wrap = TempDir::new().map_err(|e| {
        CollectError::new(format!(
            "cannot create a temporary folder for kustomize: {e}"
        ))
    })?;
    // kustomize only takes relative resource paths: climb from the wrapper to `/` and down.
    let depth = wrap.0.components().count();
    let rel = format!(
        "{}{}",
        "../".repeat(depth),
        dir.to_string_lossy().trim_start_matches('/')
    );
    let kz = format!(
        "resources:\n- {rel}\nbuildMetadata: [originAnnotations, transformerAnnotations]\n"
    );
    std::fs::write(wrap.0.join("kustomization.yaml"), kz)
        .map_err(|e| CollectError::new(format!("cannot write the kustomize wrapper: {e}")))?;
    let limit = ctx.options.max_file_bytes.saturating_mul(8);
    let started = std::time::Instant::now();
    let mut cmd = Command::new(kubectl);
    super::kustomize::sandbox_env(&mut cmd);
    let (status, stdout, stderr) =
        run_bounded(cmd.arg("kustomize").arg(&wrap.0), KUSTOMIZE_TIMEOUT, limit)
            .map_err(|e| CollectError::new(format!("kubectl kustomize `{entry}`: {e}")))?;
    if !status {
        let msg = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .to_string();
        return Err(CollectError::new(format!(
            "kubectl kustomize `{entry}` failed: {}",
            msg.replace(&wrap.0.display().to_string(), "<wrapper>")
        )));
    }
    tracing::debug!(
        folder = entry,
        ms = started.elapsed().as_millis() as u64,
        "kubectl kustomize"
    );
    let (objs, problems) = k8s::parse_stream(&stdout, entry);
    if let Some(p) = problems.first() {
        return Err(CollectError::new(format!(
            "kubectl kustomize `{entry}` printed YAML that does not parse: {}",
            p.message
        )));
    }
    let mut sources: BTreeMap<String, Vec<Located>> = BTreeMap::new();
    // Kustomizations and patch files are read once per render, however many objects they touch.
    let texts: std::cell::RefCell<BTreeMap<String, Option<String>>> = Default::default();
    let read = |rel: &str| -> Option<String> {
        texts
            .borrow_mut()
            .entry(rel.to_string())
            .or_insert_with(|| ctx.read_text(rel).ok().map(|t| t.text))
            .clone()
    };
    let mut out = Vec::new();
    for mut o in objs {
        let origin = take_origin(&mut o.value);
        let transformations = super::kustomize_lines::take_transformations(&mut o.value);
        let kfile = KUSTOMIZATION_FILES
            .iter()
            .map(|k| format!("{entry}/{k}"))
            .find(|k| ctx.root.join(k).is_file())
            .unwrap_or_else(|| entry.to_string());
        // Origin paths are relative to the wrapper folder; map them back under the root.
        let src = origin.map(|p| absolute(&wrap.0.join(p))).and_then(|abs| {
            abs.strip_prefix(&ctx.root)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
        });
        let (path, line, mut fields) = match src {
            Some(src) => {
                let docs = sources.entry(src.clone()).or_insert_with(|| {
                    ctx.read_text(&src)
                        .map(|t| k8s::parse_stream(&t.text, &src).0)
                        .unwrap_or_default()
                });
                match find_doc(docs, &o.value) {
                    Some(d) => (src, d.line, d.fields.clone()),
                    None => (src, None, BTreeMap::new()),
                }
            }
            // Generated objects (configMapGenerator…) come from the kustomization itself.
            None => (kfile, None, BTreeMap::new()),
        };
        for t in &transformations {
            let abs = absolute(&wrap.0.join(&t.configured_in));
            if let Ok(rel) = abs.strip_prefix(&ctx.root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                super::kustomize_lines::apply(&o.value, t, &rel, &read, &mut fields);
            }
        }
        out.push(Located {
            value: o.value,
            path: Some(path),
            line,
            fields,
        });
    }
    tracing::debug!(
        folder = entry,
        ms = started.elapsed().as_millis() as u64,
        "kustomize objects located in their sources"
    );
    Ok(out)
}

/// Remove kustomize's origin annotation and return its `path`.
fn take_origin(v: &mut Value) -> Option<String> {
    let meta = v.get_mut("metadata")?.as_object_mut()?;
    let ann = meta.get_mut("annotations")?.as_object_mut()?;
    let origin = ann.remove(ORIGIN_ANNOTATION)?;
    if ann.is_empty() {
        meta.remove("annotations");
    }
    let text = origin.as_str()?;
    let parsed: Value = serde_yaml::from_str(text).ok()?;
    parsed.get("path")?.as_str().map(str::to_string)
}

/// Lexically normalise an absolute path; `..` at `/` stays at `/`, as the kernel does.
fn absolute(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(s) => out.push(s),
            _ => {}
        }
    }
    out
}

/// The source document a rendered object came from: same kind, and the source name equal to
/// (or contained in, after namePrefix/nameSuffix) the rendered name.
fn find_doc<'d>(docs: &'d [Located], v: &Value) -> Option<&'d Located> {
    let kind = v.get("kind").and_then(Value::as_str);
    let name = v
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let same_kind: Vec<&Located> = docs
        .iter()
        .filter(|d| d.value.get("kind").and_then(Value::as_str) == kind)
        .collect();
    let src_name = |d: &Located| {
        d.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    same_kind
        .iter()
        .find(|d| src_name(d) == name)
        .or_else(|| {
            same_kind
                .iter()
                .find(|d| !src_name(d).is_empty() && name.contains(&src_name(d)))
        })
        .or_else(|| (same_kind.len() == 1).then(|| &same_kind[0]))
        .copied()
}

pub(crate) fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

/// Run a command with a deadline and a cap on what it prints.
fn run_bounded(
    cmd: &mut Command,
    limit: Duration,
    max_bytes: u64,
) -> Result<(bool, String, String), String> {
    use std::os::unix::process::CommandExt;
    let mark = super::procs::new_mark();
    super::procs::become_subreaper();
    let mut child = cmd
        .env(super::procs::MARK, &mark)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    // Its own process group, known to the run: a timeout or an interrupted run kills it whole.
    let pgid = child.id();
    super::run::register(pgid);
    let result = wait_bounded(&mut child, limit, max_bytes, &mark);
    super::run::kill_group(pgid);
    super::procs::kill_marked(&mark, pgid);
    super::run::unregister(pgid);
    result
}

fn wait_bounded(
    child: &mut std::process::Child,
    limit: Duration,
    max_bytes: u64,
    mark: &str,
) -> Result<(bool, String, String), String> {
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = (&mut out).take(max_bytes + 1).read_to_end(&mut b);
        // Drain the rest so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = (&mut err).take(64 * 1024).read_to_end(&mut b);
        let _ = std::io::copy(&mut err, &mut std::io::sink());
        b
    });
    let started = Instant::now();
    let Some(status) = super::run::wait_until(child, started + limit).map_err(|e| e.to_string())?
    else {
        super::run::kill_group(child.id());
        super::procs::kill_marked(mark, child.id());
        let _ = child.wait();
        return Err(format!("timed out after {}s", limit.as_secs()));
    };
    // Nothing kubectl started may keep the pipes open.
    super::run::kill_group(child.id());
    super::procs::kill_marked(mark, child.id());
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    if stdout.len() as u64 > max_bytes {
        return Err(format!("printed more than {max_bytes} bytes"));
    }
    Ok((
        status.success(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    ))
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        for _ in 0..100 {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = base.join(format!("shipshape-kustomize-{}-{n}", std::process::id()));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(std::fs::canonicalize(&p).unwrap_or(p))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free temporary folder name"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `manifests` yields; its first nine names are `cluster`'s too.
pub const OBJECT_NAMES: [Name; 13] = [
    n(
        "objects",
        "list",
        "the objects, with _ref, _path, _line, _namespace; workloads also answer _pod, _containers, _pod_labels (derived when read); relate selectors with k8s.selects(selector, labels)",
    ),
    n("count", "int", "number of objects"),
    n(
        "source",
        "map",
        "{kind, captured_at, captured_at_from, age_hours}",
    ),
    n(
        "errors",
        "list",
        "{path, line, message} of documents that did not parse",
    ),
    n(
        "unread",
        "list",
        "{path, reason}: missing entries and documents not parsed; the rule cannot pass over them",
    ),
    n("by_namespace", "map", "namespace → indexes into objects"),
    n("by_name", "map", "Kind/namespace/name → index into objects"),
    n(
        "by_selector_label",
        "map",
        "namespace/key=value → indexes of objects whose spec.selector.matchLabels hold that pair",
    ),
    n(
        "by_selector_unlabelled",
        "map",
        "namespace → indexes of objects whose spec.selector has no matchLabels",
    ),
    n(
        "patches",
        "list",
        "{path, line, reason}: documents read as files that are patches (a kustomization applies them, or a partial workload), not audited alone",
    ),
    n("files", "list", "files read"),
    n("rendered", "list", "kustomize folders rendered"),
    n("missing", "list", "entries that matched nothing"),
];

impl Source for Spec {
    const NAME: &'static str = "manifests";
    const DOC: SourceDoc = SourceDoc {
        name: "manifests",
        summary: "Kubernetes objects parsed from YAML files (multi-document), the same shape as `cluster`.",
        options: "kind, api_version, namespace, selector, field_selector, name, exclude",
        names: &OBJECT_NAMES,
        example: r#"[[rule]]
id = "workloads-non-root"
area = "example"
title = "Workloads run as non-root"
evidence.k = { manifests = ["k8s/**/*.yaml"], kind = "Deployment" }
expect = ['k.objects.all(o, o.spec.template.spec.securityContext.runAsNonRoot == true)']
"#,
    };
    const COST: u8 = 0;

    fn from_raw(raw: &EvidenceRaw) -> Result<Spec, String> {
        Spec::from_raw(raw)
    }

    fn collect(&self, ctx: &Ctx<'_>) -> Collected {
        collect(ctx, self)
    }

    fn describe(&self) -> String {
        format!(
            "manifests {}{}",
            if self.paths.is_empty() {
                "([cluster] manifests)".to_string()
            } else {
                self.paths.join(", ")
            },
            if self.kinds.is_empty() {
                String::new()
            } else {
                format!(" of kind {}", self.kinds.join(", "))
            }
        )
    }

    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }

    fn scope(&self) -> Option<(Vec<String>, Vec<String>)> {
        // A manifests path is a file, a glob or a folder (every file under it).
        let include = self
            .paths
            .iter()
            .flat_map(|p| {
                let p = p.trim_end_matches('/');
                if super::fs::is_glob(p) {
                    vec![p.to_string()]
                } else {
                    vec![p.to_string(), format!("{p}/**")]
                }
            })
            .collect();
        Some((include, vec![]))
    }

    fn matched_nothing(&self, name: &str, v: &Value) -> Option<String> {
        (v.get("count").and_then(Value::as_u64) == Some(0))
            .then(|| format!("`{name}` holds no objects"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_paths_resolve_like_the_kernel() {
        assert_eq!(
            absolute(Path::new("/tmp/w/../../../repo/k8s/base/d.yaml")),
            PathBuf::from("/repo/k8s/base/d.yaml")
        );
    }

    #[test]
    fn origin_annotation_is_taken_out() {
        let mut v = serde_json::json!({"metadata": {"name": "a", "annotations": {ORIGIN_ANNOTATION: "path: ../base/d.yaml\n"}}});
        assert_eq!(take_origin(&mut v).as_deref(), Some("../base/d.yaml"));
        assert!(v["metadata"].get("annotations").is_none());
    }
}

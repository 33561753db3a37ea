//! Evidence as CEL values, built lazily, once per run, and shared by every rule.
//!
//! cel 0.15 evaluates over `dyn Val` trees. Binding a `cel::Value` converts it into such a tree
//! (a deep copy per rule), and every comprehension step (`objects.filter(o, …)`) clones the
//! element it binds — for the built-in map and list types a deep copy of a whole Kubernetes
//! object per iteration. Here a JSON map or list becomes a [`Lazy`] node: it borrows the
//! evidence, and builds its built-in CEL map or list (whose children are again lazy nodes) the
//! first time a rule looks into it, memoised and shared by every clone behind an `Arc`. A rule
//! that reads `o.spec.replicas` converts three levels of one object, not the object; a node no
//! rule reads is never converted.
//!
//! Nodes are transparent: they report the built-in map and list types, and `as_builtin` hands
//! out the built value, so every downcast, comparison, conversion to `cel::Value` and function
//! of the crate sees exactly what it would see for the built-in types.
//!
//! Kubernetes objects (the `objects` of `cluster` and `manifests` evidence) also answer the
//! derived keys `_pod` (the pod spec, wherever the kind keeps it), `_containers` (init
//! containers and containers) and `_pod_labels` — computed here from the object itself instead
//! of being stored as copies in the evidence.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use cel::ExecutionError;
use cel::common::traits::{Adder, Container, Indexer, Iterable, Sizer, Zeroer};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Type,
};
use cel::common::value::{Builtin, BuiltinRef, CowVal, Val};
use serde_json::Value;

/// JSON evidence → a CEL value borrowing the evidence. The same typing as
/// [`super::cel::to_cel`]: integers stay integers (`age_days <= 92` compares ints), other numbers
/// are doubles.
pub fn to_val(v: &Value) -> Box<dyn Val + '_> {
    node(v, Shape::Plain)
}

/// [`to_val`] for the value of a `cluster` or `manifests` request: its `objects` are
/// Kubernetes objects and answer the derived keys (`_pod`, `_containers`, `_pod_labels`).
pub fn to_val_k8s(v: &Value) -> Box<dyn Val + '_> {
    node(v, Shape::K8sEvidence)
}

/// Where a node sits, for the derived keys of Kubernetes objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    /// The value of a `cluster`/`manifests` request.
    K8sEvidence,
    /// Its `objects` list.
    K8sObjects,
    /// One object of it.
    K8sObject,
}

fn node(v: &Value, shape: Shape) -> Box<dyn Val + '_> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(_) | Value::Object(_) => Box::new(Lazy {
            v,
            shape,
            built: Arc::new(OnceLock::new()),
        }),
    }
}

/// A JSON map or list whose built-in CEL value is built on first use, one level at a time.
#[derive(Debug, Clone)]
pub struct Lazy<'v> {
    v: &'v Value,
    shape: Shape,
    built: Arc<OnceLock<Built<'v>>>,
}

#[derive(Debug)]
enum Built<'v> {
    Map(CelMap<'v>),
    List(CelList<'v>),
}

impl<'v> Lazy<'v> {
    fn is_map(&self) -> bool {
        self.v.is_object()
    }

    fn built(&self) -> &Built<'v> {
        self.built.get_or_init(|| match self.v {
            Value::Array(a) => {
                let child = if self.shape == Shape::K8sObjects {
                    Shape::K8sObject
                } else {
                    Shape::Plain
                };
                Built::List(CelList::from(
                    a.iter().map(|x| node(x, child)).collect::<Vec<_>>(),
                ))
            }
            Value::Object(m) => {
                let mut map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = m
                    .iter()
                    .map(|(k, x)| {
                        let child = if self.shape == Shape::K8sEvidence && k == "objects" {
                            Shape::K8sObjects
                        } else {
                            Shape::Plain
                        };
                        (CelMapKey::from(k.as_str()), node(x, child))
                    })
                    .collect();
                if self.shape == Shape::K8sObject {
                    derived_keys(self.v, &mut map);
                }
                Built::Map(CelMap::from(map))
            }
            // `node` makes lazy nodes of maps and lists only.
            _ => Built::List(CelList::from(Vec::<Box<dyn Val + 'v>>::new())),
        })
    }

    fn inner(&self) -> &dyn Val {
        match self.built() {
            Built::Map(m) => m,
            Built::List(l) => l,
        }
    }
}

/// The keys every workload kind answers alike, so one rule covers them all: `_pod` (the pod
/// spec: a Pod's `spec`, a CronJob's `spec.jobTemplate.spec.template.spec`, else
/// `spec.template.spec`), `_containers` (its init containers, then containers) and
/// `_pod_labels` (the pod template's labels, `{}` when none). Objects with no pod spec get
/// none of them; a key the object really has wins.
fn derived_keys<'v>(object: &'v Value, map: &mut HashMap<CelMapKey<'v>, Box<dyn Val + 'v>>) {
    let Some((spec, meta)) = crate::collect::k8s::pod_template(object) else {
        return;
    };
    let containers: Vec<Box<dyn Val + 'v>> = ["initContainers", "containers"]
        .iter()
        .filter_map(|k| spec.get(*k).and_then(Value::as_array))
        .flatten()
        .map(|c| node(c, Shape::Plain))
        .collect();
    let labels: Box<dyn Val + 'v> = match meta.and_then(|m| m.get("labels")) {
        Some(l) => node(l, Shape::Plain),
        None => Box::new(CelMap::from(
            HashMap::<CelMapKey<'v>, Box<dyn Val + 'v>>::new(),
        )),
    };
    map.entry(CelMapKey::from("_pod"))
        .or_insert_with(|| node(spec, Shape::Plain));
    map.entry(CelMapKey::from("_containers"))
        .or_insert_with(|| Box::new(CelList::from(containers)));
    map.entry(CelMapKey::from("_pod_labels")).or_insert(labels);
}

impl<'v> Val for Lazy<'v> {
    fn get_type(&self) -> &Type {
        if self.is_map() {
            <CelMap<'static> as Val>::cel_type()
        } else {
            <CelList<'static> as Val>::cel_type()
        }
    }

    fn cel_type() -> &'static Type {
        // Maps and lists each report their own type through `get_type`.
        <CelMap<'static> as Val>::cel_type()
    }

    fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
    where
        Self: 'w,
    {
        match self.built() {
            Built::Map(m) => m.as_adder(),
            Built::List(l) => l.as_adder(),
        }
    }

    fn as_container(&self) -> Option<&dyn Container> {
        match self.built() {
            Built::Map(m) => m.as_container(),
            Built::List(l) => l.as_container(),
        }
    }

    fn as_indexer<'b, 'w>(&'b self) -> Option<&'b (dyn Indexer + 'w)>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn into_indexer<'w>(self: Box<Self>) -> Option<Box<dyn Indexer + 'w>>
    where
        Self: 'w,
    {
        Some(self)
    }

    fn as_iterable<'b, 'w>(&'b self) -> Option<&'b (dyn Iterable + 'w)>
    where
        Self: 'w,
    {
        match self.built() {
            Built::Map(m) => m.as_iterable(),
            Built::List(l) => l.as_iterable(),
        }
    }

    fn as_sizer(&self) -> Option<&dyn Sizer> {
        Some(self)
    }

    fn as_zeroer(&self) -> Option<&dyn Zeroer> {
        self.inner().as_zeroer()
    }

    fn equals(&self, other: &dyn Val) -> bool {
        self.inner().equals(other)
    }

    fn clone_as_boxed<'w>(&self) -> Box<dyn Val + 'w>
    where
        Self: 'w,
    {
        Box::new(self.clone())
    }

    fn as_builtin<'b, 'w>(&'b self) -> BuiltinRef<'b, 'w>
    where
        Self: 'w,
    {
        match self.built() {
            Built::Map(m) => BuiltinRef::Map(m),
            Built::List(l) => BuiltinRef::List(l),
        }
    }

    fn into_builtin<'w>(self: Box<Self>) -> Option<Builtin<'w>>
    where
        Self: 'w,
    {
        // The built level is shared with other clones: hand out a shallow copy (its children
        // are lazy nodes, so this copies one level of pointers).
        Some(match self.built() {
            Built::Map(m) => Builtin::Map(m.clone()),
            Built::List(l) => Builtin::List(l.clone()),
        })
    }
}

impl Sizer for Lazy<'_> {
    fn size(&self) -> CelInt {
        match self.v {
            Value::Array(a) => CelInt::from(a.len() as i64),
            // Kubernetes objects count their derived keys, which exist once built.
            Value::Object(m) if self.shape != Shape::K8sObject => CelInt::from(m.len() as i64),
            _ => self
                .inner()
                .as_sizer()
                .map_or(CelInt::from(0), |s| s.size()),
        }
    }
}

impl Indexer for Lazy<'_> {
    fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
    where
        Self: 'w,
    {
        match self.built() {
            Built::Map(m) => m.get(idx),
            Built::List(l) => l.get(idx),
        }
    }

    fn steal<'w>(self: Box<Self>, idx: &dyn Val) -> Result<Box<dyn Val + 'w>, ExecutionError>
    where
        Self: 'w,
    {
        // Elements are lazy nodes or scalars: copying one out is cheap.
        self.get(idx).map(CowVal::into_owned)
    }
}

/// The evidence a rule names, looked up without copying: each name borrows a value built once
/// per run.
pub struct Bound<'a, 'e> {
    pub vars: Vec<(&'a str, &'a (dyn Val + 'e))>,
}

impl<'a, 'e> cel::context::VariableResolver for Bound<'a, 'e> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        self.vars
            .iter()
            .find(|(n, _)| *n == variable)
            .map(|(_, v)| CowVal::Borrowed(*v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shared tree evaluates exactly as the crate's own conversion of the same value.
    #[test]
    fn shared_values_evaluate_like_plain_ones() {
        let doc = json!({
            "objects": [
                {"kind": "Deployment", "_ref": "Deployment a/x (k.yaml:1)", "_path": "k.yaml", "_line": 1,
                 "spec": {"replicas": 2, "labels": {"app": "x"}}, "list": [1, 2, 3], "f": 1.5, "n": null},
                {"kind": "Pod", "_ref": "Pod a/y", "spec": {"labels": {}}, "list": [], "f": 2.0, "n": null}
            ],
            "by_name": {"Deployment/a/x": 0},
            "big": 18446744073709551615u64,
        });
        let exprs = [
            "d.objects.filter(o, o.kind == 'Pod').map(o, o._ref) == []",
            "d.objects.filter(o, o.kind == 'Pod').map(o, o._ref)",
            "d.objects.filter(o, has(o.spec.replicas))",
            "d.objects[0]",
            "d.objects[0].spec.labels.all(k, k in d.objects[0].spec.labels && d.objects[0].spec.labels[k] == 'x')",
            "size(d.objects[1].spec.labels) == 0",
            "d.objects[0].list + [4]",
            "d.objects[0].list == [1, 2, 3]",
            "d.objects[0] == d.objects[0]",
            "d.objects[0].spec == {'replicas': 2, 'labels': {'app': 'x'}}",
            "'Deployment/a/x' in d.by_name",
            "3 in d.objects[0].list",
            "d.objects.map(o, o.f)",
            "d.objects.exists(o, o.n == null)",
            "d.big",
            "d.objects[0].nope",
            "d.objects[5]",
            "d.objects.map(o, o.spec)[0].labels",
            "[d.objects[0].spec][0].labels.app",
            "{'a': d.objects[0].list}.a[1]",
            "d.objects[0].list.sort()",
            "d.objects.all(o, o.list.all(i, i > 0))",
        ];
        let plain = {
            let mut c = super::super::cel::context();
            c.add_variable_from_value("d", super::super::cel::to_cel(&doc));
            c
        };
        let shared = to_val(&doc);
        let bound = Bound {
            vars: vec![("d", shared.as_ref())],
        };
        let mut c = cel::Context::with_env(super::super::cel::env());
        c.set_variable_resolver(&bound);
        for e in exprs {
            assert_eq!(
                super::super::cel::eval(e, &plain),
                super::super::cel::eval(e, &c),
                "{e}"
            );
        }
    }

    fn eval_k8s(doc: &Value, expr: &str, k8s: bool) -> Result<cel::Value, String> {
        let shared = if k8s { to_val_k8s(doc) } else { to_val(doc) };
        let bound = Bound {
            vars: vec![("d", shared.as_ref())],
        };
        let mut c = cel::Context::with_env(super::super::cel::env());
        c.set_variable_resolver(&bound);
        super::super::cel::eval(expr, &c)
    }

    /// Workload objects of `cluster`/`manifests` evidence answer `_pod`, `_containers` and
    /// `_pod_labels`, derived from the object; other evidence and other kinds do not.
    #[test]
    fn kubernetes_objects_answer_derived_keys() {
        let doc = json!({"objects": [
            {"kind": "Deployment", "metadata": {"name": "a"}, "spec": {"template": {
                "metadata": {"labels": {"app": "a"}},
                "spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "app", "image": "x"}]}}}},
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {
                "spec": {"containers": [{"name": "job"}]}}}}}},
            {"kind": "Pod", "metadata": {"labels": {"p": "1"}}, "spec": {"containers": [{"name": "c"}]}},
            {"kind": "Service", "spec": {"selector": {"app": "a"}}},
        ]});
        let ok = |e: &str, want: cel::Value| {
            assert_eq!(eval_k8s(&doc, e, true), Ok(want), "{e}");
        };
        let strings = |v: &[&str]| {
            cel::Value::List(std::sync::Arc::new(
                v.iter()
                    .map(|s| cel::Value::String(std::sync::Arc::new(s.to_string())))
                    .collect(),
            ))
        };
        ok(
            "d.objects[0]._containers.map(c, c.name)",
            strings(&["init", "app"]),
        );
        ok(
            "d.objects[0]._pod_labels.app",
            cel::Value::String(std::sync::Arc::new("a".into())),
        );
        ok(
            "d.objects[0]._pod.containers[0].image",
            cel::Value::String(std::sync::Arc::new("x".into())),
        );
        ok("d.objects[1]._containers.map(c, c.name)", strings(&["job"]));
        ok("size(d.objects[1]._pod_labels)", cel::Value::Int(0));
        ok(
            "d.objects[2]._pod_labels.p",
            cel::Value::String(std::sync::Arc::new("1".into())),
        );
        ok("has(d.objects[3]._pod)", cel::Value::Bool(false));
        ok(
            "d.objects.filter(o, has(o._containers)).map(o, o.kind)",
            strings(&["Deployment", "CronJob", "Pod"]),
        );
        // Derived keys count as keys of the object, as they did when they were stored.
        ok("size(d.objects[0])", cel::Value::Int(6));
        ok("'_pod' in d.objects[0]", cel::Value::Bool(true));
        // Not stored: the evidence itself is untouched.
        assert!(doc["objects"][0].get("_pod").is_none());
        // The same JSON as other evidence (a data file) has no derived keys.
        assert_eq!(
            eval_k8s(&doc, "has(d.objects[0]._pod)", false),
            Ok(cel::Value::Bool(false))
        );
    }
}

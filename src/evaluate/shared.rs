//! Evidence as CEL values, built once per run and shared by every rule.
//!
//! cel 0.15 evaluates over `dyn Val` trees. Binding a `cel::Value` converts it into such a tree
//! (a deep copy per rule), and every comprehension step (`objects.filter(o, …)`) clones the
//! element it binds — for the built-in map and list types a deep copy of a whole Kubernetes
//! object per iteration. Here evidence JSON is converted once into a tree whose maps and lists
//! sit behind an `Arc` ([`SharedMap`], [`SharedList`]) and whose strings borrow the evidence, so
//! binding and cloning cost a reference count.
//!
//! The wrappers are transparent: they report the built-in map and list types, and
//! `as_builtin` hands out the inner built-in value, so every downcast, comparison, conversion to
//! `cel::Value` and function of the crate sees exactly what it saw before.

use std::collections::HashMap;
use std::sync::Arc;

use cel::ExecutionError;
use cel::common::traits::{Adder, Container, Indexer, Iterable, Sizer, Zeroer};
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt, Type,
};
use cel::common::value::{Builtin, BuiltinRef, CowVal, Val};
use serde_json::Value;

/// JSON evidence → a CEL value borrowing the evidence's strings. The same typing as
/// [`super::cel::to_cel`]: integers stay integers (`age_days <= 92` compares ints), other numbers
/// are doubles.
pub fn to_val(v: &Value) -> Box<dyn Val + '_> {
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
        Value::Array(a) => Box::new(SharedList(Arc::new(CelList::from(
            a.iter().map(to_val).collect::<Vec<_>>(),
        )))),
        Value::Object(m) => {
            let map: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> = m
                .iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v)))
                .collect();
            Box::new(SharedMap(Arc::new(CelMap::from(map))))
        }
    }
}

/// A built-in CEL map behind an `Arc`: cloning it is a reference count.
#[derive(Debug, Clone)]
pub struct SharedMap<'v>(pub Arc<CelMap<'v>>);

/// A built-in CEL list behind an `Arc`: cloning it is a reference count.
#[derive(Debug, Clone)]
pub struct SharedList<'v>(pub Arc<CelList<'v>>);

macro_rules! shared {
    ($name:ident, $inner:ident, $variant:ident) => {
        impl<'v> Val for $name<'v> {
            fn get_type(&self) -> &Type {
                self.0.get_type()
            }

            fn cel_type() -> &'static Type {
                <$inner<'static> as Val>::cel_type()
            }

            fn as_adder<'b, 'w>(&'b self) -> Option<&'b (dyn Adder + 'w)>
            where
                Self: 'w,
            {
                self.0.as_adder()
            }

            fn as_container(&self) -> Option<&dyn Container> {
                self.0.as_container()
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
                self.0.as_iterable()
            }

            fn as_sizer(&self) -> Option<&dyn Sizer> {
                self.0.as_sizer()
            }

            fn as_zeroer(&self) -> Option<&dyn Zeroer> {
                self.0.as_zeroer()
            }

            fn equals(&self, other: &dyn Val) -> bool {
                self.0.equals(other)
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
                BuiltinRef::$variant(&self.0)
            }

            fn into_builtin<'w>(self: Box<Self>) -> Option<Builtin<'w>>
            where
                Self: 'w,
            {
                Some(Builtin::$variant(
                    Arc::try_unwrap(self.0).unwrap_or_else(|a| (*a).clone()),
                ))
            }
        }

        impl<'v> Indexer for $name<'v> {
            fn get<'b, 'w>(&'b self, idx: &dyn Val) -> Result<CowVal<'b, 'w>, ExecutionError>
            where
                Self: 'w,
            {
                self.0.get(idx)
            }

            fn steal<'w>(
                self: Box<Self>,
                idx: &dyn Val,
            ) -> Result<Box<dyn Val + 'w>, ExecutionError>
            where
                Self: 'w,
            {
                // Elements are shared wrappers or scalars: copying one out is cheap.
                self.0.get(idx).map(CowVal::into_owned)
            }
        }
    };
}

shared!(SharedMap, CelMap, Map);
shared!(SharedList, CelList, List);

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
}

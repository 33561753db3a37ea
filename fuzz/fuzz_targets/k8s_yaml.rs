//! The manifest / cluster-snapshot parser (multi-document YAML, `kubectl get -o yaml` lists, the
//! alias and depth pre-check) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shipshape::collect::{cluster, k8s};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = cluster::captured_at_header(&text);
    let (objects, _problems) = k8s::parse_stream(&text, "fuzz.yaml");
    let values: Vec<_> = objects.into_iter().map(k8s::annotate).collect();
    let _ = k8s::indexes(&values);
});

//! The Prometheus text-format parser of the `http` source on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let m = shipshape::collect::http::parse_metrics(&text);
    let _ = m.by_key();
    let _ = m.samples_json();
});

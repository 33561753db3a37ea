//! The policy loader on arbitrary text: parse, validate, compile CEL. Never a panic, never a
//! file read (`load_str` allows built-in includes only).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = shipshape::policy::load_str("fuzz.toml", text);
    }
});

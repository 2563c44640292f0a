//! The revision-file parser on arbitrary input: it must never panic, and an
//! error must point at a line of the file (or just past its end).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use retort::core::revision::parse_revision;

fuzz_target!(|data: &[u8]| {
    // The loader rejects non-UTF-8 before parsing; the lossy decoding lets
    // every input reach the parser instead of being thrown away.
    let text = String::from_utf8_lossy(data);
    let line_count = text.split('\n').count();
    match parse_revision(Path::new("fuzz.sql"), &text) {
        Ok(revision) => {
            assert!(!revision.id.is_empty(), "parsed an empty id");
            assert!(revision.upgrade.first_line >= 1);
            assert!(revision.upgrade.first_line <= line_count + 1);
        }
        Err(error) => {
            assert!(
                (1..=line_count + 1).contains(&error.line),
                "error line {} outside a {line_count}-line file: {error}",
                error.line
            );
            assert!(!error.message.is_empty());
        }
    }
});

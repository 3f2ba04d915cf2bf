//! Arbitrary bytes into the client-frame parser and the domain parsers (`MessageText`,
//! `Username`, `Password`), checking the same promises as the property tests: the checks live in
//! tests/api/parser_invariants.rs, included here by path so that there is one copy of them.
#![no_main]

#[path = "../../tests/api/parser_invariants.rs"]
mod parser_invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| parser_invariants::check_everything(data));

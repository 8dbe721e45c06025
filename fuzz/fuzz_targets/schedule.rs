//! Fuzzer input → one schedule of one catalogue scenario, run by the proptest engine's
//! `ChoiceScheduler`. A correct entry that is not `Passed` is a false positive: a crash.
//! Racy entries are expected to be caught; they are in the mix for coverage guidance.
//!
//! Input layout: byte 0 picks the entry (modulo the eligible entries), byte 1 the scenario
//! (modulo that entry's scenarios), the rest are the scheduler's choices.
//! The decoding lives in the crate (`racelab::catalogue::decode_fuzz_input`), shared with
//! `tests/fuzz_corpus.rs`, which replays the checked-in corpus on stable.

#![no_main]

use libfuzzer_sys::fuzz_target;
use racelab::Verdict;
use racelab::catalogue::decode_fuzz_input;
use racelab::engine::schedule::run_choices;

fuzz_target!(|data: &[u8]| {
    let Some((entry, scenario, choices)) = decode_fuzz_input(data) else {
        return;
    };
    let r = run_choices(&scenario, choices, 100_000);
    if !entry.racy() && r.verdict != Verdict::Passed {
        let trace = r.counterexample.as_ref().map(|c| c.trace.to_string());
        panic!(
            "false positive: correct {} `{}` {}: {}\n{}",
            entry.variant,
            scenario.name(),
            r.verdict,
            r.message().unwrap_or(&r.note),
            trace.unwrap_or_default()
        );
    }
});

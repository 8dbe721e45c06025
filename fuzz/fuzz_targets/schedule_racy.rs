//! A demonstration that is *supposed* to crash within seconds: the whole input is the schedule
//! of `LoadStoreCounter`'s first scenario (2 threads × 1 increment), and catching its lost
//! update is reported as a crash. `cargo fuzz run schedule_racy` shows libFuzzer finding the
//! interleaving; the crash message carries the trace.

#![no_main]

use libfuzzer_sys::fuzz_target;
use racelab::Verdict;
use racelab::engine::schedule::run_choices;

fuzz_target!(|data: &[u8]| {
    let entry = racelab::catalogue::find("LoadStoreCounter").expect("in the catalogue");
    let scenario = entry.scenarios.shuttle().swap_remove(0);
    let r = run_choices(&scenario, data, 100_000);
    if r.verdict == Verdict::Caught {
        let trace = r.counterexample.as_ref().map(|c| c.trace.to_string());
        panic!(
            "found it: {}\n{}",
            r.message().unwrap_or_default(),
            trace.unwrap_or_default()
        );
    }
});

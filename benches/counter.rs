//! The counter family under criterion: every entry with a timed run, at 1, 2 and 4 threads
//! (4 is oversubscribed on a 2-core machine). Ids are `counter/<variant>/<threads>`; one
//! iteration is every thread doing one increment, so throughput is `threads` elements.
//!
//! Correct variants must count exactly (a run that does not panics); parallelism and the racy
//! variants' losses go to `racelab-runs.json` beside criterion's output. `racelab bench`
//! prints the ratio tables.
//!
//! ```sh
//! cargo bench --bench counter
//! RACELAB_BENCH_MEASURE_MS=200 RACELAB_BENCH_WARMUP_MS=50 cargo bench --bench counter  # smoke
//! ```

#[path = "common/mod.rs"]
mod common;

fn main() {
    common::bench_family("counter");
}

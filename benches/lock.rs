//! The lock family (a counter behind each lock) under criterion: every entry with a timed run,
//! at 1, 2 and 4 threads (4 is oversubscribed on a 2-core machine; Peterson's locks are for 2
//! threads only). Ids are `lock/<variant>/<threads>`; one iteration is every thread doing one
//! increment, so throughput is `threads` elements.
//!
//! Correct variants must count exactly (a run that does not panics); parallelism and the racy
//! variants' losses go to `racelab-runs.json` beside criterion's output. `racelab bench`
//! prints the ratio tables.
//!
//! ```sh
//! cargo bench --bench lock
//! RACELAB_BENCH_MEASURE_MS=200 RACELAB_BENCH_WARMUP_MS=50 cargo bench --bench lock  # smoke
//! ```

#[path = "common/mod.rs"]
mod common;

fn main() {
    common::bench_family("lock");
}

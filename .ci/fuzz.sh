#!/usr/bin/env bash
# Fuzzes the schedule decoding (fuzz/fuzz_targets/schedule.rs) for 30 seconds with cargo-fuzz,
# where a nightly toolchain can be had. About 45 seconds warm (30 s of fuzzing, ~200k
# executions); cold, add 3-5 minutes on 2 cores to build racelab with coverage instrumentation,
# and 1-2 minutes the first time to install cargo-fuzz.
#
# Exits non-zero only if the `schedule` target crashes: a correct catalogue entry caught or hung
# on some schedule (a false positive), with the input saved under fuzz/artifacts/schedule/. No
# nightly, a failed cargo-fuzz install or a failed fuzz build is a printed skip (the corpus is
# still replayed on stable by tests/fuzz_corpus.rs).
set -uo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipping fuzz: no nightly toolchain"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (cargo install cargo-fuzz --locked): this may take a few minutes"
    if ! timeout 900 cargo install cargo-fuzz --locked; then
        echo "skipping fuzz: cargo-fuzz is not installed and could not be installed here"
        exit 0
    fi
fi

# No sanitizer: the targets are safe Rust, and shuttle runs its tasks on coroutine stacks, which
# AddressSanitizer mis-tracks ("False positive error reports may follow"); without it the run is
# also about 4x faster. The fuzz build goes in its own subdirectory of the target dir.
flags=(--sanitizer none --target-dir "${CARGO_TARGET_DIR:-target}/fuzz")

if ! cargo +nightly fuzz build "${flags[@]}" schedule; then
    echo "skipping fuzz: the fuzz target did not build with this nightly (see the errors above)"
    exit 0
fi

# New inputs go to a scratch corpus; the checked-in fuzz/corpus/schedule is only read.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shuttle prints "test panicked in task ..." for every caught racy schedule (tens of thousands).
cargo +nightly fuzz run "${flags[@]}" schedule "$work" fuzz/corpus/schedule -- \
    -max_total_time=30 -runs=2000000 -timeout=20 2>&1 |
    grep --line-buffered -v "^test panicked in task "
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo "fuzz: the schedule target crashed (exit $status): see fuzz/artifacts/schedule/"
    exit 1
fi
echo "fuzz: no false positive in 30 s"

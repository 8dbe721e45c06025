#!/usr/bin/env bash
# Runs tests/miri.rs (every unsafe block on the std runtime) under Miri, where a nightly
# toolchain with the miri component can be had. About 1-2 minutes when it runs. loom and shuttle
# themselves cannot run under Miri (their coroutines switch stacks with inline assembly), so
# the loom-runtime unsafe code is exercised by loom instead (tests/engines.rs, tests/loom.rs).
# Without default features: the tests need the library only, not the command line or tokio.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipping miri: no nightly toolchain"
    exit 0
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    timeout 300 rustup component add miri --toolchain nightly >/dev/null 2>&1 || true
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "skipping miri: the miri component is not installed and could not be installed here"
    exit 0
fi
set -e
MIRIFLAGS="-Zmiri-strict-provenance" CARGO_TARGET_DIR=target/miri cargo +nightly miri test --no-default-features --test miri

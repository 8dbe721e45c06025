#!/usr/bin/env python3
"""Regenerates fuzz/corpus/schedule: the seed corpus of the `schedule` fuzz target, replayed by
tests/fuzz_corpus.rs.

Input layout (see fuzz_targets/schedule.rs): byte 0 picks the entry among the eligible ones
(every correct entry, every racy one shuttle is not blind to, in catalogue order), byte 1 the
scenario, the rest are ChoiceScheduler choices. One seeded-random input per entry and scenario,
plus, for each racy entry, a schedule known to catch it (found by search; tests/fuzz_corpus.rs
asserts they still do).

Usage: python3 fuzz/gen_corpus.py   (deterministic; rewrites the directory)
"""

import pathlib
import random

ENTRIES = [
    "LoadStoreCounter",
    "SplitLockCounter",
    "WrongLockCounter",
    "AtomicCounter",
    "MutexCounter",
    "ParkingLotCounter",
    "RwLockCounter",
    "ShardedCounter",
]
SCENARIOS = 3

# Scenario 0 (2 threads × 1 increment); shortest catching schedules found by search.
CAUGHT = {
    "LoadStoreCounter": [0, 0, 0, 0, 0, 1],
    "SplitLockCounter": [0, 0, 2, 0, 0, 0, 1],
    "WrongLockCounter": [0, 1, 0, 0, 0, 2, 1],
}


def main():
    out = pathlib.Path(__file__).resolve().parent / "corpus" / "schedule"
    out.mkdir(parents=True, exist_ok=True)
    for f in out.iterdir():
        f.unlink()
    rng = random.Random(0x5EED)
    for e, name in enumerate(ENTRIES):
        for s in range(SCENARIOS):
            # Mostly 0 ("keep running"), some small preemptions, the odd large byte.
            choices = [
                rng.choice([0, 0, 0, 0, 1, 2, rng.randrange(256)])
                for _ in range(rng.randrange(4, 40))
            ]
            (out / f"{name}-s{s}-random").write_bytes(bytes([e, s] + choices))
    for name, choices in CAUGHT.items():
        (out / f"{name}-s0-caught").write_bytes(bytes([ENTRIES.index(name), 0] + choices))


if __name__ == "__main__":
    main()

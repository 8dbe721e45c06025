//! The lost update of article 001 in Rust: six threads add one to a shared counter a million
//! times each, without a lock, with a `Mutex`, and with an atomic `fetch_add`.
//!
//! The article (`../shared/seeds/001_*.txt`, `../shared/docs/seed-notes.md` §1) explains that
//! `count += 1` is a read, an add and a write, and that two threads can interleave
//! read-read-write-write and lose one increment. Its `Counter` did lose nothing in 1.068 s;
//! its `LockingCounter` took 2.322 s. Here the same three runs, each timed, each with the
//! number of updates it lost. Python's threads take turns under the GIL, so a switch rarely
//! lands between the read and the write; Rust's threads really run at once and lose updates.
//!
//! Run it: `cargo run --release --example lost_update`.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Instant;

/// The article's six threads.
const THREADS: usize = 6;
/// The article's `how_many = 10**6` increments per thread.
const HOW_MANY: usize = 1_000_000;
/// How many times the unlocked counter runs.
const ROUNDS: usize = 5;

/// The article's `Counter`: `count += 1` with no lock.
///
/// A plain `usize` shared by threads that write it is a data race, which Rust rejects at
/// compile time (and which would be undefined behaviour if forced through `unsafe`). The
/// honest equivalent of Python's unsynchronised `+= 1` is a separate load and store on an
/// atomic with `Relaxed` ordering: each access is whole, but nothing stops another thread from
/// storing between our load and our store, so its increment is overwritten and lost. (On x86
/// the compiler may fuse the two into one `inc` on memory, without `lock`: still a read and a
/// write that another core can slip between.)
struct Counter {
    count: AtomicUsize,
}

impl Counter {
    fn increment(&self, offset: usize) {
        let value = self.count.load(Relaxed); // value = getattr(counter, 'count')
        let result = value + offset; //          result = value + 1
        self.count.store(result, Relaxed); //   setattr(counter, 'count', result)
    }
}

/// The article's `LockingCounter`: the same `+=` under a lock.
struct LockingCounter {
    count: Mutex<usize>,
}

impl LockingCounter {
    fn increment(&self, offset: usize) {
        *self
            .count
            .lock()
            .expect("no thread panics holding the lock") += offset;
    }
}

/// No lock, and no lost update: one indivisible read-modify-write instruction.
struct AtomicCounter {
    count: AtomicUsize,
}

impl AtomicCounter {
    fn increment(&self, offset: usize) {
        self.count.fetch_add(offset, Relaxed);
    }
}

/// The article's `worker`, on six threads: runs `increment` `HOW_MANY` times on each, then
/// reads the count with `found` once all have been joined. Prints what it found and when.
///
/// A million increments take Rust a few milliseconds, less than starting a thread, so without
/// the barrier each thread could finish before the next one starts and nothing would overlap.
/// Returns the number of updates lost.
fn run(
    name: &str,
    article: &str,
    increment: impl Fn() + Sync,
    found: impl FnOnce() -> usize,
) -> usize {
    let barrier = Barrier::new(THREADS);
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..HOW_MANY {
                    increment();
                }
            });
        }
    });
    let delta = start.elapsed().as_secs_f64();
    let expected = HOW_MANY * THREADS;
    let found = found();
    let lost = expected - found.min(expected);
    println!(
        "{name:<16} expected {expected}, found {found}: {lost} lost ({:.1}%) in {delta:.3} s \
         (article: {article})",
        100.0 * lost as f64 / expected as f64
    );
    lost
}

fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!("{THREADS} threads x {HOW_MANY} increments on {cores} core(s)\n");

    // The racy run a few times over: a run this short is at the mercy of the scheduler, and
    // one where the threads happen not to overlap loses nothing.
    let mut lost = 0;
    for round in 1..=ROUNDS {
        let counter = Counter {
            count: AtomicUsize::new(0),
        };
        lost += run(
            &format!("no lock ({round}/{ROUNDS})"),
            "6000000 found, 1.068 s",
            || counter.increment(1),
            || counter.count.load(Relaxed),
        );
    }

    let lock_counter = LockingCounter {
        count: Mutex::new(0),
    };
    run(
        "Mutex",
        "6000000 found, 2.322 s",
        || lock_counter.increment(1),
        || *lock_counter.count.lock().expect("no thread panicked"),
    );

    let atomic_counter = AtomicCounter {
        count: AtomicUsize::new(0),
    };
    run(
        "fetch_add",
        "no equivalent in Python",
        || atomic_counter.increment(1),
        || atomic_counter.count.load(Relaxed),
    );

    println!(
        "\nPython lost none: under the GIL only one thread runs bytecode at a time, and a switch \
         seldom falls between the read and the write of `count += 1` (seldom, not never: the \
         article was lucky too)."
    );
    println!(
        "Rust lost {lost} in {ROUNDS} unlocked runs: its threads run on every core at once with no GIL, so another thread's \
         store lands between a load and its store all the time, unless a lock or an atomic \
         read-modify-write makes the increment one step. A stress run can still pass a racy \
         program by luck (on one core, or with few threads); a model checker cannot be lucky."
    );
}

//! The CPU-bound experiments in Rust: a sum of squares for 20 large `n`, sequentially, on two
//! threads, and on two threads that share one global lock (a "GIL"); then factorising two
//! numbers, sequentially and on two threads.
//!
//! Article 000 (`../shared/seeds/000_*.txt`) computes `sum(i * i for i in range(number))` for
//! `numbers = [5_000_000 + x for x in range(20)]`, in a loop and with `multiprocessing.Pool`;
//! article 004 does it for 30 numbers and finds processes about 5× faster. Threads would give
//! nothing: the GIL lets one thread run Python at a time, and CPython asks the holder to hand
//! it over every 5 ms (its switch interval). Article 001 factorises `10_000_000` and
//! `20_000_000` by trying every divisor: 1.718 s sequentially, 1.691 s on two threads. Article
//! 002 sums it up: threads are light but the GIL keeps computation on one at a time.
//!
//! Rust has no GIL, so its threads compute in parallel, as Python's processes do. The third run
//! puts one back: each thread must hold one `parking_lot::Mutex` while it computes and hands it
//! over fairly (`MutexGuard::bump`) every 5 ms, which brings back Python's flat curve. The
//! sizes are larger than the articles' (Rust is faster) so each run takes a second or so; a
//! speed-up needs at least as many cores as threads.
//!
//! Run it: `cargo run --release --example cpu_bound`.

use parking_lot::{Mutex, MutexGuard};
use std::hint::black_box;
use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

/// The threads of the threaded runs.
const THREADS: usize = 2;
/// CPython's switch interval: how long a thread keeps the GIL before it hands it over.
const SWITCH_INTERVAL: Duration = Duration::from_millis(5);
/// Steps of a sum between two looks at the clock while holding the GIL (some 25 µs).
const CHUNK: u64 = 50_000;

/// The articles' `cpu_bound`: `sum(i * i for i in range)`, exact like Python's integers.
/// `black_box` hides each `i` from the optimiser, so the loop stays a loop and is not replaced
/// by the closed form `n(n-1)(2n-1)/6`.
fn sum_squares(range: Range<u64>) -> u128 {
    range.fold(0, |s, i| {
        let i = black_box(i);
        s + u128::from(i * i)
    })
}

/// The sums of `numbers`, one after another.
fn find_sums(numbers: &[u64]) -> u128 {
    numbers.iter().map(|&n| sum_squares(0..n)).sum()
}

/// The same sums, computed only while holding `gil`, handed over every `SWITCH_INTERVAL`.
fn find_sums_under_gil(numbers: &[u64], gil: &Mutex<()>) -> u128 {
    let mut guard = gil.lock();
    let mut held_since = Instant::now();
    let mut total = 0;
    for &n in numbers {
        let mut lo = 0;
        while lo < n {
            let hi = (lo + CHUNK).min(n);
            total += sum_squares(lo..hi);
            lo = hi;
            if held_since.elapsed() >= SWITCH_INTERVAL {
                // Unlock fairly (to a waiting thread, if any) and lock again.
                MutexGuard::bump(&mut guard);
                held_since = Instant::now();
            }
        }
    }
    total
}

/// Runs `work` on `THREADS` threads, thread `k` taking every `THREADS`-th number from `k`.
fn on_threads(numbers: &[u64], work: impl Fn(&[u64]) -> u128 + Sync) -> u128 {
    let shares: Vec<Vec<u64>> = (0..THREADS)
        .map(|k| numbers.iter().copied().skip(k).step_by(THREADS).collect())
        .collect();
    thread::scope(|s| {
        let work = &work;
        let threads: Vec<_> = shares
            .iter()
            .map(|share| s.spawn(move || work(share)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("a sum does not panic"))
            .sum()
    })
}

/// The article's `factorize`: every `i` in `1..=number` that divides it.
fn factorize(number: u64) -> Vec<u64> {
    (1..=number)
        .filter(|&i| black_box(number) % i == 0)
        .collect()
}

/// Times `f`, prints the time beside `article` and the ratio to `baseline`; returns the time.
fn timed<T>(what: &str, article: &str, baseline: Option<f64>, f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    let t = start.elapsed().as_secs_f64();
    let ratio = baseline.map_or(String::new(), |b| format!(", {:.2}x the speed", b / t));
    println!("  {what:<34} {t:.3} s{ratio:<18} (article: {article})");
    (out, t)
}

fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    println!("available_parallelism: {cores}");

    // The articles' 20 numbers, 30 times as large.
    let numbers: Vec<u64> = (0..20).map(|x| 150_000_000 + x).collect();
    println!(
        "\nsum(i*i for i in range(n)) for n in {}..={}:",
        numbers[0],
        numbers[numbers.len() - 1]
    );
    let (expected, seq) = timed("sequential", "Pool about 5x", None, || find_sums(&numbers));
    let (got, _) = timed("2 threads", "threads 1x (GIL)", Some(seq), || {
        on_threads(&numbers, find_sums)
    });
    assert_eq!(got, expected, "the threads summed something else");
    let gil = Mutex::new(());
    let (got, _) = timed(
        "2 threads under one GIL",
        "threads 1x (GIL)",
        Some(seq),
        || on_threads(&numbers, |share| find_sums_under_gil(share, &gil)),
    );
    assert_eq!(
        got, expected,
        "the threads under the GIL summed something else"
    );

    // The article's two numbers, 30 times as large.
    let to_factorize = [300_000_000u64, 600_000_000];
    println!("\nfactorize {to_factorize:?} by trying every divisor:");
    let (expected, seq) = timed("sequential", "1.718 s", None, || {
        to_factorize.map(factorize)
    });
    let (got, _) = timed("2 threads (one number each)", "1.691 s", Some(seq), || {
        thread::scope(|s| {
            to_factorize
                .map(|n| s.spawn(move || factorize(n)))
                .map(|t| t.join().expect("factorize does not panic"))
        })
    });
    assert_eq!(got, expected, "the threads found other divisors");
    println!(
        "  ({} and {} divisors; the larger number is twice the work, so two threads give at \
         most 1.5x)",
        expected[0].len(),
        expected[1].len()
    );

    println!(
        "\nWithout a GIL, Rust's threads compute in parallel like Python's processes, and cost \
         less to start; one lock held while computing brings Python's flat curve back."
    );
    if cores < THREADS {
        println!(
            "This machine has {cores} core(s) for {THREADS} threads: no speed-up can show here."
        );
    } else {
        println!(
            "With {cores} cores for {THREADS} threads, a speed-up can show; with fewer cores \
             than threads none could."
        );
    }
}

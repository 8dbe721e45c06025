//! The CPU-bound experiments: the lost update (article 001), the sum of squares on threads,
//! under a global lock and in processes (000, again in 004), and factorisation on two threads
//! (001).

use super::{Context, Experiment, Row, Scale, timed};
use crate::counter::{AtomicCounter, Counter, LoadStoreCounter, MutexCounter};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Article 001: six threads add one to a shared counter a million times each.
pub(super) const LOST_UPDATE: Experiment = Experiment {
    name: "lost-update",
    article: "001: 6 threads × 10⁶ `counter += 1`, unlocked 1.07 s vs locked 2.32 s, nothing lost (the GIL)",
    lesson: "Rust has no GIL: the unlocked counter runs on every core at once and loses updates \
             (counted below), the lock costs more than in Python because it is really contended, \
             and an atomic add is both correct and cheaper than the lock.",
    run: lost_update,
};

/// Articles 000 and 004: a sum of squares for 20 large `n`, on threads, under a GIL, and in processes.
pub(super) const CPU_BOUND: Experiment = Experiment {
    name: "cpu-bound",
    article: "000 (again in 004): `sum(i*i for i in range(n))` for 20 large n: processes about 5×, threads 1.0× (the GIL)",
    lesson: "Without a GIL, threads scale with the cores like processes do and cost less to start; \
             one global lock held while computing (released every 5 ms, CPython's switch \
             interval) brings back Python's flat curve.",
    run: cpu_bound,
};

/// Article 001: factorising two large numbers, sequentially and on two threads.
pub(super) const FACTORISE: Experiment = Experiment {
    name: "factorise",
    article: "001: factorising two numbers, 2 threads 1.691 s vs sequential 1.718 s (the GIL)",
    lesson: "Two CPU-bound jobs on two threads take the time of one when there are two cores: \
             the speed-up the GIL took away in the article.",
    run: factorise,
};

fn lost_update(ctx: &Context) -> Result<Vec<Row>, String> {
    const THREADS: usize = 6;
    let per_thread = ctx.scale.pick(1_000_000, 100_000);
    let expected = THREADS * per_thread;
    let row = |name: &str, article: Option<&str>, run: fn(usize, usize) -> usize| {
        let (got, t) = timed(|| run(THREADS, per_thread));
        let lost = expected - got.min(expected);
        let row = Row::new("lost-update", name)
            .timed(&t, Some(THREADS), ctx.cores)
            .extra(
                "lost updates",
                format!(
                    "{lost} of {expected} ({:.1}%)",
                    100.0 * lost as f64 / expected as f64
                ),
            );
        match article {
            Some(a) => row.article(a),
            None => row,
        }
    };
    let racy = row(
        <LoadStoreCounter as Counter>::NAME,
        Some("1.07 s, 0 lost"),
        hammer::<LoadStoreCounter>,
    );
    let locked = row(
        <MutexCounter as Counter>::NAME,
        Some("2.32 s, 0 lost"),
        hammer::<MutexCounter>,
    );
    let atomic = row(
        <AtomicCounter as Counter>::NAME,
        None,
        hammer::<AtomicCounter>,
    );
    if !locked.extra[0].1.starts_with("0 of") || !atomic.extra[0].1.starts_with("0 of") {
        return Err(format!(
            "lost-update: a correct counter lost updates ({}; {})",
            locked.extra[0].1, atomic.extra[0].1
        ));
    }
    Ok(vec![racy.baseline(), locked, atomic])
}

/// `threads` threads each incrementing one shared `C` `per_thread` times, released together;
/// the final count.
fn hammer<C: Counter>(threads: usize, per_thread: usize) -> usize {
    let counter = Arc::new(C::new());
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (c, b) = (counter.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                for _ in 0..per_thread {
                    c.increment();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a counting thread");
    }
    counter.get()
}

/// The sum of `i * i` for `i` in `0..n`, wrapping, one step at a time (`black_box` keeps the
/// compiler from replacing the loop by its closed form, which would leave nothing to time).
///
/// Never inlined, so every variant (this thread, the threads, the children) runs the same
/// machine code: inlined into different callers it compiled to loops up to 1.8× apart.
#[inline(never)]
pub fn sum_squares(n: u64) -> u64 {
    sum_squares_in(0, n)
}

/// The sums of squares of `work` on `threads` threads (0: on this thread), each under one
/// global lock handed over every 5 ms if `gil`: the `cpu-bound` experiment's variants, for a
/// benchmark to time one at a time.
pub fn sum_squares_on(work: &[u64], threads: usize, gil: bool) -> u64 {
    if threads == 0 {
        return work
            .iter()
            .map(|&n| sum_squares(n))
            .fold(0, u64::wrapping_add);
    }
    let lock = parking_lot::Mutex::new(());
    on_threads(work, threads, gil.then_some(&lock))
}

/// [`sum_squares`] over `start..end` only: the GIL variant's chunks, the same loop.
#[inline(never)]
fn sum_squares_in(start: u64, end: u64) -> u64 {
    (start..end).fold(0u64, |s, i| s.wrapping_add(black_box(i).wrapping_mul(i)))
}

/// The 20 `n`s of the sum-of-squares experiment.
pub fn cpu_work(scale: Scale) -> Vec<u64> {
    let base = scale.pick(100_000_000u64, 10_000_000);
    (0..20).map(|k| base + k * 1_000).collect()
}

/// CPython's switch interval: a thread holding the GIL is asked to release it after this long.
const SWITCH_INTERVAL: Duration = Duration::from_millis(5);
/// Steps of a sum computed between two looks at the clock under the GIL.
const GIL_CHUNK: u64 = 50_000;

/// One variant of the CPU-bound experiment.
#[derive(Clone, Copy)]
enum Way {
    Sequential,
    Threads(usize),
    Gil(usize),
    Processes(usize),
}

impl Way {
    fn name(self) -> String {
        match self {
            Way::Sequential => "sequential".into(),
            Way::Threads(n) => format!("{n} thread{}", plural(n)),
            Way::Gil(n) => format!("{n} threads, one global lock (a GIL)"),
            Way::Processes(n) => format!("{n} child processes"),
        }
    }
    fn article(self) -> &'static str {
        match self {
            Way::Sequential => "1.0× (Python's baseline)",
            Way::Threads(_) | Way::Gil(_) => "1.0× (threads, the GIL)",
            Way::Processes(_) => "about 5× faster (processes)",
        }
    }
    fn workers(self) -> Option<usize> {
        match self {
            Way::Sequential => None,
            Way::Threads(n) | Way::Gil(n) | Way::Processes(n) => Some(n),
        }
    }
}

/// Rounds of the CPU-bound experiment: every variant once per round, in turn, and each
/// variant's median round reported, so a slow spell of the machine (a shared VM's other
/// tenants, a frequency change) falls on every variant alike instead of on one.
const CPU_ROUNDS: usize = 3;

fn cpu_bound(ctx: &Context) -> Result<Vec<Row>, String> {
    let work = cpu_work(ctx.scale);
    let expected = sum_squares_on(&work, 0, false);
    let mut ways = vec![
        Way::Sequential,
        Way::Threads(1),
        Way::Threads(2),
        Way::Threads(4),
        Way::Gil(2),
        Way::Gil(4),
    ];
    if ctx.child.is_some() {
        ways.extend([Way::Processes(2), Way::Processes(4)]);
    }
    let rounds = ctx.scale.pick(CPU_ROUNDS, 1);
    let mut runs: Vec<Vec<super::Timed>> = vec![Vec::new(); ways.len()];
    for _ in 0..rounds {
        for (k, &way) in ways.iter().enumerate() {
            let (got, t) = timed(|| match way {
                Way::Sequential => Ok(sum_squares_on(&work, 0, false)),
                Way::Threads(n) => Ok(sum_squares_on(&work, n, false)),
                Way::Gil(n) => Ok(sum_squares_on(&work, n, true)),
                Way::Processes(n) => {
                    in_processes(ctx.child.as_ref().expect("checked above"), &work, n)
                }
            });
            let got = got?;
            if got != expected {
                return Err(format!(
                    "cpu-bound: {} summed {got}, expected {expected}",
                    way.name()
                ));
            }
            runs[k].push(t);
        }
    }
    let mut rows = Vec::new();
    for (way, mut ts) in ways.iter().zip(runs) {
        ts.sort_by_key(|t| t.wall);
        let median = ts[ts.len() / 2];
        let mut row = Row::new("cpu-bound", way.name())
            .article(way.article())
            .timed(&median, way.workers(), ctx.cores);
        if rounds > 1 {
            row = row.extra(
                "rounds",
                format!(
                    "median of {rounds} ({}–{})",
                    super::fmt_seconds(ts[0].wall.as_secs_f64()),
                    super::fmt_seconds(ts[ts.len() - 1].wall.as_secs_f64())
                ),
            );
        }
        if matches!(way, Way::Sequential) {
            row = row.baseline();
        }
        rows.push(row);
    }
    if ctx.child.is_none() {
        for n in [2, 4] {
            rows.push(
                Row::new("cpu-bound", Way::Processes(n).name())
                    .article(Way::Processes(n).article())
                    .note("needs the racelab binary (run through `racelab seeds`)"),
            );
        }
    }
    Ok(rows)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The sums of `work` on `threads` threads taking the next `n` from a shared index; under
/// `gil`, each holds the lock while it computes and hands it over (fairly) every
/// [`SWITCH_INTERVAL`], as CPython's eval loop does when another thread asks for it.
fn on_threads(work: &[u64], threads: usize, gil: Option<&parking_lot::Mutex<()>>) -> u64 {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let next = &next;
                s.spawn(move || {
                    let mut total = 0u64;
                    match gil {
                        None => {
                            while let Some(&n) = work.get(next.fetch_add(1, Relaxed)) {
                                total = total.wrapping_add(sum_squares(n));
                            }
                        }
                        Some(gil) => {
                            let mut held = gil.lock();
                            let mut since = Instant::now();
                            while let Some(&n) = work.get(next.fetch_add(1, Relaxed)) {
                                // The sum in chunks, with a look at the clock between them.
                                let mut s = 0u64;
                                let mut start = 0;
                                while start < n {
                                    let end = (start + GIL_CHUNK).min(n);
                                    s = s.wrapping_add(sum_squares_in(start, end));
                                    start = end;
                                    if since.elapsed() >= SWITCH_INTERVAL {
                                        // Hands the lock to a waiting thread, if any, and
                                        // waits for it back.
                                        parking_lot::MutexGuard::bump(&mut held);
                                        since = Instant::now();
                                    }
                                }
                                total = total.wrapping_add(s);
                            }
                        }
                    }
                    total
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a summing thread"))
            .fold(0, u64::wrapping_add)
    })
}

/// The sums of `work` in `procs` child processes, each given every `procs`-th `n` (as
/// `multiprocessing.Pool.map` hands out chunks), all started before any is waited for.
fn in_processes(child: &super::Child, work: &[u64], procs: usize) -> Result<u64, String> {
    let mut running = Vec::new();
    for p in 0..procs {
        let share: Vec<String> = work
            .iter()
            .skip(p)
            .step_by(procs)
            .map(|n| n.to_string())
            .collect();
        let c = child
            .command("sum-squares", &share)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", child.program.display()))?;
        running.push(c);
    }
    let mut total = 0u64;
    for c in running {
        let out = c
            .wait_with_output()
            .map_err(|e| format!("waiting for a sum-squares child: {e}"))?;
        if !out.status.success() {
            return Err(format!("a sum-squares child failed: {}", out.status));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let v: u64 = text
            .trim()
            .parse()
            .map_err(|_| format!("a sum-squares child printed {text:?}, not a number"))?;
        total = total.wrapping_add(v);
    }
    Ok(total)
}

/// The child side of `sum-squares N…`: the wrapping sum of their sums of squares.
pub(super) fn child_sum_squares(args: &[String]) -> Result<String, String> {
    let mut total = 0u64;
    for a in args {
        let n: u64 = a
            .parse()
            .map_err(|_| format!("seeds-child sum-squares: `{a}` is not a number"))?;
        total = total.wrapping_add(sum_squares(n));
    }
    Ok(total.to_string())
}

/// Whether `n` is prime (deterministic Miller-Rabin for every `u64`).
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if n % p == 0 {
            return n == p;
        }
    }
    let mul = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let pow = |mut b: u64, mut e: u64| {
        let mut r = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                r = mul(r, b);
            }
            b = mul(b, b);
            e >>= 1;
        }
        r
    };
    let (mut d, mut s) = (n - 1, 0);
    while d % 2 == 0 {
        d /= 2;
        s += 1;
    }
    'witness: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        let mut x = pow(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// The largest prime at most `n`.
fn prime_below(mut n: u64) -> u64 {
    while !is_prime(n) {
        n -= 1;
    }
    n
}

/// The prime factors of `n` by trial division (what the article's Python does): a prime `n`
/// costs √n / 2 divisions.
pub fn factors(mut n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    while n % 2 == 0 && n > 1 {
        out.push(2);
        n /= 2;
    }
    let mut d = 3u64;
    while d.saturating_mul(d) <= n {
        while black_box(n) % d == 0 {
            out.push(d);
            n /= d;
        }
        d += 2;
    }
    if n > 1 {
        out.push(n);
    }
    out
}

fn factorise(ctx: &Context) -> Result<Vec<Row>, String> {
    let top = ctx
        .scale
        .pick(250_000_000_000_000_000u64, 1_000_000_000_000_000);
    let numbers = [prime_below(top), prime_below(top - top / 7)];
    let check = |got: &[Vec<u64>]| {
        if got.iter().zip(numbers).all(|(f, n)| f == &[n]) {
            Ok(())
        } else {
            Err(format!("factorise: {numbers:?} are prime, got {got:?}"))
        }
    };
    let (got, t) = timed(|| numbers.iter().map(|&n| factors(n)).collect::<Vec<_>>());
    check(&got)?;
    let seq = Row::new("factorise", "sequential")
        .article("1.718 s")
        .baseline()
        .timed(&t, None, ctx.cores)
        .extra("numbers", format!("{} and {}", numbers[0], numbers[1]));
    let (got, t) = timed(|| {
        std::thread::scope(|s| {
            let hs: Vec<_> = numbers
                .iter()
                .map(|&n| s.spawn(move || factors(n)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("a factorising thread"))
                .collect::<Vec<_>>()
        })
    });
    check(&got)?;
    let two = Row::new("factorise", "2 threads")
        .article("1.691 s")
        .timed(&t, Some(2), ctx.cores);
    Ok(vec![seq, two])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arithmetic_is_right() {
        assert_eq!(sum_squares(4), 1 + 4 + 9);
        assert_eq!(
            child_sum_squares(&["4".into(), "3".into()]).unwrap(),
            (14 + 5).to_string()
        );
        assert!(
            child_sum_squares(&["x".into()])
                .unwrap_err()
                .contains("`x`")
        );
        assert!(is_prime(1_000_000_007) && !is_prime(1_000_000_007 * 3));
        assert_eq!(factors(2 * 2 * 3 * 1_000_003), vec![2, 2, 3, 1_000_003]);
        let p = prime_below(1_000_000_000_000);
        assert!(is_prime(p) && factors(p) == vec![p]);
    }

    #[test]
    fn a_gil_sums_the_same() {
        let work = [200_000u64, 300_000, 100_000];
        let want = work
            .iter()
            .map(|&n| sum_squares(n))
            .fold(0, u64::wrapping_add);
        let gil = parking_lot::Mutex::new(());
        assert_eq!(on_threads(&work, 2, Some(&gil)), want);
        assert_eq!(on_threads(&work, 3, None), want);
    }
}

//! The queue family under criterion: every correct queue of the catalogue (its
//! [`racelab::bench::Timed::Transfer`] run), against crossbeam's queues measured bare (`cb-…`,
//! not through racelab's adapters, whose close costs two extra read-modify-writes per push; the
//! adapters are measured too, as catalogue entries). Ids are `queue/mpmc/<queue>/<P>+<C>` and
//! `queue/spsc/<queue>/1+1` for the single-producer ones, at 1+1, 2+2 and
//! 4+4 producers+consumers (4+4 is oversubscribed on a 2-core machine); capacity 1024 for the
//! bounded queues. One iteration is every producer pushing [`BATCH`] `u64`s, so throughput is
//! `P × BATCH` elements (items transferred).
//!
//! Threads are spawned before the clock starts and released together by a spinning start line;
//! the clock stops when the last one finishes. Every run accounts exactly for its items (count
//! and sum of what the consumers received against what the producers pushed, and the queue
//! empty afterwards) and panics otherwise. Every racelab queue runs through its own blocking
//! `push`/`pop` (`racelab::bench::Blocking`: the rings park on a `Signal`, the buffers on their
//! condvars), and crossbeam's channels through `send`/`recv`; crossbeam's `ArrayQueue` and
//! `SegQueue`, which have no blocking API, retry with crossbeam's `Backoff` (spin, then yield).
//!
//! After criterion, a table goes to stderr: ns/item per queue and configuration (the median of
//! the measured samples), the ratios against crossbeam's `ArrayQueue`, and whether the threads
//! ran in parallel (the median overlap, see [`racelab::bench::Measured`]).
//!
//! ```sh
//! cargo bench --bench queue
//! RACELAB_BENCH_MEASURE_MS=300 RACELAB_BENCH_WARMUP_MS=100 cargo bench --bench queue  # smoke
//! ```

#[path = "common/mod.rs"]
#[allow(dead_code)]
// `bench_family` is for the catalogue-driven benches; this one uses `criterion`.
mod common;

use criterion::{BenchmarkId, Throughput};
use crossbeam_channel::{Receiver, Sender};
use crossbeam_queue::{ArrayQueue, SegQueue};
use crossbeam_utils::Backoff;
use racelab::Std;
use racelab::bench::{BenchFn, Blocking, QUEUE_CAPACITY as CAPACITY, Transfer, transfer_run};
use racelab::benchsum::runs::BenchConfig;
use racelab::catalogue;
use racelab::queue::{BoundedBuffer, ClosableQueue, MpmcRing, Queue, SpscRing};

/// The ring's name, from its type.
const MPMC: &str = <MpmcRing<u64, Std> as Queue<u64>>::NAME;
const SPSC: &str = <SpscRing<u64, Std> as Queue<u64>>::NAME;
const BOUNDED: &str = <BoundedBuffer<u64, Std> as Queue<u64>>::NAME;

/// Items each producer pushes per criterion iteration.
const BATCH: u64 = 1000;
/// Producer+consumer configurations for the multi-producer queues.
const CONFIGS: [usize; 3] = [1, 2, 4];

/// Pops with `pop`, backing off while it finds nothing (for queues with no blocking pop).
fn spin_take(pop: impl Fn() -> Option<u64>) -> u64 {
    let backoff = Backoff::new();
    loop {
        if let Some(v) = pop() {
            return v;
        }
        backoff.snooze();
    }
}

/// crossbeam's `ArrayQueue` has no blocking API: the yardstick retries with crossbeam's own
/// `Backoff` (spin, then yield).
struct ArrayQ(ArrayQueue<u64>);

impl Transfer for ArrayQ {
    fn make() -> Self {
        ArrayQ(ArrayQueue::new(CAPACITY))
    }
    fn put(&self, v: u64) {
        let backoff = Backoff::new();
        let mut v = v;
        while let Err(back) = self.0.push(v) {
            v = back;
            backoff.snooze();
        }
    }
    fn take(&self) -> u64 {
        spin_take(|| self.0.pop())
    }
    fn drained(&self) -> bool {
        self.0.is_empty()
    }
}

/// crossbeam's `SegQueue`: unbounded, so a push never waits; a pop retries as for
/// [`ArrayQ`].
struct SegQ(SegQueue<u64>);

impl Transfer for SegQ {
    fn make() -> Self {
        SegQ(SegQueue::new())
    }
    fn put(&self, v: u64) {
        self.0.push(v);
    }
    fn take(&self) -> u64 {
        spin_take(|| self.0.pop())
    }
    fn drained(&self) -> bool {
        self.0.is_empty()
    }
}

/// A crossbeam channel, bounded at [`CAPACITY`] or unbounded, both ends held; `send` and
/// `recv` block.
struct Channel<const BOUNDED: bool>(Sender<u64>, Receiver<u64>);

impl<const BOUNDED: bool> Transfer for Channel<BOUNDED> {
    fn make() -> Self {
        let (s, r) = if BOUNDED {
            crossbeam_channel::bounded(CAPACITY)
        } else {
            crossbeam_channel::unbounded()
        };
        Channel(s, r)
    }
    fn put(&self, v: u64) {
        self.0.send(v).expect("send on a connected channel");
    }
    fn take(&self) -> u64 {
        self.1.recv().expect("recv on a connected channel")
    }
    fn drained(&self) -> bool {
        self.1.is_empty()
    }
}

/// The runs of one benchmark id; criterion's measured samples are the last `samples` calls.
struct Record {
    name: &'static str,
    pairs: usize,
    runs: Vec<(f64, f64)>, // (ns per item, overlap)
}

impl Record {
    /// (median ns/item, median overlap, parallel samples, samples) over the last `samples` runs.
    fn summary(&self, samples: usize) -> (f64, f64, usize, usize) {
        let tail = &self.runs[self.runs.len().saturating_sub(samples)..];
        let ns = common::median(tail.iter().map(|r| r.0).collect());
        let ov = common::median(tail.iter().map(|r| r.1).collect());
        let par = tail.iter().filter(|r| r.1 >= 0.5).count();
        (ns, ov, par, tail.len())
    }
}

/// Times one configuration: `run(pairs, items per producer)`, recorded under `name`.
fn bench_run(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    records: &mut Vec<Record>,
    name: &'static str,
    pairs: usize,
    run: BenchFn,
) {
    let mut rec = Record {
        name,
        pairs,
        runs: Vec::new(),
    };
    group.throughput(Throughput::Elements(pairs as u64 * BATCH));
    group.bench_function(BenchmarkId::new(name, format!("{pairs}+{pairs}")), |b| {
        b.iter_custom(|iters| {
            let m = run(pairs, iters * BATCH);
            let items = (pairs as u64 * iters * BATCH) as f64;
            rec.runs
                .push((m.elapsed.as_nanos() as f64 / items, m.overlap));
            m.elapsed
        })
    });
    if !rec.runs.is_empty() {
        records.push(rec);
    }
}

/// A yardstick (not a catalogue entry), through [`transfer_run`].
fn bench<Q: Transfer>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    records: &mut Vec<Record>,
    name: &'static str,
    pairs: usize,
) {
    bench_run(group, records, name, pairs, transfer_run::<Q>);
}

/// The correct catalogue queues, each through its own blocking API (its [`Timed::Transfer`]
/// run): racelab's adapters around crossbeam's queues too, beside the same queues measured bare
/// (`cb-…`), so the adapters' cost is visible. Single-producer queues only at 1+1.
fn racelab_queues() -> Vec<(&'static str, usize, BenchFn)> {
    catalogue::catalogue()
        .into_iter()
        .filter(|e| e.family == catalogue::QUEUE && !e.racy())
        .filter_map(|e| Some((e.variant, e.max_threads, e.bench?.transfer()?)))
        .collect()
}

fn main() {
    let cfg = BenchConfig::from_env(2000, 500, 10);
    let mut c = common::criterion(&cfg);
    let mut records = Vec::new();
    let queues = racelab_queues();

    let mut group = c.benchmark_group("queue/mpmc");
    for pairs in CONFIGS {
        for &(name, max_threads, run) in &queues {
            if 2 * pairs <= max_threads && max_threads > 2 {
                bench_run(&mut group, &mut records, name, pairs, run);
            }
        }
        bench::<Blocking<ClosableQueue<u64, Std>, true>>(
            &mut group,
            &mut records,
            "ClosableQueue-unbounded",
            pairs,
        );
        bench::<ArrayQ>(&mut group, &mut records, "cb-ArrayQueue", pairs);
        bench::<SegQ>(&mut group, &mut records, "cb-SegQueue", pairs);
        bench::<Channel<true>>(&mut group, &mut records, "cb-channel-bounded", pairs);
        bench::<Channel<false>>(&mut group, &mut records, "cb-channel-unbounded", pairs);
    }
    group.finish();

    let mut group = c.benchmark_group("queue/spsc");
    for &(name, max_threads, run) in &queues {
        if max_threads == 2 {
            bench_run(&mut group, &mut records, name, 1, run);
        }
    }
    group.finish();

    c.final_summary();
    report(&records, cfg.samples);
}

/// The table on stderr: ns/item, overlap, and ratios against crossbeam's `ArrayQueue`.
fn report(records: &[Record], samples: usize) {
    if records.is_empty() {
        return;
    }
    let ns_of = |name: &str, pairs: usize| {
        records
            .iter()
            .find(|r| r.name == name && r.pairs == pairs)
            .map(|r| r.summary(samples).0)
    };
    eprintln!();
    eprintln!("racelab queue bench: median of the measured samples (capacity {CAPACITY})");
    eprintln!(
        "{:<26} {:>5} {:>9} {:>11} {:>8} {:>10}",
        "queue", "P+C", "ns/item", "vs ArrayQ", "overlap", "parallel"
    );
    let mut serial = Vec::new();
    for r in records {
        let (ns, ov, par, n) = r.summary(samples);
        let ratio = ns_of("cb-ArrayQueue", r.pairs)
            .map_or_else(|| "-".to_string(), |a| format!("{:.2}x", ns / a));
        eprintln!(
            "{:<26} {:>5} {:>9.1} {:>11} {:>8.2} {:>7}/{:<2}",
            r.name,
            format!("{0}+{0}", r.pairs),
            ns,
            ratio,
            ov,
            par,
            n
        );
        if par * 2 < n {
            serial.push(format!("{} {}+{}", r.name, r.pairs, r.pairs));
        }
    }
    eprintln!();
    let show = |label: &str, num: &str, pairs: usize| {
        if let (Some(a), Some(b)) = (ns_of(num, pairs), ns_of("cb-ArrayQueue", pairs)) {
            eprintln!("{label:<44} {:.2}x", a / b);
        }
    };
    // The target: blocking MpmcRing within 1.5x of crossbeam's bounded channel (the same
    // stamped-array algorithm, with its own waker) at 1+1 and 2+2.
    for pairs in [1, 2] {
        if let (Some(a), Some(b)) = (ns_of(MPMC, pairs), ns_of("cb-channel-bounded", pairs)) {
            let r = a / b;
            // A ratio of two runs whose threads did not overlap compares schedules, not queues.
            let serial_run = [MPMC, "cb-channel-bounded"]
                .iter()
                .any(|n| serial.contains(&format!("{n} {pairs}+{pairs}")));
            let verdict = if serial_run {
                "not judged: a run was not parallel"
            } else if r <= 1.5 {
                "met"
            } else {
                "MISSED"
            };
            eprintln!(
                "{:<44} {r:.2}x (target 1.5x: {verdict})",
                format!("MpmcRing / cb-channel-bounded at {pairs}+{pairs}")
            );
        }
    }
    show("MpmcRing / ArrayQueue at 1+1", MPMC, 1);
    show("MpmcRing / ArrayQueue at 2+2", MPMC, 2);
    show("MpmcRing / ArrayQueue at 4+4", MPMC, 4);
    show("SpscRing / ArrayQueue at 1+1", SPSC, 1);
    show("BoundedBuffer / ArrayQueue at 1+1", BOUNDED, 1);
    show("BoundedBuffer / ArrayQueue at 2+2", BOUNDED, 2);
    show("BoundedBuffer / ArrayQueue at 4+4", BOUNDED, 4);
    if serial.is_empty() {
        eprintln!("parallel: every configuration's threads overlapped ≥ 50% in most samples");
    } else {
        eprintln!(
            "NOT parallel (overlap < 50% in most samples; figures are not contention figures): {}",
            serial.join(", ")
        );
    }
}

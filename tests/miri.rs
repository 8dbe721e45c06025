//! The std-runtime `unsafe` code, small enough for Miri (`bash .ci/miri.sh`): `PlainCell`, and
//! `UnsyncCellCounter` used the one sound way (one thread at a time). Also runs under plain
//! `cargo test`.

use racelab::Std;
use racelab::counter::{AtomicCounter, Counter, UnsyncCellCounter};
use racelab::runtime::{CellApi, PlainCell};
use std::sync::Arc;

#[test]
fn plain_cell_reads_and_writes() {
    let c: PlainCell<Vec<u32>> = CellApi::new(vec![1]);
    // SAFETY: single-threaded; no other pointer to the cell's contents is live.
    c.with_mut(|p| unsafe { (*p).push(2) });
    // SAFETY: as above.
    let sum: u32 = c.with(|p| unsafe { (*p).iter().sum() });
    assert_eq!(sum, 3);
}

#[test]
fn plain_cell_shared_under_a_lock() {
    // The sound use: threads take turns through a lock, as any Mutex does internally.
    let shared = Arc::new((
        std::sync::Mutex::new(()),
        <PlainCell<u64> as CellApi<u64>>::new(0),
    ));
    let n = if cfg!(miri) { 10 } else { 1_000 };
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let s = shared.clone();
            std::thread::spawn(move || {
                for _ in 0..n {
                    let _g = s.0.lock().unwrap();
                    // SAFETY: the mutex is held, so this is the only access.
                    s.1.with_mut(|p| unsafe { *p += 1 });
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let _g = shared.0.lock().unwrap();
    // SAFETY: the mutex is held.
    assert_eq!(shared.1.with(|p| unsafe { *p }), 2 * n);
}

#[test]
fn unsync_cell_counter_single_threaded() {
    let c = UnsyncCellCounter::<Std>::new();
    for _ in 0..5 {
        c.increment();
    }
    assert_eq!(c.get(), 5);
}

#[test]
fn atomic_counter_threads() {
    let c = Arc::new(AtomicCounter::<Std>::new());
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || (0..10).for_each(|_| c.increment()))
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(c.get(), 20);
}

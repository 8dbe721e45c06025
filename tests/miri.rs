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

/// The rings' unsafe slot handling: values moved in and out across threads, wrap-around, and
/// leftovers dropped exactly once when the ring is dropped (Miri reports leaks, double drops and
/// reads of uninitialised slots).
mod rings {
    use racelab::queue::{MpmcRing, Queue, SpscRing};
    use std::sync::Arc;

    fn transfer<Q: Queue<Box<u64>>>(q: Q, producers: usize, consumers: usize) {
        let q = Arc::new(q);
        let per = 6u64;
        let total = per as usize * producers;
        let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut handles = Vec::new();
        for p in 0..producers as u64 {
            let q = q.clone();
            handles.push(std::thread::spawn(move || {
                for i in 0..per {
                    let mut item = Box::new(p * 100 + i);
                    loop {
                        match q.try_push(item) {
                            Ok(()) => break,
                            Err(e) => {
                                item = e.into_inner();
                                std::thread::yield_now();
                            }
                        }
                    }
                }
                0
            }));
        }
        for _ in 0..consumers {
            let (q, taken) = (q.clone(), taken.clone());
            handles.push(std::thread::spawn(move || {
                let mut sum = 0;
                while taken.load(std::sync::atomic::Ordering::SeqCst) < total {
                    if let Ok(b) = q.try_pop() {
                        sum += *b;
                        taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    } else {
                        std::thread::yield_now();
                    }
                }
                sum
            }));
        }
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let expected: u64 = (0..producers as u64)
            .flat_map(|p| (0..per).map(move |i| p * 100 + i))
            .sum();
        assert_eq!(sum, expected);
    }

    #[test]
    fn mpmc_ring_moves_boxes_between_threads() {
        transfer(MpmcRing::<Box<u64>>::with_capacity(Some(2)).unwrap(), 2, 2);
    }

    #[test]
    fn spsc_ring_moves_boxes_between_threads() {
        transfer(SpscRing::<Box<u64>>::with_capacity(Some(2)).unwrap(), 1, 1);
    }

    #[test]
    fn leftovers_are_dropped_once() {
        let q = MpmcRing::<Box<u64>>::with_capacity(Some(3)).unwrap();
        for i in 0..3 {
            q.try_push(Box::new(i)).unwrap();
        }
        drop(q.try_pop().unwrap());
        q.try_push(Box::new(9)).unwrap();
        drop(q);
        let s = SpscRing::<Box<u64>>::with_capacity(Some(3)).unwrap();
        for i in 0..3 {
            s.try_push(Box::new(i)).unwrap();
        }
        drop(s.try_pop().unwrap());
        s.try_push(Box::new(9)).unwrap();
        drop(s);
    }
}

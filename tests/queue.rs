//! The queue family's promises outside the scenarios: bad capacities are clear errors, a push
//! after close hands the item back, closing loses nothing, items left in a dropped queue are
//! dropped exactly once, the SPSC contract is enforced, and the checker's printout names the
//! operation that cannot be linearised. Each promise is checked on every correct queue of the
//! catalogue, so a new queue is tested without being listed here.

use racelab::catalogue::{self, DynQueue, Entry, OpenFn, Parcel, QueueHooks, find};
use racelab::engine::{Engine, EngineKind, Verdict};
use racelab::queue::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// The correct queues of the catalogue, with their hooks: every test below runs on each.
fn correct_queues() -> Vec<(Entry, QueueHooks)> {
    let all: Vec<_> = catalogue::catalogue()
        .into_iter()
        .filter(|e| e.family == catalogue::QUEUE && !e.racy())
        .filter_map(|e| e.queue().copied().map(|q| (e, q)))
        .collect();
    assert!(!all.is_empty(), "the catalogue has correct queues");
    all
}

/// A queue of the entry's type, bounded at capacity 4 where bounded.
fn build<T>(open: OpenFn<T>) -> Box<dyn DynQueue<T>> {
    open(Some(4))
        .or_else(|_| open(None))
        .expect("capacity 4 or unbounded")
}

#[test]
fn capacity_zero_is_a_clear_error() {
    for (entry, q) in correct_queues() {
        let e = (q.open)(Some(0)).err().expect("capacity 0 refused");
        let m = e.to_string();
        assert!(m.contains("capacity") && m.contains(entry.variant), "{m}");
    }
    // A bounded-only ring asked to be unbounded says so.
    let e = MpmcRing::<u64>::with_capacity(None).err().unwrap();
    assert!(e.to_string().contains("bounded"), "{e}");
}

#[test]
fn push_after_close_hands_the_item_back_and_nothing_is_lost() {
    for (_, hooks) in correct_queues() {
        let q = build(hooks.open);
        let name = q.name();
        q.try_push(1).unwrap();
        q.try_push(2).unwrap();
        assert!(q.close(), "{name}: first close");
        assert!(!q.close(), "{name}: second close is a no-op");
        match q.try_push(3) {
            Err(PushError::Closed(3)) => {}
            other => panic!("{name}: push after close gave {other:?}"),
        }
        assert_eq!(q.push(4).unwrap_err().into_inner(), 4);
        // The items pushed before the close still come out, then the queue says so.
        assert_eq!(q.try_pop(), Ok(1), "{name}");
        assert_eq!(q.pop(), Ok(2), "{name}");
        assert_eq!(q.try_pop(), Err(PopError::Closed), "{name}");
        assert_eq!(q.pop(), Err(PopError::Closed), "{name}");
    }
}

#[test]
fn full_and_empty_are_reported_not_waited_on() {
    for (_, hooks) in correct_queues() {
        let q = build(hooks.open);
        let name = q.name();
        assert_eq!(q.try_pop(), Err(PopError::Empty), "{name}");
        if let Some(c) = q.capacity() {
            for i in 0..c as u64 {
                q.try_push(i).unwrap();
            }
            assert_eq!(q.len(), c);
            assert!(matches!(q.try_push(99), Err(PushError::Full(99))), "{name}");
            let timeout = Some(std::time::Duration::from_millis(5));
            assert!(matches!(
                q.push_timeout(99, timeout),
                Err(PushError::Timeout(99))
            ));
        } else {
            let timeout = Some(std::time::Duration::from_millis(5));
            assert_eq!(q.pop_timeout(timeout), Err(PopError::Timeout), "{name}");
        }
    }
}

/// An item that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn items_left_in_a_dropped_queue_are_dropped_exactly_once() {
    for (_, hooks) in correct_queues() {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = build(hooks.open_parcels);
        let name = q.name();
        let item = || -> Parcel { Box::new(Counted(drops.clone())) };
        // Wrap around a ring: push 4, pop 2, push 2 more, pop 1: three left.
        for _ in 0..4 {
            assert!(q.try_push(item()).is_ok());
        }
        drop(q.try_pop().ok().unwrap());
        drop(q.try_pop().ok().unwrap());
        for _ in 0..2 {
            assert!(q.try_push(item()).is_ok());
        }
        drop(q.try_pop().ok().unwrap());
        assert_eq!(drops.load(SeqCst), 3, "{name}");
        drop(q);
        assert_eq!(drops.load(SeqCst), 6, "{name}: every item dropped once");
    }
}

#[test]
fn an_spsc_ring_refuses_a_second_producer_with_a_clear_panic() {
    let q = Arc::new(SpscRing::<u64>::with_capacity(Some(2)).unwrap());
    q.try_push(1).unwrap();
    let q2 = q.clone();
    let err = std::thread::spawn(move || q2.try_push(2))
        .join()
        .expect_err("a second producer panics");
    let m = racelab::engine::panic_message(err.as_ref());
    assert!(m.contains("second thread") && m.contains("SpscRing"), "{m}");
    // The first producer goes on.
    q.try_push(3).unwrap();
}

#[test]
fn the_closable_queue_mirrors_the_python_one() {
    let q = Arc::new(ClosableQueue::<u64>::new());
    assert_eq!(q.task_done(), Err(TaskDoneError));
    for v in 1..=3 {
        q.push(v).unwrap();
    }
    // Taken but not acknowledged: join waits (here, times out).
    let worker = {
        let q = q.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for item in q.iter() {
                seen.push(item);
                q.task_done().unwrap();
            }
            seen
        })
    };
    q.join();
    q.close();
    assert_eq!(worker.join().unwrap(), vec![1, 2, 3]);
    assert_eq!(q.task_done(), Err(TaskDoneError), "one ack per item");
    assert!(q.join_timeout(Some(std::time::Duration::from_millis(1))));
}

/// The linearizability checker's printout for a racy queue: the history, the longest prefix
/// and the operation that cannot be linearised.
#[test]
fn a_violation_prints_the_history_and_the_culprit() {
    for (variant, kind) in [
        ("CloseRacesPushQueue", EngineKind::ShuttleRandom),
        ("LoadStoreIndexRing", EngineKind::ShuttleRandom),
        ("CheckThenPushQueue", EngineKind::ShuttleRandom),
    ] {
        let entry = find(variant).unwrap();
        let results = entry.run(&Engine::default_for(kind));
        let caught: Vec<_> = results
            .iter()
            .filter(|r| r.verdict == Verdict::Caught)
            .filter_map(|r| r.message())
            .filter(|m| m.contains("cannot be linearised"))
            .collect();
        assert!(
            !caught.is_empty(),
            "{variant}: no printed violation in {results:#?}"
        );
        assert!(
            caught[0].contains("longest linearisable prefix"),
            "{}",
            caught[0]
        );
    }
}

/// Lincheck-style: generated programs find the racy ring's bug and shrink it to a tiny program;
/// the correct queues pass every generated program.
mod generated {
    use racelab::engine::Verdict;
    use racelab::queue::generate::{ExploreConfig, explore};
    use racelab::queue::*;

    #[test]
    fn a_racy_ring_fails_and_shrinks_to_two_pushes() {
        let found = explore::<LoadStoreIndexRing<u64>>(&ExploreConfig::default())
            .expect_err("generated programs find the racy ring's bug");
        assert_eq!(found.result.verdict, Verdict::Caught);
        let m = found.result.message().unwrap();
        assert!(
            m.contains("lost item") || m.contains("duplicated item"),
            "{m}"
        );
        // Shrunk: two threads, one or two operations each.
        assert_eq!(found.program.threads.len(), 2, "{}", found.program);
        assert!(found.program.ops() <= 3, "{}", found.program);
    }

    #[test]
    fn the_overflowing_queue_shrinks_to_two_pushes_at_capacity_one() {
        let found = explore::<CheckThenPushQueue<u64>>(&ExploreConfig::default())
            .expect_err("two producers overfill it");
        assert!(found.result.message().unwrap().contains("overflow"));
        assert_eq!(found.program.capacity, 1, "{}", found.program);
        assert!(found.program.ops() <= 3, "{}", found.program);
    }

    #[test]
    fn correct_queues_pass_every_generated_program() {
        let cfg = ExploreConfig {
            programs: 48,
            ..ExploreConfig::default()
        };
        let mut explored = 0;
        for entry in racelab::catalogue::catalogue()
            .into_iter()
            .filter(|e| !e.racy())
        {
            let Some(explore) = entry.explore() else {
                continue;
            };
            assert_eq!(explore(&cfg).unwrap(), 48, "{}", entry.variant);
            explored += 1;
        }
        assert!(explored > 0, "the catalogue has explorable correct queues");
    }
}

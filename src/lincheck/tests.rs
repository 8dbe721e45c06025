//! The checker on hand-built histories, generated ones, and real-thread recordings.

use std::collections::HashMap;

use crossbeam_queue::ArrayQueue;

use super::*;

use QueueOp::{Close, Pop, Push, TryPop, TryPush};
use QueueRet::{Closed, Done, Drained, Empty, Full, Popped, Pushed, TimedOut};

/// A completed operation.
fn done<M: Model>(thread: usize, op: M::Op, ret: M::Ret, call: u64, returned: u64) -> Operation<M> {
    Operation {
        thread,
        op,
        ret: Some(ret),
        call,
        returned: Some(returned),
    }
}

/// A pending operation.
fn pending<M: Model>(thread: usize, op: M::Op, call: u64) -> Operation<M> {
    Operation {
        thread,
        op,
        ret: None,
        call,
        returned: None,
    }
}

fn queue(ops: Vec<Operation<QueueModel>>) -> History<QueueModel> {
    History::from_operations(ops)
}

fn lin<M: Model>(h: &History<M>, init: &M) -> Result<Linearization<M>, Violation<M>> {
    check(h, init, Consistency::Linearizable)
}

/// Replays a witness on the model and checks it against the history: every completed operation
/// exactly once, each result legal, and the order consistent with real time (or program order).
fn verify<M: Model>(h: &History<M>, init: &M, w: &Linearization<M>, consistency: Consistency) {
    let ops = h.operations();
    let chosen: HashMap<usize, M::Ret> = w.pending_results().iter().cloned().collect();
    let mut seen = vec![false; ops.len()];
    let mut state = init.clone();
    for &i in w.order() {
        assert!(!seen[i], "operation {i} placed twice");
        seen[i] = true;
        let ret = ops[i].ret.clone().or_else(|| chosen.get(&i).cloned());
        let ret = ret.expect("a pending op in the order has a chosen result");
        state = state
            .step(&ops[i].op, &ret)
            .unwrap_or_else(|| panic!("witness step {:?} → {ret:?} illegal", ops[i].op));
    }
    for (i, o) in ops.iter().enumerate() {
        assert!(seen[i] || o.is_pending(), "completed op {i} missing");
    }
    let order = w.order();
    match consistency {
        Consistency::Linearizable => {
            // No later op of the order returned before an earlier one was invoked.
            let mut min_ret = u64::MAX;
            for &i in order.iter().rev() {
                assert!(
                    ops[i].call < min_ret,
                    "op {i} placed after one that returned before it was invoked"
                );
                min_ret = min_ret.min(ops[i].returned.unwrap_or(u64::MAX));
            }
        }
        Consistency::Sequential => {
            let mut last: HashMap<usize, u64> = HashMap::new();
            for &i in order {
                let prev = last.insert(ops[i].thread, ops[i].call);
                assert!(
                    prev.is_none_or(|p| p < ops[i].call),
                    "program order broken at {i}"
                );
            }
        }
    }
}

#[test]
fn empty_history_is_linearizable() {
    let h = queue(vec![]);
    let w = lin(&h, &QueueModel::new(None)).unwrap();
    assert!(w.order().is_empty());
    assert_eq!(h.threads(), 0);
}

#[test]
fn overlapping_push_and_pop_linearize_push_first() {
    // T0 push(1) over [0, 3]; T1's pop runs inside it and sees the item.
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 3),
        done(1, TryPop, Popped(1), 1, 2),
    ]);
    let w = lin(&h, &QueueModel::new(Some(4))).unwrap();
    assert_eq!(w.order(), &[0, 1]);
    verify(&h, &QueueModel::new(Some(4)), &w, Consistency::Linearizable);
}

#[test]
fn recorded_with_thread_logs() {
    let clock = Clock::new();
    let (mut a, mut b) = (ThreadLog::new(0), ThreadLog::new(1));
    let push = a.call(&clock, TryPush(7));
    let got = b.record(&clock, TryPop, || (Empty, "empty"));
    a.ret(&clock, push, Pushed);
    b.record(&clock, TryPop, || (Popped(7), ()));
    assert_eq!((got, a.len(), b.len()), ("empty", 1, 2));
    let h = History::from_logs([a, b]);
    assert_eq!((h.len(), h.threads()), (3, 2));
    let w = lin(&h, &QueueModel::new(None)).unwrap();
    // The empty pop must come before the push it overlaps.
    assert_eq!(w.order(), &[1, 0, 2]);
}

#[test]
fn pop_of_a_value_never_pushed_is_caught() {
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(1, TryPop, Popped(7), 2, 3),
    ]);
    let v = lin(&h, &QueueModel::new(None)).unwrap_err();
    assert_eq!(v.kind(), ViolationKind::NotLinearizable);
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Popped(7))));
    assert_eq!(v.prefix(), &[0]);
    let text = v.to_string();
    assert!(
        text.contains("the operation that cannot be linearised: T2 TryPop → Popped(7) [2, 3]"),
        "{text}"
    );
    assert!(text.contains('✗'), "{text}");
    assert!(
        v.summary().contains("TryPop → Popped(7)"),
        "{}",
        v.summary()
    );
}

#[test]
fn pop_out_of_fifo_order_is_caught() {
    // push(1) completes before push(2) begins, so a pop must return 1 first.
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(0, TryPush(2), Pushed, 2, 3),
        done(1, TryPop, Popped(2), 4, 5),
    ]);
    let v = lin(&h, &QueueModel::new(None)).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Popped(2))));
    assert_eq!(v.prefix(), &[0, 1]);
    assert_eq!(v.prefix_state().items, [1, 2]);
    let text = v.to_string();
    assert!(
        text.contains("TryPop → Popped(2) is not a legal result in model state"),
        "{text}"
    );
    assert!(text.contains("items: [1, 2]"), "{text}");
    // Overlapping pushes make the same pop fine.
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 3),
        done(2, TryPush(2), Pushed, 1, 2),
        done(1, TryPop, Popped(2), 4, 5),
    ]);
    lin(&h, &QueueModel::new(None)).unwrap();
}

#[test]
fn duplicate_pop_is_caught() {
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(0, TryPush(2), Pushed, 2, 3),
        done(1, TryPop, Popped(1), 4, 5),
        done(2, TryPop, Popped(1), 6, 7),
    ]);
    let v = lin(&h, &QueueModel::new(None)).unwrap_err();
    assert_eq!(v.culprit(), (2, &TryPop, Some(&Popped(1))));
    assert_eq!(v.culprit_index(), 3);
    assert_eq!(v.prefix(), &[0, 1, 2]);
    let text = v.to_string();
    assert!(text.contains("T3 TryPop → Popped(1)"), "{text}");
    assert!(text.contains("✓3"), "{text}");
}

#[test]
fn stale_read_is_sequentially_consistent_but_not_linearizable() {
    // T0's push returns at tick 1; T1's pop starts at tick 2 and finds the queue empty.
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(1, TryPop, Empty, 2, 3),
    ]);
    let v = lin(&h, &QueueModel::new(None)).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Empty)));
    assert!(v.to_string().starts_with("not linearizable"), "{v}");
    let w = check(&h, &QueueModel::new(None), Consistency::Sequential).unwrap();
    assert_eq!(w.order(), &[1, 0]);
    verify(&h, &QueueModel::new(None), &w, Consistency::Sequential);
}

#[test]
fn sequential_consistency_still_keeps_program_order() {
    // One thread pushes 1 then 2; nobody pops 1, so nobody can pop 2, whatever the interleaving.
    let h = queue(vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(0, TryPush(2), Pushed, 2, 3),
        done(1, TryPop, Popped(2), 4, 5),
    ]);
    let v = check(&h, &QueueModel::new(None), Consistency::Sequential).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Popped(2))));
    assert!(
        v.to_string().starts_with("not sequentially consistent"),
        "{v}"
    );
}

#[test]
fn pending_push_may_have_taken_effect() {
    let h = queue(vec![
        pending(0, TryPush(5), 0),
        done(1, TryPop, Popped(5), 1, 2),
    ]);
    for c in [Consistency::Linearizable, Consistency::Sequential] {
        let w = check(&h, &QueueModel::new(None), c).unwrap();
        assert_eq!(w.order(), &[0, 1]);
        assert_eq!(w.pending_results(), &[(0, Pushed)]);
        verify(&h, &QueueModel::new(None), &w, c);
    }
}

#[test]
fn pending_ops_may_be_left_out() {
    // A pending push nobody saw, then (same thread, a misuse the checker tolerates) a push of 6.
    let h = queue(vec![
        pending(0, TryPush(5), 0),
        done(0, TryPush(6), Pushed, 1, 2),
        done(1, TryPop, Popped(6), 3, 4),
        done(1, TryPop, Empty, 5, 6),
    ]);
    for c in [Consistency::Linearizable, Consistency::Sequential] {
        let w = check(&h, &QueueModel::new(None), c).unwrap();
        assert_eq!(w.order(), &[1, 2, 3], "{c:?}");
        verify(&h, &QueueModel::new(None), &w, c);
    }
}

#[test]
fn pending_op_does_not_excuse_a_wrong_result() {
    let h = queue(vec![
        pending(0, TryPush(5), 0),
        done(1, TryPop, Popped(7), 1, 2),
    ]);
    let v = lin(&h, &QueueModel::new(None)).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Popped(7))));
    let v = check(&h, &QueueModel::new(None), Consistency::Sequential).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Popped(7))));
}

#[test]
fn queue_model_semantics() {
    let step = |s: &QueueModel, op, ret| s.step(&op, &ret);
    let mut full = QueueModel::new(Some(1));
    full.items.push_back(9);
    let empty = QueueModel::new(Some(1));
    let closed = QueueModel {
        closed: true,
        ..empty.clone()
    };
    let closed_nonempty = QueueModel {
        closed: true,
        ..full.clone()
    };
    // Pushes.
    assert_eq!(step(&empty, TryPush(1), Pushed).unwrap().items, [1]);
    assert!(step(&full, TryPush(1), Pushed).is_none());
    assert_eq!(step(&full, TryPush(1), Full), Some(full.clone()));
    assert!(step(&empty, TryPush(1), Full).is_none());
    assert!(
        step(&full, Push(1), Full).is_none(),
        "a blocking push never says Full"
    );
    assert_eq!(step(&full, Push(1), TimedOut), Some(full.clone()));
    assert!(step(&empty, Push(1), TimedOut).is_none());
    assert!(step(&closed_nonempty, Push(1), TimedOut).is_none());
    assert_eq!(step(&closed, Push(1), Closed), Some(closed.clone()));
    assert!(step(&closed, TryPush(1), Pushed).is_none());
    assert!(step(&empty, TryPush(1), Closed).is_none());
    assert!(
        step(&QueueModel::new(None), Push(1), Pushed).is_some(),
        "unbounded is never full"
    );
    // Pops.
    assert_eq!(
        step(&full, TryPop, Popped(9)).unwrap().items,
        [] as [u64; 0]
    );
    assert!(step(&full, TryPop, Popped(8)).is_none());
    assert_eq!(step(&closed_nonempty, Pop, Popped(9)), Some(closed.clone()));
    assert!(step(&closed_nonempty, Pop, Drained).is_none());
    assert_eq!(step(&closed, Pop, Drained), Some(closed.clone()));
    assert_eq!(step(&closed, TryPop, Drained), Some(closed.clone()));
    assert!(step(&empty, TryPop, Drained).is_none());
    assert_eq!(step(&empty, TryPop, Empty), Some(empty.clone()));
    assert!(step(&closed, TryPop, Empty).is_none());
    assert!(
        step(&empty, Pop, Empty).is_none(),
        "a blocking pop never says Empty"
    );
    assert_eq!(step(&empty, Pop, TimedOut), Some(empty.clone()));
    assert!(step(&full, Pop, TimedOut).is_none());
    assert!(step(&closed, Pop, TimedOut).is_none());
    // Close is idempotent.
    assert_eq!(step(&empty, Close, Done), Some(closed.clone()));
    assert_eq!(step(&closed, Close, Done), Some(closed.clone()));
    assert!(step(&empty, Close, Pushed).is_none());
}

#[test]
fn full_closed_drained_histories() {
    let init = QueueModel::new(Some(1));
    let good = vec![
        done(0, TryPush(1), Pushed, 0, 1),
        done(0, TryPush(2), Full, 2, 3),
        done(1, Close, Done, 4, 5),
        done(0, TryPush(3), Closed, 6, 7),
        done(1, TryPop, Popped(1), 8, 9),
        done(1, TryPop, Drained, 10, 11),
        done(0, Pop, Drained, 12, 13),
    ];
    lin(&queue(good.clone()), &init).unwrap();
    // Full with room to spare (capacity 2).
    let v = lin(&queue(good.clone()), &QueueModel::new(Some(2))).unwrap_err();
    assert_eq!(v.culprit(), (0, &TryPush(2), Some(&Full)));
    // Drained before the close.
    let mut early = good.clone();
    early[4] = done(1, TryPop, Drained, 8, 9);
    let v = lin(&queue(early), &init).unwrap_err();
    assert_eq!(v.culprit(), (1, &TryPop, Some(&Drained)));
    // Pushed after the close.
    let mut late = good;
    late[3] = done(0, TryPush(3), Pushed, 6, 7);
    let v = lin(&queue(late), &init).unwrap_err();
    assert_eq!(v.culprit(), (0, &TryPush(3), Some(&Pushed)));
}

#[test]
fn counter_increments_and_reads() {
    use CounterOp::{Get, Increment};
    use CounterRet::Value;
    let ops = |seen| {
        History::from_operations(vec![
            done(0, Increment, CounterRet::Done, 0, 3),
            done(1, Increment, CounterRet::Done, 1, 4),
            done(2, Get, Value(1), 2, 5),
            done(2, Get, Value(seen), 6, 7),
        ])
    };
    lin(&ops(2), &CounterModel(0)).unwrap();
    let v = lin(&ops(1), &CounterModel(0)).unwrap_err();
    assert_eq!(v.culprit(), (2, &Get, Some(&Value(1))));
    assert_eq!(v.prefix_state(), &CounterModel(2));
}

/// A deterministic xorshift generator for generated histories.
fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A linearizable map history by construction: each operation takes effect at a tick between
/// its call and its return, with threads advancing in a random interleaving.
fn generated_map_history(
    seed: u64,
    threads: usize,
    per_thread: usize,
    keys: u64,
) -> History<MapModel> {
    let mut rng = seed | 1;
    let mut model = MapModel::default();
    let mut tick = 0u64;
    // Per thread: operations done, and the one in flight (op, call tick, result once applied).
    let mut count = vec![0usize; threads];
    let mut flight: Vec<Option<(MapOp, u64, Option<MapRet>)>> = vec![None; threads];
    let mut ops = Vec::new();
    while count.iter().any(|&c| c < per_thread) || flight.iter().any(Option::is_some) {
        let t = (xorshift(&mut rng) % threads as u64) as usize;
        match flight[t].take() {
            None if count[t] < per_thread => {
                let k = xorshift(&mut rng) % keys;
                let op = if xorshift(&mut rng) % 2 == 0 {
                    MapOp::Put(k, xorshift(&mut rng) % 4)
                } else {
                    MapOp::Get(k)
                };
                flight[t] = Some((op, tick, None));
            }
            None => continue,
            Some((op, call, None)) => {
                let ret = model.possible_rets(&op)[0];
                model = model.step(&op, &ret).unwrap();
                flight[t] = Some((op, call, Some(ret)));
            }
            Some((op, call, Some(ret))) => {
                ops.push(done(t, op, ret, call, tick));
                count[t] += 1;
            }
        }
        tick += 1;
    }
    History::from_operations(ops)
}

#[test]
fn partitioned_map_check_agrees_with_unpartitioned() {
    let init = MapModel::default();
    let mut failures = 0;
    for seed in 1..40u64 {
        let mut h = generated_map_history(seed, 3, 30, 4);
        if seed % 2 == 0 {
            // Corrupt one read: usually no longer linearizable.
            let mut ops = h.operations().to_vec();
            let i = ops
                .iter()
                .rposition(|o| matches!(o.op, MapOp::Get(_)))
                .unwrap();
            ops[i].ret = Some(MapRet::Value(Some(7)));
            h = History::from_operations(ops);
        }
        let split = Checker::new(Consistency::Linearizable).check(&h, &init);
        let whole = Checker::new(Consistency::Linearizable)
            .partitioned(false)
            .check(&h, &init);
        assert_eq!(split.is_ok(), whole.is_ok(), "seed {seed}");
        match (split, whole) {
            (Ok(split), Ok(whole)) => {
                assert!(
                    split.stats().partitions > 1,
                    "seed {seed}: {:?}",
                    split.stats()
                );
                assert_eq!(whole.stats().partitions, 1);
                verify(&h, &init, &split, Consistency::Linearizable);
                verify(&h, &init, &whole, Consistency::Linearizable);
            }
            (Err(split), Err(_)) => {
                failures += 1;
                assert!(split.to_string().contains("(partition key"), "{split}");
                assert!(matches!(split.culprit().1, MapOp::Get(_)));
            }
            _ => unreachable!(),
        }
    }
    assert!(
        failures >= 10,
        "corrupted histories should mostly fail, {failures} did"
    );
}

#[test]
fn sequential_consistency_is_never_partitioned() {
    let h = generated_map_history(5, 2, 10, 3);
    let w = check(&h, &MapModel::default(), Consistency::Sequential).unwrap();
    assert_eq!(w.stats().partitions, 1);
    verify(&h, &MapModel::default(), &w, Consistency::Sequential);
}

/// Real OS threads hammering a crossbeam `ArrayQueue` (capacity 16), recorded with
/// `ThreadLog`s: even threads push unique values and odd ones pop, or (mixed) each op is a coin
/// flip.
fn record_array_queue(threads: usize, per_thread: usize, mixed: bool) -> History<QueueModel> {
    let queue = ArrayQueue::new(16);
    let clock = Clock::new();
    let start = std::sync::Barrier::new(threads);
    let logs: Vec<ThreadLog<QueueModel>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (queue, clock, start) = (&queue, &clock, &start);
                s.spawn(move || {
                    let mut log = ThreadLog::new(t);
                    start.wait();
                    let mut rng = t as u64 * 7919 + 1;
                    for i in 0..per_thread {
                        let push = if mixed {
                            xorshift(&mut rng) % 2 == 0
                        } else {
                            t % 2 == 0
                        };
                        let done = if push {
                            let v = ((t as u64) << 32) | i as u64;
                            log.record(clock, TryPush(v), || match queue.push(v) {
                                Ok(()) => (Pushed, true),
                                Err(_) => (Full, false),
                            })
                        } else {
                            log.record(clock, TryPop, || {
                                let got = queue.pop();
                                (got.map_or(Empty, Popped), got.is_some())
                            })
                        };
                        if !done {
                            // Let the other side run, or one thread may finish alone.
                            std::thread::yield_now();
                        }
                    }
                    log
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    History::from_logs(logs)
}

#[test]
fn real_thread_array_queue_history_passes_and_a_corrupted_one_fails() {
    let init = QueueModel::new(Some(16));
    for (threads, mixed) in [(2, false), (4, true)] {
        let h = record_array_queue(threads, 10_000 / threads, mixed);
        assert_eq!(h.len(), 10_000);
        let w = lin(&h, &init).unwrap_or_else(|v| panic!("{v}"));
        verify(&h, &init, &w, Consistency::Linearizable);
        // Pop one value twice: the last successful pop now repeats the first.
        let mut ops = h.operations().to_vec();
        let pops: Vec<usize> = (0..ops.len())
            .filter(|&i| matches!(ops[i].ret, Some(Popped(_))))
            .collect();
        let (first, last) = (pops[0], *pops.last().unwrap());
        ops[last].ret = ops[first].ret;
        let bad = History::from_operations(ops);
        let v = lin(&bad, &init).unwrap_err();
        assert_eq!(v.kind(), ViolationKind::NotLinearizable, "{v}");
    }
}

#[test]
fn long_histories_do_not_overflow_the_stack() {
    use CounterOp::{Get, Increment};
    let clock = Clock::new();
    let mut log = ThreadLog::new(0);
    for i in 0..100_000u64 {
        if i % 10 == 9 {
            log.record(&clock, Get, || (CounterRet::Value(i - i / 10), ()));
        } else {
            log.record(&clock, Increment, || (CounterRet::Done, ()));
        }
    }
    let h = History::from_logs([log]);
    // A small stack: the search must not recurse.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for c in [Consistency::Linearizable, Consistency::Sequential] {
                let w = check(&h, &CounterModel(0), c).unwrap();
                assert_eq!(w.order().len(), 100_000);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn budget_gives_up_instead_of_hanging() {
    // Twelve fully overlapping pushes, then a pop of a value never pushed: refuting it means
    // trying every order of every subset of the pushes (about 10^9 configurations).
    let mut ops: Vec<Operation<QueueModel>> = (0..12)
        .map(|t| done(t, TryPush(t as u64), Pushed, t as u64, 100 + t as u64))
        .collect();
    ops.push(done(0, TryPop, Popped(99), 200, 201));
    let h = queue(ops);
    let v = Checker::new(Consistency::Linearizable)
        .max_states(10_000)
        .check(&h, &QueueModel::new(None))
        .unwrap_err();
    assert_eq!(v.kind(), ViolationKind::GaveUp { limit: 10_000 });
    assert!(v.gave_up());
    assert_eq!(v.stats().explored, 10_000);
    assert!(v.to_string().contains("gave up after 10000 states"), "{v}");
    assert!(
        v.summary().contains("gave up after 10000 states"),
        "{}",
        v.summary()
    );
}

#[test]
fn timeline_is_windowed_around_the_culprit() {
    let mut ops: Vec<Operation<QueueModel>> = (0..100)
        .map(|i| done(0, TryPush(i), Pushed, 2 * i, 2 * i + 1))
        .collect();
    ops.push(done(1, TryPop, Popped(50), 1000, 1001));
    let v = lin(&queue(ops), &QueueModel::new(None)).unwrap_err();
    let text = v.to_string();
    assert!(text.contains("… 88 earlier operations"), "{text}");
    assert!(
        text.contains("longest linearisable prefix: 100 of 101 operations"),
        "{text}"
    );
    assert!(text.lines().count() < 30, "{text}");
}

#[test]
fn deep_backtracking_restores_model_states() {
    // Two overlapping pushes: the first guess (2 before 1, the earlier return) survives 200
    // more pushes and is refuted only by the pops, far below the top of the search stack, so
    // the states there come back by replay from checkpoints.
    let mut ops = vec![
        done(0, TryPush(1), Pushed, 0, 3),
        done(1, TryPush(2), Pushed, 1, 2),
    ];
    let mut tick = 4;
    let mut add = |op, ret| {
        ops.push(done(1, op, ret, tick, tick + 1));
        tick += 2;
    };
    for v in 3..203 {
        add(TryPush(v), Pushed);
    }
    for v in 1..203 {
        add(TryPop, Popped(v));
    }
    let h = queue(ops);
    let w = lin(&h, &QueueModel::new(None)).unwrap_or_else(|v| panic!("{v}"));
    assert_eq!(&w.order()[..2], &[0, 1]);
    assert!(w.stats().explored > 400, "{:?}", w.stats());
    verify(&h, &QueueModel::new(None), &w, Consistency::Linearizable);
}

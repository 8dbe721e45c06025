//! Linearizability checking of recorded histories.
//!
//! Threads record what they invoked and what came back, with a shared logical [`Clock`], each
//! into its own [`ThreadLog`]; [`History::from_logs`] merges the logs and [`check`] searches for
//! an order of the operations that a sequential [`Model`] accepts and that respects
//! [`Consistency`]: real time (linearizability, for shuttle and real threads) or program order
//! only (sequential consistency, for loom, whose interleaving order is not real time).
//!
//! ```
//! use racelab::lincheck::{check, Clock, Consistency, History, QueueModel, QueueOp, QueueRet, ThreadLog};
//!
//! let clock = Clock::new();
//! let (mut a, mut b) = (ThreadLog::new(0), ThreadLog::new(1));
//! let push = a.call(&clock, QueueOp::TryPush(1));
//! b.record(&clock, QueueOp::TryPop, || (QueueRet::Popped(1), ())); // overlaps the push
//! a.ret(&clock, push, QueueRet::Pushed);
//! let history = History::from_logs([a, b]);
//! let witness = check(&history, &QueueModel::new(Some(4)), Consistency::Linearizable).unwrap();
//! assert_eq!(witness.order().len(), 2);
//! ```
//!
//! # Algorithm
//!
//! Wing & Gong's backtracking search with Lowe's just-in-time linearisation and memoisation
//! (G. Lowe, "Testing for linearizability", 2017), as the Go tool Porcupine does it: a doubly
//! linked list of call and return entries sorted by tick; the candidates are the calls before
//! the first return still in the list; placing an operation unlinks its two entries, undoing
//! relinks them. The search is iterative (an explicit stack), so 10^5-operation histories do not
//! overflow the thread's stack.
//!
//! **Memo.** A configuration is (set of placed operations, model state). The set is never
//! stored: it is hashed Zobrist-style (each operation has a random 128-bit value; the set's hash
//! is their XOR, updated in O(1) per step), and the memo stores one 128-bit SipHash of
//! (set hash, state), 16 bytes per entry. A collision can only make the search skip a
//! configuration it has not seen, so it can only produce a false violation, never a false pass
//! (every pass comes with a witness order); with `k` memo entries its probability is about
//! `k² / 2^129`, below 10^-28 for `k = 10^9`.
//!
//! **States.** Model states are moved, not cloned, into the stack; only every 16th frame and
//! the top 64 keep theirs, and deeper backtracking replays at most 15 steps from the nearest.
//!
//! **P-compositionality** (Horn & Kroening, "Faster linearizability checking via
//! P-compositionality", 2015). If [`Model::partition`] gives every operation a key, the history
//! is checked one key at a time and the witnesses are merged (always possible: linearizability
//! is local). Sequential consistency is not local, so it is never partitioned.
//!
//! **Budget.** The search counts the configurations it reaches ([`Stats::explored`]) and stops
//! at [`Checker::max_states`] (default [`Checker::DEFAULT_MAX_STATES`]). It then returns a
//! [`Violation`] of kind [`ViolationKind::GaveUp`], whose message says "gave up after N
//! states": inconclusive, but never a pass, so a test cannot hang and cannot pass by running out
//! of budget.
//!
//! **Pending operations** (invoked, never returned) may take effect with any result
//! [`Model::possible_rets`] lists, or not at all.

mod history;
pub mod models;
mod report;
mod search;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

pub use self::history::{Clock, History, Operation, ThreadLog};
pub use self::models::{
    CounterModel, CounterOp, CounterRet, MapModel, MapOp, MapRet, QueueModel, QueueOp, QueueRet,
};
pub use self::report::{Violation, ViolationKind};

use self::search::{Choice, Found, Search};

/// A sequential specification: the state of the model object.
pub trait Model: Clone + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static {
    /// An operation invoked on the object.
    type Op: Clone + std::fmt::Debug + Send + Sync + 'static;
    /// What an operation returns.
    type Ret: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static;

    /// The state after `op` returned `ret` here, or `None` if `ret` is not a legal result of
    /// `op` in this state.
    fn step(&self, op: &Self::Op, ret: &Self::Ret) -> Option<Self>;

    /// P-compositionality (Horn & Kroening): if histories of this model can be split into
    /// independent sub-histories (e.g. per key of a map or set), the partition key of `op`.
    /// `None` (the default) means not partitionable; the history is partitioned only if every
    /// operation has a key.
    fn partition(op: &Self::Op) -> Option<u64> {
        let _ = op;
        None
    }

    /// The results `op` could legally return in this state. Used only for pending operations,
    /// which may have taken effect with any of them. The default, no results, means a pending
    /// operation is assumed to have had no effect; models whose operations can hang or panic
    /// after taking effect should list them.
    fn possible_rets(&self, op: &Self::Op) -> Vec<Self::Ret> {
        let _ = op;
        Vec::new()
    }
}

/// How precedence between operations is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// Real-time order: operation A precedes B if A returned before B was invoked
    /// (linearizability). For shuttle and real threads (stress), where the recorded order is
    /// real time.
    Linearizable,
    /// Program order only (sequential consistency). For loom, where the interleaving order is
    /// not real time: a load may legally return a stale value under C11, so a "later" operation
    /// may not see an "earlier" one.
    Sequential,
}

/// Search statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Configurations (placed set, model state) reached, memo hits included; summed over
    /// partitions. This is what the budget counts.
    pub explored: u64,
    /// Distinct configurations stored in the memo (summed over partitions).
    pub memo_entries: u64,
    /// Sub-histories checked separately (1 if the history was not partitioned).
    pub partitions: usize,
}

/// Success: a witness order and search statistics.
#[derive(Debug, Clone)]
pub struct Linearization<M: Model> {
    order: Vec<usize>,
    pending: Vec<(usize, M::Ret)>,
    stats: Stats,
}

impl<M: Model> Linearization<M> {
    /// The witness: indices into [`History::operations`], in linearisation order. Every
    /// completed operation appears once; a pending one appears if it took effect.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The results chosen for the pending operations in [`Linearization::order`], by index.
    pub fn pending_results(&self) -> &[(usize, M::Ret)] {
        &self.pending
    }

    /// How much searching it took.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// A configured check: consistency, state budget, partitioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checker {
    consistency: Consistency,
    max_states: u64,
    partition: bool,
}

impl Checker {
    /// The default state budget: 50 million configurations (about a minute of search).
    pub const DEFAULT_MAX_STATES: u64 = 50_000_000;

    /// A checker with the default budget and partitioning on (where the model allows it).
    pub fn new(consistency: Consistency) -> Self {
        Self {
            consistency,
            max_states: Self::DEFAULT_MAX_STATES,
            partition: true,
        }
    }

    /// Gives up (a [`ViolationKind::GaveUp`] violation) after reaching this many
    /// configurations, counted over all partitions.
    pub fn max_states(mut self, max_states: u64) -> Self {
        self.max_states = max_states;
        self
    }

    /// Whether to split the history by [`Model::partition`] (on by default; it only applies to
    /// [`Consistency::Linearizable`]). Off is for comparing the two.
    pub fn partitioned(mut self, partition: bool) -> Self {
        self.partition = partition;
        self
    }

    /// Checks `history` against the model starting in state `init`.
    ///
    /// # Errors
    ///
    /// A [`Violation`]: of kind [`ViolationKind::NotLinearizable`] if no order exists, or
    /// [`ViolationKind::GaveUp`] if the state budget ran out first.
    pub fn check<M: Model>(
        &self,
        history: &History<M>,
        init: &M,
    ) -> Result<Linearization<M>, Violation<M>> {
        let ops = history.operations();
        let sequential = self.consistency == Consistency::Sequential;
        let scopes = if self.partition && !sequential {
            partitions::<M>(ops)
        } else {
            None
        }
        .unwrap_or_else(|| vec![(None, (0..ops.len()).collect())]);
        let mut stats = Stats {
            partitions: scopes.len(),
            ..Stats::default()
        };
        let mut found = Vec::with_capacity(scopes.len());
        for (key, scope) in &scopes {
            let search = Search {
                ops: scope.iter().map(|&i| &ops[i]).collect(),
                sequential,
                budget: self.max_states - stats.explored,
            };
            let outcome = search.run(init);
            stats.explored += outcome.explored;
            stats.memo_entries += outcome.memo_entries;
            match outcome.found {
                Found::Linearized(steps) => found.push(
                    steps
                        .into_iter()
                        .filter_map(|s| match s.choice {
                            Choice::Recorded => Some((scope[s.op as usize], None)),
                            Choice::Pending(r) => Some((scope[s.op as usize], Some(r))),
                            Choice::Omitted => None,
                        })
                        .collect::<Vec<_>>(),
                ),
                Found::Stuck { deepest, gave_up } => {
                    let kind = if gave_up {
                        ViolationKind::GaveUp {
                            limit: self.max_states,
                        }
                    } else {
                        ViolationKind::NotLinearizable
                    };
                    return Err(Violation::new(
                        init, &search, scope, *key, &deepest, kind, stats,
                    ));
                }
            }
        }
        let merged = merge(ops, found);
        let pending = merged
            .iter()
            .filter_map(|(i, r)| r.clone().map(|r| (*i, r)))
            .collect();
        Ok(Linearization {
            order: merged.into_iter().map(|(i, _)| i).collect(),
            pending,
            stats,
        })
    }
}

/// Checks `history` against the model starting in state `init`, with the default budget
/// ([`Checker::DEFAULT_MAX_STATES`]) and partitioning where the model allows it.
///
/// # Errors
///
/// A [`Violation`]: of kind [`ViolationKind::NotLinearizable`] if no order exists, or
/// [`ViolationKind::GaveUp`] if the state budget ran out first.
pub fn check<M: Model>(
    history: &History<M>,
    init: &M,
    consistency: Consistency,
) -> Result<Linearization<M>, Violation<M>> {
    Checker::new(consistency).check(history, init)
}

type Scope = (Option<u64>, Vec<usize>);

/// The history split by partition key, or `None` if some operation has no key or there is
/// only one key.
fn partitions<M: Model>(ops: &[Operation<M>]) -> Option<Vec<Scope>> {
    let mut by_key: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, o) in ops.iter().enumerate() {
        by_key.entry(M::partition(&o.op)?).or_default().push(i);
    }
    (by_key.len() > 1).then(|| by_key.into_iter().map(|(k, v)| (Some(k), v)).collect())
}

/// Merges per-partition witnesses into one order that respects real time.
///
/// Greedy: take the head of the partition holding the remaining operation that returns first.
/// That head has no remaining real-time predecessor: if it is not that operation itself, it
/// precedes it in a real-time-respecting witness, so it was invoked before the earliest
/// remaining return.
fn merge<M: Model>(
    ops: &[Operation<M>],
    mut parts: Vec<Vec<(usize, Option<M::Ret>)>>,
) -> Vec<(usize, Option<M::Ret>)> {
    if parts.len() <= 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut heap: BinaryHeap<Reverse<(u64, usize, usize)>> = BinaryHeap::new();
    for (p, seq) in parts.iter().enumerate() {
        for &(i, _) in seq {
            heap.push(Reverse((ops[i].returned.unwrap_or(u64::MAX), i, p)));
        }
    }
    let mut taken = vec![false; ops.len()];
    let mut heads = vec![0usize; parts.len()];
    let mut out = Vec::with_capacity(heap.len());
    while let Some(Reverse((_, i, p))) = heap.pop() {
        while !taken[i] {
            let (j, r) = std::mem::replace(&mut parts[p][heads[p]], (usize::MAX, None));
            heads[p] += 1;
            taken[j] = true;
            out.push((j, r));
        }
    }
    out
}

//! What a failed check reports: [`Violation`].

use std::fmt::{self, Write as _};

use super::search::{Choice, Search, Step};
use super::{Consistency, Model, Operation, Stats};

/// Operations shown on each side of the culprit in the timeline.
const CONTEXT: usize = 12;
/// Longest model-state rendering in a message.
const STATE_CHARS: usize = 300;

/// Why a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// The search was exhausted: no order of the operations is accepted by the model and
    /// respects the [`Consistency`].
    NotLinearizable,
    /// Inconclusive: the search reached `limit` configurations (see
    /// [`Checker::max_states`](super::Checker::max_states)) and stopped. The message says
    /// "gave up after N states".
    GaveUp {
        /// The budget that ran out.
        limit: u64,
    },
}

/// How an operation of the timeline relates to the deepest linearisable prefix.
#[derive(Debug, Clone)]
enum Mark<R> {
    /// Placed at this position (0-based) of the prefix, with the result chosen if it was
    /// pending.
    Placed(usize, Option<R>),
    /// Pending, left out of the prefix.
    Omitted,
    /// Not in the prefix.
    Open,
}

/// One candidate at the deepest configuration: an operation that could have come next in the
/// order, and whether its result is legal in the model state there.
#[derive(Debug, Clone)]
struct Candidate<M: Model> {
    index: usize,
    op: Operation<M>,
    legal: bool,
}

/// A failed check: the operation that cannot be linearised, the longest linearisable prefix the
/// search found, and a timeline around them.
///
/// `Display` prints
/// 1. the history around the culprit, one line per operation sorted by call tick:
///    `[call, return] T<n> op → result`, indented by thread, marked `✓k` when it is the k-th of
///    the deepest prefix and `✗` for the culprit (threads are numbered from 1, as in
///    [`Trace`](crate::trace::Trace): `T1` is thread 0);
/// 2. the longest linearisable prefix (its length, last operations, and the model state there);
/// 3. the operation that cannot be linearised: the earliest-returning operation not in the
///    prefix (under [`Consistency::Sequential`], the earliest-returning next operation of a
///    thread), with its result and why the model rejects it, and the other candidates.
///
/// A [`ViolationKind::GaveUp`] violation is inconclusive and says "gave up after N states".
#[derive(Debug, Clone)]
pub struct Violation<M: Model>(Box<Details<M>>);

/// Everything a [`Violation`] reports (boxed: a `Result` carrying it stays small).
#[derive(Debug, Clone)]
struct Details<M: Model> {
    kind: ViolationKind,
    consistency: Consistency,
    stats: Stats,
    /// The partition key of the sub-history that failed, if the history was partitioned.
    partition: Option<u64>,
    /// Operations and threads in the checked (sub-)history.
    scope_len: usize,
    scope_threads: Vec<usize>,
    /// Index into the history and the operation itself.
    culprit: (usize, Operation<M>),
    /// Whether the culprit's result is legal in the prefix state (only possible when the
    /// search gave up).
    culprit_legal: bool,
    /// Every candidate at the deepest configuration, the culprit included.
    candidates: Vec<Candidate<M>>,
    /// The deepest prefix, as history indices (pending operations left out are not listed).
    prefix: Vec<usize>,
    /// Last operations of the prefix, for the message.
    prefix_tail: Vec<(Operation<M>, Option<M::Ret>)>,
    /// The model state after the prefix.
    prefix_state: M,
    /// The timeline window: history index, operation, mark; and how many were left out.
    timeline: Vec<(usize, Operation<M>, Mark<M::Ret>)>,
    elided: (usize, usize),
}

impl<M: Model> Violation<M> {
    /// Builds the report from the deepest configuration of a failed search.
    pub(crate) fn new(
        init: &M,
        search: &Search<'_, M>,
        scope: &[usize],
        partition: Option<u64>,
        deepest: &[Step<M>],
        kind: ViolationKind,
        stats: Stats,
    ) -> Self {
        let ops = &search.ops;
        let m = ops.len();
        let mut marks: Vec<Mark<M::Ret>> = vec![Mark::Open; m];
        let mut state = init.clone();
        let mut prefix = Vec::with_capacity(deepest.len());
        for (k, step) in deepest.iter().enumerate() {
            let i = step.op as usize;
            marks[i] = match &step.choice {
                Choice::Recorded => Mark::Placed(k, None),
                Choice::Pending(r) => Mark::Placed(k, Some(r.clone())),
                Choice::Omitted => Mark::Omitted,
            };
            if !matches!(step.choice, Choice::Omitted) {
                prefix.push(scope[i]);
            }
            state = search.replay(state, step);
        }
        let open = |i: &usize| matches!(marks[*i], Mark::Open);
        // The candidates of the deepest configuration.
        let cands: Vec<usize> = if search.sequential {
            let mut seen = Vec::new();
            (0..m)
                .filter(open)
                .filter(|&i| {
                    let fresh = !seen.contains(&ops[i].thread);
                    seen.push(ops[i].thread);
                    fresh
                })
                .collect()
        } else {
            let first_ret = (0..m)
                .filter(open)
                .filter_map(|i| ops[i].returned)
                .min()
                .unwrap_or(u64::MAX);
            (0..m)
                .filter(open)
                .filter(|&i| ops[i].call <= first_ret)
                .collect()
        };
        let earliest_return = |it: &mut dyn Iterator<Item = usize>| {
            it.filter(|&i| !ops[i].is_pending())
                .min_by_key(|&i| ops[i].returned)
        };
        let culprit = earliest_return(&mut cands.iter().copied())
            .or_else(|| earliest_return(&mut (0..m).filter(open)))
            .or_else(|| cands.first().copied())
            .unwrap_or(0);
        let candidates = cands
            .iter()
            .map(|&i| Candidate {
                index: scope[i],
                op: ops[i].clone(),
                legal: match &ops[i].ret {
                    Some(r) => state.step(&ops[i].op, r).is_some(),
                    None => true,
                },
            })
            .collect();
        let prefix_tail = deepest
            .iter()
            .rev()
            .filter(|s| !matches!(s.choice, Choice::Omitted))
            .take(6)
            .map(|s| {
                let chosen = match &s.choice {
                    Choice::Pending(r) => Some(r.clone()),
                    _ => None,
                };
                (ops[s.op as usize].clone(), chosen)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let lo = culprit.saturating_sub(CONTEXT);
        let hi = (culprit + CONTEXT + 1).min(m);
        let timeline = (lo..hi)
            .map(|i| (scope[i], ops[i].clone(), marks[i].clone()))
            .collect();
        let mut scope_threads: Vec<usize> = ops.iter().map(|o| o.thread).collect();
        scope_threads.sort_unstable();
        scope_threads.dedup();
        Violation(Box::new(Details {
            kind,
            consistency: if search.sequential {
                Consistency::Sequential
            } else {
                Consistency::Linearizable
            },
            stats,
            partition,
            scope_len: m,
            scope_threads,
            culprit: (scope[culprit], ops[culprit].clone()),
            culprit_legal: ops[culprit]
                .ret
                .as_ref()
                .is_some_and(|r| state.step(&ops[culprit].op, r).is_some()),
            candidates,
            prefix,
            prefix_tail,
            prefix_state: state,
            timeline,
            elided: (lo, m - hi),
        }))
    }

    /// Whether the check failed outright or gave up.
    pub fn kind(&self) -> ViolationKind {
        self.0.kind
    }

    /// Whether this is an inconclusive [`ViolationKind::GaveUp`].
    pub fn gave_up(&self) -> bool {
        matches!(self.0.kind, ViolationKind::GaveUp { .. })
    }

    /// The operation that cannot be linearised: its thread, operation and result (`None` if it
    /// is pending). For [`ViolationKind::GaveUp`], where the search was when it stopped.
    pub fn culprit(&self) -> (usize, &M::Op, Option<&M::Ret>) {
        let o = &self.0.culprit.1;
        (o.thread, &o.op, o.ret.as_ref())
    }

    /// The culprit's index into [`History::operations`](super::History::operations).
    pub fn culprit_index(&self) -> usize {
        self.0.culprit.0
    }

    /// The longest linearisable prefix found, as indices into
    /// [`History::operations`](super::History::operations), in order (of the failing partition
    /// only, if the history was partitioned).
    pub fn prefix(&self) -> &[usize] {
        &self.0.prefix
    }

    /// The model state after [`Violation::prefix`].
    pub fn prefix_state(&self) -> &M {
        &self.0.prefix_state
    }

    /// Search statistics up to the failure.
    pub fn stats(&self) -> Stats {
        self.0.stats
    }

    /// One line for messages: the culprit, the prefix length and the model state there.
    pub fn summary(&self) -> String {
        let (_, o) = &self.0.culprit;
        match self.0.kind {
            ViolationKind::NotLinearizable => format!(
                "{}: {} [{}] cannot be placed after the longest linearisable prefix ({} of {} operations; model state {})",
                self.verdict(),
                describe(o, None),
                ticks(o),
                self.0.prefix.len(),
                self.0.scope_len,
                clip(&format!("{:?}", self.0.prefix_state), 120),
            ),
            ViolationKind::GaveUp { limit } => format!(
                "inconclusive: gave up after {} states (limit {limit}); deepest prefix {} of {} operations, stuck at {} [{}]",
                self.0.stats.explored,
                self.0.prefix.len(),
                self.0.scope_len,
                describe(o, None),
                ticks(o),
            ),
        }
    }

    fn verdict(&self) -> &'static str {
        match self.0.consistency {
            Consistency::Linearizable => "not linearizable",
            Consistency::Sequential => "not sequentially consistent",
        }
    }
}

/// `T1 TryPop → Popped(3)`, or `→ (pending)`, or with the result chosen for a pending op.
fn describe<M: Model>(o: &Operation<M>, chosen: Option<&M::Ret>) -> String {
    match (&o.ret, chosen) {
        (Some(r), _) => format!("T{} {:?} → {:?}", o.thread + 1, o.op, r),
        (None, Some(r)) => format!("T{} {:?} → (pending, taken as {:?})", o.thread + 1, o.op, r),
        (None, None) => format!("T{} {:?} → (pending)", o.thread + 1, o.op),
    }
}

fn ticks<M: Model>(o: &Operation<M>) -> String {
    match o.returned {
        Some(r) => format!("{}, {}", o.call, r),
        None => format!("{}, …", o.call),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

impl<M: Model> fmt::Display for Violation<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = clip(&format!("{:?}", self.0.prefix_state), STATE_CHARS);
        let part = self
            .0
            .partition
            .map(|k| format!(" (partition key {k})"))
            .unwrap_or_default();
        match self.0.kind {
            ViolationKind::NotLinearizable => writeln!(
                f,
                "{}{part}: no order of these {} operations respects {} and the model",
                self.verdict(),
                self.0.scope_len,
                match self.0.consistency {
                    Consistency::Linearizable => "real time",
                    Consistency::Sequential => "program order",
                },
            )?,
            ViolationKind::GaveUp { limit } => writeln!(
                f,
                "inconclusive{part}: gave up after {} states (limit {limit}), neither a valid order found nor ruled out",
                self.0.stats.explored,
            )?,
        }
        writeln!(
            f,
            "history: {} operations on {} threads, by call tick ([call, return] ticks; ✓k: k-th of the longest linearisable prefix; ✗: the culprit)",
            self.0.scope_len,
            self.0.scope_threads.len(),
        )?;
        if self.0.elided.0 > 0 {
            writeln!(f, "  … {} earlier operations", self.0.elided.0)?;
        }
        let w = self
            .0
            .timeline
            .iter()
            .map(|(_, o, _)| ticks(o).chars().count())
            .max()
            .unwrap_or(0);
        for (index, o, mark) in &self.0.timeline {
            let column = self
                .0
                .scope_threads
                .binary_search(&o.thread)
                .unwrap_or_default();
            let chosen = match mark {
                Mark::Placed(_, r) => r.as_ref(),
                _ => None,
            };
            let mut line = format!(
                "  [{:>w$}] {}{}",
                ticks(o),
                "  ".repeat(column.min(8)),
                describe(o, chosen)
            );
            let pad = (w + 50).saturating_sub(line.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
            match mark {
                _ if *index == self.0.culprit.0 => line.push_str("  ✗"),
                Mark::Placed(k, _) => write!(line, "  ✓{}", k + 1)?,
                Mark::Omitted => line.push_str("  (left out)"),
                Mark::Open => {}
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        if self.0.elided.1 > 0 {
            writeln!(f, "  … {} later operations", self.0.elided.1)?;
        }
        write!(
            f,
            "longest linearisable prefix: {} of {} operations",
            self.0.prefix.len(),
            self.0.scope_len
        )?;
        if !self.0.prefix_tail.is_empty() {
            let tail: Vec<String> = self
                .0
                .prefix_tail
                .iter()
                .map(|(o, r)| describe(o, r.as_ref()))
                .collect();
            let dots = if self.0.prefix.len() > tail.len() {
                "…, "
            } else {
                ""
            };
            write!(f, " ({dots}{})", tail.join(", "))?;
        }
        writeln!(f)?;
        writeln!(f, "model state there: {state}")?;
        let (_, o) = &self.0.culprit;
        let title = match self.0.kind {
            ViolationKind::NotLinearizable => "the operation that cannot be linearised",
            ViolationKind::GaveUp { .. } => "the search was stuck at",
        };
        writeln!(f, "{title}: {} [{}]", describe(o, None), ticks(o))?;
        let why = match &o.ret {
            Some(r) if !self.0.culprit_legal => format!(
                "{:?} → {r:?} is not a legal result in model state {state}",
                o.op
            ),
            Some(r) => format!(
                "{:?} → {r:?} is legal in that state, but no continuation from it was found",
                o.op
            ),
            None => "it is pending, and no result of it leads to a valid order".to_string(),
        };
        writeln!(f, "  why: {why}")?;
        let others: Vec<String> = self
            .0
            .candidates
            .iter()
            .filter(|c| c.index != self.0.culprit.0)
            .map(|c| {
                let verdict = if c.op.is_pending() {
                    "pending"
                } else if c.legal {
                    "legal, leads nowhere"
                } else {
                    "illegal"
                };
                format!("{} [{}] ({verdict})", describe(&c.op, None), ticks(&c.op))
            })
            .collect();
        if !others.is_empty() {
            writeln!(f, "  other candidates there: {}", others.join("; "))?;
        }
        write!(
            f,
            "search: {} states explored, {} memo entries, {} partition(s)",
            self.0.stats.explored, self.0.stats.memo_entries, self.0.stats.partitions
        )
    }
}

impl<M: Model> std::error::Error for Violation<M> {}

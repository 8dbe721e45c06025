//! The search: Wing & Gong's backtracking with Lowe's just-in-time linearisation and memo, made
//! iterative (an explicit stack), over one scope (the whole history or one partition).
//!
//! A *configuration* is (set of operations already linearised, model state). From a
//! configuration the search tries the *candidates* in order; a candidate whose recorded result
//! is legal in the state moves to a new configuration, unless the memo has seen it (then it was
//! already explored, or is on the current path). When no candidate is left the search backtracks.
//!
//! Candidates come from a [`Frontier`]:
//! - [`RealTime`] (linearizability): Porcupine's doubly linked list of call and return entries,
//!   sorted by tick. The candidates are the calls before the first return entry still in the
//!   list, tried earliest return first; lifting an operation unlinks both of its entries (dancing links), and backtracking
//!   relinks them in reverse order. With few threads the walk to the first return is short.
//! - [`ProgramOrder`] (sequential consistency): the next operation of each thread.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use super::{Model, Operation};

/// The model state before every `CHECKPOINT`-th stack frame is kept (and before the latest
/// [`WINDOW`] others); backtracking below the window replays at most `CHECKPOINT - 1` steps from the
/// nearest checkpoint. This keeps the stack of a 10^5-deep search to a few thousand states.
const CHECKPOINT: usize = 16;
/// Frames this close to the top of the stack keep their state, so shallow backtracking (the
/// common case) never replays.
const WINDOW: usize = 64;

/// How one operation was placed in a linearisation.
#[derive(Debug, Clone)]
pub(crate) enum Choice<R> {
    /// A completed operation, with its recorded result.
    Recorded,
    /// A pending operation that took effect with this result.
    Pending(R),
    /// A pending operation left out (sequential consistency only: it would otherwise block its
    /// thread's later operations).
    Omitted,
}

/// One placed operation: a local index into the scope and how it was placed.
#[derive(Debug, Clone)]
pub(crate) struct Step<M: Model> {
    pub(crate) op: u32,
    pub(crate) choice: Choice<M::Ret>,
}

/// What a search found.
pub(crate) enum Found<M: Model> {
    /// Every completed operation placed: the steps in order.
    Linearized(Vec<Step<M>>),
    /// The deepest configuration reached (the first one at that depth), and whether the search
    /// stopped at the state budget rather than exhausting the space.
    Stuck {
        deepest: Vec<Step<M>>,
        gave_up: bool,
    },
}

/// The result of one search and its counts.
pub(crate) struct Outcome<M: Model> {
    pub(crate) found: Found<M>,
    pub(crate) explored: u64,
    pub(crate) memo_entries: u64,
}

/// Where candidates come from.
trait Frontier {
    /// The first candidate of the current configuration.
    fn first(&self) -> Option<u32>;
    /// The candidate after `op` (which is a candidate, not lifted).
    fn after(&self, op: u32) -> Option<u32>;
    /// Marks `op` linearised.
    fn lift(&mut self, op: u32);
    /// Undoes the last [`Frontier::lift`], which was of `op`.
    fn unlift(&mut self, op: u32);
}

/// Real-time order: Porcupine's entry list.
struct RealTime {
    /// Entry 0 is the head sentinel, the last entry the tail sentinel.
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The operation of each entry (`u32::MAX` for the sentinels).
    entry_op: Vec<u32>,
    /// Whether each entry is a call (sentinels are not, so a walk stops at the tail).
    entry_call: Vec<bool>,
    /// Each operation's call entry.
    call_entry: Vec<u32>,
    /// Each operation's return entry, `u32::MAX` if it is pending.
    ret_entry: Vec<u32>,
    /// Each operation's return tick, `u64::MAX` if it is pending: the candidate order.
    ret_time: Vec<u64>,
}

impl RealTime {
    fn new<M: Model>(ops: &[&Operation<M>]) -> Self {
        // (tick, 0 = call / 1 = return, op): calls sort before returns on equal ticks, which
        // only hand-built histories can have; that is the more permissive reading.
        let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            events.push((o.call, 0, i as u32));
            if let Some(r) = o.returned {
                events.push((r, 1, i as u32));
            }
        }
        events.sort_unstable();
        let n = events.len() + 2;
        let mut rt = RealTime {
            next: (1..=n as u32).collect(),
            prev: (0..n as u32).map(|i| i.wrapping_sub(1)).collect(),
            entry_op: vec![u32::MAX; n],
            entry_call: vec![false; n],
            call_entry: vec![0; ops.len()],
            ret_entry: vec![u32::MAX; ops.len()],
            ret_time: ops.iter().map(|o| o.returned.unwrap_or(u64::MAX)).collect(),
        };
        for (k, &(_, kind, op)) in events.iter().enumerate() {
            let e = k + 1;
            rt.entry_op[e] = op;
            if kind == 0 {
                rt.entry_call[e] = true;
                rt.call_entry[op as usize] = e as u32;
            } else {
                rt.ret_entry[op as usize] = e as u32;
            }
        }
        rt
    }

    /// The candidate with the smallest (return tick, index) above `key` (or from the start).
    fn next_candidate(&self, key: (u64, u32), inclusive: bool) -> Option<u32> {
        let mut best: Option<(u64, u32)> = None;
        let mut e = self.next[0] as usize;
        while self.entry_call[e] {
            let op = self.entry_op[e];
            let k = (self.ret_time[op as usize], op);
            if (k > key || inclusive) && best.is_none_or(|b| k < b) {
                best = Some(k);
            }
            e = self.next[e] as usize;
        }
        best.map(|(_, op)| op)
    }

    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }
}

impl Frontier for RealTime {
    // Candidates are tried earliest return first. Among short overlapping operations that is
    // about the order they took effect in, so first guesses are usually right. An operation
    // invoked long ago (a thread preempted mid-operation) is tried last, so it is placed as
    // late as the recorded results allow: just in time (Lowe). Tried first (Porcupine's call
    // order), it would be placed at every point of its long interval, each wrong placement
    // explored until a result contradicts it.
    fn first(&self) -> Option<u32> {
        self.next_candidate((0, 0), true)
    }
    fn after(&self, op: u32) -> Option<u32> {
        self.next_candidate((self.ret_time[op as usize], op), false)
    }
    fn lift(&mut self, op: u32) {
        self.unlink(self.call_entry[op as usize]);
        let r = self.ret_entry[op as usize];
        if r != u32::MAX {
            self.unlink(r);
        }
    }
    fn unlift(&mut self, op: u32) {
        let r = self.ret_entry[op as usize];
        if r != u32::MAX {
            self.relink(r);
        }
        self.relink(self.call_entry[op as usize]);
    }
}

/// Program order only: each thread's next operation.
struct ProgramOrder {
    /// Per dense thread index, its operations in program order.
    thread_ops: Vec<Vec<u32>>,
    /// Per dense thread index, how many of its operations are lifted.
    pos: Vec<usize>,
    /// Dense thread index of each operation.
    op_thread: Vec<u32>,
}

impl ProgramOrder {
    fn new<M: Model>(ops: &[&Operation<M>]) -> Self {
        let mut ids: Vec<usize> = ops.iter().map(|o| o.thread).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut thread_ops = vec![Vec::new(); ids.len()];
        let mut op_thread = Vec::with_capacity(ops.len());
        // `ops` is sorted by call tick, so each thread's list is in program order.
        for (i, o) in ops.iter().enumerate() {
            let t = ids.binary_search(&o.thread).expect("thread id listed");
            thread_ops[t].push(i as u32);
            op_thread.push(t as u32);
        }
        ProgramOrder {
            pos: vec![0; thread_ops.len()],
            thread_ops,
            op_thread,
        }
    }

    fn head_from(&self, t0: usize) -> Option<u32> {
        (t0..self.thread_ops.len()).find_map(|t| self.thread_ops[t].get(self.pos[t]).copied())
    }
}

impl Frontier for ProgramOrder {
    fn first(&self) -> Option<u32> {
        self.head_from(0)
    }
    fn after(&self, op: u32) -> Option<u32> {
        self.head_from(self.op_thread[op as usize] as usize + 1)
    }
    fn lift(&mut self, op: u32) {
        let t = self.op_thread[op as usize] as usize;
        debug_assert_eq!(self.thread_ops[t][self.pos[t]], op);
        self.pos[t] += 1;
    }
    fn unlift(&mut self, op: u32) {
        let t = self.op_thread[op as usize] as usize;
        self.pos[t] -= 1;
    }
}

/// A memo key is already a uniform 128-bit hash: the table uses its low 64 bits as is.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type Memo = HashSet<u128, BuildHasherDefault<PassThrough>>;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE5_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The Zobrist value of operation `op`: the linearised set's hash is the XOR of its members',
/// updated in O(1) on every lift and unlift.
fn zobrist(op: u32) -> u128 {
    let a = splitmix64(u64::from(op) << 1);
    let b = splitmix64((u64::from(op) << 1) | 1);
    (u128::from(a) << 64) | u128::from(b)
}

/// The memo key of a configuration: 128 bits of SipHash over (set hash, state), from two
/// differently salted hashers.
fn memo_key<M: Hash>(set: u128, state: &M) -> u128 {
    let mut a = DefaultHasher::new();
    a.write_u128(set);
    state.hash(&mut a);
    let mut b = DefaultHasher::new();
    b.write_u64(0x6c69_6e63_6865_636b);
    b.write_u128(set);
    state.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// A stack frame: the step taken and which alternative of its operation it was. The state
/// before it, if kept, is in [`States`].
struct Frame<M: Model> {
    step: Step<M>,
    alt: u32,
}

/// The model states before some stack frames, kept apart from the frames (which stay small):
/// every [`CHECKPOINT`]-th frame's, and the latest [`WINDOW`] others'.
struct States<M> {
    /// `checkpoints[j]` is the state before frame `j * CHECKPOINT`.
    checkpoints: Vec<M>,
    /// (frame index, state before it) for recent frames that are not checkpoints, oldest first.
    window: std::collections::VecDeque<(usize, M)>,
}

impl<M: Model> States<M> {
    /// Keeps `prev`, the state before frame `i` (`None`: the frame left the state unchanged,
    /// with `cur` the state; only checkpoints then need a copy).
    fn save(&mut self, i: usize, prev: Option<M>, cur: &M) {
        if i % CHECKPOINT == 0 {
            self.checkpoints.push(prev.unwrap_or_else(|| cur.clone()));
        } else if let Some(prev) = prev {
            if self.window.len() == WINDOW {
                self.window.pop_front();
            }
            self.window.push_back((i, prev));
        }
    }
}

/// What trying one alternative of one candidate gave.
enum Attempt<M: Model> {
    /// The operation has no alternative left.
    Exhausted,
    /// This alternative's result is illegal in the current state.
    Illegal,
    /// Legal: the next state and how the operation was placed.
    Moved(M, Choice<M::Ret>),
    /// Leave the (pending) operation out.
    Omit,
}

/// One search over one scope.
pub(crate) struct Search<'a, M: Model> {
    /// The scope's operations, sorted by call tick; local index = position here.
    pub(crate) ops: Vec<&'a Operation<M>>,
    /// Sequential consistency (program order) rather than real time.
    pub(crate) sequential: bool,
    /// Give up after this many configurations reached.
    pub(crate) budget: u64,
}

impl<M: Model> Search<'_, M> {
    pub(crate) fn run(&self, init: &M) -> Outcome<M> {
        if self.sequential {
            self.run_with(init, ProgramOrder::new(&self.ops))
        } else {
            self.run_with(init, RealTime::new(&self.ops))
        }
    }

    fn attempt(&self, state: &M, op: u32, alt: u32) -> Attempt<M> {
        let o = self.ops[op as usize];
        match &o.ret {
            Some(ret) => match (alt, state.step(&o.op, ret)) {
                (0, Some(next)) => Attempt::Moved(next, Choice::Recorded),
                (0, None) => Attempt::Illegal,
                _ => Attempt::Exhausted,
            },
            None => {
                let rets = state.possible_rets(&o.op);
                let alt = alt as usize;
                if let Some(ret) = rets.get(alt) {
                    match state.step(&o.op, ret) {
                        Some(next) => Attempt::Moved(next, Choice::Pending(ret.clone())),
                        None => Attempt::Illegal,
                    }
                } else if alt == rets.len() && self.sequential {
                    Attempt::Omit
                } else {
                    Attempt::Exhausted
                }
            }
        }
    }

    /// Applies a recorded step to `state`.
    pub(crate) fn replay(&self, state: M, step: &Step<M>) -> M {
        let o = self.ops[step.op as usize];
        let ret = match &step.choice {
            Choice::Recorded => o.ret.as_ref().expect("recorded step of a completed op"),
            Choice::Pending(r) => r,
            Choice::Omitted => return state,
        };
        state
            .step(&o.op, ret)
            .expect("a step taken once is legal again from the same state")
    }

    fn run_with<F: Frontier>(&self, init: &M, mut frontier: F) -> Outcome<M> {
        let m = self.ops.len();
        let mut remaining = self.ops.iter().filter(|o| !o.is_pending()).count();
        let mut cur = init.clone();
        let mut set = 0u128;
        let mut memo = Memo::with_capacity_and_hasher(m + 1, Default::default());
        memo.insert(memo_key(set, &cur));
        // The stack never holds more frames than operations: reserve once, no doubling.
        let mut stack: Vec<Frame<M>> = Vec::with_capacity(m);
        let mut states = States {
            checkpoints: Vec::with_capacity(m / CHECKPOINT + 1),
            window: std::collections::VecDeque::with_capacity(WINDOW),
        };
        let mut explored = 0u64;
        // The deepest configuration so far, as its steps. Invariant: stack[..common] equals
        // deepest[..common] (common is the lowest the stack went since the last copy), so a new
        // maximum copies only the frames above `common`: amortised O(1) per push.
        let mut deepest: Vec<Step<M>> = Vec::with_capacity(m);
        let mut common = 0usize;
        let mut cand = frontier.first().map(|op| (op, 0u32));
        let outcome = |found, explored, memo: &Memo| Outcome {
            found,
            explored,
            memo_entries: memo.len() as u64,
        };
        loop {
            if remaining == 0 {
                let steps = stack.into_iter().map(|f| f.step).collect();
                return outcome(Found::Linearized(steps), explored, &memo);
            }
            let Some((op, alt)) = cand else {
                // Dead end: undo the last step and try its next alternative.
                let Some(frame) = stack.pop() else {
                    let found = Found::Stuck {
                        deepest,
                        gave_up: false,
                    };
                    return outcome(found, explored, &memo);
                };
                let i = stack.len();
                common = common.min(i);
                frontier.unlift(frame.step.op);
                set ^= zobrist(frame.step.op);
                if !self.ops[frame.step.op as usize].is_pending() {
                    remaining += 1;
                }
                if i % CHECKPOINT == 0 {
                    cur = states.checkpoints.pop().expect("checkpoint of frame i");
                } else if states.window.back().is_some_and(|&(j, _)| j == i) {
                    cur = states.window.pop_back().expect("just seen").1;
                } else if !matches!(frame.step.choice, Choice::Omitted) {
                    // Replay from the checkpoint below.
                    let j = i - i % CHECKPOINT;
                    let mut s = states.checkpoints.last().expect("checkpoint below").clone();
                    for f in &stack[j..i] {
                        s = self.replay(s, &f.step);
                    }
                    cur = s;
                }
                cand = Some((frame.step.op, frame.alt + 1));
                continue;
            };
            let (next, choice) = match self.attempt(&cur, op, alt) {
                Attempt::Exhausted => {
                    cand = frontier.after(op).map(|o| (o, 0));
                    continue;
                }
                Attempt::Illegal => {
                    cand = Some((op, alt + 1));
                    continue;
                }
                Attempt::Moved(next, choice) => (Some(next), choice),
                Attempt::Omit => (None, Choice::Omitted),
            };
            explored += 1;
            if explored > self.budget {
                let found = Found::Stuck {
                    deepest,
                    gave_up: true,
                };
                return outcome(found, explored - 1, &memo);
            }
            let next_set = set ^ zobrist(op);
            if !memo.insert(memo_key(next_set, next.as_ref().unwrap_or(&cur))) {
                cand = Some((op, alt + 1));
                continue;
            }
            frontier.lift(op);
            set = next_set;
            if !self.ops[op as usize].is_pending() {
                remaining -= 1;
            }
            let prev = next.map(|next| std::mem::replace(&mut cur, next));
            states.save(stack.len(), prev, &cur);
            stack.push(Frame {
                step: Step { op, choice },
                alt,
            });
            if stack.len() > deepest.len() {
                deepest.truncate(common);
                deepest.extend(stack[common..].iter().map(|f| f.step.clone()));
                common = stack.len();
            }
            cand = frontier.first().map(|o| (o, 0));
        }
    }
}

//! Sequential specifications for the checker: a closable bounded FIFO queue, a counter, and a
//! key-value map (partitionable by key).

use std::collections::{BTreeMap, VecDeque};

use super::Model;

/// A closable FIFO queue, bounded or not: the seed articles' pipeline queue.
///
/// - `Push`/`TryPush`: closed → `Closed` (the item is handed back, nothing changes);
///   `TryPush` on a full queue → `Full`; otherwise `Pushed` (appended). A blocking `Push` may
///   also return `TimedOut`, legal only when full and open.
/// - `Pop` (blocking): nonempty → `Popped(front)`; empty and closed → `Drained`; `TimedOut`
///   legal only when empty and open. `TryPop`: the same, but empty and open → `Empty`.
/// - `Close` → `Done`; sets `closed` (idempotent). After it every push is `Closed`, and pops
///   drain what is left.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueModel {
    /// Front first.
    pub items: VecDeque<u64>,
    /// Maximum length, `None` for unbounded.
    pub capacity: Option<usize>,
    /// Whether `Close` took effect.
    pub closed: bool,
}

/// An operation on a [`QueueModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// Blocking push (may time out).
    Push(u64),
    /// Non-blocking push.
    TryPush(u64),
    /// Blocking pop (may time out).
    Pop,
    /// Non-blocking pop.
    TryPop,
    /// Close the queue.
    Close,
}

/// A [`QueueOp`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueRet {
    /// The item was appended.
    Pushed,
    /// `TryPush` on a full queue.
    Full,
    /// A push on a closed queue; the item was handed back.
    Closed,
    /// The front item.
    Popped(u64),
    /// `TryPop` on an empty open queue.
    Empty,
    /// A pop on an empty closed queue.
    Drained,
    /// A blocking operation gave up waiting (push: full and open; pop: empty and open).
    TimedOut,
    /// `Close` returned.
    Done,
}

impl QueueModel {
    /// An empty open queue; `capacity` `None` is unbounded.
    pub fn new(capacity: Option<usize>) -> Self {
        Self {
            items: VecDeque::new(),
            capacity,
            closed: false,
        }
    }

    fn is_full(&self) -> bool {
        self.capacity.is_some_and(|c| self.items.len() >= c)
    }

    fn with_items(&self, items: VecDeque<u64>) -> Self {
        Self {
            items,
            capacity: self.capacity,
            closed: self.closed,
        }
    }
}

impl Model for QueueModel {
    type Op = QueueOp;
    type Ret = QueueRet;

    fn step(&self, op: &QueueOp, ret: &QueueRet) -> Option<Self> {
        use QueueOp::{Close, Pop, Push, TryPop, TryPush};
        use QueueRet as R;
        let empty = self.items.is_empty();
        // Legality is decided before anything is cloned: failed steps are the common case.
        match (op, ret) {
            (Push(_) | TryPush(_), R::Closed) => self.closed.then(|| self.clone()),
            (TryPush(_), R::Full) | (Push(_), R::TimedOut) => {
                (!self.closed && self.is_full()).then(|| self.clone())
            }
            (Push(v) | TryPush(v), R::Pushed) if !self.closed && !self.is_full() => {
                let mut items = VecDeque::with_capacity(self.items.len() + 1);
                items.extend(self.items.iter().copied());
                items.push_back(*v);
                Some(self.with_items(items))
            }
            (Pop | TryPop, R::Popped(v)) if self.items.front() == Some(v) => {
                Some(self.with_items(self.items.iter().skip(1).copied().collect()))
            }
            (Pop | TryPop, R::Drained) => (self.closed && empty).then(|| self.clone()),
            (TryPop, R::Empty) | (Pop, R::TimedOut) => {
                (!self.closed && empty).then(|| self.clone())
            }
            (Close, R::Done) => Some(Self {
                closed: true,
                ..self.clone()
            }),
            _ => None,
        }
    }

    fn possible_rets(&self, op: &QueueOp) -> Vec<QueueRet> {
        use QueueRet as R;
        let ret = match op {
            QueueOp::Push(_) | QueueOp::TryPush(_) if self.closed => R::Closed,
            QueueOp::Push(_) if self.is_full() => R::TimedOut,
            QueueOp::TryPush(_) if self.is_full() => R::Full,
            QueueOp::Push(_) | QueueOp::TryPush(_) => R::Pushed,
            QueueOp::Pop | QueueOp::TryPop => match self.items.front() {
                Some(&v) => R::Popped(v),
                None if self.closed => R::Drained,
                None if matches!(op, QueueOp::Pop) => R::TimedOut,
                None => R::Empty,
            },
            QueueOp::Close => R::Done,
        };
        vec![ret]
    }
}

/// A counter: `Increment` → `Done` adds one, `Get` → `Value(n)` reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CounterModel(pub u64);

/// An operation on a [`CounterModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterOp {
    /// Add one.
    Increment,
    /// Read the value.
    Get,
}

/// A [`CounterOp`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterRet {
    /// `Increment` returned.
    Done,
    /// `Get` read this value.
    Value(u64),
}

impl Model for CounterModel {
    type Op = CounterOp;
    type Ret = CounterRet;

    fn step(&self, op: &CounterOp, ret: &CounterRet) -> Option<Self> {
        match (op, ret) {
            (CounterOp::Increment, CounterRet::Done) => Some(CounterModel(self.0 + 1)),
            (CounterOp::Get, CounterRet::Value(v)) if *v == self.0 => Some(*self),
            _ => None,
        }
    }

    fn possible_rets(&self, op: &CounterOp) -> Vec<CounterRet> {
        vec![match op {
            CounterOp::Increment => CounterRet::Done,
            CounterOp::Get => CounterRet::Value(self.0),
        }]
    }
}

/// A map of registers, `u64` keys to `u64` values. Operations on different keys are
/// independent, so [`Model::partition`] is the key and histories are checked per key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MapModel {
    /// The current contents.
    pub map: BTreeMap<u64, u64>,
}

/// An operation on a [`MapModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapOp {
    /// Set key to value.
    Put(u64, u64),
    /// Read key.
    Get(u64),
}

/// A [`MapOp`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapRet {
    /// `Put` returned.
    Done,
    /// `Get` read this (`None`: key absent).
    Value(Option<u64>),
}

impl Model for MapModel {
    type Op = MapOp;
    type Ret = MapRet;

    fn step(&self, op: &MapOp, ret: &MapRet) -> Option<Self> {
        match (op, ret) {
            (MapOp::Put(k, v), MapRet::Done) => {
                let mut next = self.clone();
                next.map.insert(*k, *v);
                Some(next)
            }
            (MapOp::Get(k), MapRet::Value(v)) if self.map.get(k) == v.as_ref() => {
                Some(self.clone())
            }
            _ => None,
        }
    }

    fn partition(op: &MapOp) -> Option<u64> {
        match op {
            MapOp::Put(k, _) | MapOp::Get(k) => Some(*k),
        }
    }

    fn possible_rets(&self, op: &MapOp) -> Vec<MapRet> {
        vec![match op {
            MapOp::Put(..) => MapRet::Done,
            MapOp::Get(k) => MapRet::Value(self.map.get(k).copied()),
        }]
    }
}

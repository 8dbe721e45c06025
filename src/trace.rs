//! Readable interleavings: the operations a structure performs, per thread, in the order they ran.
//!
//! Structures call [`event`] at each step that matters (`load → 0`, `store 1`, `lock`). The call
//! costs a thread-local check unless a model engine is recording; then the event is stored with
//! the scenario thread that made it. Under loom and shuttle all model threads run on the calling
//! OS thread, one at a time, so the recorded order *is* the interleaving. The stress engine never
//! records: observing real threads would change their timing.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Scenario thread index (0-based), or `None` for the driver (setup and final check).
    pub thread: Option<usize>,
    /// What happened, e.g. `load → 0`.
    pub op: String,
}

/// A recorded interleaving.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Trace(pub Vec<Event>);

impl Trace {
    /// Number of times the running thread changed between consecutive events of scenario threads.
    pub fn switches(&self) -> usize {
        let threads: Vec<usize> = self.0.iter().filter_map(|e| e.thread).collect();
        threads.windows(2).filter(|w| w[0] != w[1]).count()
    }
    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Trace {
    /// One line per event, `T1: load → 0`, threads numbered from 1 as people count them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match e.thread {
                Some(t) => write!(f, "T{}: {}", t + 1, e.op)?,
                None => write!(f, "main: {}", e.op)?,
            }
        }
        Ok(())
    }
}

struct Recording {
    events: Vec<Event>,
    index: fn() -> Option<usize>,
}

std::thread_local! {
    static RECORDING: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

/// How many OS threads are recording now. Checked first, so that on real threads (benchmarks,
/// stress) an event costs one `Relaxed` load of a line nobody writes, not a thread-local lookup.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Records `op()` as an operation of the current scenario thread, if a model engine is recording.
#[inline]
pub fn event(op: impl FnOnce() -> String) {
    if ACTIVE.load(Relaxed) == 0 {
        return;
    }
    RECORDING.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut()
            && let Some(rec) = r.as_mut()
        {
            let thread = (rec.index)();
            rec.events.push(Event { thread, op: op() });
        }
    })
}

/// Starts recording on this OS thread; `index` names the scenario thread of each event.
pub(crate) fn start(index: fn() -> Option<usize>) {
    RECORDING.with(|r| {
        let was = r.borrow_mut().replace(Recording {
            events: Vec::new(),
            index,
        });
        if was.is_none() {
            ACTIVE.fetch_add(1, Relaxed);
        }
    });
}

/// Clears the events recorded so far (at the start of each execution).
pub(crate) fn clear() {
    RECORDING.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            rec.events.clear();
        }
    });
}

/// Stops recording and returns what was recorded.
pub(crate) fn stop() -> Trace {
    RECORDING.with(|r| {
        let rec = r.borrow_mut().take();
        if rec.is_some() {
            ACTIVE.fetch_sub(1, Relaxed);
        }
        Trace(rec.map(|rec| rec.events).unwrap_or_default())
    })
}

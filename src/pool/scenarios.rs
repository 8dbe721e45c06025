//! The pool family's scenarios: every job accepted runs exactly once and is accounted for, a
//! job offered after close is handed back, a panicking job is counted and the pool goes on,
//! `wait_idle` waits for the work, and shutdown returns.
//!
//! They fit loom's thread limit: one or two scenario threads and one or two workers. Where the
//! racy twin hangs (two workers), the pool is built and shut down inside a scenario thread, not
//! in the teardown, so that under stress the hang happens where the watchdog watches.

use super::{Pool, PoolReport, Rejected};
use crate::runtime::{ArcApi, AtomicIntApi, Runtime};
use crate::scenario::{BugClass, Outcome, Scenario, Subject};
use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;

/// The scenarios of pool `P` (on every runtime, through `P::On<R>`).
pub struct Pools<P: Pool> {
    _p: PhantomData<fn() -> P>,
}

impl<P: Pool> Default for Pools<P> {
    fn default() -> Self {
        Pools { _p: PhantomData }
    }
}

/// How many times each job ran, whoever ran it (the executor's scenarios count tasks and
/// callbacks with it too).
pub(crate) struct Ran<R: Runtime>(R::Arc<Vec<R::AtomicUsize>>);

impl<R: Runtime> Ran<R> {
    pub(crate) fn new(jobs: usize) -> Self {
        Ran(R::Arc::new(
            (0..jobs).map(|_| AtomicIntApi::new(0)).collect(),
        ))
    }
    /// Job `i`: counts its run.
    pub(crate) fn job(&self, i: usize) -> impl FnOnce() + Send + 'static {
        let ran = self.0.clone();
        move || {
            ran[i].fetch_add(1, SeqCst);
        }
    }
    pub(crate) fn counts(&self) -> Vec<usize> {
        self.0.iter().map(|a| a.load(SeqCst)).collect()
    }
}

/// What a scenario thread saw: each job it offered and whether the pool accepted it, and the
/// report if this thread shut the pool down.
#[derive(Default)]
struct Seen {
    offered: Vec<(usize, bool)>,
    report: Option<PoolReport>,
}

/// Offers job `i`; a job handed back is run by its submitter, so a job the pool accepted and
/// one it refused both run exactly once, and only the accepted ones count in the report.
fn offer<P: Pool>(pool: &P, ran: &Ran<P::Rt>, i: usize, seen: &mut Seen) {
    let accepted = match pool.execute(ran.job(i)) {
        Ok(()) => true,
        Err(Rejected(job)) => {
            job();
            false
        }
    };
    seen.offered.push((i, accepted));
}

/// The verdict on one execution: the report's accounting against what the threads offered and
/// how often each job ran. `panics` are the messages the report must list, by job.
fn judge(report: &PoolReport, ran: &[usize], seen: &[Seen], panics: &[(usize, &str)]) -> Outcome {
    let accepted = seen
        .iter()
        .flat_map(|s| &s.offered)
        .filter(|(_, a)| *a)
        .count();
    if let Some((i, n)) = ran.iter().enumerate().find(|(_, n)| **n != 1) {
        let class = if *n == 0 {
            BugClass::LostItem
        } else {
            BugClass::DuplicatedItem
        };
        return Outcome::forbidden(class, format!("job {i} ran {n} times ({report})"));
    }
    if report.submitted != accepted {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("{accepted} jobs accepted, the report says {report}"),
        );
    }
    if !report.accounted() {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("not every job accounted: {report}"),
        );
    }
    let listed: Vec<(usize, &str)> = report
        .panicked
        .iter()
        .map(|p| (p.job, p.message.as_str()))
        .collect();
    if listed != panics {
        return Outcome::forbidden(
            BugClass::LostItem,
            format!("panicked jobs {listed:?}, expected {panics:?} ({report})"),
        );
    }
    Outcome::ok(format!(
        "{accepted} accepted, {} refused, {report}",
        ran.len() - accepted
    ))
}

impl<P: Pool> Subject for Pools<P> {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        type On<P, R> = <P as Pool>::On<R>;
        /// One thread builds a pool of `workers`, offers `jobs` jobs (job 0 panics if
        /// `panicking`), waits idle if asked, and shuts the pool down.
        fn one_thread<P: Pool, R: Runtime>(
            name: &str,
            jobs: usize,
            panicking: bool,
            idle: bool,
        ) -> Scenario<R> {
            let panics: &'static [(usize, &str)] = if panicking {
                &[(0, "job 0 fails")]
            } else {
                &[]
            };
            Scenario::<R>::builder(name, move || Ran::<R>::new(jobs))
                .observing::<Seen>()
                .thread(move |ran| {
                    let pool = On::<P, R>::with_workers(2).expect("2 workers");
                    let mut seen = Seen::default();
                    for i in 0..jobs {
                        if panicking && i == 0 {
                            let job = ran.job(0);
                            let _ = pool.execute(move || {
                                job();
                                panic!("job 0 fails");
                            });
                            seen.offered.push((0, true));
                        } else {
                            offer(&pool, ran, i, &mut seen);
                        }
                    }
                    if idle {
                        pool.wait_idle();
                        if let Some(i) = ran.counts().iter().position(|n| *n == 0) {
                            crate::fail(
                                BugClass::OrderViolation,
                                format!("wait_idle returned before job {i} ran"),
                            );
                        }
                    }
                    seen.report = Some(pool.shutdown());
                    seen
                })
                .check(move |ran, seen| match &seen[0].report {
                    Some(report) => judge(report, &ran.counts(), seen, panics),
                    None => Outcome::forbidden(BugClass::ShutdownHang, "no report"),
                })
                .spawns(2)
        }

        vec![
            one_thread::<P, R>("2 workers: 2 jobs, then shut down", 2, false, false),
            one_thread::<P, R>("2 workers: a job panics, the other runs", 2, true, false),
            one_thread::<P, R>("2 workers: wait_idle waits for both jobs", 2, false, true),
            // One worker: the teardown shuts it down (a one-worker pool stops on any signal).
            Scenario::<R>::builder("1 worker: execute races close", || {
                let pool = On::<P, R>::with_workers(1).expect("1 worker");
                (pool, Ran::<R>::new(3))
            })
            .observing::<Seen>()
            .thread(|(pool, ran)| {
                let mut seen = Seen::default();
                offer(pool, ran, 0, &mut seen);
                pool.close();
                offer(pool, ran, 1, &mut seen);
                if seen.offered[1].1 {
                    crate::fail(BugClass::UseAfterClose, "a job was accepted after close");
                }
                seen
            })
            .thread(|(pool, ran)| {
                let mut seen = Seen::default();
                offer(pool, ran, 2, &mut seen);
                seen
            })
            .teardown(|(pool, ran)| (pool.shutdown(), ran.counts()))
            .check(|(report, ran), seen| judge(report, ran, seen, &[]))
            .spawns(1),
        ]
    }
}

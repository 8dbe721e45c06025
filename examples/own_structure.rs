//! Check a structure of your own under every engine.
//!
//! A ticket dispenser hands out numbers; two customers must never get the same one. The racy
//! version reads the next number and writes it back incremented (two loads of the same value →
//! a duplicated ticket); the correct one uses `fetch_add`. Both are generic over racelab's
//! `Runtime`, so the same code runs on real threads, under loom and under shuttle.
//!
//! Run it: `cargo run --release --example own_structure`.

use racelab::engine::{EngineKind, Verdict, check_all};
use racelab::runtime::{AtomicIntApi, Runtime};
use racelab::{BugClass, Outcome, Scenario, Subject};
use std::sync::atomic::Ordering::SeqCst;

/// **Intentionally racy:** load, then store the next number.
struct RacyDispenser<R: Runtime> {
    next: R::AtomicUsize,
}

impl<R: Runtime> RacyDispenser<R> {
    fn take(&self) -> usize {
        let t = self.next.load(SeqCst);
        racelab::trace::event(|| format!("load → {t}"));
        self.next.store(t + 1, SeqCst);
        racelab::trace::event(|| format!("store {}", t + 1));
        t
    }
}

/// `fetch_add`: one indivisible step.
struct Dispenser<R: Runtime> {
    next: R::AtomicUsize,
}

impl<R: Runtime> Dispenser<R> {
    fn take(&self) -> usize {
        self.next.fetch_add(1, SeqCst)
    }
}

/// Two customers take a ticket each; the tickets must differ.
fn two_customers<R: Runtime, D: Send + Sync + 'static>(
    new: fn() -> D,
    take: fn(&D) -> usize,
) -> Scenario<R> {
    Scenario::<R>::builder("two customers", new)
        .observing::<usize>()
        .threads(2, take)
        .check(|_, tickets| {
            if tickets[0] == tickets[1] {
                Outcome::forbidden(
                    BugClass::DuplicatedItem,
                    format!("both customers got ticket {}", tickets[0]),
                )
            } else {
                Outcome::ok(format!("tickets {} and {}", tickets[0], tickets[1]))
            }
        })
}

/// The subjects: a type per structure, giving its scenarios on any runtime.
#[derive(Default)]
struct Racy;
impl Subject for Racy {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![two_customers::<R, _>(
            || RacyDispenser::<R> {
                next: R::AtomicUsize::new(0),
            },
            RacyDispenser::take,
        )]
    }
}

#[derive(Default)]
struct Correct;
impl Subject for Correct {
    fn scenarios<R: Runtime>(&self) -> Vec<Scenario<R>> {
        vec![two_customers::<R, _>(
            || Dispenser::<R> {
                next: R::AtomicUsize::new(0),
            },
            Dispenser::take,
        )]
    }
}

fn main() {
    for r in check_all(&Racy) {
        println!(
            "racy    {:<15} {:<7} {}",
            r.engine,
            r.verdict,
            r.message().unwrap_or(&r.note)
        );
        // Every model engine must catch it; stress may or may not, on this machine.
        if r.engine != EngineKind::Stress {
            r.assert_caught("duplicated item");
        }
    }
    for r in check_all(&Correct) {
        println!("correct {:<15} {}", r.engine, r.verdict);
        assert_eq!(r.verdict, Verdict::Passed);
    }
}

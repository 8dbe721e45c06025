//! The blocking waits of article 001 in Rust: five 0.1 s waits on sockets that never get data,
//! one after another and then on five threads; then ten `sleep` children, one after another and
//! then all at once.
//!
//! The article (`../shared/seeds/001_*.txt`, notes on Effective Python; seed notes §4) runs
//! `select.select([socket.socket()], [], [], 0.1)` five times: 0.518 s in a row, 0.109 s on
//! five threads, because a thread blocked in a system call releases the GIL. Then it starts ten
//! `Popen(['sleep', '1'])` and waits for each with `communicate()`: 1.09 s in all. Here the
//! socket is a loopback connection whose peer never writes, read with a 100 ms timeout, and
//! each child runs `sleep 0.2` instead of `sleep 1` to keep the run short (so expect about a
//! fifth of the article's time for the children). Every wait is bounded: the reads by their
//! timeout, the children by a deadline after which they are killed.
//!
//! Run it: `cargo run --release --example blocking_waits`.

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// The article's five system calls.
const WAITS: usize = 5;
/// The article's `timeout=0.1`.
const WAIT: Duration = Duration::from_millis(100);
/// The article's ten children.
const CHILDREN: usize = 10;
/// What each child sleeps: `sleep 0.2` here, `sleep 1` in the article.
const NAP: &str = "0.2";
/// How long a child may take before it is killed.
const CHILD_DEADLINE: Duration = Duration::from_secs(10);

/// The article's `slow_systemcall`: a read that waits `WAIT` for data that never comes.
fn slow_systemcall(mut socket: &TcpStream) -> Result<(), String> {
    let mut buf = [0u8; 1];
    match socket.read(&mut buf) {
        // Linux reports a receive timeout as EAGAIN (WouldBlock), Windows as TimedOut.
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
        Err(e) => Err(format!("the read failed instead of timing out: {e}")),
        Ok(n) => Err(format!(
            "the read returned {n} byte(s) instead of timing out"
        )),
    }
}

/// Waits for `child` until `deadline`, then kills it.
fn communicate(child: &mut Child, deadline: Instant) -> Result<(), String> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("`sleep {NAP}` exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`sleep {NAP}` still ran after {CHILD_DEADLINE:?}: killed"
                ));
            }
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("cannot wait for `sleep`: {e}")),
        }
    }
}

/// `Popen(['sleep', NAP])`, with a message that says what is missing if it is.
fn popen() -> Result<Child, String> {
    Command::new("sleep")
        .arg(NAP)
        .spawn()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => {
                "there is no `sleep` program on the PATH: the child-process part needs one \
             (coreutils or busybox)"
                    .to_string()
            }
            _ => format!("cannot start `sleep {NAP}`: {e}"),
        })
}

fn sockets() -> Result<(), String> {
    // A listener nobody accepts from: the kernel completes the connections in its backlog, and
    // nothing ever writes to them. It must live as long as they do, or they would be reset.
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?;
    let mut sockets = Vec::new();
    for _ in 0..WAITS {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        s.set_read_timeout(Some(WAIT))
            .map_err(|e| format!("set_read_timeout: {e}"))?;
        sockets.push(s);
    }

    let start = Instant::now();
    for s in &sockets {
        slow_systemcall(s)?;
    }
    let delta = start.elapsed().as_secs_f64();
    println!("{WAITS} waits of 0.1 s, one after another: {delta:.3} s (article: 0.518 s)");

    let start = Instant::now();
    thread::scope(|scope| {
        let threads: Vec<_> = sockets
            .iter()
            .map(|s| scope.spawn(move || slow_systemcall(s)))
            .collect();
        threads
            .into_iter()
            .try_for_each(|t| t.join().expect("a wait does not panic"))
    })?;
    let delta = start.elapsed().as_secs_f64();
    println!("{WAITS} waits of 0.1 s on {WAITS} threads:    {delta:.3} s (article: 0.109 s)");
    drop(listener);
    Ok(())
}

fn children() -> Result<(), String> {
    let start = Instant::now();
    for _ in 0..CHILDREN {
        let mut child = popen()?;
        communicate(&mut child, Instant::now() + CHILD_DEADLINE)?;
    }
    let delta = start.elapsed().as_secs_f64();
    println!(
        "{CHILDREN} x `sleep {NAP}`, one after another: {delta:.3} s \
         (not in the article; about 10 s with `sleep 1`)"
    );

    let start = Instant::now();
    let mut sleep_procs = Vec::new();
    for _ in 0..CHILDREN {
        match popen() {
            Ok(child) => sleep_procs.push(child),
            Err(e) => {
                // Do not leave the ones already started behind.
                let deadline = Instant::now() + CHILD_DEADLINE;
                sleep_procs
                    .iter_mut()
                    .for_each(|c| drop(communicate(c, deadline)));
                return Err(e);
            }
        }
    }
    let deadline = Instant::now() + CHILD_DEADLINE;
    let results: Vec<_> = sleep_procs
        .iter_mut()
        .map(|c| communicate(c, deadline))
        .collect();
    results.into_iter().collect::<Result<(), _>>()?;
    let delta = start.elapsed().as_secs_f64();
    println!(
        "{CHILDREN} x `sleep {NAP}`, all at once:       {delta:.3} s \
         (article: 1.09 s with `sleep 1`)"
    );
    Ok(())
}

fn main() -> ExitCode {
    if let Err(e) = sockets() {
        eprintln!("socket waits: {e}");
        return ExitCode::FAILURE;
    }
    println!("A blocked thread uses no CPU: the waits overlap, in Rust as under Python's GIL.\n");
    if let Err(e) = children() {
        eprintln!("child processes: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "Children run beside their parent whatever its language: ten at once take the time of \
         one, plus the cost of starting them."
    );
    ExitCode::SUCCESS
}

//! Many slow connections, article 004 in Rust: 1,000 clients of a loopback server that answers
//! each connection after 100 ms, first as 1,000 OS threads, then as 1,000 tokio tasks on one
//! thread, with the time and the peak memory of each.
//!
//! The article (`../shared/seeds/004_*.txt`, seed notes §4) compares threads and asyncio on
//! downloads and ends with rules of thumb: CPU-bound → processes; IO-bound with few
//! connections → threads; IO-bound with many slow connections → asyncio. Here the "many slow
//! connections" case is measured. The server is a tokio task per connection on its own thread;
//! it stops by itself once it has served every client of both phases (or after `IDLE` without a
//! new one). Every socket operation has a timeout. The peak resident memory is the kernel's
//! `VmHWM` from `/proc/self/status`, reset before each phase where Linux allows it; it counts the
//! whole process, so the server's share is in both figures.
//!
//! Run it: `cargo run --release --example async_vs_threads`.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

/// The article's "many connections".
const CLIENTS: usize = 1_000;
/// How long the server waits before it answers a connection: a slow peer.
const SLOW: Duration = Duration::from_millis(100);
/// The bound on every socket operation, client or server.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The server stops after this long without a new connection.
const IDLE: Duration = Duration::from_secs(10);
/// What the server answers.
const ANSWER: &[u8] = b"hello\n";

/// A size in `/proc/self/status`, such as `VmHWM:    12345 kB`, in kB.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let value = line[field.len()..].trim_start_matches(':').trim();
    value.strip_suffix("kB")?.trim().parse().ok()
}

/// Resets `VmHWM` to the current resident size (Linux 4.0 and later); false if it cannot.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// An error as the text the report prints.
fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The soft limit on open files, from `/proc/self/limits`.
fn max_open_files() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A loopback listener on a port the OS picks, with room for `backlog` pending connections.
fn listen(backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(backlog)
}

/// The server's answer to one connection: after `SLOW`, `ANSWER`, then close.
async fn answer(mut socket: tokio::net::TcpStream) -> bool {
    sleep(SLOW).await;
    matches!(timeout(TIMEOUT, socket.write_all(ANSWER)).await, Ok(Ok(())))
}

/// Serves `connections` connections, or stops after `IDLE` without one; returns how many got
/// their answer.
async fn serve(listener: tokio::net::TcpListener, connections: usize) -> usize {
    let mut answers = JoinSet::new();
    for _ in 0..connections {
        match timeout(IDLE, listener.accept()).await {
            Ok(Ok((socket, _))) => drop(answers.spawn(answer(socket))),
            Ok(Err(e)) => eprintln!("server: accept failed: {e}"),
            Err(_) => break,
        }
    }
    answers
        .join_all()
        .await
        .into_iter()
        .filter(|&ok| ok)
        .count()
}

/// Starts the server on a thread of its own, with a tokio runtime of its own.
fn server(connections: usize) -> Result<(SocketAddr, thread::JoinHandle<usize>), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let rt = rt.map_err(|e| format!("tokio runtime: {e}"))?;
    // A backlog for every client at once (`TcpListener::bind` asks for 128 only): a connection
    // that finds the queue full waits a second or more for its SYN to be sent again.
    let listener = rt.block_on(async { listen(CLIENTS as u32) });
    let listener = listener.map_err(|e| format!("listen: {e}"))?;
    let addr = listener.local_addr().map_err(err)?;
    Ok((
        addr,
        thread::spawn(move || rt.block_on(serve(listener, connections))),
    ))
}

/// One client on its own OS thread: connect, read the answer to the end.
fn thread_client(addr: SocketAddr) -> Result<(), String> {
    let mut socket = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(err)?;
    socket.set_read_timeout(Some(TIMEOUT)).map_err(err)?;
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).map_err(err)?;
    (answer == ANSWER).then_some(()).ok_or(err("wrong answer"))
}

/// The same client as a task.
async fn task_client(addr: SocketAddr) -> Result<(), String> {
    let connect = timeout(TIMEOUT, tokio::net::TcpStream::connect(addr)).await;
    let mut socket = connect.map_err(err)?.map_err(err)?;
    let mut answer = Vec::new();
    let read = timeout(TIMEOUT, socket.read_to_end(&mut answer)).await;
    read.map_err(err)?.map_err(err)?;
    (answer == ANSWER).then_some(()).ok_or(err("wrong answer"))
}

/// Where a phase starts: the clock, the resident size, and whether the peak could be reset.
fn phase() -> (Instant, Option<u64>, bool) {
    let rss = status_kb("VmRSS");
    (Instant::now(), rss, reset_peak())
}

/// Prints how a phase went: its time, how many clients got their answer, the peak memory.
fn report(
    what: &str,
    (start, rss, reset): (Instant, Option<u64>, bool),
    results: &[Result<(), String>],
) {
    let time = start.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let peak = match (status_kb("VmHWM"), rss) {
        (Some(peak), Some(rss)) if reset => {
            format!("{peak} kB, {} kB more than before", peak - rss.min(peak))
        }
        (Some(peak), _) => format!("{peak} kB (since the process started)"),
        (None, _) => "unknown".into(),
    };
    println!(
        "{what:<18} {time:.3} s, {ok}/{} answered, peak resident {peak}",
        results.len()
    );
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        println!("  first failure: {e}");
    }
}

fn main() -> Result<(), String> {
    // Each connection takes two descriptors here, the client's and the server's.
    let clients = max_open_files().map_or(CLIENTS, |n| CLIENTS.min(n.saturating_sub(64) / 2));
    if clients < CLIENTS {
        println!("the open-file limit allows {clients} clients, not {CLIENTS}");
    }
    let (addr, server) = server(2 * clients)?;
    println!("{clients} clients of {addr}, each answered after {SLOW:?}\n");

    let threads = phase();
    let results: Vec<_> = thread::scope(|s| {
        let threads: Vec<_> = (0..clients)
            .map(|_| thread::Builder::new().spawn_scoped(s, || thread_client(addr)))
            .collect();
        let join = |t: thread::ScopedJoinHandle<'_, _>| t.join().unwrap_or(Err("panic".into()));
        threads
            .into_iter()
            .map(|t| t.map_err(|e| format!("spawn: {e}")).and_then(join))
            .collect()
    });
    report(&format!("{clients} OS threads:"), threads, &results);

    let tasks = phase();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let rt = rt.map_err(|e| format!("tokio runtime: {e}"))?;
    let clients_as_tasks: JoinSet<_> =
        rt.block_on(async { (0..clients).map(|_| task_client(addr)).collect() });
    let results = rt.block_on(clients_as_tasks.join_all());
    report(&format!("{clients} tokio tasks:"), tasks, &results);

    let served = server.join().map_err(|_| "the server panicked")?;
    println!("the server answered {served} connections and stopped\n");
    println!(
        "A thread costs more than a task: each OS thread has its own stack (Rust reserves 2 MiB \
         of address space; every page it touches stays resident until it exits), a kernel task \
         and a place in the scheduler, and every switch between threads goes through the \
         kernel. A task is one heap allocation holding only what the future keeps across its \
         `.await`s, a few hundred bytes, and a switch between tasks is a return to the runtime."
    );
    println!("\nThe article's rules of thumb, and what they become in Rust:");
    println!("  CPU-bound           -> processes in Python (GIL); threads or processes in Rust");
    println!("  IO-bound, few conns -> threads (or async)");
    println!("  many slow conns     -> async: one thread waits on all of them");
    Ok(())
}

//! The network experiments of articles 000 and 004: downloads from a loopback HTTP server that
//! waits before each answer (sequential, a pool of 5, async), and many slow connections held
//! by OS threads or by async tasks in a child process whose peak memory the OS reports.
//!
//! Every server here binds to 127.0.0.1 on a port the OS picks, runs on a tokio runtime of its
//! own thread, serves a bounded number of requests or connections, stops after
//! [`IDLE`] without activity, and stops when its handle drops. Every client operation has a
//! timeout ([`CLIENT_TIMEOUT`]).

use super::{Child, Context, Experiment, Row, Timed, timed};
use crate::executor::ThreadPoolExecutor;
use crate::runtime::Std;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// The network experiments, in the order `racelab seeds` runs them.
pub(super) const EXPERIMENTS: [Experiment; 2] = [DOWNLOADS, SLOW_CONNECTIONS];

/// Articles 000 and 004: 160 downloads one after another, on a pool of 5, and with asyncio.
const DOWNLOADS: Experiment = Experiment {
    name: "downloads",
    article: "004 (code from 000): 160 downloads: sequential vs ThreadPoolExecutor(5) vs asyncio \
              (no times printed)",
    lesson: "The downloads are IO-bound, so the GIL never mattered and Rust's lack of one changes \
             nothing: a pool of 5 overlaps 5 waits and cuts the time about 5×, and async tasks on \
             one thread overlap every wait at once, as asyncio does.",
    run: downloads,
};

/// Article 004's rule of thumb, measured: many slow connections → async.
const SLOW_CONNECTIONS: Experiment = Experiment {
    name: "slow-connections",
    article: "004: rule of thumb \"IO-bound, slow IO, many connections → asyncio\" (stated, not \
              measured)",
    lesson: "It carries over: a connection held by an OS thread costs a thread (its stack pages \
             and kernel state) and an async task costs a small heap allocation, so many slow \
             connections want async in Rust too, though the absence of a GIL plays no part since \
             the threads only wait.",
    run: slow_connections,
};

/// How long a server lives without any activity before it stops by itself.
const IDLE: Duration = Duration::from_secs(10);
/// The timeout of every client request, connection, read and write.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the parent waits for a child process before it kills it.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);
/// How long each slow connection waits before its server answers.
const SLOW_WAIT: Duration = Duration::from_millis(100);
/// The most connections a `slow-threads`/`slow-tasks` child accepts to open.
const MAX_CHILD_CONNECTIONS: usize = 100_000;

/// An error and its sources on one line (reqwest's own message leaves the cause out).
fn chain(e: &dyn Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        src = cause.source();
    }
    s.replace('\n', " ")
}

// ---------------------------------------------------------------------------------------------
// A server on a tokio runtime of its own thread.

/// A server running on a current-thread tokio runtime in a thread of its own. Dropping it
/// stops the server and joins its thread.
struct Background {
    /// Where it listens.
    addr: SocketAddr,
    /// Tells the server to stop; `None` once sent.
    stop: Option<oneshot::Sender<()>>,
    /// The server's thread; it returns what the server counted (requests answered,
    /// connections answered). `None` once joined.
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Background {
    /// Binds a loopback listener with room for `backlog` pending connections and runs
    /// `serve(listener, stop)` on its own thread.
    fn start<F, Fut>(what: &str, backlog: usize, serve: F) -> Result<Background, String>
    where
        F: FnOnce(tokio::net::TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = usize> + 'static,
    {
        // A current-thread runtime is enough for a server whose work is waiting on timers and
        // sockets, and keeps it to the one thread.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("{what}: cannot build a tokio runtime: {e}"))?;
        let listener = {
            // `listen` registers the socket with the runtime's reactor: do it in its context.
            let _in_rt = rt.enter();
            let sock = tokio::net::TcpSocket::new_v4()
                .map_err(|e| format!("{what}: cannot create a socket: {e}"))?;
            sock.bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .map_err(|e| format!("{what}: cannot bind a loopback server: {e}"))?;
            sock.listen(u32::try_from(backlog).unwrap_or(u32::MAX))
                .map_err(|e| format!("{what}: cannot listen on a loopback socket: {e}"))?
        };
        let addr = listener
            .local_addr()
            .map_err(|e| format!("{what}: the server has no local address: {e}"))?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{what}-server"))
            .spawn(move || rt.block_on(serve(listener, stopped)))
            .map_err(|e| format!("{what}: cannot start the server thread: {e}"))?;
        Ok(Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the server and returns what it counted.
    fn finish(mut self, what: &str) -> Result<usize, String> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(n)) => Ok(n),
            _ => Err(format!("{what}: the server thread panicked")),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Shared by the HTTP server's accept loop and its request handlers.
struct HttpState {
    /// Requests received so far (the answered ones are at most `max`).
    received: AtomicUsize,
    /// Requests answered with their body.
    answered: AtomicUsize,
    /// The last time a request began or ended.
    last: Mutex<Instant>,
}

impl HttpState {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
    fn idle_for(&self) -> Duration {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

/// The body the HTTP server answers `path` with: it names the path, so a client can tell its
/// response from another's.
fn body_for(path: &str) -> String {
    format!("racelab downloads: {path}\n")
}

/// An HTTP/1 server that answers each of at most `max` requests after `delay` with
/// [`body_for`] its path (503 for any beyond), accepts at most `max` connections, and stops
/// when told, or after [`IDLE`] without a request. Returns the requests it answered.
fn http_server(delay: Duration, max: usize) -> Result<Background, String> {
    Background::start(
        "downloads",
        max + 64,
        move |listener, mut stop| async move {
            use http_body_util::Full;
            use hyper::body::{Bytes, Incoming};
            use hyper::{Request, Response, StatusCode};

            let state = Arc::new(HttpState {
                received: AtomicUsize::new(0),
                answered: AtomicUsize::new(0),
                last: Mutex::new(Instant::now()),
            });
            let mut conns = JoinSet::new();
            let mut accepted = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    r = listener.accept(), if accepted < max => match r {
                        Ok((stream, _)) => {
                            accepted += 1;
                            state.touch();
                            let state = Arc::clone(&state);
                            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                                let state = Arc::clone(&state);
                                async move {
                                    state.touch();
                                    let n = state.received.fetch_add(1, Relaxed) + 1;
                                    let response = if n > max {
                                        let mut r = Response::new(Full::new(Bytes::from_static(
                                            b"over the server's bound\n",
                                        )));
                                        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                                        r
                                    } else {
                                        tokio::time::sleep(delay).await;
                                        state.answered.fetch_add(1, Relaxed);
                                        Response::new(Full::new(Bytes::from(body_for(req.uri().path()))))
                                    };
                                    state.touch();
                                    Ok::<_, std::convert::Infallible>(response)
                                }
                            });
                            conns.spawn(async move {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, service)
                                    .await;
                            });
                        }
                        // Out of descriptors or a reset before accept: wait a little and go on.
                        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    _ = tick.tick() => {
                        if state.idle_for() >= IDLE {
                            break;
                        }
                    }
                }
            }
            // Dropping `conns` aborts any connection still open.
            state.answered.load(Relaxed)
        },
    )
}

// ---------------------------------------------------------------------------------------------
// downloads

/// One GET with the blocking client, checked: status 200 and the body for its path.
fn get_blocking(
    client: &reqwest::blocking::Client,
    addr: SocketAddr,
    i: usize,
) -> Result<(), String> {
    let path = format!("/site/{i}");
    let url = format!("http://{addr}{path}");
    let resp = client
        .get(&url)
        .send()
        .map_err(|e| format!("downloads: GET {url}: {}", chain(&e)))?;
    let status = resp.status();
    let body = resp
        .text()
        .map_err(|e| format!("downloads: reading {url}: {}", chain(&e)))?;
    check_body(&url, status, &path, &body)
}

/// One GET with the async client, checked as [`get_blocking`].
async fn get_async(client: reqwest::Client, addr: SocketAddr, i: usize) -> Result<(), String> {
    let path = format!("/site/{i}");
    let url = format!("http://{addr}{path}");
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("downloads: GET {url}: {}", chain(&e)))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| format!("downloads: reading {url}: {}", chain(&e)))?;
    check_body(&url, status, &path, &body)
}

fn check_body(
    url: &str,
    status: reqwest::StatusCode,
    path: &str,
    body: &str,
) -> Result<(), String> {
    if !status.is_success() {
        return Err(format!("downloads: GET {url} answered {status}"));
    }
    if body != body_for(path) {
        return Err(format!(
            "downloads: GET {url} got the body {body:?}, not its own"
        ));
    }
    Ok(())
}

/// Runs one variant against a fresh server and checks it answered every request.
fn against_server(
    n: usize,
    delay: Duration,
    variant: impl FnOnce(SocketAddr) -> Result<(), String>,
) -> Result<Timed, String> {
    let server = http_server(delay, n)?;
    let (res, t) = timed(|| variant(server.addr));
    res?;
    let answered = server.finish("downloads")?;
    if answered != n {
        return Err(format!(
            "downloads: the server answered {answered} of {n} requests"
        ));
    }
    Ok(t)
}

fn downloads(ctx: &Context) -> Result<Vec<Row>, String> {
    const POOL: usize = 5;
    let n = ctx.scale.pick(160, 40);
    let delay = ctx
        .scale
        .pick(Duration::from_millis(20), Duration::from_millis(10));
    let extra = |r: Row| {
        r.extra("requests", n)
            .extra("server delay", format!("{} ms", delay.as_millis()))
    };
    let mut rows = Vec::new();

    // One client for every variant's threads: reqwest's client is shared by reference
    // counting and pools its connections, so the article's per-thread `requests.Session` (not
    // thread-safe) has no counterpart to build.
    let blocking = reqwest::blocking::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .connect_timeout(CLIENT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("downloads: cannot build an HTTP client: {}", chain(&e)))?;

    let t = against_server(n, delay, |addr| {
        (0..n).try_for_each(|i| get_blocking(&blocking, addr, i))
    })?;
    rows.push(extra(
        Row::new("downloads", "sequential")
            .baseline()
            .timed_io(&t, Some(1))
            .note("one blocking client, one request after another"),
    ));

    let ex: ThreadPoolExecutor<Std> =
        ThreadPoolExecutor::new(POOL).map_err(|e| format!("downloads: {e}"))?;
    let t = against_server(n, delay, |addr| {
        let handles = (0..n)
            .map(|i| {
                let client = blocking.clone();
                ex.submit(move || get_blocking(&client, addr, i))
                    .map_err(|_| "downloads: the executor refused a task".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Every task ends within the client's timeout, so waiting for ever is bounded.
        handles.iter().try_for_each(|h| {
            h.result(None)
                .map_err(|e| format!("downloads: a task on the executor: {e}"))?
        })
    })?;
    drop(ex);
    rows.push(extra(
        Row::new("downloads", format!("pool of {POOL}"))
            .timed_io(&t, Some(POOL))
            .note("ThreadPoolExecutor(5), one blocking GET per task; the pool is started before the clock"),
    ));

    // One thread and one event loop, as asyncio has: the waits are the server's, so there is
    // nothing for more threads to do.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("downloads: cannot build a tokio runtime: {e}"))?;
    let client = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .connect_timeout(CLIENT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("downloads: cannot build an HTTP client: {}", chain(&e)))?;
    let t = against_server(n, delay, |addr| {
        rt.block_on(async {
            let mut tasks = JoinSet::new();
            for i in 0..n {
                tasks.spawn(get_async(client.clone(), addr, i));
            }
            while let Some(r) = tasks.join_next().await {
                r.map_err(|e| format!("downloads: an async download panicked: {e}"))??;
            }
            Ok(())
        })
    })?;
    rows.push(extra(
        Row::new("downloads", "async, all at once")
            .timed_io(&t, Some(n))
            .note(format!(
                "{n} tokio tasks on one thread (current-thread runtime), one async client"
            )),
    ));
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// slow-connections: the server (parent side)

/// A TCP server that accepts at most `n` connections and, on each, reads one byte, waits
/// [`SLOW_WAIT`], writes the byte back and closes. It stops once all `n` are answered, when
/// told, or after [`IDLE`] without a new connection. Returns the connections it answered.
fn slow_server(n: usize) -> Result<Background, String> {
    Background::start(
        "slow-connections",
        n + 64,
        move |listener, mut stop| async move {
            let mut conns = JoinSet::new();
            let (mut accepted, mut answered) = (0usize, 0usize);
            loop {
                if accepted >= n && conns.is_empty() {
                    break;
                }
                tokio::select! {
                    _ = &mut stop => break,
                    r = tokio::time::timeout(IDLE, listener.accept()), if accepted < n => match r {
                        Err(_idle) => break,
                        Ok(Ok((mut sock, _))) => {
                            accepted += 1;
                            conns.spawn(async move {
                                tokio::time::timeout(CLIENT_TIMEOUT, async {
                                    let mut b = [0u8; 1];
                                    sock.read_exact(&mut b).await?;
                                    tokio::time::sleep(SLOW_WAIT).await;
                                    sock.write_all(&b).await?;
                                    sock.shutdown().await
                                })
                                .await
                                .is_ok_and(|r| r.is_ok())
                            });
                        }
                        Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(10)).await,
                    },
                    Some(r) = conns.join_next(), if !conns.is_empty() => {
                        if matches!(r, Ok(true)) {
                            answered += 1;
                        }
                    }
                }
            }
            answered
        },
    )
}

/// What one child run measured.
struct ChildRun {
    /// From spawn to exit, on the parent's clock.
    wall: Duration,
    /// The child's user + system CPU time (wait4's rusage).
    cpu: Duration,
    /// wait4's `ru_maxrss`, in bytes. On Linux it is the larger of the child's own peak and
    /// the parent's resident set when it spawned the child (the kernel carries the pre-`exec`
    /// address space's high-water mark across `exec`), so a large parent hides a small child.
    ru_maxrss: u64,
    /// The child's own peak resident set in bytes (`VmHWM` of its post-`exec` address space),
    /// from its line, where the OS reports it (Linux).
    own_peak: Option<u64>,
    /// The child's own time, from its line.
    own_secs: f64,
}

impl ChildRun {
    /// The child's peak resident set: its own where known, else `ru_maxrss`.
    fn peak(&self) -> u64 {
        self.own_peak.unwrap_or(self.ru_maxrss)
    }
}

/// What a child's line says: `slow-…: K/N connections answered in S s[; peak RSS P KiB]`.
#[derive(Debug, PartialEq)]
struct ChildLine {
    /// K: the connections that got their byte back.
    answered: usize,
    /// N: the connections asked for.
    of: usize,
    /// S: the child's own time, seconds.
    secs: f64,
    /// P: the child's own peak resident set, KiB.
    peak_kib: Option<u64>,
}

/// Parses a child's line (see [`ChildLine`]).
fn parse_child_line(line: &str) -> Option<ChildLine> {
    let rest = line.split_once(": ")?.1;
    let (counts, rest) = rest.split_once(' ')?;
    let (k, n) = counts.split_once('/')?;
    let rest = rest.strip_prefix("connections answered in ")?;
    let (secs, peak_kib) = match rest.split_once(" s; peak RSS ") {
        Some((secs, peak)) => (secs, Some(peak.strip_suffix(" KiB")?.parse().ok()?)),
        None => (rest.strip_suffix(" s")?, None),
    };
    Some(ChildLine {
        answered: k.parse().ok()?,
        of: n.parse().ok()?,
        secs: secs.parse().ok()?,
        peak_kib,
    })
}

/// This process's peak resident set in KiB (`VmHWM` in `/proc/self/status`), where the OS
/// reports it.
fn own_peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:")
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Runs the child work `work` on `n` connections to a fresh [`slow_server`] and measures it.
#[cfg(unix)]
fn run_child(child: &Child, work: &str, n: usize) -> Result<ChildRun, String> {
    use std::io::Read;
    use std::process::Stdio;

    let program = child.program.display().to_string();
    let server = slow_server(n)?;
    let mut cmd = child.command(work, &[server.addr.to_string(), n.to_string()]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut proc = cmd
        .spawn()
        .map_err(|e| format!("slow-connections: cannot start {program}: {e}"))?;
    let pid = proc.id() as libc::pid_t;
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = pipe(
        proc.stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = pipe(
        proc.stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    // wait4 on a thread of its own, so this one can give up on a child that never ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` and `usage` are valid, writable and live for the call; `pid` is
        // our own child, which no one else waits for (std's `Child` is never waited on), so
        // this reaps exactly it. `wait4` writes only into the two out-parameters.
        let (ret, usage) = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            let ret = libc::wait4(pid, &mut status, 0, &mut usage);
            (ret, usage)
        };
        let _ = tx.send((
            ret,
            status,
            usage,
            Instant::now(),
            std::io::Error::last_os_error(),
        ));
    });
    let waited = match rx.recv_timeout(CHILD_DEADLINE) {
        Ok(w) => w,
        Err(_) => {
            // Not reaped yet (the waiter has not returned), so the pid is still our child's.
            let _ = proc.kill();
            let _ = rx.recv_timeout(Duration::from_secs(5));
            return Err(format!(
                "slow-connections: {program} {work} did not end within {} s and was killed",
                CHILD_DEADLINE.as_secs()
            ));
        }
    };
    let (ret, status, usage, ended, os_err) = waited;
    if ret != pid {
        return Err(format!("slow-connections: waiting for {program}: {os_err}"));
    }
    let wall = ended - t0;
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let first = |s: &str| {
        s.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string()
    };
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let how = if libc::WIFEXITED(status) {
            format!("exit code {}", libc::WEXITSTATUS(status))
        } else {
            format!("signal {}", libc::WTERMSIG(status))
        };
        return Err(format!(
            "slow-connections: {program} {work} {n} failed ({how}): {}",
            first(&stderr)
        ));
    }
    let answered = server.finish("slow-connections")?;
    if answered != n {
        return Err(format!(
            "slow-connections: the server answered {answered} of {n} connections of {work}"
        ));
    }
    let line = first(&stdout);
    let said = match parse_child_line(&line) {
        Some(said) if said.answered == n && said.of == n => said,
        _ => {
            return Err(format!(
                "slow-connections: {program} {work} printed {line:?}, not {n}/{n} connections"
            ));
        }
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    // ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    let ru_maxrss = if cfg!(target_os = "macos") {
        usage.ru_maxrss as u64
    } else {
        usage.ru_maxrss as u64 * 1024
    };
    Ok(ChildRun {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        ru_maxrss,
        own_peak: said.peak_kib.map(|k| k * 1024),
        own_secs: said.secs,
    })
}

#[cfg(not(unix))]
fn run_child(_child: &Child, _work: &str, _n: usize) -> Result<ChildRun, String> {
    Err("slow-connections: needs wait4 for the child's peak memory (a Unix)".into())
}

fn slow_connections(ctx: &Context) -> Result<Vec<Row>, String> {
    let n = ctx.scale.pick(1_000, 200);
    let variants = [
        ("slow-threads", format!("{n} threads"), n),
        ("slow-tasks", format!("{n} async tasks on one thread"), 1),
    ];
    let extra = |r: Row| {
        r.extra("connections", n)
            .extra("server wait", format!("{} ms", SLOW_WAIT.as_millis()))
    };
    let Some(child) = &ctx.child else {
        return Ok(variants
            .into_iter()
            .enumerate()
            .map(|(i, (_, variant, _))| {
                let r = extra(Row::new("slow-connections", variant))
                    .note("needs the racelab binary (run through `racelab seeds`)");
                if i == 0 { r.baseline() } else { r }
            })
            .collect());
    };
    // The server holds all n connections at once.
    raise_open_files(n + 256)?;
    let mut rows = Vec::new();
    for (i, (work, variant, workers)) in variants.into_iter().enumerate() {
        // The same child with no connections: what the binary and its runtime cost alone.
        let alone = run_child(child, work, 0)?;
        let run = run_child(child, work, n)?;
        let t = Timed {
            wall: run.wall,
            cpu: Duration::ZERO,
            children_cpu: run.cpu,
        };
        let mib = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0));
        let per = run.peak().saturating_sub(alone.peak()) as f64 / 1024.0 / n as f64;
        let mut row = extra(Row::new("slow-connections", variant))
            .timed_io(&t, Some(workers))
            .extra("peak RSS MiB", mib(run.peak()))
            .extra("with 0 connections MiB", mib(alone.peak()))
            .extra("per connection KiB", format!("{per:.1}"))
            .extra("wait4 ru_maxrss MiB", mib(run.ru_maxrss))
            .extra("child's own time", super::fmt_seconds(run.own_secs));
        if run.own_peak.is_none() {
            row = row.note("peak RSS is wait4's ru_maxrss, which may include the parent's");
        }
        row = row.note(if i == 0 {
            "one std thread per connection, in a child process; time from spawn to exit"
        } else {
            "tokio current-thread runtime in a child process; time from spawn to exit"
        });
        rows.push(if i == 0 { row.baseline() } else { row });
    }
    Ok(rows)
}

/// Raises this process's soft limit on open files to at least `need` (within the hard limit):
/// many systems start processes at 1,024.
#[cfg(unix)]
fn raise_open_files(need: usize) -> Result<(), String> {
    let need = need as libc::rlim_t;
    // SAFETY: `getrlimit` writes one `rlimit` into the struct it is given, which is valid and
    // writable; RLIMIT_NOFILE is a valid resource.
    let mut lim = unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(format!(
                "cannot read the open-file limit: {}",
                std::io::Error::last_os_error()
            ));
        }
        lim
    };
    if lim.rlim_cur >= need {
        return Ok(());
    }
    if lim.rlim_max < need {
        return Err(format!(
            "needs {need} open files, and the hard limit is {} (ulimit -Hn)",
            lim.rlim_max
        ));
    }
    lim.rlim_cur = need;
    // SAFETY: `setrlimit` reads the valid `rlimit` it is given; raising the soft limit within
    // the hard one needs no privilege and changes nothing else.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(format!(
            "cannot raise the open-file limit to {need}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn raise_open_files(_need: usize) -> Result<(), String> {
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// slow-connections: the child side

/// The child side of `slow-threads ADDR N` and `slow-tasks ADDR N`: opens `N` connections to
/// `ADDR` all at once, on `N` OS threads or as `N` tokio tasks, sends each one byte and waits
/// for it back. Returns the line `WORK: K/N connections answered in S s; peak RSS P KiB`, the
/// peak where the OS reports it (`VmHWM`, which unlike wait4's `ru_maxrss` leaves out the
/// parent's memory at spawn).
///
/// # Errors
/// One line: bad arguments, or the same line with the first failure if any connection did not
/// get its byte back.
pub(super) fn child_slow(work: &str, args: &[String]) -> Result<String, String> {
    let usage = || format!("seeds-child {work}: expected ADDR N (e.g. `127.0.0.1:8000 1000`)");
    let [addr, n] = args else {
        return Err(usage());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("seeds-child {work}: `{addr}` is not a socket address"))?;
    let n: usize = n
        .parse()
        .map_err(|_| format!("seeds-child {work}: `{n}` is not a number of connections"))?;
    if n > MAX_CHILD_CONNECTIONS {
        return Err(format!(
            "seeds-child {work}: {n} connections is more than {MAX_CHILD_CONNECTIONS}"
        ));
    }
    raise_open_files(n + 64).map_err(|e| format!("seeds-child {work}: {e}"))?;
    let t0 = Instant::now();
    let results = match work {
        "slow-threads" => on_threads(addr, n),
        "slow-tasks" => as_tasks(addr, n)?,
        _ => return Err(format!("seeds-child: unknown work `{work}`")),
    };
    let secs = t0.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let mut line = format!("{work}: {ok}/{n} connections answered in {secs:.4} s");
    if let Some(kib) = own_peak_kib() {
        line.push_str(&format!("; peak RSS {kib} KiB"));
    }
    match results.into_iter().find_map(Result::err) {
        None => Ok(line),
        Some(first) => Err(format!("{line}; first failure: {first}")),
    }
}

/// The byte connection `i` sends and expects back.
fn byte_of(i: usize) -> u8 {
    (i % 251) as u8 + 1
}

/// A gate the connection threads wait at until every one of them has started.
struct Gate {
    /// `None` while closed; `Some(true)` to go, `Some(false)` to give up.
    state: Mutex<Option<bool>>,
    opened: Condvar,
}

impl Gate {
    fn open(&self, go: bool) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(go);
        self.opened.notify_all();
    }
    /// Whether to go; false on give-up or after [`CLIENT_TIMEOUT`].
    fn wait(&self) -> bool {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .opened
            .wait_timeout_while(guard, CLIENT_TIMEOUT, |s| s.is_none())
            .unwrap_or_else(|p| p.into_inner());
        *guard == Some(true)
    }
}

/// `n` connections on `n` OS threads, started together: each thread is spawned first and waits
/// at a gate, so all `n` exist at once, then all connect.
fn on_threads(addr: SocketAddr, n: usize) -> Vec<Result<(), String>> {
    use std::io::{Read, Write};
    let gate = Arc::new(Gate {
        state: Mutex::new(None),
        opened: Condvar::new(),
    });
    let mut handles = Vec::with_capacity(n);
    let mut spawn_error = None;
    for i in 0..n {
        let gate = Arc::clone(&gate);
        let spawned = std::thread::Builder::new().spawn(move || -> Result<(), String> {
            if !gate.wait() {
                return Err("not started: the gate never opened".into());
            }
            let mut sock = std::net::TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT)
                .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
            sock.set_read_timeout(Some(CLIENT_TIMEOUT))
                .and_then(|()| sock.set_write_timeout(Some(CLIENT_TIMEOUT)))
                .map_err(|e| format!("cannot set a socket timeout: {e}"))?;
            let b = byte_of(i);
            sock.write_all(&[b])
                .map_err(|e| format!("cannot write to {addr}: {e}"))?;
            let mut got = [0u8; 1];
            sock.read_exact(&mut got)
                .map_err(|e| format!("no byte back from {addr}: {e}"))?;
            if got[0] == b {
                Ok(())
            } else {
                Err(format!("sent byte {b}, got {} back", got[0]))
            }
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                spawn_error = Some(format!("cannot start thread {i} of {n}: {e}"));
                break;
            }
        }
    }
    gate.open(spawn_error.is_none());
    let mut results: Vec<Result<(), String>> = handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| Err("a connection thread panicked".into()))
        })
        .collect();
    if let Some(e) = spawn_error {
        results.resize(n, Err(e));
    }
    results
}

/// `n` connections as `n` tokio tasks, all spawned before any runs.
///
/// The runtime is current-thread: the asyncio shape (one thread, one event loop), enough since
/// every connection only waits, and it keeps the child's memory to the tasks and one thread
/// rather than one worker thread per core.
fn as_tasks(addr: SocketAddr, n: usize) -> Result<Vec<Result<(), String>>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("seeds-child slow-tasks: cannot build a tokio runtime: {e}"))?;
    Ok(rt.block_on(async {
        let mut tasks = JoinSet::new();
        for i in 0..n {
            tasks.spawn(async move {
                let b = byte_of(i);
                let talk = async {
                    let mut sock = tokio::net::TcpStream::connect(addr)
                        .await
                        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
                    sock.write_all(&[b])
                        .await
                        .map_err(|e| format!("cannot write to {addr}: {e}"))?;
                    let mut got = [0u8; 1];
                    sock.read_exact(&mut got)
                        .await
                        .map_err(|e| format!("no byte back from {addr}: {e}"))?;
                    if got[0] == b {
                        Ok(())
                    } else {
                        Err(format!("sent byte {b}, got {} back", got[0]))
                    }
                };
                tokio::time::timeout(CLIENT_TIMEOUT, talk)
                    .await
                    .unwrap_or_else(|_| Err(format!("{addr} did not answer within 10 s")))
            });
        }
        let mut results = Vec::with_capacity(n);
        while let Some(r) = tasks.join_next().await {
            results.push(r.unwrap_or_else(|e| Err(format!("a connection task failed: {e}"))));
        }
        results
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_line_parses() {
        assert_eq!(
            parse_child_line("slow-tasks: 3/4 connections answered in 0.1234 s"),
            Some(ChildLine {
                answered: 3,
                of: 4,
                secs: 0.1234,
                peak_kib: None
            })
        );
        let line = "slow-threads: 4/4 connections answered in 0.5 s; peak RSS 2048 KiB";
        assert_eq!(parse_child_line(line).and_then(|l| l.peak_kib), Some(2048));
        assert!(own_peak_kib().is_none_or(|k| k > 0));
        assert_eq!(parse_child_line("slow-tasks: nonsense"), None);
    }
}

//! The blocking-wait experiments of article 001: five 0.1 s waits on loopback sockets that
//! never get data, and ten `sleep` children.

use super::{Context, Experiment, Row, timed};
use crate::executor::ThreadPoolExecutor;
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// Article 001: five `select(socket, timeout=0.1)`.
pub(super) const SELECT: Experiment = Experiment {
    name: "select",
    article: "001: 5 × select(socket, timeout=0.1): 0.518 s one after another, 0.109 s on 5 threads",
    lesson: "A blocked thread costs no CPU, so five waits overlap on threads, on a pool of \
             threads or as async tasks on one thread, in Rust as in Python: the GIL is released \
             while a thread waits, and Rust has none to release.",
    run: select,
};

/// Article 001: ten `sleep` children.
pub(super) const SUBPROCESS: Experiment = Experiment {
    name: "subprocess",
    article: "001: 10 × Popen(['sleep', '1']) then communicate(): 1.09 s in all",
    lesson: "Children run beside their parent whatever its language: started all at once and \
             then waited for, ten sleeps take the time of one; the difference from Python is only \
             the cost of starting a process, which is the operating system's.",
    run: subprocess,
};

/// The waits of the select experiment.
const WAITS: usize = 5;
/// How long each waits: the article's `timeout=0.1`.
const WAIT: Duration = Duration::from_millis(100);

/// A loopback listener whose connections never get data, and `n` connected client sockets.
/// The kernel completes the connections in the listener's backlog; nothing ever writes.
fn silent_sockets(n: usize) -> Result<(TcpListener, Vec<TcpStream>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("select: cannot bind a loopback listener: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("select: no local address: {e}"))?;
    let socks = (0..n)
        .map(|_| {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .map_err(|e| format!("select: cannot connect to {addr}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((listener, socks))
}

/// One blocking wait of [`WAIT`] for data that never comes (a read with a timeout: the
/// thread sleeps in the kernel, as `select` with a timeout does). Ok if it timed out.
fn wait_for_nothing(mut sock: &TcpStream) -> Result<(), String> {
    sock.set_read_timeout(Some(WAIT))
        .map_err(|e| format!("select: cannot set a read timeout: {e}"))?;
    let mut buf = [0u8; 1];
    match sock.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(()),
        Err(e) => Err(format!("select: the wait failed: {e}")),
        Ok(n) => Err(format!("select: a silent socket gave {n} bytes")),
    }
}

fn select(ctx: &Context) -> Result<Vec<Row>, String> {
    let extra = |r: Row| r.extra("waits", format!("{WAITS} × {} ms", WAIT.as_millis()));
    let mut rows = Vec::new();

    let (_l, socks) = silent_sockets(WAITS)?;
    let (res, t) = timed(|| socks.iter().try_for_each(wait_for_nothing));
    res?;
    rows.push(extra(
        Row::new("select", "one after another")
            .article("0.518 s")
            .baseline()
            .timed(&t, None, ctx.cores),
    ));

    let (_l, socks) = silent_sockets(WAITS)?;
    let (res, t) = timed(|| {
        std::thread::scope(|s| {
            let hs: Vec<_> = socks
                .iter()
                .map(|sock| s.spawn(move || wait_for_nothing(sock)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("a waiting thread"))
                .collect::<Result<Vec<()>, _>>()
        })
    });
    res?;
    rows.push(extra(
        Row::new("select", format!("{WAITS} threads"))
            .article("0.109 s")
            .timed_io(&t, Some(WAITS)),
    ));

    let ex: ThreadPoolExecutor = ThreadPoolExecutor::new(WAITS).map_err(|e| e.to_string())?;
    let (_l, socks) = silent_sockets(WAITS)?;
    let (res, t) = timed(|| {
        let handles = socks
            .into_iter()
            .map(|sock| {
                ex.submit(move || wait_for_nothing(&sock))
                    .map_err(|_| "select: the executor refused a task".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        handles.iter().try_for_each(|h| {
            h.result(Some(Duration::from_secs(10)))
                .map_err(|e| format!("select: a wait on the executor: {e}"))?
        })
    });
    res?;
    drop(ex);
    rows.push(extra(
        Row::new("select", format!("ThreadPoolExecutor({WAITS})"))
            .timed_io(&t, Some(WAITS))
            .note("the pool is started before the clock"),
    ));

    let (res, t) = timed(async_waits);
    res?;
    rows.push(extra(
        Row::new("select", format!("{WAITS} async tasks on one thread"))
            .timed(&t, None, ctx.cores)
            .note("tokio, current-thread runtime: one reactor (epoll) waits for all five"),
    ));
    Ok(rows)
}

/// The five waits as tokio tasks on one thread, each a read under a [`WAIT`] timeout.
fn async_waits() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("select: cannot build a tokio runtime: {e}"))?;
    rt.block_on(async {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("select: cannot bind a loopback listener: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("select: no local address: {e}"))?;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..WAITS {
            let mut sock =
                tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
                    .await
                    .map_err(|_| format!("select: connecting to {addr} timed out"))?
                    .map_err(|e| format!("select: cannot connect to {addr}: {e}"))?;
            tasks.spawn(async move {
                let mut buf = [0u8; 1];
                match tokio::time::timeout(WAIT, sock.read(&mut buf)).await {
                    Err(_elapsed) => Ok(()),
                    Ok(Ok(n)) => Err(format!("select: a silent socket gave {n} bytes")),
                    Ok(Err(e)) => Err(format!("select: the wait failed: {e}")),
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.map_err(|e| format!("select: an async wait panicked: {e}"))??;
        }
        drop(listener);
        Ok(())
    })
}

/// The children of the subprocess experiment.
const CHILDREN: usize = 10;

fn subprocess(ctx: &Context) -> Result<Vec<Row>, String> {
    // The article's `sleep 1`, shortened so the one-after-another run takes seconds.
    let nap = ctx.scale.pick("0.3", "0.05");
    let start = |i: usize| {
        std::process::Command::new("sleep")
            .arg(nap)
            .spawn()
            .map_err(|e| format!("subprocess: cannot start `sleep` (child {i}): {e}"))
    };
    let wait = |mut c: std::process::Child| {
        let status = c
            .wait()
            .map_err(|e| format!("subprocess: waiting for `sleep`: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("subprocess: `sleep {nap}` ended with {status}"))
        }
    };
    let extra = |r: Row| r.extra("children", format!("{CHILDREN} × `sleep {nap}`"));

    let (res, t) = timed(|| (0..CHILDREN).try_for_each(|i| wait(start(i)?)));
    res?;
    let one_by_one = extra(
        Row::new("subprocess", "one after another")
            .baseline()
            .timed(&t, None, ctx.cores),
    );
    let (res, t) = timed(|| -> Result<(), String> {
        let children = (0..CHILDREN).map(start).collect::<Result<Vec<_>, _>>()?;
        children.into_iter().try_for_each(wait)
    });
    res?;
    let all = extra(
        Row::new("subprocess", "all at once, then waited for")
            .article("1.09 s (10 × sleep 1)")
            .timed_io(&t, Some(CHILDREN)),
    );
    Ok(vec![one_by_one, all])
}

//! The experiment behind driver-std's threading design: how much does each way of handing
//! a command from a caller thread to a socket, and the reply back, cost? No core, no
//! routing: raw `PING`s to one redis-server, so only the hand-off differs.
//!
//! * `direct`  — the caller writes and reads the socket itself (one thread only; the floor).
//! * `reactor` — the driver's design: callers queue a job (notify only when the reactor
//!   sleeps) and wait on a condvar; one `polling` reactor thread writes everything queued in
//!   one write, reads, and wakes callers.
//! * `reader`  — one I/O thread per connection: callers write under a mutex (one write per
//!   command), a reader thread blocked in `read` wakes them.
//!
//! ```text
//! taskset -c 0 redis-server --port 6399 --save '' &
//! taskset -c 1 cargo run --release -p redis-ring-std --example handoff -- 127.0.0.1:6399
//! ```
#![allow(missing_docs, unsafe_code, clippy::print_stdout)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use polling::{Event, Events, PollMode, Poller};

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: usize = 7; // "+PONG\r\n"

#[derive(Default)]
struct Slot {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Slot {
    fn wait(&self) {
        let mut d = self.done.lock().unwrap();
        while !*d {
            d = self.cv.wait(d).unwrap();
        }
    }
    fn wake(&self) {
        *self.done.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

trait Transport: Send + Sync {
    fn ping(&self);
}

// ---- reactor ------------------------------------------------------------------------------

struct ReactorShared {
    queue: Mutex<(Vec<Arc<Slot>>, bool)>, // (jobs, sleeping)
    poller: Poller,
    stop: AtomicBool,
}

struct ReactorT {
    shared: Arc<ReactorShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReactorT {
    fn new(addr: &str) -> ReactorT {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_nonblocking(true).unwrap();
        let shared = Arc::new(ReactorShared {
            queue: Mutex::new((Vec::new(), false)),
            poller: Poller::new().unwrap(),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            unsafe {
                s.poller
                    .add_with_mode(&stream, Event::readable(1), PollMode::Level)
                    .unwrap();
            }
            let mut fifo: VecDeque<Arc<Slot>> = VecDeque::new();
            let mut jobs = Vec::new();
            let mut out = Vec::new();
            let mut buf = vec![0u8; 65536];
            let mut partial = 0usize;
            let mut events = Events::new();
            while !s.stop.load(Ordering::Relaxed) {
                std::mem::swap(&mut s.queue.lock().unwrap().0, &mut jobs);
                for slot in jobs.drain(..) {
                    out.extend_from_slice(PING);
                    fifo.push_back(slot);
                }
                if !out.is_empty() {
                    stream.write_all(&out).unwrap();
                    out.clear();
                }
                {
                    let mut q = s.queue.lock().unwrap();
                    if !q.0.is_empty() {
                        continue;
                    }
                    q.1 = true;
                }
                events.clear();
                s.poller
                    .wait(&mut events, Some(Duration::from_millis(100)))
                    .unwrap();
                s.queue.lock().unwrap().1 = false;
                if events.is_empty() {
                    continue;
                }
                loop {
                    match stream.read(&mut buf) {
                        Ok(n) => {
                            partial += n;
                            while partial >= PONG {
                                partial -= PONG;
                                fifo.pop_front().unwrap().wake();
                            }
                            if n < buf.len() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            s.poller.delete(&stream).unwrap();
        });
        ReactorT {
            shared,
            thread: Some(thread),
        }
    }
}

impl Transport for ReactorT {
    fn ping(&self) {
        let slot = Arc::new(Slot::default());
        let wake = {
            let mut q = self.shared.queue.lock().unwrap();
            q.0.push(slot.clone());
            std::mem::replace(&mut q.1, false)
        };
        if wake {
            self.shared.poller.notify().unwrap();
        }
        slot.wait();
    }
}

impl Drop for ReactorT {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.poller.notify().unwrap();
        self.thread.take().unwrap().join().unwrap();
    }
}

// ---- reader thread per connection ---------------------------------------------------------

struct ReaderT {
    writer: Arc<Mutex<(TcpStream, VecDeque<Arc<Slot>>)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReaderT {
    fn new(addr: &str) -> ReaderT {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut reader = stream.try_clone().unwrap();
        let writer = Arc::new(Mutex::new((stream, VecDeque::<Arc<Slot>>::new())));
        let w = writer.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut partial = 0usize;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                partial += n;
                let mut g = w.lock().unwrap();
                while partial >= PONG {
                    partial -= PONG;
                    g.1.pop_front().unwrap().wake();
                }
            }
        });
        ReaderT {
            writer,
            thread: Some(thread),
        }
    }
}

impl Transport for ReaderT {
    fn ping(&self) {
        let slot = Arc::new(Slot::default());
        {
            let mut g = self.writer.lock().unwrap();
            g.1.push_back(slot.clone());
            g.0.write_all(PING).unwrap();
        }
        slot.wait();
    }
}

impl Drop for ReaderT {
    fn drop(&mut self) {
        let _ = self
            .writer
            .lock()
            .unwrap()
            .0
            .shutdown(std::net::Shutdown::Both);
        self.thread.take().unwrap().join().unwrap();
    }
}

// ---- measurement --------------------------------------------------------------------------

fn run(t: &dyn Transport, threads: usize, dur: Duration) -> (f64, Duration, Duration) {
    let stop = AtomicBool::new(false);
    let lat: Vec<Vec<u32>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut v = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        t.ping();
                        v.push(t0.elapsed().as_nanos() as u32);
                    }
                    v
                })
            })
            .collect();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u32> = lat.into_iter().flatten().collect();
    all.sort_unstable();
    let n = all.len();
    (
        n as f64 / dur.as_secs_f64(),
        Duration::from_nanos(u64::from(all[n / 2])),
        Duration::from_nanos(u64::from(all[n * 99 / 100])),
    )
}

fn direct(addr: &str, dur: Duration) -> (f64, Duration, Duration) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [0u8; PONG];
    let mut v = Vec::new();
    let start = Instant::now();
    while start.elapsed() < dur {
        let t0 = Instant::now();
        s.write_all(PING).unwrap();
        s.read_exact(&mut buf).unwrap();
        v.push(t0.elapsed().as_nanos() as u32);
    }
    v.sort_unstable();
    let n = v.len();
    (
        n as f64 / dur.as_secs_f64(),
        Duration::from_nanos(u64::from(v[n / 2])),
        Duration::from_nanos(u64::from(v[n * 99 / 100])),
    )
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6379".into());
    let secs: u64 = std::env::var("SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dur = Duration::from_secs(secs);
    let show = |name: &str, (ops, p50, p99): (f64, Duration, Duration)| {
        println!("{name:<22} {ops:>10.0} ops/s  p50 {p50:>9.1?}  p99 {p99:>9.1?}");
    };
    show("direct   1 thread", direct(&addr, dur));
    for threads in [1, 50] {
        let r = ReactorT::new(&addr);
        show(
            &format!("reactor {threads:>2} threads"),
            run(&r, threads, dur),
        );
        drop(r);
        let r = ReaderT::new(&addr);
        show(
            &format!("reader  {threads:>2} threads"),
            run(&r, threads, dur),
        );
    }
}

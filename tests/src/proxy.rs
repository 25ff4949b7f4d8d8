//! [`CutProxy`]: a TCP proxy in front of one server that forwards everything until a client
//! sends a command containing a trigger; it forwards that command, withholds the server's
//! reply, and closes the client's connection. The command ran on the server, its caller
//! never saw the reply: the situation where re-sending it would run it twice (issue 17,
//! item 1).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// See the module docs. The listener thread ends when the handle is dropped.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

impl CutProxy {
    /// A proxy on a free loopback port in front of `upstream`; every client connection is
    /// cut after forwarding a chunk that contains `trigger` (at most `max_cuts` times in all;
    /// later connections are forwarded untouched).
    pub fn start(upstream: SocketAddr, trigger: &[u8], max_cuts: usize) -> io::Result<CutProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (stop2, cuts2, trigger) = (stop.clone(), cuts.clone(), trigger.to_vec());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        if let Ok(server) = TcpStream::connect(upstream) {
                            pipe(client, server, trigger.clone(), cuts2.clone(), max_cuts);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Ok(CutProxy { addr, stop, cuts })
    }

    /// The proxy's address (`host:port`), to give the ring instead of the server's.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Connections cut so far (at most `max_cuts`).
    pub fn cuts(&self) -> usize {
        self.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Forwards both ways on two threads; see [`CutProxy::start`].
fn pipe(
    client: TcpStream,
    server: TcpStream,
    trigger: Vec<u8>,
    cuts: Arc<AtomicUsize>,
    max_cuts: usize,
) {
    let withheld = Arc::new(AtomicBool::new(false));
    let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let w2 = withheld.clone();
    // Server → client: forwarded until the cut, then dropped.
    thread::spawn(move || {
        let (mut from, mut to) = (s2, c2);
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || w2.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    // Client → server: forwarded; the chunk with the trigger is the last one.
    thread::spawn(move || {
        let (mut from, mut to) = (client, server);
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            let hit = chunk.windows(trigger.len()).any(|w| w == trigger)
                && cuts
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                        (c < max_cuts).then_some(c + 1)
                    })
                    .is_ok();
            if hit {
                withheld.store(true, Ordering::SeqCst);
            }
            if to.write_all(chunk).is_err() {
                break;
            }
            if hit {
                // Let the server run it, then cut the client off without its reply.
                thread::sleep(Duration::from_millis(50));
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                break;
            }
        }
    });
}

//! A harness of real `redis-server` processes for tests.
//!
//! Each server runs on a free loopback port (never a fixed one: tests run in parallel), in a
//! temporary directory of its own, with persistence off (`--save "" --appendonly no`).
//! [`RedisServer::start`] returns once the server answers `PING`.
//!
//! No orphans: a server is killed when its handle drops, also while a test panics. As a
//! second line of defence every server is spawned by one long-lived spawner thread with
//! `PR_SET_PDEATHSIG = SIGKILL`, so even a test binary killed by a signal takes its servers
//! with it (the death signal is tied to the spawning *thread*, hence the dedicated one).
//! `cargo xtask test` also checks that no server with a harness directory survives the run.
//!
//! The binary is `$REDIS_SERVER` when set, else `redis-server` on `PATH`.
//!
//! TLS: a server started with [`ServerOptions::tls`] (or any server in the suite's TLS
//! mode, `REDIS_RING_TLS=1`) also listens with TLS on a second port; [`RedisServer::addr`]
//! and [`RedisServer::port`] are then the TLS ones (what a ring is given), while the
//! harness's own checks ([`RedisServer::command`], [`RedisServer::socket_addr`]) keep the
//! plaintext port.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::tls::{tls_mode, ServerTls};

/// Prefix of every harness server's temporary directory; `cargo xtask test` looks for it in
/// `/proc/*/cwd` to prove that no server outlived the tests.
pub const DIR_PREFIX: &str = "redis-ring-harness-";

/// An environment variable naming this test run (`cargo xtask test` sets it to its pid): it
/// goes into every server directory's name, so that [`leftover_servers`] sees only this run's
/// servers, never those of another checkout's tests running beside it.
pub const RUN_ENV: &str = "REDIS_RING_TEST_RUN";

/// [`DIR_PREFIX`], followed by this run's name when [`RUN_ENV`] gives one.
fn dir_prefix() -> String {
    match std::env::var(RUN_ENV) {
        Ok(run) if !run.is_empty() => format!("{DIR_PREFIX}{run}-"),
        _ => DIR_PREFIX.to_string(),
    }
}

/// How long a starting server may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The `redis-server` binary the harness runs: `$REDIS_SERVER` or `redis-server` on `PATH`.
pub fn redis_server_binary() -> PathBuf {
    std::env::var_os("REDIS_SERVER").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// Options for a server: extra `redis-server` arguments.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    args: Vec<OsString>,
    /// Sentinel mode: the `sentinel.conf` text, written to the server's directory before its
    /// first start (Sentinel rewrites it; a restart keeps what it learnt).
    sentinel_conf: Option<String>,
    tls: Option<ServerTls>,
}

impl ServerOptions {
    /// Default options: no extra arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `--name value` to the server's command line (for example `("requirepass", "s3cret")`).
    pub fn config(mut self, name: &str, value: &str) -> Self {
        self.args.push(format!("--{name}").into());
        self.args.push(value.into());
        self
    }

    /// Sets `requirepass`.
    pub fn password(self, password: &str) -> Self {
        self.config("requirepass", password)
    }

    /// A replica of `primary` (`--replicaof 127.0.0.1 PORT`).
    pub fn replica_of(mut self, primary: &RedisServer) -> Self {
        self.args.push("--replicaof".into());
        self.args.push("127.0.0.1".into());
        self.args.push(primary.port().to_string().into());
        self
    }

    /// A Sentinel (`redis-server sentinel.conf --sentinel`) monitoring each `(name, primary)`
    /// with quorum 2, `down-after-milliseconds` 1000 and `failover-timeout` 5000 (short, so
    /// that tests see a failover within seconds).
    pub fn sentinel(mut self, monitors: &[(&str, &RedisServer)]) -> Self {
        let mut conf = String::new();
        for (name, primary) in monitors {
            let port = primary.port();
            conf.push_str(&format!(
                "sentinel monitor {name} 127.0.0.1 {port} 2\n\
                 sentinel down-after-milliseconds {name} 1000\n\
                 sentinel failover-timeout {name} 5000\n\
                 sentinel parallel-syncs {name} 1\n"
            ));
        }
        self.sentinel_conf = Some(conf);
        self
    }

    /// A Sentinel (after [`ServerOptions::sentinel`]) that wants `password` from its clients
    /// (`requirepass`) and gives it to its peers (`sentinel sentinel-pass`).
    pub fn sentinel_password(mut self, password: &str) -> Self {
        if let Some(conf) = &mut self.sentinel_conf {
            conf.push_str(&format!("sentinel sentinel-pass {password}\n"));
        }
        self.password(password)
    }

    /// Enables the `DEBUG` command (`enable-debug-command yes`), e.g. for `DEBUG PROTOCOL`.
    pub fn enable_debug(self) -> Self {
        self.config("enable-debug-command", "yes")
    }

    /// Also listens with TLS (`--tls-port`) with these certificates.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// One `redis-server` process owned by a test.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    /// The TLS port, for a TLS server.
    tls_port: Option<u16>,
    dir: tempfile::TempDir,
    options: ServerOptions,
    child: Option<Child>,
    paused: bool,
}

impl RedisServer {
    /// Starts a server with default options on a free port and waits until it answers PING.
    pub fn start() -> io::Result<RedisServer> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server with `options` on a free port and waits until it answers PING.
    pub fn start_with(mut options: ServerOptions) -> io::Result<RedisServer> {
        if options.tls.is_none() && tls_mode() {
            options.tls = Some(ServerTls::shared());
        }
        let dir = tempfile::Builder::new().prefix(&dir_prefix()).tempdir()?;
        if let Some(tls) = &options.tls {
            std::fs::write(dir.path().join("ca.crt"), &tls.ca)?;
            std::fs::write(dir.path().join("server.crt"), &tls.server.cert)?;
            std::fs::write(dir.path().join("server.key"), &tls.server.key)?;
        }
        let mut server = RedisServer {
            port: free_port()?,
            tls_port: None,
            dir,
            options,
            child: None,
            paused: false,
        };
        if server.options.tls.is_some() {
            server.tls_port = Some(free_port()?);
        }
        // A free port can be taken by a parallel test between our probe and the server's
        // bind; the server then exits and we try another port.
        let mut attempts = 0;
        loop {
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                Err(e) if attempts >= 8 => return Err(e),
                Err(_) => {
                    attempts += 1;
                    server.port = free_port()?;
                    if server.tls_port.is_some() {
                        server.tls_port = Some(free_port()?);
                    }
                }
            }
        }
    }

    /// The loopback port a client connects to (the TLS one on a TLS server; unchanged by
    /// [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.tls_port.unwrap_or(self.port)
    }

    /// The plaintext port, which the harness itself uses (also on a TLS server).
    pub fn plain_port(&self) -> u16 {
        self.port
    }

    /// Whether the server speaks TLS on [`RedisServer::port`].
    pub fn is_tls(&self) -> bool {
        self.tls_port.is_some()
    }

    /// `127.0.0.1:port` of the plaintext port, as a socket address (for the harness's own
    /// connections, [`RawConn`]).
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `127.0.0.1:port` as text, the form shard addresses take (the TLS port on a TLS
    /// server).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// The server's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (paused counts as alive).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL: the server dies at once, connections are reset.
    pub fn kill(&mut self) {
        self.stop_child();
    }

    /// `SHUTDOWN NOSAVE`: the server closes its connections and exits cleanly.
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.resume()?;
        let password = self.password();
        if let Some(mut child) = self.child.take() {
            let mut conn = RawConn::connect(self.socket_addr(), Duration::from_secs(2))?;
            if let Some(pw) = password {
                conn.command(&["AUTH", &pw])?;
            }
            // The server closes the connection instead of replying.
            let _ = conn.command(&["SHUTDOWN", "NOSAVE"]);
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if child.try_wait()?.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(io::Error::other("redis-server ignored SHUTDOWN NOSAVE"));
                }
                thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(())
    }

    /// Starts the server again on the same port (killing it first if it still runs).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop_child();
        // The old socket may linger briefly; redis-server sets SO_REUSEADDR, so retrying
        // covers only the rare case of another process grabbing the port.
        let mut last = None;
        for _ in 0..20 {
            match self.spawn_and_wait() {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(last.unwrap_or_else(|| io::Error::other("restart failed")))
    }

    /// SIGSTOP: the process hangs; connections stay open but nothing is answered.
    pub fn pause(&mut self) -> io::Result<()> {
        self.signal("STOP")?;
        self.paused = true;
        Ok(())
    }

    /// SIGCONT after [`RedisServer::pause`].
    pub fn resume(&mut self) -> io::Result<()> {
        if self.paused {
            self.signal("CONT")?;
            self.paused = false;
        }
        Ok(())
    }

    /// Runs one command on a fresh plain connection and returns its reply as text
    /// (see [`RawConn::command`]). Authenticates first when the server has a password.
    pub fn command(&self, args: &[&str]) -> io::Result<Reply> {
        let mut conn = RawConn::connect(self.socket_addr(), Duration::from_secs(5))?;
        if let Some(pw) = self.password() {
            conn.command(&["AUTH", &pw])?;
        }
        conn.command(args)
    }

    fn password(&self) -> Option<String> {
        let args = &self.options.args;
        args.iter()
            .position(|a| a == "--requirepass")
            .and_then(|i| args.get(i + 1))
            .map(|p| p.to_string_lossy().into_owned())
    }

    fn signal(&self, sig: &str) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other("server is not running"))?;
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -{sig} {pid} failed")))
        }
    }

    fn stop_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused = false;
    }

    /// The TLS part of the command line (none for a plaintext server).
    fn tls_args(&self) -> Vec<OsString> {
        let (Some(port), Some(tls)) = (self.tls_port, &self.options.tls) else {
            return Vec::new();
        };
        let file = |name: &str| self.dir.path().join(name).into_os_string();
        vec![
            "--tls-port".into(),
            port.to_string().into(),
            "--tls-cert-file".into(),
            file("server.crt"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.crt"),
            "--tls-auth-clients".into(),
            tls.auth_clients.into(),
            // MIGRATE to another server (the migration window) connects like a cluster bus
            // link: over TLS only with this set (the target is addressed by its TLS port).
            "--tls-cluster".into(),
            "yes".into(),
            // A replica (`ServerOptions::replica_of`) reaches its primary by the TLS port:
            // replication over TLS (and the replica announces its own TLS port).
            "--tls-replication".into(),
            "yes".into(),
        ]
    }

    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let mut cmd = Command::new(redis_server_binary());
        if let Some(conf) = &self.options.sentinel_conf {
            // The configuration file must come first; Sentinel needs it writable.
            let path = self.dir.path().join("sentinel.conf");
            if !path.exists() {
                std::fs::write(&path, conf)?;
            }
            cmd.arg(&path).arg("--sentinel");
        }
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(self.dir.path())
            .args(if self.options.sentinel_conf.is_some() {
                &[][..]
            } else {
                // A replica's first sync starts at once (diskless sync waits 5 s for
                // more replicas by default).
                &[
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--repl-diskless-sync-delay",
                    "0",
                ][..]
            })
            .arg("--daemonize")
            .arg("no")
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .args(&self.options.args)
            .args(self.tls_args())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = spawn_tied_to_process(cmd).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot run {}: {e} (install redis-server, or set REDIS_SERVER=/path)",
                    redis_server_binary().display()
                ),
            )
        })?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                let log =
                    std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(3).collect();
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited with {status}: {}",
                    self.port,
                    tail.join(" | ")
                )));
            }
            if let Ok(mut conn) = RawConn::connect(self.socket_addr(), Duration::from_millis(200)) {
                // Any reply (PONG, or NOAUTH with requirepass) means the server is serving.
                if conn.command(&["PING"]).is_ok() {
                    self.child = Some(child);
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!(
                    "redis-server on port {} did not answer PING within {START_TIMEOUT:?}",
                    self.port
                )));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop_child();
    }
}

/// Several servers started together: the shards of a ring.
#[derive(Debug)]
pub struct Shards {
    servers: Vec<RedisServer>,
}

impl Shards {
    /// Starts `n` servers with default options.
    pub fn start(n: usize) -> io::Result<Shards> {
        Self::start_with(n, &ServerOptions::default())
    }

    /// Starts `n` servers with `options`.
    pub fn start_with(n: usize, options: &ServerOptions) -> io::Result<Shards> {
        let servers = (0..n)
            .map(|_| RedisServer::start_with(options.clone()))
            .collect::<io::Result<_>>()?;
        Ok(Shards { servers })
    }

    /// The servers, in start order.
    pub fn servers(&self) -> &[RedisServer] {
        &self.servers
    }

    /// Server `i`, mutable (to kill, pause, restart it).
    pub fn server(&mut self, i: usize) -> &mut RedisServer {
        &mut self.servers[i]
    }

    /// `(name, addr)` pairs with names `shard1`, `shard2`, ...
    pub fn named(&self) -> Vec<(String, String)> {
        self.servers
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("shard{}", i + 1), s.addr()))
            .collect()
    }
}

/// A reply read by [`RawConn`]: enough RESP2 for a harness, nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+...`
    Status(String),
    /// `-...`
    Error(String),
    /// `:...`
    Int(i64),
    /// `$...` (None for `$-1`)
    Bulk(Option<Vec<u8>>),
    /// `*...` (None for `*-1`)
    Array(Option<Vec<Reply>>),
}

/// A minimal blocking RESP2 connection for the harness and for checking a server directly,
/// independent of the code under test.
#[derive(Debug)]
pub struct RawConn {
    reader: BufReader<TcpStream>,
}

impl RawConn {
    /// Connects with `timeout` for the connect and for every read.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<RawConn> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one command and reads its reply.
    pub fn command(&mut self, args: &[&str]) -> io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.reader.get_mut().write_all(&out)?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad reply line {line:?}"),
            )
        };
        match kind {
            "+" => Ok(Reply::Status(rest.to_owned())),
            "-" => Ok(Reply::Error(rest.to_owned())),
            ":" => rest.parse().map(Reply::Int).map_err(|_| bad()),
            "$" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut buf = vec![0; len as usize + 2];
                self.reader.read_exact(&mut buf)?;
                buf.truncate(len as usize);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let len: i64 = rest.parse().map_err(|_| bad())?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                (0..len)
                    .map(|_| self.read_reply())
                    .collect::<io::Result<_>>()
                    .map(|v| Reply::Array(Some(v)))
            }
            _ => Err(bad()),
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1, and never handed out before in this
/// process: a killed server keeps its port (a restart reuses it), so another scenario running
/// beside it must not be given that port for a new server, or commands meant for the dead
/// shard would succeed on a stranger (seen once: "dead:1 on the dead shard succeeded").
pub fn free_port() -> io::Result<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no fresh port after 1000 tries",
    ))
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns `cmd` from the harness's spawner thread, which lives as long as the process, with
/// the parent-death signal set so the child dies if the test process dies.
fn spawn_tied_to_process(cmd: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("redis-harness-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    set_parent_death_signal(&mut cmd);
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawn the harness spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, tx))
        .map_err(|_| io::Error::other("harness spawner thread is gone"))?;
    rx.recv()
        .map_err(|_| io::Error::other("harness spawner thread is gone"))?
}

#[allow(unsafe_code)]
fn set_parent_death_signal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only calls prctl(2), which is
    // async-signal-safe; it touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Pids of running `redis-server` processes whose working directory is a harness
/// directory of this run (see [`DIR_PREFIX`], [`RUN_ENV`]): servers that outlived their
/// tests, if any.
pub fn leftover_servers() -> Vec<u32> {
    let prefix = dir_prefix();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .map(|cwd| cwd.to_string_lossy().contains(&prefix))
                .unwrap_or(false)
        })
        .collect()
}

/// Sentinel-managed shards: per shard a primary and one replica, and 3 Sentinels monitoring
/// every shard (master names `shard1`, `shard2`, ...; quorum 2).
#[derive(Debug)]
pub struct SentinelShards {
    /// Per shard, its two data servers: started as primary (index 0) and replica (index 1);
    /// after a failover the roles are swapped (ask [`SentinelShards::primary_port`]).
    pub data: Vec<[RedisServer; 2]>,
    /// The Sentinels.
    pub sentinels: Vec<RedisServer>,
    /// The Sentinels' password (`requirepass`), if they want one.
    pub sentinel_password: Option<String>,
}

impl SentinelShards {
    /// Starts `n` shards and 3 Sentinels, and waits until the Sentinels see every replica
    /// and each other (until then a failover cannot be agreed on).
    pub fn start(n: usize) -> io::Result<SentinelShards> {
        Self::start_with(n, None)
    }

    /// [`SentinelShards::start`] with Sentinels that want `sentinel_password` (their
    /// `requirepass`; the data servers want none); [`SentinelShards::url`] then carries it.
    pub fn start_with(n: usize, sentinel_password: Option<&str>) -> io::Result<SentinelShards> {
        let mut data = Vec::new();
        for _ in 0..n {
            let primary = RedisServer::start()?;
            let replica = RedisServer::start_with(ServerOptions::new().replica_of(&primary))?;
            data.push([primary, replica]);
        }
        let names: Vec<String> = (1..=n).map(|i| format!("shard{i}")).collect();
        let monitors: Vec<(&str, &RedisServer)> = names
            .iter()
            .zip(&data)
            .map(|(name, [p, _])| (name.as_str(), p))
            .collect();
        let sentinels = (0..3)
            .map(|_| {
                let options = ServerOptions::new().sentinel(&monitors);
                RedisServer::start_with(match sentinel_password {
                    Some(pw) => options.sentinel_password(pw),
                    None => options,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let shards = SentinelShards {
            data,
            sentinels,
            sentinel_password: sentinel_password.map(str::to_owned),
        };
        shards.wait_until_ready(Duration::from_secs(30))?;
        Ok(shards)
    }

    fn wait_until_ready(&self, limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let ready = self.sentinels.iter().all(|s| {
                (1..=self.data.len()).all(|i| {
                    let name = format!("shard{i}");
                    let count = |sub: &str| match s.command(&["SENTINEL", sub, &name]) {
                        Ok(Reply::Array(Some(items))) => items.len(),
                        _ => 0,
                    };
                    count("REPLICAS") == 1 && count("SENTINELS") == 2
                })
            });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(
                    "the Sentinels did not discover the replicas and each other in time",
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `redis-sentinel://` URL of shard `i` (0-based), with `?sentinel_password=` when the
    /// Sentinels want one.
    pub fn url(&self, i: usize) -> String {
        let hosts: Vec<String> = self.sentinels.iter().map(RedisServer::addr).collect();
        let auth = self
            .sentinel_password
            .as_ref()
            .map_or(String::new(), |pw| format!("?sentinel_password={pw}"));
        format!("redis-sentinel://{}/shard{}{auth}", hosts.join(","), i + 1)
    }

    /// `(name, url)` pairs with names `shard1`, `shard2`, ...
    pub fn named(&self) -> Vec<(String, String)> {
        (0..self.data.len())
            .map(|i| (format!("shard{}", i + 1), self.url(i)))
            .collect()
    }

    /// The port of shard `i`'s primary, as the first Sentinel that answers reports it.
    pub fn primary_port(&self, i: usize) -> io::Result<u16> {
        let name = format!("shard{}", i + 1);
        for s in &self.sentinels {
            if let Ok(Reply::Array(Some(items))) =
                s.command(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name])
            {
                if let Some(Reply::Bulk(Some(port))) = items.get(1) {
                    if let Some(p) = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok()) {
                        return Ok(p);
                    }
                }
            }
        }
        Err(io::Error::other(format!("no Sentinel knows {name}")))
    }

    /// `SENTINEL FAILOVER` of shard `i`, asked of the last Sentinel (it leads the failover
    /// and knows first; a client asking the Sentinels in order asks it last).
    pub fn failover(&self, i: usize) -> io::Result<Reply> {
        self.sentinels[self.sentinels.len() - 1].command(&[
            "SENTINEL",
            "FAILOVER",
            &format!("shard{}", i + 1),
        ])
    }
}

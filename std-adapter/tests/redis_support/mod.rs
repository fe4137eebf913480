//! A real redis-server for the tests (and the benchmark): started on a free
//! 127.0.0.1 port, without persistence, killed when dropped; and a helper that
//! waits for a condition by polling it, with a generous bound.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seawall::redis::{RedisStore, SharedConfig};

/// A redis-server of our own. Install it with `apt-get install redis-server`
/// (`scripts/ci/15-redis.sh` does).
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts a server on `port` and waits until it answers.
    pub fn start_on(port: u16) -> Self {
        Self::start_with(port, &[])
    }

    /// Starts a server on `port` with `extra` arguments and waits until it answers.
    pub fn start_with(port: u16, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--loglevel", "warning"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): install it (apt-get install redis-server; \
                     scripts/ci/15-redis.sh does)"
                )
            });
        let mut server = RedisServer {
            child: Some(child),
            port,
        };
        server.wait_ready();
        server
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("the server runs")
    }

    /// Kills the server (its data is gone: it keeps none on disk).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        *self = RedisServer::start_on(self.port);
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing is
    /// answered, as with a hung server or a cut network. Returns once the
    /// process is stopped.
    pub fn freeze(&self) {
        signal(self.pid(), "-STOP");
        let stat = format!("/proc/{}/stat", self.pid());
        let deadline = Instant::now() + Duration::from_secs(20);
        // The state is the field after the parenthesised command name.
        while !std::fs::read_to_string(&stat)
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('T')))
            .unwrap_or(false)
        {
            assert!(
                Instant::now() < deadline,
                "redis-server did not stop in 20 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stalls the server for `duration`: it holds every command of every
    /// client until then (`CLIENT PAUSE ... ALL`), as a `DEBUG SLEEP` would,
    /// but returns only once the stall has begun, so a test knows that what
    /// it sends next waits.
    pub fn stall(&self, duration: Duration) {
        let millis = duration.as_millis().to_string();
        let reply = self.command(&["CLIENT", "PAUSE", &millis, "ALL"]);
        assert!(reply.starts_with("+OK"), "{reply}");
    }

    /// `HSET key field value`.
    pub fn hset(&self, key: &str, field: &str, value: &str) {
        let reply = self.command(&["HSET", key, field, value]);
        assert!(reply.starts_with(':'), "{reply}");
    }

    /// `HGET key field`, as text (`None` when absent).
    pub fn hget(&self, key: &str, field: &str) -> Option<String> {
        let reply = self.command(&["HGET", key, field]);
        let (header, rest) = reply.split_once("\r\n")?;
        if header == "$-1" {
            return None;
        }
        Some(rest.trim_end_matches("\r\n").to_owned())
    }

    /// Redis's clock (`TIME`), in microseconds: the clock the shared rules run on.
    pub fn time_micros(&self) -> u64 {
        let script = "local t = redis.call('TIME') return t[1] * 1000000 + t[2]";
        let reply = self.command(&["EVAL", script, "0"]);
        reply
            .strip_prefix(':')
            .and_then(|n| n.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("TIME: {reply}"))
    }

    /// Lets a frozen server run again (SIGCONT), with its data.
    pub fn thaw(&self) {
        signal(self.pid(), "-CONT");
    }

    /// Sends one command in RESP and returns the raw reply.
    pub fn command(&self, args: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        let mut buffer = [0; 4096];
        // A bulk string (`$len\r\n...\r\n`) is read to its end, anything else
        // to its first line.
        loop {
            if let Some(end) = reply.windows(2).position(|w| w == b"\r\n") {
                let header = String::from_utf8_lossy(&reply[..end]).into_owned();
                let wanted = match header.strip_prefix('$') {
                    Some(len) => end + 2 + len.parse::<usize>().unwrap_or(0) + 2,
                    None => end + 2,
                };
                if reply.len() >= wanted {
                    break;
                }
            }
            let n = stream.read(&mut buffer).expect("read a reply");
            assert!(n > 0, "redis closed the connection");
            reply.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&reply).into_owned()
    }

    /// How many times `command` ran and succeeded (`INFO commandstats`: calls
    /// less failed ones, such as a script's first `EVALSHA` before it was loaded).
    pub fn calls_of(&self, command: &str) -> u64 {
        let info = self.command(&["INFO", "commandstats"]);
        let prefix = format!("cmdstat_{command}:");
        let Some(stats) = info.lines().find_map(|line| line.strip_prefix(&prefix)) else {
            return 0;
        };
        let field = |name: &str| -> u64 {
            stats
                .split(',')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .map_or(0, |value| value.trim().parse().unwrap())
        };
        field("calls") - field("failed_calls") - field("rejected_calls")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("redis-server exited at start: {status}");
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut pong = [0; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut pong).is_ok()
                    && &pong == b"+PONG\r\n"
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer in 20 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A frozen server must run to die of SIGKILL's reaping.
            let _ = Command::new("kill")
                .args(["-CONT", &self.pid().to_string()])
                .status();
        }
        self.kill();
    }
}

/// A Redis Cluster of our own: `n` primaries on free 127.0.0.1 ports (no
/// replicas), their slots assigned by `redis-cli --cluster create`.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: std::path::PathBuf,
}

impl RedisCluster {
    /// Starts the nodes, creates the cluster and waits until every node says
    /// it is ok.
    pub fn start(n: usize) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "seawall-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("a directory for the nodes' files");
        let dir_arg = dir.to_string_lossy().into_owned();
        let nodes: Vec<RedisServer> = (0..n)
            .map(|_| {
                let port = free_cluster_port();
                let file = format!("nodes-{port}.conf");
                RedisServer::start_with(
                    port,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &file,
                        "--dir",
                        &dir_arg,
                    ],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli (installed with redis-server)");
        assert!(status.success(), "redis-cli --cluster create: {status}");
        let deadline = Instant::now() + Duration::from_secs(30);
        for node in &nodes {
            while !node
                .command(&["CLUSTER", "INFO"])
                .contains("cluster_state:ok")
            {
                assert!(Instant::now() < deadline, "the cluster is not ok in 30 s");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        RedisCluster { nodes, dir }
    }

    /// `redis://127.0.0.1:{port}` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// How many keys each node holds.
    pub fn keys_per_node(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|node| {
                let reply = node.command(&["DBSIZE"]);
                reply.trim_start_matches(':').trim().parse().unwrap()
            })
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// A port for a cluster node: free, and its cluster bus port (10,000 above)
/// too, which must stay below 65,536.
pub fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A store on `url` with short intervals for tests, and `config` on top.
pub fn store(url: &str, config: SharedConfig) -> RedisStore {
    RedisStore::new(url, config).expect("store")
}

/// Test options: sync every 20 ms, calls bounded by 200 ms.
pub fn fast() -> SharedConfig {
    SharedConfig {
        prefix: "test".into(),
        timeout: Duration::from_millis(200),
        sync_interval: Duration::from_millis(20),
        ..SharedConfig::default()
    }
}

/// Polls `condition` every 2 ms until it holds, and returns how long that
/// took; panics with `what` after `bound`.
pub async fn eventually<F, Fut>(what: &str, bound: Duration, mut condition: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Polls `f` every 2 ms until it gives a value; panics with `what` after `bound`.
pub async fn eventually_some<T, F, Fut>(what: &str, bound: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

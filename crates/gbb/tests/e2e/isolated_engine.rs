//! A dockerd of a test's own, standing for an engine on another machine (`remote.rs` over
//! `tcp://` with TLS, `remote_ssh.rs` over `ssh://`).
//!
//! It has its own data root, exec root and bridge, and no iptables rules, so the machine's
//! dockerd is not touched (`--bridge=none` would not do: dockerd deletes the machine's
//! `docker0` at start to clean up). It runs in a mount namespace where `/tmp`, `/work` and
//! `/root` are empty: no folder of the client's (the stack, the portage tree, gbb's cache, the
//! test build root) exists on the engine's side, so a build that bind-mounted any of them would
//! fail. Its folders are under `/var/lib` and `/run`, which the namespace keeps. Stopped, and its
//! folders and bridge removed, when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Runs `program` in `dir` and checks that it succeeded.
pub(crate) fn run(program: &str, args: &[&str], dir: &Path) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A free TCP port on 127.0.0.1 (free when asked).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) struct IsolatedDockerd {
    child: Option<Child>,
    bridge: String,
    /// Kept files: the data root, the log, whatever the test puts there (certificates, keys).
    pub(crate) state: PathBuf,
    /// The run folder: the pid file, the engine's exec root, a socket the test names.
    pub(crate) exec_root: PathBuf,
}

impl IsolatedDockerd {
    /// Makes the folders and the bridge of an engine named `gbb-<tag>-<pid>`; `octet` picks
    /// the bridge's `10.<octet>.x.0/24` (a range per test file, so two tests' bridges never
    /// overlap). The engine starts with [`Self::start`].
    pub(crate) fn new(tag: &str, octet: u8) -> Self {
        let pid = std::process::id();
        let id = format!("gbb-{tag}-{pid}");
        let state = PathBuf::from("/var/lib").join(&id);
        let exec_root = PathBuf::from("/run").join(&id);
        std::fs::create_dir_all(&state).unwrap();
        std::fs::create_dir_all(&exec_root).unwrap();
        // A bridge name has at most 15 bytes.
        let bridge = format!("gbb{}{}", &tag[..1], pid % 100_000);
        let subnet = 20 + pid % 200;
        run("ip", &["link", "add", &bridge, "type", "bridge"], &state);
        let engine = Self {
            child: None,
            bridge,
            state,
            exec_root,
        };
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("10.{octet}.{subnet}.1/24"),
                "dev",
                &engine.bridge,
            ],
            &engine.state,
        );
        run("ip", &["link", "set", &engine.bridge, "up"], &engine.state);
        engine
    }

    /// Starts dockerd with `listen` (its `-H` and TLS options) in the namespace, after
    /// `before` (a shell command run there first, say an sshd; empty for none), and waits up
    /// to a minute until `ready` says it answers.
    pub(crate) fn start(&mut self, before: &str, listen: &str, ready: impl Fn() -> bool) {
        let script = format!(
            "mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /work && mount -t tmpfs tmpfs /root \
             && {before}{and} exec dockerd --data-root {state}/data --exec-root {exec}/exec \
             --pidfile {exec}/dockerd.pid {listen} --bridge={bridge} --iptables=false --ip-masq=false",
            and = if before.is_empty() { "" } else { " &&" },
            state = self.state.display(),
            exec = self.exec_root.display(),
            bridge = self.bridge,
        );
        let log = std::fs::File::create(self.state.join("dockerd.log")).unwrap();
        self.child = Some(
            Command::new("unshare")
                .args(["--mount", "--propagation", "private", "sh", "-c", &script])
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("unshare runs"),
        );
        let started = Instant::now();
        while !ready() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the test's dockerd did not start: {}",
                std::fs::read_to_string(self.state.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// A file in the kept folder.
    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.state.join(name)
    }

    /// The run folder, for a socket of the test's choosing.
    pub(crate) fn run_dir(&self) -> &Path {
        &self.exec_root
    }
}

impl Drop for IsolatedDockerd {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            // dockerd is the shell's exec: the child itself.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.state);
        let _ = std::fs::remove_dir_all(&self.exec_root);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
    }
}

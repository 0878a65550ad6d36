//! Engines behind ssh: `DOCKER_HOST=ssh://[user@]host[:port][/path/to/engine.sock]`, and
//! Podman's `CONTAINER_HOST` in the same form (the form Podman's own connections use, the
//! path being the engine's socket on the remote machine). Without a path, Docker's socket is
//! `/var/run/docker.sock` and Podman's the rootful `/run/podman/podman.sock`.
//!
//! **How.** gbb runs the system's OpenSSH client, `ssh -N -L <local socket>:<remote socket>`,
//! and talks to the engine through the local end of that forward as it talks to a local
//! engine. The local socket lives in a private folder (mode 0700) of the temporary
//! directory. The user's keys, agent, `~/.ssh/config` and `known_hosts` apply as they do for
//! `docker -H ssh://` and `ssh` itself; `BatchMode=yes`, so a missing key is an error rather
//! than a password prompt gbb would hang on.
//!
//! **Why OpenSSH's socket forwarding rather than Docker's `ssh host docker system
//! dial-stdio`.** One ssh process and one ssh connection for the whole run, with every
//! request of the engine's API multiplexed over it as channels, where `dial-stdio` starts a
//! new ssh connection (and a `docker` process on the remote machine) for each connection the
//! client opens: gbb opens several at once (a build's workers, logs streamed while others
//! poll). It needs nothing on the remote machine but sshd (no `docker` command there), and
//! it reaches Podman's service the same way, which has no `dial-stdio`. bollard's own ssh
//! transport (its `ssh` feature) is not used: it goes through the `openssh` crate's
//! multiplexed master and needs a running agent.
//!
//! **The ssh process** is owned by the engine value ([`Tunnel`]): dropping it kills ssh and
//! removes the folder with the socket. It must never outlive gbb, also when the engine is not
//! dropped (gbb's signal handler keeps one to the end; `exit` runs no destructors; a second
//! Ctrl-C exits at once; SIGKILL): so
//! - ssh is started in a process group of its own, so a Ctrl-C at the terminal does not kill
//!   it while gbb still needs the engine to remove its containers;
//! - the kernel sends it SIGTERM when gbb's thread that started it ends
//!   (`PR_SET_PDEATHSIG`); that thread is one of its own, which waits for the tunnel to be
//!   dropped, so it ends with the tunnel or with the process, whichever comes first;
//! - an `atexit` handler removes the socket folders of tunnels still open when gbb exits
//!   (ssh leaves its listening socket behind when it dies). Only a SIGKILL of gbb leaves an
//!   empty folder with a dead socket in the temporary directory.
//!
//! ssh does not share a connection with the user's `ControlMaster` (`ControlPath=none`): the
//! forward must live and die with this process, and a master's forwards outlive its clients.
//!
//! **Errors**, one line each, naming the `DOCKER_HOST`/`CONTAINER_HOST` value: ssh not
//! installed; ssh's own last line when it ends before the forward is up (host unreachable,
//! name unknown, host key unknown or changed, key refused); the remote socket missing (or not
//! the user's to open), which ssh reports only when a connection is made through the
//! forward, as `channel N: open failed: ...`.

use std::collections::VecDeque;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::EngineError;

/// How long ssh may take to connect and set the forward up.
const CONNECT_WITHIN: Duration = Duration::from_secs(30);

/// The longest path a Unix socket may have on Linux (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// What an `ssh://` URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SshTarget {
    pub(crate) user: Option<String>,
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    /// The engine's socket on the remote machine.
    pub(crate) socket: String,
}

impl SshTarget {
    /// Reads `ssh://[user@]host[:port][/socket]`; `default_socket` when there is no path.
    pub(crate) fn parse(value: &str, default_socket: &str) -> Result<Self, EngineError> {
        let refused = |why: &str| EngineError::Ssh {
            host: value.to_owned(),
            cause: why.to_owned(),
        };
        let url = url::Url::parse(value).map_err(|e| refused(&format!("not a URL: {e}")))?;
        if url.scheme() != "ssh" {
            return Err(refused("not an ssh:// URL"));
        }
        if url.password().is_some() {
            return Err(refused(
                "a password in the URL is not used: ssh logs in with your keys or agent (BatchMode)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(refused(
                "gbb takes no options in an ssh:// URL; put them in ~/.ssh/config",
            ));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(address)) => address.to_string(),
            Some(host) => decode(&host.to_string()),
            None => String::new(),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(refused("no host"));
        }
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let path = decode(url.path());
        let socket = if path.is_empty() || path == "/" {
            default_socket.to_owned()
        } else {
            path
        };
        Ok(Self {
            user,
            host,
            port: url.port(),
            socket,
        })
    }

    /// ssh's arguments after the options: where to log in.
    fn destination_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        // Nothing after `--` is an option, whatever the host's name.
        args.extend(["--".to_owned(), self.host.clone()]);
        args
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// ssh's last lines of output, kept for errors.
type Lines = Arc<Mutex<VecDeque<String>>>;

/// The thread that started ssh, and what ends it (dropping the sender).
type Keeper = (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>);

/// A running `ssh -N -L` forward of the engine's remote socket to a local one. Dropping it
/// ends ssh and removes the local socket.
pub(crate) struct Tunnel {
    child: Child,
    /// The private folder holding [`Tunnel::socket`].
    folder: Option<tempfile::TempDir>,
    socket: PathBuf,
    stderr: Lines,
    /// The thread reading ssh's stderr into [`Tunnel::stderr`]; it ends when ssh does.
    reader: Option<std::thread::JoinHandle<()>>,
    /// Dropped with the tunnel: the thread that started ssh then ends (see the module's doc).
    keeper: Option<Keeper>,
}

impl Tunnel {
    /// Starts ssh for `target` and waits until its local socket takes a connection (ssh makes
    /// it after logging in), or ssh ends, or [`CONNECT_WITHIN`] passes. `value` is the URL, for errors.
    pub(crate) fn open(value: &str, target: &SshTarget) -> Result<Self, EngineError> {
        let failed = |cause: String| EngineError::Ssh {
            host: value.to_owned(),
            cause,
        };
        let folder = tempfile::Builder::new()
            .prefix("gbb-ssh-")
            .tempdir()
            .map_err(|e| failed(format!("cannot make a folder for the local socket: {e}")))?;
        let socket = folder.path().join("engine.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(failed(format!(
                "the local socket's path `{}` is too long for a Unix socket; set TMPDIR to a shorter folder",
                socket.display()
            )));
        }
        let mut command = Command::new("ssh");
        command
            .args(["-N", "-T"])
            .args(["-o", "BatchMode=yes"])
            .args(["-o", "ExitOnForwardFailure=yes"])
            .args(["-o", "ControlMaster=no", "-o", "ControlPath=none"])
            .arg("-L")
            .arg(format!("{}:{}", socket.display(), target.socket))
            .args(target.destination_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        {
            use std::os::unix::process::CommandExt;
            // Not in gbb's process group: Ctrl-C at the terminal is gbb's to handle, and gbb
            // needs the engine after it to remove its containers.
            command.process_group(0);
            // SAFETY: between fork and exec only one async-signal-safe call, prctl.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let (child, keeper) = spawn_kept(command).map_err(|e| {
            failed(if e.kind() == std::io::ErrorKind::NotFound {
                "the `ssh` command is not installed (OpenSSH's client; Debian: `apt-get install openssh-client`)".to_owned()
            } else {
                format!("cannot run `ssh`: {e}")
            })
        })?;
        let stderr: Lines = Arc::default();
        let mut tunnel = Self {
            child,
            folder: Some(folder),
            socket,
            stderr: stderr.clone(),
            reader: None,
            keeper: Some(keeper),
        };
        if let Some(pipe) = tunnel.child.stderr.take() {
            // Drained on a thread of its own, so a chatty ssh never blocks on a full pipe.
            tunnel.reader = Some(std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut lines = lock(&stderr);
                    if lines.len() == 20 {
                        lines.pop_front();
                    }
                    lines.push_back(line);
                }
            }));
        }
        live::add(tunnel.child.id(), tunnel.folder_path());
        let started = Instant::now();
        loop {
            // A connection, not the socket file: ssh binds the file before it listens, and a
            // client that connects in between (ssh descheduled on a busy machine) is refused.
            // The probe's channel is closed at once; ssh drops it.
            if std::os::unix::net::UnixStream::connect(&tunnel.socket).is_ok() {
                return Ok(tunnel);
            }
            if let Ok(Some(status)) = tunnel.child.try_wait() {
                tunnel.read_to_end();
                return Err(failed(tunnel.last_line().unwrap_or_else(|| {
                    format!("ssh ended ({status}) before the forward was up")
                })));
            }
            if started.elapsed() > CONNECT_WITHIN {
                return Err(failed(format!(
                    "ssh did not connect within {} s{}",
                    CONNECT_WITHIN.as_secs(),
                    tunnel
                        .last_line()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The local end, as a `DOCKER_HOST` value.
    pub(crate) fn local_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Why the engine behind the tunnel did not answer (`cause`, from the client): ssh's
    /// line when it says, the remote socket named when ssh could not open it.
    pub(crate) fn explain(&mut self, value: &str, target: &SshTarget, cause: &str) -> EngineError {
        // ssh writes its line before it closes the connection, but our reader may not have
        // read it yet.
        let deadline = Instant::now() + Duration::from_secs(1);
        let open_failed = loop {
            let found = lock(&self.stderr)
                .iter()
                .rev()
                .find(|l| l.contains("open failed"))
                .cloned();
            if found.is_some() || Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let cause = match (open_failed, self.child.try_wait()) {
            (Some(line), _) => format!(
                "the engine's socket `{}` on `{}` cannot be opened (it does not exist there, or the ssh user may not use it); ssh says: {line}",
                target.socket, target.host
            ),
            (None, Ok(Some(_))) => self
                .read_to_end()
                .last_line()
                .unwrap_or_else(|| format!("ssh ended: {cause}")),
            (None, _) => format!("the engine behind ssh does not answer: {cause}"),
        };
        EngineError::Ssh {
            host: value.to_owned(),
            cause,
        }
    }

    /// Once ssh ended: waits (a second at most: a `ProxyCommand` may hold the pipe open)
    /// until its last lines are read.
    fn read_to_end(&mut self) -> &Self {
        let deadline = Instant::now() + Duration::from_secs(1);
        if let Some(reader) = &self.reader {
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self
    }

    /// Why ssh is gone, once it has ended mid-build (its last line, or that it gave none);
    /// `None` while it runs, when a failure was the engine's own.
    pub(crate) fn ended(&self) -> Option<String> {
        // A live ssh forwards a ping to the engine and back. A connection alone proves
        // nothing: a SIGKILLed ssh's sockets close one by one, in the order of their file
        // descriptors, and the client's connection may go before the listening socket,
        // which then still takes connections for a moment (CI saw that once).
        if !self.has_exited() && self.forwards_a_ping() {
            return None;
        }
        // The kernel closes a dying process's sockets before it marks the process ended, so
        // the client may see the connection go a moment before ssh is a zombie.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.has_exited() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Its last lines may still be on their way to the reader.
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(
            self.last_line()
                .unwrap_or_else(|| "ssh ended without a message (killed?)".to_owned()),
        )
    }

    /// Whether a `GET /_ping` through the forward gets an HTTP answer within 2 s: ssh is up
    /// and forwarding (the engine's answer may be an error; it is still an answer). Written
    /// on the socket by hand, not with the engine client's ping: the tunnel sits below the
    /// client (which is made on its socket), and this is asked from inside the client's
    /// runtime, where a blocking call of the client cannot run.
    fn forwards_a_ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&self.socket) else {
            return false;
        };
        let within = Some(Duration::from_secs(2));
        if stream.set_read_timeout(within).is_err() || stream.set_write_timeout(within).is_err() {
            return false;
        }
        if stream
            .write_all(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut answer = [0u8; 5];
        stream.read_exact(&mut answer).is_ok() && &answer == b"HTTP/"
    }

    /// Whether ssh has exited: a zombie (gbb has not waited for it) or gone. Read from
    /// `/proc`, so that it needs no `&mut` and reaps nothing.
    fn has_exited(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()));
        // The state is the field after the command name, which ends at the last `)`.
        stat.map_or(true, |stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
    }

    fn last_line(&self) -> Option<String> {
        lock(&self.stderr)
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_owned())
    }

    fn folder_path(&self) -> PathBuf {
        self.folder
            .as_ref()
            .map_or_else(|| self.socket.clone(), |f| f.path().to_owned())
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        live::remove(self.child.id());
        if let Some((stop, keeper)) = self.keeper.take() {
            drop(stop);
            let _ = keeper.join();
        }
        // The folder and the socket ssh left in it.
        if let Some(folder) = self.folder.take() {
            let _ = folder.close();
        }
    }
}

/// Spawns `command` on a thread that then lives until the returned sender is dropped: the
/// parent-death signal is tied to the thread that forked, not to the process.
fn spawn_kept(mut command: Command) -> std::io::Result<(Child, Keeper)> {
    let (spawned_tx, spawned_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let keeper = std::thread::Builder::new()
        .name("gbb-ssh".to_owned())
        .spawn(move || {
            let spawned = command.spawn();
            let ok = spawned.is_ok();
            let _ = spawned_tx.send(spawned);
            if ok {
                // Returns when the tunnel drops its sender.
                let _ = stopped.recv();
            }
        })?;
    let child = spawned_rx
        .recv()
        .map_err(|_| std::io::Error::other("the thread starting ssh ended"))??;
    Ok((child, (stop, keeper)))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The tunnels open now, for the `atexit` handler: gbb may exit with an engine it never
/// dropped (its signal handler holds one to the end), and ssh leaves its socket behind.
mod live {
    use std::path::PathBuf;
    use std::sync::{Mutex, Once};

    static OPEN: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());
    static HANDLER: Once = Once::new();

    pub(super) fn add(pid: u32, folder: PathBuf) {
        HANDLER.call_once(|| {
            // SAFETY: registers a plain function; it runs once, at exit.
            unsafe {
                libc::atexit(at_exit);
            }
        });
        super::lock(&OPEN).push((pid, folder));
    }

    pub(super) fn remove(pid: u32) {
        super::lock(&OPEN).retain(|(p, _)| *p != pid);
    }

    extern "C" fn at_exit() {
        // A thread may hold the lock when another one exits; then leave it (the kernel still
        // ends ssh, see the module's doc).
        let Ok(open) = OPEN.try_lock() else { return };
        for (pid, folder) in open.iter() {
            if let Ok(pid) = i32::try_from(*pid) {
                // SAFETY: a signal to a child of this process that is still ours (it is
                // listed until it was waited for).
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tunnel whose "ssh" is `sleep` and whose local socket is served by `serve`, which
    /// gets each connection: what [`Tunnel::ended`] sees of ssh, without ssh.
    fn tunnel_served_by(serve: fn(std::os::unix::net::UnixStream)) -> (Tunnel, tempfile::TempDir) {
        let folder = tempfile::tempdir().unwrap();
        let socket = folder.path().join("engine.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream);
            }
        });
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let tunnel = Tunnel {
            child,
            folder: None,
            socket,
            stderr: Arc::default(),
            reader: None,
            keeper: None,
        };
        (tunnel, folder)
    }

    fn answers(mut stream: std::os::unix::net::UnixStream) {
        use std::io::{Read, Write};
        let mut request = [0u8; 64];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nOK");
    }

    fn hangs_up(stream: std::os::unix::net::UnixStream) {
        drop(stream);
    }

    #[test]
    fn a_killed_ssh_whose_socket_still_takes_connections_has_ended() {
        // The moment CI met: ssh is SIGKILLed, the client's connection is gone, and the
        // listening socket still takes (and drops) connections.
        let (mut tunnel, _folder) = tunnel_served_by(hangs_up);
        tunnel.child.kill().unwrap();
        assert_eq!(
            tunnel.ended().as_deref(),
            Some("ssh ended without a message (killed?)")
        );
    }

    #[test]
    fn a_live_ssh_has_not_ended_whether_or_not_the_engine_answers() {
        let (tunnel, _folder) = tunnel_served_by(answers);
        assert_eq!(tunnel.ended(), None);
        // ssh up, the remote socket not there: ssh drops the channel, and keeps running.
        let (tunnel, _folder) = tunnel_served_by(hangs_up);
        assert_eq!(tunnel.ended(), None);
    }

    #[track_caller]
    fn case(value: &str, user: Option<&str>, host: &str, port: Option<u16>, socket: &str) {
        assert_eq!(
            SshTarget::parse(value, "/var/run/docker.sock").unwrap(),
            SshTarget {
                user: user.map(str::to_owned),
                host: host.to_owned(),
                port,
                socket: socket.to_owned()
            }
        );
    }

    #[test]
    fn ssh_urls_name_user_host_port_and_socket() {
        case("ssh://build", None, "build", None, "/var/run/docker.sock");
        case(
            "ssh://ops@build.example:2222",
            Some("ops"),
            "build.example",
            Some(2222),
            "/var/run/docker.sock",
        );
        case(
            "ssh://core@127.0.0.1:53841/run/user/1000/podman/podman.sock",
            Some("core"),
            "127.0.0.1",
            Some(53841),
            "/run/user/1000/podman/podman.sock",
        );
        case(
            "ssh://[::1]:22/",
            None,
            "::1",
            Some(22),
            "/var/run/docker.sock",
        );
        case(
            "ssh://first%20last@h/a%20b.sock",
            Some("first last"),
            "h",
            None,
            "/a b.sock",
        );
    }

    #[test]
    fn ssh_urls_gbb_cannot_use_are_refused_with_the_value() {
        for (value, why) in [
            ("ssh://u:secret@h", "password"),
            ("ssh://h?secure=true", "no options"),
            ("ssh://", "no host"),
            ("ssh:///var/run/docker.sock", "no host"),
        ] {
            let error = SshTarget::parse(value, "/s").unwrap_err().to_string();
            assert!(error.contains(&format!("`{value}`")), "{error}");
            assert!(error.contains(why), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn ssh_logs_in_where_the_url_says_and_never_reads_the_host_as_an_option() {
        let target = SshTarget::parse("ssh://ops@h:2222", "/s").unwrap();
        assert_eq!(
            target.destination_args(),
            ["-p", "2222", "-l", "ops", "--", "h"]
        );
        let plain = SshTarget::parse("ssh://h", "/s").unwrap();
        assert_eq!(plain.destination_args(), ["--", "h"]);
    }
}

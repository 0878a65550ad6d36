//! Issue 13: gbb against a Docker engine behind ssh, `DOCKER_HOST=ssh://root@127.0.0.1:<port>/<socket>`,
//! through the system's OpenSSH client (gbb-engine's `ssh.rs`).
//!
//! The "remote machine" is a mount namespace of the test's own, as in `remote.rs`: `/tmp`,
//! `/work` and `/root` are empty there, so no folder of the client's (the stack, the portage
//! tree, gbb's cache, the test build root) exists on the engine's side and a bind mount of
//! any of them would fail. In it run an sshd on 127.0.0.1 (a host key and a user key made
//! here with `ssh-keygen`, a config of its own: keys only, `AuthorizedKeysFile` naming the
//! test's file) and a dockerd of its own (`isolated_engine.rs`) that listens only on a Unix
//! socket under `/run`, which gbb reaches through ssh and the test inspects directly.
//!
//! The client side: OpenSSH reads `~/.ssh/config` from the passwd entry, not `$HOME`, so the
//! test cannot hand it a config through the environment; gbb runs `ssh` from `PATH` as
//! `docker -H ssh://` does, and the test puts first on `PATH` a wrapper that runs the real
//! `/usr/bin/ssh` with `-F <the test's config>` (the key, a `known_hosts` with the test's host
//! key, `StrictHostKeyChecking yes`) and writes down its pid, to check that no ssh process
//! outlives gbb. gbb's temporary folder (`TMPDIR`) is the test's, to check that no socket is
//! left. The tests name their engine themselves (`--engine docker`), so `scripts/test` runs
//! them once, in the Docker pass.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::E2eStack;
use crate::isolated_engine::{IsolatedDockerd, free_port, run};

fn keygen(path: &Path) {
    run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            path.to_str().unwrap(),
        ],
        Path::new("/"),
    );
}

/// The remote machine: sshd and a dockerd of the test's own (`isolated_engine.rs`), both in
/// the namespace without the client's folders. Stopped when dropped.
struct Remote {
    engine: IsolatedDockerd,
    /// The engine's socket, as a path on the remote machine (and here: `/run` is shared).
    socket: PathBuf,
    ssh_port: u16,
    user_key: PathBuf,
    host_key: PathBuf,
}

impl Remote {
    fn start() -> Self {
        let mut engine = IsolatedDockerd::new("ssh", 232);
        let state = engine.state.clone();
        let socket = engine.run_dir().join("docker.sock");
        let host_key = engine.file("host_key");
        let user_key = engine.file("user_key");
        keygen(&host_key);
        keygen(&user_key);
        std::fs::copy(
            user_key.with_extension("pub"),
            engine.file("authorized_keys"),
        )
        .unwrap();
        let ssh_port = free_port();
        std::fs::write(
            engine.file("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {ssh_port}\nHostKey {host}\nPidFile {state}/sshd.pid\n\
                 AuthorizedKeysFile {state}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nAllowStreamLocalForwarding yes\n",
                host = host_key.display(),
                state = state.display(),
            ),
        )
        .unwrap();
        // sshd's privilege separation folder, which Debian's service makes at start (the
        // system's sshd is never started on test machines).
        let sshd = format!(
            "mkdir -p /run/sshd && /usr/sbin/sshd -f {state}/sshd_config -E {state}/sshd.log",
            state = state.display(),
        );
        let listen = format!("-H unix://{}", socket.display());
        engine.start(&sshd, &listen, || {
            docker_on(&socket, &["version"]).status.success()
        });
        Self {
            engine,
            socket,
            ssh_port,
            user_key,
            host_key,
        }
    }

    /// The docker command against this engine, directly on its socket (gbb goes through ssh).
    fn docker(&self, args: &[&str]) -> std::process::Output {
        docker_on(&self.socket, args)
    }

    /// `DOCKER_HOST` for gbb: the engine's socket through ssh.
    fn ssh_host(&self, socket: &Path) -> String {
        format!("ssh://root@127.0.0.1:{}{}", self.ssh_port, socket.display())
    }
}

/// The docker command against the engine on `socket`.
fn docker_on(socket: &Path, args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .output()
        .expect("the docker command runs")
}

impl Drop for Remote {
    fn drop(&mut self) {
        // sshd first; the engine goes when its field is dropped.
        if let Ok(pid) = std::fs::read_to_string(self.engine.file("sshd.pid")) {
            let _ = Command::new("kill").args(["-TERM", pid.trim()]).status();
        }
    }
}

/// The client's ssh set-up: a config with `key`, a `known_hosts` trusting the remote's host
/// key, and a `ssh` wrapper on `PATH` that runs OpenSSH with that config and writes its pid
/// down; gbb's `TMPDIR`.
struct Client {
    dir: tempfile::TempDir,
}

impl Client {
    fn new(remote: &Remote, key: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let host_key = std::fs::read_to_string(remote.host_key.with_extension("pub")).unwrap();
        let mut fields = host_key.split_whitespace();
        let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{} {kind} {blob}\n", remote.ssh_port),
        )
        .unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            format!(
                "Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {known}\n  \
                 StrictHostKeyChecking yes\n  GlobalKnownHostsFile /dev/null\n",
                key = key.display(),
                known = known_hosts.display()
            ),
        )
        .unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(
            bin.join("ssh"),
            format!(
                "#!/bin/sh\necho $$ >>{pids}\nexec /usr/bin/ssh -F {config} \"$@\"\n",
                pids = dir.path().join("pids").display(),
                config = config.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("ssh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Self { dir }
    }

    /// `gbb --engine docker ARGS` with `DOCKER_HOST=host`, this client's ssh and `TMPDIR`.
    fn command(&self, stack: &E2eStack, cache: &Path, host: &str, args: &[&str]) -> Command {
        self.command_on("docker", stack, cache, host, args)
    }

    /// `gbb --engine ENGINE ARGS` with `DOCKER_HOST` (Docker) or `CONTAINER_HOST` (Podman)
    /// set to `host`, this client's ssh and `TMPDIR`.
    fn command_on(
        &self,
        engine: &str,
        stack: &E2eStack,
        cache: &Path,
        host: &str,
        args: &[&str],
    ) -> Command {
        let mut all = vec!["--engine", engine];
        all.extend_from_slice(args);
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = stack.command(&all);
        let variable = if engine == "podman" {
            "CONTAINER_HOST"
        } else {
            "DOCKER_HOST"
        };
        command
            .env(variable, host)
            .env_remove("DOCKER_TLS_VERIFY")
            .env("PATH", path)
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("GBB_CACHE_DIR", cache);
        command
    }

    /// Runs [`Client::command`]; its exit code and stderr.
    fn gbb(
        &self,
        stack: &E2eStack,
        cache: &Path,
        host: &str,
        args: &[&str],
    ) -> (Option<i32>, String) {
        let output = self
            .command(stack, cache, host, args)
            .output()
            .expect("gbb runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// How many ssh processes gbb started so far.
    fn ssh_runs(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("pids"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// Every ssh process gbb started has ended, and no socket folder is left.
    fn assert_nothing_left(&self) {
        self.assert_no_ssh();
        let left: Vec<_> = std::fs::read_dir(self.dir.path().join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "left in gbb's TMPDIR: {left:?}");
    }

    /// Every ssh process gbb started has ended.
    fn assert_no_ssh(&self) {
        let pids = std::fs::read_to_string(self.dir.path().join("pids")).unwrap_or_default();
        assert!(!pids.trim().is_empty(), "gbb ran no ssh");
        for pid in pids.lines() {
            let proc = PathBuf::from(format!("/proc/{pid}"));
            let deadline = Instant::now() + Duration::from_secs(5);
            // A zombie is gone for this purpose; its parent was gbb, which has exited.
            while proc.join("cmdline").exists()
                && !std::fs::read_to_string(proc.join("cmdline"))
                    .unwrap_or_default()
                    .is_empty()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            let cmdline = std::fs::read_to_string(proc.join("cmdline")).unwrap_or_default();
            assert!(
                !cmdline.contains("ssh"),
                "ssh process {pid} outlived gbb: {cmdline}"
            );
        }
    }
}

/// The one line of an error, checked to be one line.
fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    lines[0]
}

#[test]
fn builds_on_a_remote_engine_over_ssh_without_bind_mounts() {
    let remote = Remote::start();
    let client = Client::new(&remote, &remote.user_key);
    let stack = E2eStack::new();
    let cache = tempfile::tempdir().unwrap();
    let host = remote.ssh_host(&remote.socket);
    let busybox = stack.id("busybox");
    let kid = stack.id("busybox-kid");
    // A parent and a child built in the parent's kept state.
    stack.with_child("busybox");
    let (code, stderr) = client.gbb(&stack, cache.path(), &host, &["build", &kid]);
    assert_eq!(code, Some(0), "{stderr}");
    client.assert_nothing_left();
    // On the engine behind ssh, and only there.
    for image in [&busybox, &kid] {
        let image = format!("{image}:latest");
        assert!(
            remote
                .docker(&["image", "inspect", &image])
                .status
                .success(),
            "{image} on the remote engine"
        );
        assert!(
            !Command::new("docker")
                .args(["image", "inspect", &image])
                .env_remove("DOCKER_HOST")
                .output()
                .unwrap()
                .status
                .success(),
            "{image} not on the machine's own engine"
        );
    }
    let ran = remote.docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/busybox",
        &format!("{kid}:latest"),
        "echo",
        "ran",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "ran",
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    // What came back through the archive API is where a local build puts it.
    for name in ["busybox", "busybox-kid"] {
        assert!(
            stack.output_dir(name).join("rootfs.tar").is_file(),
            "{name}"
        );
    }
    assert!(stack.image_dir("busybox").join("PACKAGES.md").is_file());
    // No volume left behind, no container.
    let volumes = remote.docker(&["volume", "ls", "-q"]);
    assert_eq!(String::from_utf8_lossy(&volumes.stdout).trim(), "");
    let containers = remote.docker(&["ps", "-aq"]);
    assert_eq!(String::from_utf8_lossy(&containers.stdout).trim(), "");
    // Unchanged: skipped without a container.
    let (code, stderr) = client.gbb(&stack, cache.path(), &host, &["-v", "build", &kid]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("skipped (up to date)"), "{stderr}");
    assert!(
        stderr.contains(&format!("at {host}")),
        "the engine is named by its URL: {stderr}"
    );
    client.assert_nothing_left();

    // Ctrl-C at a terminal signals gbb's whole process group: gbb, not its ssh (in a group
    // of its own), which gbb still needs to remove its container on the remote engine.
    let hello = stack.id("hello");
    stack.write(
        "hello",
        "build.sh",
        "_packages=\"app-misc/hello-static\"\nconfigure_rootfs_build() {\n    sleep 120\n}\n",
    );
    // gbb building `hello` in its own process group, once its build container runs.
    let sleeping_build = || {
        use std::os::unix::process::CommandExt;
        let mut child = client
            .command(&stack, cache.path(), &host, &["build", &hello])
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gbb starts");
        let started = Instant::now();
        while String::from_utf8_lossy(&remote.docker(&["ps", "-q"]).stdout)
            .trim()
            .is_empty()
        {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "phase 1 did not start"
            );
            assert!(child.try_wait().unwrap().is_none(), "gbb ended early");
            std::thread::sleep(Duration::from_millis(200));
        }
        child
    };
    // `gbb clean` through a new ssh removes the container of a run that is gone, and
    // leaves no ssh, socket or container.
    let clean_removes_the_gone_runs_container = || {
        let (code, stderr) = client.gbb(&stack, cache.path(), &host, &["clean"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("of a gbb run that is gone"), "{stderr}");
        let containers = remote.docker(&["ps", "-aq"]);
        assert_eq!(
            String::from_utf8_lossy(&containers.stdout).trim(),
            "",
            "{stderr}"
        );
        client.assert_nothing_left();
    };
    let child = sleeping_build();
    run(
        "kill",
        &["-INT", "--", &format!("-{}", child.id())],
        Path::new("/"),
    );
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C): removing 1 build container"),
        "{stderr}"
    );
    let containers = remote.docker(&["ps", "-aq"]);
    assert_eq!(
        String::from_utf8_lossy(&containers.stdout).trim(),
        "",
        "{stderr}"
    );
    let volumes = remote.docker(&["volume", "ls", "-q"]);
    assert_eq!(String::from_utf8_lossy(&volumes.stdout).trim(), "");
    client.assert_nothing_left();

    // SIGKILL: gbb runs no more code, and the kernel ends its ssh (PR_SET_PDEATHSIG). Left:
    // the folder of the dead socket, and the container, which `gbb clean` then removes
    // through ssh as the container of a run that is gone.
    let mut child = sleeping_build();
    child.kill().unwrap();
    child.wait().unwrap();
    client.assert_no_ssh();
    let left: Vec<_> = std::fs::read_dir(client.dir.path().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        left.len() == 1
            && left[0]
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("gbb-ssh-"),
        "{left:?}"
    );
    std::fs::remove_dir_all(&left[0]).unwrap();
    clean_removes_the_gone_runs_container();

    // ssh dies while phase 1 runs (a dropped connection, a killed client): the build fails
    // at once, saying the ssh connection ended and why, not with the refused connection the
    // engine client saw. The container stays on the remote engine, which nothing can reach
    // any more; the next run removes it as the container of a run that is gone.
    let bob = stack.id("bob");
    let child = sleeping_build();
    let pids = std::fs::read_to_string(client.dir.path().join("pids")).unwrap();
    let ssh = pids.lines().last().unwrap().to_owned();
    let started = Instant::now();
    run("kill", &["-KILL", &ssh], Path::new("/"));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "gbb noticed at once: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{hello} failed: running `{bob}:latest`: the ssh connection to the container \
             engine at `{host}` ended while running `"
        )) && stderr.contains("ssh ended without a message (killed?)"),
        "{stderr}"
    );
    client.assert_no_ssh();
    clean_removes_the_gone_runs_container();

    // Podman's service through ssh, in the URL form Podman's own connections use: the
    // machine's rootful service (`scripts/test` starts it), whose socket the remote
    // machine's namespace sees. `clean --images` lists the engine's containers and images
    // (this stack has none there) and fails when the engine cannot be reached.
    let podman = remote.ssh_host(Path::new("/run/podman/podman.sock"));
    let runs = client.ssh_runs();
    let output = client
        .command_on(
            "podman",
            &stack,
            cache.path(),
            &podman,
            &["-v", "clean", "--images"],
        )
        .output()
        .expect("gbb runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(client.ssh_runs(), runs + 1, "through ssh");
    client.assert_nothing_left();

    // A socket that is not there on the remote machine: named, with ssh's line.
    let missing = remote.ssh_host(Path::new("/run/gbb-no-such-engine.sock"));
    let (code, stderr) = client.gbb(&stack, cache.path(), &missing, &["build", &kid]);
    assert_eq!(code, Some(1), "{stderr}");
    let line = one_line(&stderr);
    assert!(
        line.contains(&format!("`{missing}`"))
            && line.contains("`/run/gbb-no-such-engine.sock`")
            && line.contains("open failed"),
        "{line}"
    );
    client.assert_nothing_left();

    // A key the remote machine does not take: ssh's own line, and no password prompt.
    let stranger_key = client.dir.path().join("stranger");
    keygen(&stranger_key);
    let stranger = Client::new(&remote, &stranger_key);
    let (code, stderr) = stranger.gbb(&stack, cache.path(), &host, &["build", &kid]);
    assert_eq!(code, Some(1), "{stderr}");
    let line = one_line(&stderr);
    assert!(
        line.contains(&format!("`{host}`")) && line.contains("Permission denied (publickey)"),
        "{line}"
    );
    stranger.assert_nothing_left();

    // A host ssh does not know, with ssh's default of asking about it: BatchMode refuses
    // rather than prompting, and ssh's line is passed on.
    let newcomer = Client::new(&remote, &remote.user_key);
    std::fs::write(newcomer.dir.path().join("known_hosts"), "").unwrap();
    let config = newcomer.dir.path().join("config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("StrictHostKeyChecking yes", "")).unwrap();
    let (code, stderr) = newcomer.gbb(&stack, cache.path(), &host, &["build", &kid]);
    assert_eq!(code, Some(1), "{stderr}");
    let line = one_line(&stderr);
    assert!(
        line.contains(&format!("`{host}`")) && line.contains("Host key verification failed"),
        "{line}"
    );
    newcomer.assert_nothing_left();
}

#[test]
fn an_unreachable_ssh_engine_is_one_line_naming_docker_host() {
    let stack = E2eStack::new();
    let cache = tempfile::tempdir().unwrap();
    let busybox = stack.id("busybox");
    // Nothing listens on the port (bound, then let go).
    let port = free_port();
    let host = format!("ssh://root@127.0.0.1:{port}");
    let gbb = |path: &str| {
        let output = stack
            .command(&["--engine", "docker", "build", &busybox])
            .env("DOCKER_HOST", &host)
            .env("PATH", path)
            .env("GBB_CACHE_DIR", cache.path())
            .output()
            .expect("gbb runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let started = Instant::now();
    let (code, stderr) = gbb(&std::env::var("PATH").unwrap_or_default());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        one_line(&stderr),
        format!(
            "error: cannot reach the container engine at `{host}` through ssh: ssh: connect to host 127.0.0.1 port {port}: Connection refused"
        )
    );
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    // A machine without OpenSSH's client.
    let empty = tempfile::tempdir().unwrap();
    let (code, stderr) = gbb(empty.path().to_str().unwrap());
    assert_eq!(code, Some(1), "{stderr}");
    let line = one_line(&stderr);
    assert!(
        line.contains(&format!("`{host}`")) && line.contains("`ssh` command is not installed"),
        "{line}"
    );
}

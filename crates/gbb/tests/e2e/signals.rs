//! Signals (issue 9, items 7 and 8): a killed gbb leaves nothing the next run does not remove;
//! SIGHUP is handled like Ctrl-C; SIGTERM exits 143; Ctrl-C in phase 2 stops the image build
//! at once; a second Ctrl-C exits at once while the first one's clean-up still waits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::harness::{E2eStack, docker};

const SLEEPING_HOOK: &str = "_packages=\"app-misc/hello-static\"\nconfigure_rootfs_build() {\n    echo waiting\n    sleep 120\n}\n";

fn kill(child: &Child, signal: &str) {
    assert!(
        Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn container_exists(id: &str) -> bool {
    Command::new("docker")
        .args(["container", "inspect", id])
        .output()
        .unwrap()
        .status
        .success()
}

/// gbb's stderr, line by line as it comes (to wait for a message), and whole once gbb ended.
fn stream_stderr(child: &mut Child) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (received, reader)
}

#[test]
fn sigkill_during_phase_1_leaves_nothing_after_the_next_build() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write("hello", "build.sh", SLEEPING_HOOK);
    let mut child = stack.spawn(&["build", &hello]);
    let container = stack.wait_for_container(&mut child, &hello);
    kill(&child, "KILL");
    child.wait().unwrap();
    assert!(
        container_exists(&container),
        "the fault: a killed gbb cannot remove its container"
    );

    stack.write("hello", "build.sh", "_packages=\"app-misc/hello-static\"\n");
    let run = stack.gbb(&["build", &hello]);
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "removed container {} ({hello}) of a gbb run that is gone",
            &container[..12]
        )),
        "{}",
        run.stderr
    );
    assert!(!container_exists(&container), "{container} is still there");
    let all = docker(&["ps", "-a", "--no-trunc", "--format", "{{.ID}}"]);
    assert!(
        !all.lines().any(|c| c.starts_with(&container)),
        "docker ps -a still lists {container}"
    );
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}

#[test]
fn gbb_clean_removes_the_containers_of_a_killed_run() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write("hello", "build.sh", SLEEPING_HOOK);
    let mut child = stack.spawn(&["build", &hello]);
    let container = stack.wait_for_container(&mut child, &hello);
    kill(&child, "KILL");
    child.wait().unwrap();
    let run = stack.gbb(&["clean"]);
    run.success();
    assert!(
        run.stderr.contains("of a gbb run that is gone"),
        "{}",
        run.stderr
    );
    assert!(!container_exists(&container));
}

/// Interrupts a build in phase 1 with `signal`; returns gbb's exit code and stderr.
fn interrupt_phase_1(signal: &str) -> (Option<i32>, String) {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write("hello", "build.sh", SLEEPING_HOOK);
    let mut child = stack.spawn(&["build", &hello]);
    let container = stack.wait_for_container(&mut child, &hello);
    let signalled = Instant::now();
    kill(&child, signal);
    let output = child.wait_with_output().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(20),
        "gbb stopped at once, not after the hook"
    );
    assert!(!container_exists(&container), "{container} is still there");
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn sighup_is_handled_like_ctrl_c() {
    let (code, stderr) = interrupt_phase_1("HUP");
    assert_eq!(code, Some(129), "{stderr}");
    assert!(
        stderr.contains("interrupted (SIGHUP): removing 1 build container"),
        "{stderr}"
    );
    assert!(stderr.contains("error: interrupted by SIGHUP"), "{stderr}");
}

#[test]
fn sigterm_exits_143() {
    let (code, stderr) = interrupt_phase_1("TERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("error: interrupted by SIGTERM"), "{stderr}");
}

#[test]
fn ctrl_c_in_phase_2_stops_the_image_build_at_once() {
    let stack = E2eStack::new();
    let busybox = stack.id("busybox");
    stack.gbb(&["build", &busybox]).success();
    let before = stack.image_id("busybox:latest").unwrap();
    // A long RUN, marked so that its build container (and, on Podman, its shell, which the
    // marker after the sleep keeps from being replaced by it) can be found.
    stack.write(
        "busybox",
        "Dockerfile.template",
        &format!(
            "FROM ${{IMAGE_PARENT}}\nADD rootfs.tar /\nRUN busybox sleep 60 && echo {}\nCMD [\"/bin/sh\"]\n",
            stack.ns
        ),
    );
    let mut child = stack.spawn(&["build", &busybox]);
    let (received, reader) = stream_stderr(&mut child);
    // Phase 2 starts; then the RUN's container of the classic builder runs.
    let started = Instant::now();
    while !received
        .recv_timeout(Duration::from_secs(120))
        .expect("phase 2 starts")
        .contains(&format!("{busybox}: phase 2"))
    {}
    let run_container = loop {
        let running = docker(&["ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"]);
        if let Some(line) = running.lines().find(|l| l.contains(&stack.ns)) {
            break line.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the RUN did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let signalled = Instant::now();
    kill(&child, "INT");
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(8),
        "gbb took {took:?} to stop: {stderr}"
    );
    // Phase 2 runs a RUN in a build container of its own (gbb writes the image), which the
    // first Ctrl-C removes like any other.
    assert!(
        stderr.contains("interrupted (Ctrl-C): removing 1 build container"),
        "{stderr}"
    );
    // The engine removes the RUN's container once it sees the build's request go.
    let gone = Instant::now();
    while container_exists(&run_container) {
        assert!(
            gone.elapsed() < Duration::from_secs(15),
            "the RUN's container {run_container} is still there"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    assert_eq!(
        stack.image_id("busybox:latest").as_deref(),
        Some(before.as_str()),
        "the previous image keeps its tag"
    );
    assert!(stack.image_id("busybox:gbb-candidate").is_none());
    // The image the RUN ran in is gone too.
    let images = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", &busybox]);
    assert!(!images.contains("gbb-run"), "{images}");
}

/// The engine's socket the proxy passes requests on to: `DOCKER_HOST` when it names a Unix
/// socket, else Docker's default.
fn engine_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|host| host.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

/// A Docker API proxy on a Unix socket of its own (`<dir>/docker.sock`): it passes every
/// request on to the engine byte for byte, except, once `armed` is set, container removals
/// (`DELETE /containers/...`), which it holds without ever answering, and reports on `held`
/// (before that, gbb removes the builder's containers it commits as usual). A gbb
/// that talks to it is stuck removing its containers after the first Ctrl-C, as with an engine
/// that is slow to stop them, and only the second Ctrl-C can end it. Hand-written (a thread
/// pair per connection): the test needs only to recognise one request line, and each request
/// head arrives as one write (the client waits for an answer before it sends the next).
fn stalling_proxy(
    dir: &std::path::Path,
    armed: Arc<AtomicBool>,
) -> (PathBuf, mpsc::Receiver<String>) {
    let socket = dir.join("docker.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let (held_tx, held) = mpsc::channel();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(engine) = UnixStream::connect(engine_socket()) else {
                return;
            };
            let (mut from_engine, mut to_client) =
                (engine.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_engine, &mut to_client);
                let _ = to_client.shutdown(Shutdown::Write);
            });
            let held_tx = held_tx.clone();
            let armed = armed.clone();
            std::thread::spawn(move || {
                let (mut from_client, mut to_engine) = (client, engine);
                let mut buffer = vec![0u8; 1 << 16];
                loop {
                    let n = match from_client.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let chunk = &buffer[..n];
                    // A request line is short; a large upload's chunks need no full look.
                    let line = String::from_utf8_lossy(&chunk[..n.min(512)])
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if armed.load(Ordering::SeqCst)
                        && line.starts_with("DELETE ")
                        && line.contains("/containers/")
                    {
                        let _ = held_tx.send(line);
                        // Never passed on, never answered: drained until gbb goes.
                        while matches!(from_client.read(&mut buffer), Ok(n) if n > 0) {}
                        break;
                    }
                    if to_engine.write_all(chunk).is_err() {
                        break;
                    }
                }
                let _ = to_engine.shutdown(Shutdown::Write);
            });
        }
    });
    (socket, held)
}

/// Kills gbb (SIGKILL) when the test fails before gbb ends, so that the failure is reported
/// instead of waiting on a gbb stuck in the held removal (whose lock the clean-up would wait on).
struct KillOnPanic(u32);

impl Drop for KillOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

#[test]
fn a_second_ctrl_c_exits_at_once_while_the_first_still_removes() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    stack.write("hello", "build.sh", SLEEPING_HOOK);
    let proxy_dir = tempfile::tempdir().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let (socket, held) = stalling_proxy(proxy_dir.path(), armed.clone());
    let mut child = stack
        .command(&["build", &hello])
        .env(
            crate::harness::engine_host_variable(),
            format!("unix://{}", socket.display()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gbb starts");
    let _guard = KillOnPanic(child.id());
    let container = stack.wait_for_container(&mut child, &hello);
    let (received, reader) = stream_stderr(&mut child);

    armed.store(true, Ordering::SeqCst);
    kill(&child, "INT");
    let first = loop {
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .expect("gbb says what the first Ctrl-C stops");
        if line.contains("interrupted (Ctrl-C)") {
            break line;
        }
    };
    assert!(
        first.contains("removing 1 build container")
            && first.ends_with("; Ctrl-C again exits at once"),
        "{first}"
    );
    // gbb is stuck in the removal now: the engine never answers it.
    let removal = held
        .recv_timeout(Duration::from_secs(20))
        .expect("gbb removes its container");
    assert!(removal.contains(&container[..12]), "{removal}");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "gbb waits for the removal"
    );

    let signalled = Instant::now();
    kill(&child, "INT");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "the second Ctrl-C did not end gbb"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = signalled.elapsed();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(3),
        "gbb took {took:?} to exit: {stderr}"
    );
    assert!(
        stderr.contains(
            "Ctrl-C again: exiting now; containers of this build still there are removed by the next `gbb build` or `gbb clean`"
        ),
        "{stderr}"
    );
    // What the message says: the container is still there, and `gbb clean` removes it.
    assert!(container_exists(&container), "{container} is gone already");
    let run = stack.gbb(&["clean"]);
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "removed container {} ({hello}) of a gbb run that is gone",
            &container[..12]
        )),
        "{}",
        run.stderr
    );
    assert!(!container_exists(&container), "{container} is still there");
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}

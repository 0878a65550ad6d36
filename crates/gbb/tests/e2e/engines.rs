//! `CONTAINER_ENGINE` on the real engine: `dummy` lists the steps and starts no container;
//! an engine gbb does not know is refused for its namespace while the others build.

use crate::harness::{E2eStack, now};

#[test]
fn a_dummy_namespace_builds_nothing_and_starts_no_container() {
    let stack = E2eStack::new();
    let conf = stack.root().join("dock").join(&stack.ns).join("build.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text.replace(
        &format!("CONTAINER_ENGINE=\"{}\"", crate::harness::engine()),
        "CONTAINER_ENGINE=\"dummy\"",
    );
    assert!(text.contains("\"dummy\""), "{text}");
    std::fs::write(&conf, text).unwrap();

    let since = now();
    let run = stack.gbb(&["build"]);
    run.success();
    let until = now() + 1;
    // Every step, in plan order, parents before children.
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<usize>().is_ok())
        })
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    // The plan's order: the same steps, the same order.
    let plan = stack.gbb(&["plan", "--json"]);
    plan.success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let plan: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, plan, "{}", run.stdout);
    assert_eq!(
        order.len(),
        8,
        "a core, a builder, six images: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("emerge app-misc/greet into /emerge-root"),
        "{}",
        run.stdout
    );
    assert_eq!(stack.containers_created(since, until), 0);
    assert!(stack.containers().is_empty());
    assert_eq!(stack.image_id("busybox:latest"), None);
    assert!(
        !stack.root().join(".gbb").exists(),
        "a dry run writes nothing"
    );
}

#[test]
fn an_unknown_engine_is_refused_for_its_namespace_only() {
    let stack = E2eStack::new();
    let odd = format!("{}odd", stack.ns);
    let dir = stack.root().join("dock").join(&odd);
    std::fs::create_dir_all(dir.join("images/app")).unwrap();
    std::fs::write(
        dir.join("build.conf"),
        format!("DEFAULT_BUILDER={}/bob\nBUILD_ENGINE=rkt\n", stack.ns),
    )
    .unwrap();
    std::fs::write(
        dir.join("images/app/build.conf"),
        format!("IMAGE_PARENT={}/busybox\n", stack.ns),
    )
    .unwrap();

    stack.gbb(&["plan"]).success();
    let run = stack.gbb(&["build", &stack.id("busybox"), &format!("{odd}/app")]);
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: dock/{odd}/build.conf:2:1: BUILD_ENGINE=`rkt` is not an engine gbb knows (docker, podman or dummy); not built: {odd}/app"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.result_of(&stack.id("busybox")), "built");
    assert!(stack.image_id("busybox:latest").is_some());
}

/// A table row of gbb's output, cut into its columns (separated by two spaces or more), with
/// the test's names made stable: its namespace `ns` (the Podman one `nsp`) and the build
/// root's file name, which names the core.
fn columns(stack: &E2eStack, line: &str) -> Vec<String> {
    let build_root = stack.build_root().file_name().unwrap().to_string_lossy();
    line.replace(&stack.ns, "ns")
        .replace(build_root.as_ref(), "<build root>")
        .split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Runs the docker command against the engine at `host` (Docker's or Podman's socket).
fn docker_at(host: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .env("DOCKER_HOST", host)
        .output()
        .expect("the docker command runs")
}

/// Issue 13: a stack with one namespace on Docker and one on Podman builds both as one build,
/// each namespace's steps on its own engine (the core is made on each and named with its
/// engine), both at once, with one summary; a failure on one engine lets the other's work go
/// on, and `--fail-fast` stops both. `plan --status`, `verify` and `--output` work over both
/// engines, and `clean` cleans both. An image whose parent is on the other engine is refused
/// with the link of the chain and where each engine is set. The engines are named
/// explicitly, whatever `GBB_TEST_ENGINE` says, so `scripts/test` runs this once, in the
/// Docker pass.
#[test]
fn namespaces_on_docker_and_podman_build_each_on_its_engine() {
    let docker_host = "unix:///var/run/docker.sock";
    let podman_host = gbb_engine::ROOTFUL_SOCKET;
    let stack = E2eStack::new();
    let ns_dir = stack.root().join("dock").join(&stack.ns);
    // This namespace on Docker, a second one (its own builder, busybox on scratch) on Podman.
    let conf = ns_dir.join("build.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text.replace("CONTAINER_ENGINE=\"podman\"", "CONTAINER_ENGINE=\"docker\"");
    std::fs::write(&conf, &text).unwrap();
    let pod = format!("{}p", stack.ns);
    let pod_dir = stack.root().join("dock").join(&pod);
    std::fs::create_dir_all(pod_dir.join("images")).unwrap();
    std::fs::write(
        pod_dir.join("build.conf"),
        text.replace("CONTAINER_ENGINE=\"docker\"", "CONTAINER_ENGINE=\"podman\""),
    )
    .unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    copy(&ns_dir.join("builder/bob"), &pod_dir.join("builder/bob"));
    copy(
        &ns_dir.join("images/busybox"),
        &pod_dir.join("images/busybox"),
    );
    // A Podman image on the Docker namespace's busybox.
    std::fs::create_dir_all(pod_dir.join("images/over")).unwrap();
    std::fs::write(
        pod_dir.join("images/over/build.conf"),
        format!("IMAGE_PARENT={}\n", stack.id("busybox")),
    )
    .unwrap();

    let pod_busybox = format!("{pod}/busybox");
    // gbb with each engine's address.
    let run = |args: &[&str]| {
        let output = stack
            .command(args)
            .env("DOCKER_HOST", docker_host)
            .env("CONTAINER_HOST", podman_host)
            .output()
            .expect("gbb runs");
        crate::harness::Run::from(output)
    };
    let crate::harness::Run { code, stderr, .. } =
        run(&["build", &stack.id("busybox"), &pod_busybox]);
    assert_eq!(code, Some(0), "{stderr}");
    // One summary for both engines; the core, made on each, is named with its engine (it
    // may be up to date already, made by another test: its result and WHY are left out).
    let summary: Vec<String> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("Built "))
        .skip(1)
        .map(|line| {
            let cells = columns(&stack, line);
            let kept = if cells[0].starts_with("core:") {
                vec![0]
            } else {
                // STEP, RESULT, WHY: times and sizes vary.
                vec![0, 1, cells.len() - 1]
            };
            let cells: Vec<&str> = kept.into_iter().map(|i| cells[i].as_str()).collect();
            cells.join(" | ")
        })
        .collect();
    assert!(
        stderr.contains("\nBuilt ") && stderr.contains(" of 6 steps in "),
        "{stderr}"
    );
    insta::assert_snapshot!("mixed_build_summary", summary.join("\n"));
    let on = |host: &str, image: &str| {
        docker_at(host, &["image", "inspect", &format!("{image}:latest")])
            .status
            .success()
    };
    assert!(on(docker_host, &stack.id("busybox")), "{stderr}");
    assert!(!on(podman_host, &stack.id("busybox")), "not on Podman");
    assert!(on(podman_host, &pod_busybox), "{stderr}");
    assert!(!on(docker_host, &pod_busybox), "not on Docker");
    // The image runs where it was built.
    let ran = docker_at(
        podman_host,
        &[
            "run",
            "--rm",
            "--entrypoint",
            "/bin/busybox",
            &pod_busybox,
            "true",
        ],
    );
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );

    // What the other commands make of the two engines: `plan` names each step's engine and
    // `--status` asks each engine about its steps; `verify` rebuilds each image on its
    // engine; `--output` writes both images from gbb's store.
    let plan = run(&["plan", "--status", &stack.id("busybox"), &pod_busybox]);
    plan.success();
    let table: Vec<String> = plan
        .stdout
        .lines()
        .map(|line| columns(&stack, line).join(" | "))
        .collect();
    insta::assert_snapshot!("mixed_plan_status", table.join("\n"));
    let verify = run(&["verify", &stack.id("busybox"), &pod_busybox]);
    verify.success();
    assert!(
        verify
            .stdout
            .starts_with(&format!("{} same sha256:", stack.id("busybox")))
            && verify
                .stdout
                .contains(&format!("\n{pod_busybox} same sha256:")),
        "{}\n{}",
        verify.stdout,
        verify.stderr
    );
    let layout = stack.root().join("both");
    let output = format!("oci:{}", layout.display());
    let written = run(&[
        "build",
        &stack.id("busybox"),
        &pod_busybox,
        "--output",
        &output,
    ]);
    written.success();
    let wrote = written
        .stderr
        .lines()
        .find(|l| l.starts_with(&format!("wrote {output}: ")))
        .unwrap_or_else(|| panic!("{}", written.stderr));
    for id in [stack.id("busybox"), pod_busybox.clone()] {
        assert!(wrote.contains(&format!(" {id}:latest")), "{wrote}");
    }
    assert!(layout.join("index.json").is_file());

    // A failure on Docker: Podman's independent work goes on, and the build fails (exit 1)
    // with the one failure; with --fail-fast (one step at a time: Docker's busybox comes
    // first) nothing new starts on Podman.
    stack.write(
        "busybox",
        "build.sh",
        "_packages=\"sys-apps/busybox\"\nconfigure_rootfs_build() {\n    false\n}\n",
    );
    let busybox = stack.id("busybox");
    let failed = run(&["build", "-f", "-j", "2", &busybox, &pod_busybox]);
    assert_eq!(failed.code, Some(1), "{}", failed.stderr);
    assert!(
        failed.stderr.contains(&format!(
            "error: {busybox}: configure_rootfs_build failed with status 1"
        )),
        "{}",
        failed.stderr
    );
    assert_eq!(failed.result_of(&busybox), "failed", "{}", failed.stderr);
    assert_eq!(failed.result_of(&pod_busybox), "built", "{}", failed.stderr);
    let stopped = run(&[
        "build",
        "-f",
        "-j",
        "1",
        "--fail-fast",
        &busybox,
        &pod_busybox,
    ]);
    assert_eq!(stopped.code, Some(1), "{}", stopped.stderr);
    assert_eq!(stopped.result_of(&busybox), "failed", "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .lines()
            .any(|l| l.trim_start().starts_with(&pod_busybox)
                && l.contains("not started (stopped after a failure (--fail-fast))")),
        "{}",
        stopped.stderr
    );

    // Ctrl-C: the build exits 130 and leaves no container on either engine. One step at a
    // time, while Docker's busybox runs (it comes first), Podman's is not started; two at a
    // time, with both busyboxes' hooks waiting, both containers are removed.
    let sleeping = "_packages=\"sys-apps/busybox\"\nconfigure_rootfs_build() {\n    echo waiting\n    sleep 120\n}\n";
    stack.write("busybox", "build.sh", sleeping);
    let containers = |host: &str| {
        let listed = docker_at(host, &["ps", "-aq", "--filter", "label=org.gentoo-bb.id"]);
        String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|id| {
                let labels = docker_at(
                    host,
                    &[
                        "inspect",
                        "--format",
                        "{{index .Config.Labels \"org.gentoo-bb.id\"}}",
                        id,
                    ],
                );
                let id = String::from_utf8_lossy(&labels.stdout);
                id.trim() == busybox || id.trim() == pod_busybox
            })
            .count()
    };
    let interrupt = |jobs: &str, hosts: &[&str]| {
        let child = stack
            .command(&["build", "-f", "-j", jobs, &busybox, &pod_busybox])
            .env("DOCKER_HOST", docker_host)
            .env("CONTAINER_HOST", podman_host)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("gbb starts");
        let waiting = std::time::Instant::now();
        while hosts.iter().any(|host| containers(host) == 0) {
            assert!(
                waiting.elapsed() < std::time::Duration::from_secs(120),
                "phase 1 did not start on {hosts:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let signalled = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(signalled.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert_eq!(containers(docker_host), 0, "{stderr}");
        assert_eq!(containers(podman_host), 0, "{stderr}");
        stderr
    };
    let stderr = interrupt("1", &[docker_host]);
    assert!(
        !stderr.contains(&format!("==> {pod_busybox}")),
        "nothing of {pod_busybox} started: {stderr}"
    );
    std::fs::write(pod_dir.join("images/busybox/build.sh"), sleeping).unwrap();
    let stderr = interrupt("2", &[docker_host, podman_host]);
    assert!(
        stderr.contains("interrupted (Ctrl-C): ") && stderr.contains("removing 2 build containers"),
        "{stderr}"
    );

    let crate::harness::Run { code, stderr, .. } = run(&["build", &format!("{pod}/over")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: it is built on podman (CONTAINER_ENGINE at dock/{pod}/build.conf:4:1), but `{}`, which it is built on, is built on docker (CONTAINER_ENGINE at dock/{}/build.conf:4:1); an image, its parent and its builder must be on one engine; not built: {pod}/over",
            stack.id("busybox"),
            stack.ns
        )),
        "{stderr}"
    );

    // Cleaning the stack cleans both engines.
    let crate::harness::Run { code, stderr, .. } = run(&["clean", "--images"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!on(podman_host, &pod_busybox), "{stderr}");
    assert!(!on(docker_host, &stack.id("busybox")), "{stderr}");
}

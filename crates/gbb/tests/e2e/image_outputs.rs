//! Images beside the engine (issue 11): `gbb push` straight to a registry from gbb's store
//! (a real `docker-registry` on 127.0.0.1, with basic auth and with TLS), and
//! `gbb build --output oci:DIR|docker-archive:FILE`, checked with skopeo, umoci and
//! `docker load`.
//!
//! Each test builds the example stack's `hello` with `gbb build` (its image then is in gbb's
//! store, its manifest digest in `.gbb/build/<id>/manifest`). The push tests point
//! `DOCKER_HOST` at a socket that does not exist: a push from the store needs no engine.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gbb_registry::local_registry::{LocalRegistry, LocalRegistryOptions};
use gbb_registry::{Credentials, Login, RegistryClient};

use crate::harness::{E2eStack, Run, docker};

/// Builds `name` and returns the manifest digest its build recorded.
fn build(stack: &E2eStack, name: &str) -> String {
    stack.gbb(&["build", &stack.id(name)]).success();
    manifest_digest(stack, name)
}

/// The manifest digest of `name`'s last build.
fn manifest_digest(stack: &E2eStack, name: &str) -> String {
    let file = stack
        .root()
        .join(".gbb/build")
        .join(stack.id(name))
        .join("manifest");
    let digest = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .trim()
        .to_owned();
    assert!(digest.starts_with("sha256:"), "{digest}");
    digest
}

/// `gbb ARGS` with no engine, `DOCKER_CONFIG` at `docker_config` and `stdin` on standard
/// input.
fn push(stack: &E2eStack, docker_config: &Path, args: &[&str], stdin: &str) -> Run {
    push_with_path(stack, docker_config, args, stdin, None)
}

/// [`push`] with `bin` in front of `PATH`.
fn push_with_path(
    stack: &E2eStack,
    docker_config: &Path,
    args: &[&str],
    stdin: &str,
    bin: Option<&Path>,
) -> Run {
    let mut command = stack.command(args);
    if let Some(bin) = bin {
        let path = std::env::var("PATH").unwrap_or_default();
        command.env("PATH", format!("{}:{path}", bin.display()));
    }
    let mut child = command
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("DOCKER_CONFIG", docker_config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The digest the registry serves for `reference`.
fn remote_digest(registry: &LocalRegistry, login: Login, reference: &str) -> String {
    RegistryClient::new(&registry.connect_options(), login)
        .unwrap()
        .manifest_digest(reference)
        .unwrap()
}

#[test]
fn push_from_the_store_needs_no_engine_and_sends_no_blob_twice() {
    let user = Credentials {
        username: "pusher".to_owned(),
        password: "correct horse".to_owned(),
    };
    let registry = LocalRegistry::start(&LocalRegistryOptions {
        basic_auth: Some(user.clone()),
        tls: false,
    });
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let digest = build(&stack, "hello");
    let no_config = tempfile::tempdir().unwrap();
    let address = registry.address();
    let args = [
        "push",
        &hello,
        "--registry",
        &address,
        "--insecure",
        "--username",
        "pusher",
        "--password-stdin",
    ];

    // A wrong password: refused, the registry named, nothing pushed.
    let run = push(&stack, no_config.path(), &args, "wrong\n");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "the registry `{address}` refused access to `{hello}` (wrong user name or password"
        )),
        "{}",
        run.stderr
    );

    // No credentials, and docker's login is in a credential helper gbb does not run.
    let helper_config = tempfile::tempdir().unwrap();
    std::fs::write(
        helper_config.path().join("config.json"),
        r#"{"auths": {}, "credsStore": "gbb-absent"}"#,
    )
    .unwrap();
    let run = push(
        &stack,
        helper_config.path(),
        &["push", &hello, "--registry", &address, "--insecure"],
        "",
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "the registry `{address}` refused access to `{hello}` (it wants credentials"
        )) && run.stderr.contains(&format!(
            "hint: docker's config.json names the credential helper \
             `docker-credential-gbb-absent`, which has no login for `{address}` or is not \
             installed; run `docker login {address}`, or pass --username and --password-stdin"
        )),
        "{}",
        run.stderr
    );

    let run = push(&stack, no_config.path(), &args, "correct horse\n");
    run.success();
    // The second tag is in the same repository: its blobs are there already.
    for (tag, sent) in [("latest", 2), ("2026.11", 0)] {
        let reference = format!("{address}/{hello}:{tag}");
        assert!(
            run.stderr.contains(&format!(
                "pushed {reference} {digest} ({sent} of 2 blobs sent"
            )),
            "{}",
            run.stderr
        );
        assert_eq!(
            remote_digest(&registry, Login::Basic(user.clone()), &reference),
            digest,
            "the registry serves the manifest gbb built"
        );
    }

    // Again, with the login from a docker config.json (as `docker login` writes it): no blob
    // is sent, every one is reported skipped.
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{"{address}": {{"auth": "cHVzaGVyOmNvcnJlY3QgaG9yc2U="}}}}}}"#),
    )
    .unwrap();
    let run = push(
        &stack,
        config.path(),
        &["-v", "push", &hello, "--registry", &address, "--insecure"],
        "",
    );
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "pushed {address}/{hello}:2026.11 {digest} (0 of 2 blobs sent"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches(" skipped (the registry has it)").count(),
        4,
        "a layer and the config for each tag: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(" sent ("), "{}", run.stderr);

    // And from a credential helper of the test's own, as `docker login` with one keeps it.
    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-gbbtest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread -r server\n[ \"$1 $server\" = \"get {address}\" ] || exit 1\n\
             echo '{{\"Username\":\"pusher\",\"Secret\":\"correct horse\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{"{address}": {{}}}}, "credHelpers": {{"{address}": "gbbtest"}}}}"#),
    )
    .unwrap();
    let run = push_with_path(
        &stack,
        config.path(),
        &["push", &hello, "--registry", &address, "--insecure"],
        "",
        Some(bin.path()),
    );
    run.success();
    assert!(
        run.stderr.contains(&format!(
            "pushed {address}/{hello}:latest {digest} (0 of 2 blobs sent"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn a_child_pushed_after_its_parent_gets_the_parents_layers_mounted_not_sent() {
    let registry = LocalRegistry::start(&LocalRegistryOptions::default());
    let stack = E2eStack::new();
    let (glibc, greet) = (stack.id("glibc"), stack.id("greet"));
    let greet_digest = build(&stack, "greet");
    let no_config = tempfile::tempdir().unwrap();
    let address = registry.address();
    // Parents first, as the plan orders them.
    let run = push(
        &stack,
        no_config.path(),
        &[
            "-v",
            "push",
            &greet,
            &glibc,
            "--registry",
            &address,
            "--insecure",
        ],
        "",
    );
    run.success();
    let glibc_push = run
        .stderr
        .find(&format!("pushed {address}/{glibc}:latest"))
        .expect("glibc is pushed");
    let mounted = format!("skipped (mounted from `{glibc}`)");
    assert!(
        run.stderr[glibc_push..].contains(&mounted),
        "greet's bottom layer comes from glibc's repository: {}",
        run.stderr
    );
    assert!(
        !run.stderr[..glibc_push].contains("mounted"),
        "{}",
        run.stderr
    );
    assert_eq!(
        remote_digest(
            &registry,
            Login::Anonymous,
            &format!("{address}/{greet}:2026.11")
        ),
        greet_digest
    );
}

#[test]
fn push_over_tls_trusts_the_ca_given() {
    let registry = LocalRegistry::start(&LocalRegistryOptions {
        basic_auth: None,
        tls: true,
    });
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let digest = build(&stack, "hello");
    let no_config = tempfile::tempdir().unwrap();
    let address = registry.address();

    // Without the CA the certificate is refused.
    let run = push(
        &stack,
        no_config.path(),
        &["push", &hello, "--registry", &address],
        "",
    );
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains(&format!("cannot reach the registry `{address}`")),
        "{}",
        run.stderr
    );

    let ca = registry.ca_cert().unwrap();
    let run = push(
        &stack,
        no_config.path(),
        &[
            "push",
            &hello,
            "--registry",
            &address,
            "--ca-cert",
            ca.to_str().unwrap(),
        ],
        "",
    );
    run.success();
    assert_eq!(
        remote_digest(
            &registry,
            Login::Anonymous,
            &format!("{address}/{hello}:latest")
        ),
        digest
    );
}

/// The stack's image store holds what its kept images use and nothing else: a rebuild with
/// a changed template leaves the old manifest and config behind only until the build ends,
/// and `gbb clean ID` takes the image's own blobs with its outputs.
#[test]
fn the_store_keeps_only_what_kept_images_use() {
    let stack = E2eStack::new();
    let blobs_dir = stack.root().join(".gbb/images/blobs/sha256");
    let stored = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(&blobs_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    // Every blob a kept `manifest` file names: manifest, config, layers.
    let used = || -> std::collections::BTreeSet<String> {
        let mut used = std::collections::BTreeSet::new();
        for manifest in glob_manifests(&stack.root().join(".gbb/build")) {
            let digest = std::fs::read_to_string(manifest).unwrap();
            let hex = digest.trim().trim_start_matches("sha256:").to_owned();
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(blobs_dir.join(&hex)).unwrap()).unwrap();
            used.insert(hex);
            let digests = json["layers"]
                .as_array()
                .unwrap()
                .iter()
                .chain([&json["config"]])
                .map(|d| {
                    d["digest"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("sha256:")
                        .to_owned()
                });
            used.extend(digests);
        }
        used
    };
    let first = build(&stack, "hello");
    assert_eq!(stored(), used());

    let template = stack.image_dir("hello").join("Dockerfile.template");
    let text = std::fs::read_to_string(&template).unwrap();
    stack.write(
        "hello",
        "Dockerfile.template",
        &format!("{text}LABEL org.example.pruned=yes\n"),
    );
    let second = build(&stack, "hello");
    assert_ne!(first, second);
    assert_eq!(
        stored(),
        used(),
        "the first build's manifest and config went"
    );
    assert!(!stored().contains(first.trim_start_matches("sha256:")));

    stack.gbb(&["clean", &stack.id("hello")]).success();
    assert_eq!(stored(), used(), "hello's own blobs went with its outputs");
    assert!(!stored().contains(second.trim_start_matches("sha256:")));
}

/// A push waits for a build of the same stack to end, then sends what that build made (the
/// build prunes the blobs of the image it replaced from the store when it ends).
#[test]
fn push_waits_for_a_build_of_the_stack() {
    let registry = LocalRegistry::start(&LocalRegistryOptions::default());
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let first = build(&stack, "hello");
    let build_sh = std::fs::read_to_string(stack.image_dir("hello").join("build.sh")).unwrap();
    stack.write(
        "hello",
        "build.sh",
        &format!("{build_sh}\nconfigure_rootfs_build() {{\n    sleep 3\n}}\n"),
    );
    let mut building = stack.spawn(&["build", &hello]);
    stack.wait_for_container(&mut building, "hello");
    let no_config = tempfile::tempdir().unwrap();
    let address = registry.address();
    let run = push(
        &stack,
        no_config.path(),
        &["push", &hello, "--registry", &address, "--insecure"],
        "",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("waiting for a gbb build on this stack (pid"),
        "{}",
        run.stderr
    );
    assert!(building.wait().unwrap().success());
    let second = manifest_digest(&stack, "hello");
    assert_ne!(first, second);
    assert_eq!(
        remote_digest(
            &registry,
            Login::Anonymous,
            &format!("{address}/{hello}:latest")
        ),
        second,
        "the push sent what the build it waited for made"
    );
}

/// The `manifest` files under `build` (`<ns>/<name>/manifest`).
fn glob_manifests(build: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for namespace in std::fs::read_dir(build).unwrap() {
        for image in std::fs::read_dir(namespace.unwrap().path()).unwrap() {
            let manifest = image.unwrap().path().join("manifest");
            if manifest.is_file() {
                found.push(manifest);
            }
        }
    }
    found
}

#[test]
fn push_falls_back_to_the_engine_for_an_image_the_store_lacks() {
    let registry = LocalRegistry::start(&LocalRegistryOptions::default());
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let run = stack.gbb(&["push", &hello, "--registry", &registry.address()]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{hello}: it has no image in gbb's store (no `.gbb/build/{hello}/manifest`; build \
             it with `gbb build`); pushing the engine's image instead"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "`{hello}:latest` is not built; run: gbb build {hello}"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_outputs_are_refused_before_anything_builds() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let run = stack.gbb(&["build", &hello, "--output", "tar:out.tar"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "`tar:out.tar` is not an output: write `oci:DIR` (an OCI image layout) or \
             `docker-archive:FILE` (for `docker load`)"
        ),
        "{}",
        run.stderr
    );
    let run = stack.gbb(&["build", &hello, "--output", "oci:missing/layout"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot write `oci:missing/layout`: the folder `missing` does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Built"),
        "nothing was built: {}",
        run.stderr
    );
    assert!(stack.image_id("hello:latest").is_none());
}

/// Runs `program ARGS`, failing the test with its stderr when it fails; its stdout.
fn tool(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/setup-test-machine): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn build_output_writes_a_layout_and_an_archive_that_tools_and_docker_read() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    let out = tempfile::tempdir().unwrap();
    let layout: PathBuf = out.path().join("layout");
    let archive: PathBuf = out.path().join("hello.tar");
    let run = stack.gbb(&[
        "build",
        &hello,
        "--output",
        &format!("oci:{}", layout.display()),
        "--output",
        &format!("docker-archive:{}", archive.display()),
    ]);
    run.success();
    for output in [
        format!("oci:{}", layout.display()),
        format!("docker-archive:{}", archive.display()),
    ] {
        assert!(
            run.stderr
                .contains(&format!("wrote {output}: {hello}:latest, {hello}:2026.11")),
            "{}",
            run.stderr
        );
    }
    let digest = manifest_digest(&stack, "hello");
    // Docker's image id is the config's digest, the same for the built image and every copy.
    let image_id = stack.image_id("hello:2026.11").unwrap();
    let greeting = "Hello from a static gentoo-bb image";

    // skopeo reads the layout under the image's full name: the manifest gbb built.
    let inspect = tool(
        "skopeo",
        &[
            "inspect",
            &format!("oci:{}:{hello}:2026.11", layout.display()),
        ],
    );
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspect["Digest"], digest, "{inspect}");
    // umoci unpacks it into a runtime bundle with the image's program.
    let bundle = out.path().join("bundle");
    tool(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:{hello}:latest", layout.display()),
            bundle.to_str().unwrap(),
        ],
    );
    assert!(bundle.join("rootfs/bin/hello").is_file());
    assert!(bundle.join("config.json").is_file());
    // And the engine takes it back from the layout: same id, it runs. A name with a registry
    // part, so that both engines keep it as given (Podman files a short name a loaded archive
    // carries under `localhost/`, and then looks a short name up under `docker.io/`).
    let copied = format!("localhost/{hello}:from-layout");
    // skopeo's `docker-daemon:` reads no DOCKER_HOST: the engine the tests use is passed on.
    let daemon_host = std::env::var("DOCKER_HOST").unwrap_or_default();
    let mut copy = vec![
        "copy".to_owned(),
        format!("oci:{}:{hello}:2026.11", layout.display()),
        format!("docker-daemon:{copied}"),
    ];
    if !daemon_host.is_empty() {
        copy.insert(1, format!("--dest-daemon-host={daemon_host}"));
    }
    tool(
        "skopeo",
        &copy.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(
        docker(&["image", "inspect", "--format", "{{.Id}}", &copied]).trim(),
        image_id
    );
    assert_eq!(
        docker(&["run", "--rm", "--network", "none", &copied]).trim(),
        greeting
    );

    // `docker load` brings both tags back after they are removed (the stack's images are
    // removed with the test's namespace when it ends).
    docker(&[
        "rmi",
        &format!("{hello}:latest"),
        &format!("{hello}:2026.11"),
        &copied,
    ]);
    assert!(stack.image_id("hello:2026.11").is_none());
    let loaded = tool("docker", &["load", "-i", archive.to_str().unwrap()]);
    assert!(loaded.contains(&format!("{hello}:2026.11")), "{loaded}");
    for tag in ["latest", "2026.11"] {
        assert_eq!(
            stack.image_id(&format!("hello:{tag}")).as_deref(),
            Some(image_id.as_str()),
            "{tag}"
        );
    }
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &format!("{hello}:2026.11")
        ])
        .trim(),
        greeting
    );
}

#[test]
fn a_user_name_needs_its_password_from_stdin() {
    let stack = E2eStack::new();
    let hello = stack.id("hello");
    for args in [
        vec!["push", &hello, "--username", "someone"],
        vec!["push", &hello, "--password-stdin"],
    ] {
        let run = stack.gbb(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("the following required arguments were not provided"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // An empty standard input is no password.
    build(&stack, "hello");
    let no_config = tempfile::tempdir().unwrap();
    let run = push(
        &stack,
        no_config.path(),
        &[
            "push",
            &hello,
            "--registry",
            "127.0.0.1:1",
            "--username",
            "someone",
            "--password-stdin",
        ],
        "",
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--password-stdin: standard input is empty"),
        "{}",
        run.stderr
    );
}

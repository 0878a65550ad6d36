//! A stage3 release fetched from a mirror (served by the test on 127.0.0.1, signed with a key
//! made by the test), verified, imported and built on, with the real engine.

use gbb_gentoo::test_mirror::{Behaviour, Mirror};
use gbb_gentoo::testing::{clearsign, detached, test_key};
use sha2::Digest;

use crate::harness::{E2eStack, docker};

/// The example stack on a stage3 release served by a mirror on 127.0.0.1 (signed with a key
/// made here, written to `keys.asc` in the stack), with an empty cache of its own.
///
/// The release is named after the test's namespace (`stage3-amd64-<ns>`), so the core and
/// the stage3 import made from it are this test's alone, and the stack's drop removes them.
/// They are shared images, which `gbb clean` leaves, and a release signed with a new key on
/// each run has new content keys: each run would add two images to the engine for good.
struct ReleaseStack {
    stack: E2eStack,
    _mirror: Mirror,
    cache: tempfile::TempDir,
    /// The release's `STAGE3_BASE`.
    base: String,
    /// The release's file name.
    name: String,
}

impl ReleaseStack {
    fn new() -> Self {
        let mut stack = E2eStack::new();
        let base = format!("stage3-amd64-{}", stack.ns);
        stack.remove_on_drop(format!("gbb-core/{base}-latest"));
        stack.remove_on_drop(format!("gbb-stage3/{base}-latest"));
        let tarball = std::fs::read(stack.build_root()).unwrap();
        let (key, public) = test_key("Test Release Engineering <releng@example.org>");
        let mirror = Mirror::start();
        let date = "20261101T000000Z";
        let name = format!("{base}-{date}.tar");
        let autobuilds = "releases/amd64/autobuilds";
        mirror.put(
            &format!("{autobuilds}/latest-{base}.txt"),
            Behaviour::Serve(
                clearsign(&key, &format!("{date}/{name} {}\n", tarball.len())).into_bytes(),
            ),
        );
        let sha: String = sha2::Sha512::digest(&tarball)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        mirror.put(
            &format!("{autobuilds}/{date}/{name}.DIGESTS"),
            Behaviour::Serve(
                clearsign(&key, &format!("# SHA512 HASH\n{sha}  {name}\n")).into_bytes(),
            ),
        );
        mirror.put(
            &format!("{autobuilds}/{date}/{name}.asc"),
            Behaviour::Serve(detached(&key, &tarball).into_bytes()),
        );
        mirror.put(
            &format!("{autobuilds}/{date}/{name}"),
            Behaviour::Serve(tarball),
        );

        // The example stack, on the release instead of the local build root.
        let global = stack.root().join("build.conf");
        let text = std::fs::read_to_string(&global).unwrap();
        let start = text.find("STAGE3_FILE=").unwrap();
        let end = start + text[start..].find('\n').unwrap();
        std::fs::write(
            &global,
            format!(
                "{}STAGE3_BASE={base}\nMIRROR=\"{}\"{}",
                &text[..start],
                mirror.url,
                &text[end..]
            ),
        )
        .unwrap();
        std::fs::write(stack.root().join("keys.asc"), public).unwrap();
        let cache = tempfile::tempdir().unwrap();
        Self {
            stack,
            _mirror: mirror,
            cache,
            base,
            name,
        }
    }

    /// `gbb ARGS` with the stack's own cache, and with its keyring when `keyring`.
    fn command(&self, args: &[&str], keyring: bool) -> std::process::Command {
        let mut command = self.stack.command(args);
        command.env("GBB_CACHE_DIR", self.cache.path());
        if keyring {
            command.env("GENTOO_KEYRING", self.stack.root().join("keys.asc"));
        }
        command
    }
}

#[test]
fn a_downloaded_stage3_is_verified_imported_and_built_on() {
    let ReleaseStack {
        stack,
        _mirror,
        cache,
        base,
        name,
    } = ReleaseStack::new();
    let hello = stack.id("hello");

    // Without a keyring: refused before anything runs.
    let run = stack
        .command(&["build", &hello])
        .env("GBB_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("set GENTOO_KEYRING"));

    let output = stack
        .command(&["build", &hello])
        .env("GBB_CACHE_DIR", cache.path())
        .env("GENTOO_KEYRING", stack.root().join("keys.asc"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("core:{base}-latest")), "{stderr}");
    assert!(
        cache.path().join("stage3").join(&name).is_file(),
        "verified into the cache under its name"
    );
    assert_eq!(
        docker(&["run", "--rm", &hello]).trim(),
        "Hello from a static gentoo-bb image"
    );
}

/// `gbb shell` prepares its container as a build does: the release its builder starts from is
/// checked against the same keyring (it was fetched without one before).
#[test]
fn shell_on_a_release_checks_it_with_the_keyring() {
    let release = ReleaseStack::new();
    let stack = &release.stack;
    let hello = stack.id("hello");
    let output = release.command(&["build", &hello], true).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut shell = release.command(&["shell", &hello], true);
    shell.stdin(std::process::Stdio::piped());
    let mut child = shell
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"ls /var/db/repos/gentoo/profiles/repo_name && exit 4\n")
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(4),
        "the shell's exit code: {stderr}"
    );
    assert!(
        stderr.contains(&format!("gbb shell: {hello} in ")),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("/var/db/repos/gentoo/profiles/repo_name"),
        "the core's tree is mounted: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    // The release stays the one verified into the cache.
    assert!(
        release
            .cache
            .path()
            .join("stage3")
            .join(&release.name)
            .is_file()
    );
}

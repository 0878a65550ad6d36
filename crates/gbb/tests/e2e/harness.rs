use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The engine the tests build on: `GBB_TEST_ENGINE`, `docker` (the default) or `podman`.
/// `scripts/test` runs the suite once per engine. With `podman`, every copied stack names
/// Podman as its namespace's engine, and the `docker` command the tests inspect the engine
/// with must talk to Podman's service: `DOCKER_HOST` names its socket (`scripts/test` sets
/// it; the Docker API of Podman answers the docker command).
pub(crate) fn engine() -> &'static str {
    match std::env::var("GBB_TEST_ENGINE").as_deref() {
        Err(_) | Ok("" | "docker") => "docker",
        Ok("podman") => {
            let host = std::env::var("DOCKER_HOST").unwrap_or_default();
            assert!(
                host.contains("podman"),
                "GBB_TEST_ENGINE=podman: set DOCKER_HOST to Podman's socket (unix:///run/podman/podman.sock), so the tests' docker command looks at Podman, not `{host}`"
            );
            "podman"
        }
        Ok(other) => panic!("GBB_TEST_ENGINE=`{other}`: docker or podman"),
    }
}

/// The variable that points gbb at the engine under test (`DOCKER_HOST` for Docker,
/// `CONTAINER_HOST` for Podman), for the tests that point it elsewhere.
pub(crate) fn engine_host_variable() -> &'static str {
    match engine() {
        "podman" => "CONTAINER_HOST",
        _ => "DOCKER_HOST",
    }
}

/// The test build root, which `scripts/test` makes; a missing one fails the test.
fn build_root() -> PathBuf {
    let path = std::env::var_os("GBB_TEST_BUILD_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/gbb/test-build-root.tar")
        });
    assert!(
        path.is_file(),
        "the test build root `{}` is missing: run scripts/test (or scripts/test-build-root)",
        path.display()
    );
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".gbb" || name == "PACKAGES.md" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs the docker command line (tests inspect the engine with it; gbb itself uses the API).
///
/// On Podman a listing fails when an image or container goes while it is made (another test
/// removing its own); it is asked again, as gbb does (gbb-engine's `podman.rs`).
pub(crate) fn docker(args: &[&str]) -> String {
    let mut attempts = 0;
    let output = loop {
        let output = Command::new("docker")
            .args(args)
            .output()
            .expect("the docker command runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lost_race = stderr.contains("image not known") || stderr.contains("no such");
        if output.status.success() || engine() != "podman" || !lost_race || attempts == 5 {
            break output;
        }
        attempts += 1;
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Seconds since the epoch, as docker events takes them.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A copy of the example stack, with its namespace renamed to one only this test uses.
pub(crate) struct E2eStack {
    _dir: tempfile::TempDir,
    root: PathBuf,
    pub(crate) ns: String,
    build_root: PathBuf,
    /// Repositories of shared images this test alone made (see [`E2eStack::remove_on_drop`]).
    shared: Vec<String>,
}

/// What a run of gbb showed.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub(crate) fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The summary row of `id` (the last line about it): `built`, `skipped`, `failed`, `not`.
    pub(crate) fn result_of(&self, id: &str) -> String {
        self.stderr
            .lines()
            .rev()
            .find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some(id)).then(|| words.next().unwrap_or_default().to_owned())
            })
            .unwrap_or_else(|| panic!("no summary row for {id}:\n{}", self.stderr))
    }
}

impl E2eStack {
    pub(crate) fn new() -> Self {
        let build_root = build_root();
        let dir = tempfile::tempdir().unwrap();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let root = dir.path().join("stack");
        copy_dir(&examples.join("stack"), &root);
        // The repository's tree, not a copy: the core's key hashes the tree's files (with their
        // times), so every test shares one core instead of making one each.
        let portage = std::fs::canonicalize(examples.join("portage")).unwrap();
        let global = root.join("build.conf");
        let text = std::fs::read_to_string(&global).unwrap();
        let text = text.replace(
            "PORTAGE_DIR=\"../portage\"",
            &format!("PORTAGE_DIR=\"{}\"", portage.display()),
        );
        assert!(
            text.contains(&portage.display().to_string()),
            "the example names its tree: {text}"
        );
        std::fs::write(&global, text).unwrap();
        let ns = format!(
            "e2e{}n{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        std::fs::rename(root.join("dock/example"), root.join("dock").join(&ns)).unwrap();
        if engine() != "docker" {
            let conf = root.join("dock").join(&ns).join("build.conf");
            let text = std::fs::read_to_string(&conf).unwrap();
            let named = text.replace(
                "CONTAINER_ENGINE=\"docker\"",
                &format!("CONTAINER_ENGINE=\"{}\"", engine()),
            );
            assert_ne!(text, named, "the example names its engine: {text}");
            std::fs::write(&conf, named).unwrap();
        }
        Self {
            _dir: dir,
            root,
            ns,
            build_root,
            shared: Vec::new(),
        }
    }

    /// Have the drop also remove the images of `repository`, after the stack's own: for
    /// shared images (cores, stage3 imports) that this test alone made and that `gbb clean`
    /// rightly leaves.
    pub(crate) fn remove_on_drop(&mut self, repository: String) {
        self.shared.push(repository);
    }

    /// The stack's folder.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The test build root tarball.
    pub(crate) fn build_root(&self) -> &Path {
        &self.build_root
    }

    pub(crate) fn id(&self, name: &str) -> String {
        format!("{}/{name}", self.ns)
    }

    pub(crate) fn image_dir(&self, name: &str) -> PathBuf {
        self.root
            .join("dock")
            .join(&self.ns)
            .join("images")
            .join(name)
    }

    pub(crate) fn output_dir(&self, name: &str) -> PathBuf {
        self.root.join(".gbb/build").join(&self.ns).join(name)
    }

    pub(crate) fn log(&self, name: &str) -> String {
        std::fs::read_to_string(
            self.root
                .join(".gbb/logs")
                .join(&self.ns)
                .join(format!("{name}.log")),
        )
        .unwrap()
    }

    /// Writes a file of a builder folder.
    pub(crate) fn write_builder(&self, builder: &str, file: &str, content: &str) {
        let dir = self
            .root
            .join("dock")
            .join(&self.ns)
            .join("builder")
            .join(builder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), content).unwrap();
    }

    /// Writes a file of an image folder.
    pub(crate) fn write(&self, image: &str, file: &str, content: &str) {
        let dir = self.image_dir(image);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), content).unwrap();
    }

    /// Adds an image `<parent>-kid` built in the kept state of `parent` (not built unless
    /// asked for), so that `parent` keeps a builder state: an image nothing builds in keeps
    /// none (issue 14).
    pub(crate) fn with_child(&self, parent: &str) {
        let kid = format!("{parent}-kid");
        self.write(
            &kid,
            "build.conf",
            &format!("IMAGE_PARENT=\"{}\"\n", self.id(parent)),
        );
        self.write(
            &kid,
            "Dockerfile.template",
            "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n",
        );
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gbb"));
        command
            .args(args)
            .current_dir(&self.root)
            .env("GBB_TEST_BUILD_ROOT", &self.build_root)
            .env("GBB_USER_CONFIG", "")
            .env("NO_COLOR", "1");
        command
    }

    pub(crate) fn gbb(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("gbb runs"))
    }

    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gbb starts")
    }

    /// Runs `gbb ARGS` on a terminal (a pty made by util-linux's `script`) in `dir`, typing
    /// `keys` into it (the terminal keeps them until the program reads them); returns the exit
    /// code and what the terminal showed, without carriage returns.
    pub(crate) fn on_terminal(&self, dir: &Path, args: &str, keys: &str) -> (Option<i32>, String) {
        let gbb = env!("CARGO_BIN_EXE_gbb");
        let mut child = Command::new("script")
            .args(["-qec", &format!("{gbb} {args}"), "/dev/null"])
            .current_dir(dir)
            .env("GBB_USER_CONFIG", "")
            .env("NO_COLOR", "1")
            .env("GBB_TEST_BUILD_ROOT", &self.build_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("script runs");
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(keys.as_bytes()).unwrap();
        let output = std::thread::scope(|scope| {
            let waiter = scope.spawn(|| child.wait_with_output().unwrap());
            let output = waiter.join().unwrap();
            drop(stdin);
            output
        });
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).replace('\r', ""),
        )
    }

    /// Waits until the build container of `id` runs (gbb started as `child`), gives its hook
    /// half a second to start, and returns the container's id. Fails when gbb ends first.
    pub(crate) fn wait_for_container(&self, child: &mut Child, id: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            if let Some(container) = self.containers().iter().find(|c| c.ends_with(id)) {
                std::thread::sleep(std::time::Duration::from_millis(500));
                return container.split_whitespace().next().unwrap().to_owned();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(120),
                "phase 1 did not start"
            );
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("gbb ended early ({status}): {err}");
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The containers of this test's namespace that exist now.
    pub(crate) fn containers(&self) -> Vec<String> {
        docker(&[
            "ps",
            "-a",
            "--filter",
            "label=org.gentoo-bb.id",
            "--format",
            "{{.ID}} {{.Label \"org.gentoo-bb.id\"}}",
        ])
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|id| id.starts_with(&format!("{}/", self.ns)))
        })
        .map(str::to_owned)
        .collect()
    }

    /// How many build containers of this namespace gbb created between two times. Containers
    /// the test itself runs from final images (`docker run`) carry the image's id label but
    /// not gbb's container label, so they do not count.
    pub(crate) fn containers_created(&self, since: u64, until: u64) -> usize {
        docker(&[
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            "label=org.gentoo-bb.container",
            "--format",
            "{{index .Actor.Attributes \"org.gentoo-bb.id\"}}",
        ])
        .lines()
        .filter(|id| id.starts_with(&format!("{}/", self.ns)))
        .count()
    }

    /// The image id of `name:tag` in this namespace, if it exists.
    pub(crate) fn image_id(&self, reference: &str) -> Option<String> {
        let output = Command::new("docker")
            .args([
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                &format!("{}/{reference}", self.ns),
            ])
            .output()
            .unwrap();
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

impl Drop for E2eStack {
    fn drop(&mut self) {
        // The stack's own cores (made by `-C`), whose names gbb knows, and the images its
        // rebuilds left untagged: left on the engine, they pile up over runs, and Podman's
        // listings slow down with every image it holds (15 s at 900 images).
        let _ = self.command(&["clean", "--images", "--dangling"]).output();
        // The binary packages of this namespace's builders (the cache is per builder chain).
        let cache = std::env::var_os("GBB_CACHE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gbb")
            });
        let _ = std::fs::remove_dir_all(cache.join("packages").join(&self.ns));
        let prefix = format!("{}/", self.ns);
        for container in self.containers() {
            let id = container
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            let _ = Command::new("docker").args(["rm", "-f", &id]).output();
        }
        let listed = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let (own, shared): (Vec<&str>, Vec<&str>) = listed
            .lines()
            .filter(|name| {
                name.starts_with(&prefix)
                    || name
                        .rsplit_once(':')
                        .is_some_and(|(repository, _)| self.shared.iter().any(|r| r == repository))
            })
            .partition(|name| name.starts_with(&prefix));
        // The stack's images first: the shared ones are their ancestors.
        for (force, images) in [(true, own), (false, shared)] {
            if !images.is_empty() {
                let _ = Command::new("docker")
                    .arg("rmi")
                    .args(force.then_some("-f"))
                    .args(&images)
                    .output();
            }
        }
    }
}

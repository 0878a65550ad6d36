//! A small harness: write a stack into a temporary folder, run the real `gbb` binary in it,
//! and compare everything the user sees (exit code, stdout, stderr) in one snapshot.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A stack in a temporary folder.
pub(crate) struct TestStack {
    dir: tempfile::TempDir,
    /// The stack's folder: the temporary folder itself, or a named folder inside it (kubler
    /// names a single-namespace stack after its folder).
    root: PathBuf,
    env: Vec<(String, String)>,
}

/// Removes the common leading indentation of `text` and a leading newline, so that files can
/// be written indented in test source.
pub(crate) fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

impl TestStack {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().to_owned();
        Self {
            dir,
            root,
            env: Vec::new(),
        }
    }

    /// A stack in a folder named `name` inside the temporary folder.
    pub(crate) fn named(name: &str) -> Self {
        let mut stack = Self::new();
        stack.root = stack.dir.path().join(name);
        std::fs::create_dir_all(&stack.root).unwrap();
        stack
    }

    /// A copy of a fixture stack from `tests/fixtures`, in a folder of the same name.
    pub(crate) fn fixture(name: &str) -> Self {
        let stack = Self::named(name);
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        copy_dir(&source, stack.path());
        stack
    }

    /// The stack's folder.
    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Writes a file (indented text is unindented).
    pub(crate) fn file(self, path: &str, content: &str) -> Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, unindent(content)).unwrap();
        self
    }

    /// Creates an empty folder.
    pub(crate) fn dir(self, path: &str) -> Self {
        std::fs::create_dir_all(self.path().join(path)).unwrap();
        self
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Runs `gbb args` in the stack folder.
    pub(crate) fn gbb(&self, args: &[&str]) -> Run {
        self.gbb_in(".", args)
    }

    /// Runs `gbb args` on a terminal (a pty made by util-linux's `script`, which Debian always
    /// has), typing `keys` into it: for the prompts gbb shows only on a terminal.
    pub(crate) fn gbb_on_terminal(&self, args: &[&str], keys: &str) -> Run {
        let command_line = std::iter::once(env!("CARGO_BIN_EXE_gbb"))
            .chain(args.iter().copied())
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new("script")
            .args(["-qec", &command_line, "/dev/null"])
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join(".home"))
            .env("GBB_USER_CONFIG", "")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("script (util-linux) runs");
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, keys.as_bytes()).unwrap();
        // Keep the terminal open until gbb is done; closing it early would hang up on gbb.
        let output = std::thread::scope(|scope| {
            let waiter = scope.spawn(|| child.wait_with_output());
            let output = waiter.join().unwrap();
            drop(stdin);
            output
        })
        .expect("script finishes");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).replace('\r', ""),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `gbb args` in a sub-folder of the stack.
    pub(crate) fn gbb_in(&self, sub: &str, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gbb"));
        command
            .args(args)
            .current_dir(self.path().join(sub))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join(".home"))
            .env("GBB_USER_CONFIG", "")
            .env("NO_COLOR", "1");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let output = command.output().expect("gbb runs");
        let root = self.dir.path().to_string_lossy().into_owned();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "[STACK]");
        Run {
            code: output.status.code(),
            stdout: clean(&output.stdout),
            stderr: clean(&output.stderr),
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// What a run of gbb showed.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Everything, for a snapshot.
    pub(crate) fn all(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code.map_or("signal".to_owned(), |c| c.to_string()),
            self.stdout,
            self.stderr
        )
    }

    #[track_caller]
    pub(crate) fn success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{}", self.all());
        self
    }

    #[track_caller]
    pub(crate) fn refused(&self) -> &Self {
        assert_eq!(self.code, Some(2), "{}", self.all());
        assert!(
            self.stdout.is_empty(),
            "a refusal prints no data:\n{}",
            self.all()
        );
        self
    }

    /// The JSON printed on stdout.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        self.success();
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{}", self.all()))
    }
}

/// The ids of a `plan --json` output, in order.
pub(crate) fn step_ids(plan: &serde_json::Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A small seed-layout stack used by many tests: a core, one builder, a chain of images.
pub(crate) fn small_stack() -> TestStack {
    TestStack::new()
        .file(
            "build.conf",
            r#"
            AUTHOR="Test <t@example.org>"
            STAGE3_FILE="${STAGE3_FILE:-/srv/stage3.tar.xz}"
            PORTAGE_DIR=/srv/portage
        "#,
        )
        .file(
            "dock/ns/build.conf",
            r#"
            DEFAULT_BUILDER="${NAMESPACE}/bob"
        "#,
        )
        .file(
            "dock/ns/builder/bob/build.conf",
            "# from the global stage3\n",
        )
        .file("dock/ns/images/base/build.conf", "# on scratch\n")
        .file(
            "dock/ns/images/lib/build.conf",
            "IMAGE_PARENT=\"${NAMESPACE}/base\"\n",
        )
        .file("dock/ns/images/app/build.conf", "IMAGE_PARENT=ns/lib\n")
        .file("dock/ns/images/tool/build.conf", "IMAGE_PARENT=ns/base\n")
}

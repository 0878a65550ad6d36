//! Content keys: what decides whether a step must run again.
//!
//! kubler decides "already built" from tags and timestamps, so an edited `build.sh` is silently
//! ignored. A content key is a SHA-256 over everything a result depends on, stored on the image
//! as the label [`KEY_LABEL`]: an image whose label equals the key the step would give it is up
//! to date. The inputs:
//!
//! - cores: the stage3 (a local file's path, size and modification time; a release's name),
//!   the portage tree (every file's path, size and modification time), gbb's in-container
//!   scripts and the core's Dockerfile;
//! - builders and images: their kind and id, every file of their folder (path and content;
//!   `PACKAGES.md` is an output and left out), their resolved config (names and values, not
//!   where they were set), and the keys of what they are built on and in.
//!
//! Hashing a local stage3's contents would cost seconds for every run; its size and time stand
//! in for it, as `make` does.

use std::fmt;
use std::path::Path;

use gbb_stack::{CoreInput, Definition, PortageTree, Stage3};
use sha2::{Digest, Sha256};

use crate::BuildError;

/// The label that carries a result's content key.
pub const KEY_LABEL: &str = "org.gentoo-bb.key";

/// A hex SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentKey(String);

impl ContentKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, for names and messages.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }

    /// A key read back from a label.
    pub fn from_label(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Display for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Feeds length-prefixed fields, so that `("ab", "c")` and `("a", "bc")` differ.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new(kind: &str) -> Self {
        let mut hasher = Self(Sha256::new());
        hasher.field(b"gentoo-bb content key v1");
        hasher.field(kind.as_bytes());
        hasher
    }

    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn finish(self) -> ContentKey {
        let digest = self.0.finalize();
        ContentKey(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Size and modification time, the cheap identity of a file.
fn stamp(path: &Path) -> Result<(u64, u128), BuildError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime))
}

/// Every file below `dir` (relative path, full path), sorted, skipping names in `skip`.
fn files_below(dir: &Path, skip: &[&str]) -> Result<Vec<(String, std::path::PathBuf)>, BuildError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(io(&current))? {
            let entry = entry.map_err(io(&current))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if skip.contains(&name.as_str()) {
                continue;
            }
            let file_type = entry.file_type().map_err(io(&path))?;
            if file_type.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                out.push((relative, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The files of an image or builder folder that are inputs (not gbb's outputs).
pub(crate) fn folder_inputs(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>, BuildError> {
    files_below(dir, &["PACKAGES.md", "rootfs.tar", ".git"])
}

/// The key of a core.
pub(crate) fn core_key(input: &CoreInput, core_dockerfile: &str) -> Result<ContentKey, BuildError> {
    let mut hasher = KeyHasher::new("core");
    match &input.stage3 {
        Stage3::File { path } => {
            let (size, mtime) = stamp(path)?;
            hasher.field(b"stage3 file");
            hasher.field(path.to_string_lossy().as_bytes());
            hasher.field(&size.to_le_bytes());
            hasher.field(&mtime.to_le_bytes());
        }
        Stage3::Release {
            base, date, arch, ..
        } => {
            hasher.field(b"stage3 release");
            hasher.field(base.as_bytes());
            hasher.field(date.as_deref().unwrap_or("latest").as_bytes());
            hasher.field(arch.as_bytes());
        }
    }
    match &input.portage {
        PortageTree::Dir { path } => {
            hasher.field(b"portage dir");
            for (relative, full) in files_below(path, &[".git"])? {
                let (size, mtime) = stamp(&full)?;
                hasher.field(relative.as_bytes());
                hasher.field(&size.to_le_bytes());
                hasher.field(&mtime.to_le_bytes());
            }
        }
        PortageTree::Snapshot { url, date } => {
            hasher.field(b"portage snapshot");
            hasher.field(url.as_deref().unwrap_or_default().as_bytes());
            hasher.field(date.as_bytes());
        }
    }
    for (name, text) in crate::CONTAINER_SCRIPTS {
        hasher.field(name.as_bytes());
        hasher.field(text.as_bytes());
    }
    hasher.field(core_dockerfile.as_bytes());
    Ok(hasher.finish())
}

/// The key of an image or builder, given the keys of what it is built on (`parent`) and in
/// (`builder`).
pub(crate) fn definition_key(
    definition: &Definition,
    parent: Option<&ContentKey>,
    builder: Option<&ContentKey>,
) -> Result<ContentKey, BuildError> {
    let mut hasher = KeyHasher::new(definition.kind.as_str());
    hasher.field(definition.id.as_str().as_bytes());
    hasher.field(b"files");
    for (relative, full) in folder_inputs(&definition.dir)? {
        let content = std::fs::read(&full).map_err(io(&full))?;
        hasher.field(relative.as_bytes());
        hasher.field(&content);
    }
    hasher.field(b"config");
    for (name, var) in definition.config.vars() {
        hasher.field(name.as_bytes());
        for item in var.value.items() {
            hasher.field(item.as_bytes());
        }
    }
    hasher.field(b"parent");
    hasher.field(parent.map_or("", ContentKey::as_str).as_bytes());
    hasher.field(b"builder");
    hasher.field(builder.map_or("", ContentKey::as_str).as_bytes());
    Ok(hasher.finish())
}

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
//!   where they were set), and the keys of what they are built on and in; images also whether
//!   they keep a builder state (`gbb_plan::ImageStep::keeps_state`), so that an image whose
//!   first child was added is built again, this time with the state its child needs.
//!
//! Hashing a local stage3's contents would cost seconds for every run; its size and time stand
//! in for it, as `make` does.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use gbb_stack::{CoreInput, Definition, PortageTree, Stage3};
use sha2::{Digest, Sha256};

use crate::BuildError;
use crate::error::io;

/// The label that carries a result's content key.
pub const KEY_LABEL: &str = "org.gentoo-bb.key";

/// The label that carries what a result's key was made of ([`KeyInputs`], as JSON), so that
/// the next build can say why a key changed.
pub const KEY_INPUTS_LABEL: &str = "org.gentoo-bb.key-inputs";

/// What a content key was made of, in short: a digest per file and per config variable, and
/// the keys of what the result is built on. Two of these tell which input changed (see
/// `why.rs`); the key itself is computed from the full inputs, never from this record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// Builders and images: each file of the folder, by relative path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Builders and images: each config variable's value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// The key of the parent image (images), or of the base (builders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The key of the builder an image runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    /// Images: whether phase 1 keeps a builder state (an image of the stack builds in it).
    /// `None` in records of a gbb that did not decide it (it kept every state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeps_state: Option<bool>,
    /// Cores: the stage3, the portage tree and gbb's scripts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub core: BTreeMap<String, String>,
}

impl KeyInputs {
    pub fn to_label(&self) -> String {
        serde_json::to_string(self).expect("plain maps and strings serialize")
    }

    /// The record in a label; `None` for a result gbb made before it kept one, or a label
    /// that is not gbb's.
    pub fn from_label(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

/// The way phase 2 writes images, in every image's key: `gbb-image v1` is gbb writing the
/// image itself (`executor/steps/image_phase2.rs`) where `docker build` did before, so every
/// image built before is rebuilt once. Change it whenever the bytes phase 2 writes change.
pub(crate) const PHASE2_FORMAT: &str = "gbb-image v1";

/// A short digest of `bytes` for a [`KeyInputs`] record.
fn digest(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

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

/// Every file below `dir` (relative path, full path), sorted, skipping names in `skip`. With
/// `whole_links`, a symbolic link must lead to a file (see [`check_link`]).
fn files_below(
    dir: &Path,
    skip: &[&str],
    whole_links: bool,
) -> Result<Vec<(String, std::path::PathBuf)>, BuildError> {
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
            if whole_links && file_type.is_symlink() {
                check_link(&path)?;
            }
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
    files_below(dir, &["PACKAGES.md", "rootfs.tar", ".git"], true)
}

/// A symbolic link in an image or builder folder is read through (its file's content is part
/// of the key), so it must lead to a file: a link to a folder would need the folder's files
/// hashed and sent in the build context, which gbb does not do, and a dangling link has nothing
/// to read. Both are refused with the link's name and target rather than the read's bare
/// "Is a directory" or "No such file or directory".
fn check_link(path: &Path) -> Result<(), BuildError> {
    let target = std::fs::read_link(path).map_err(io(path))?;
    let problem = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => "leads to a folder; gbb reads only files in an image folder (copy the folder in, or link its files one by one)".to_owned(),
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "leads nowhere: its target does not exist".to_owned()
        }
        // A loop of links, a target that may not be read, ...
        Err(e) => format!("cannot be followed: {e}"),
    };
    Err(BuildError::BadLink {
        path: path.to_owned(),
        target,
        problem,
    })
}

/// The key of a core.
pub(crate) fn core_key(input: &CoreInput, core_dockerfile: &str) -> Result<ContentKey, BuildError> {
    core_key_with_inputs(input, core_dockerfile).map(|(key, _)| key)
}

/// The key of a core, with what it was made of.
pub(crate) fn core_key_with_inputs(
    input: &CoreInput,
    core_dockerfile: &str,
) -> Result<(ContentKey, KeyInputs), BuildError> {
    let mut hasher = KeyHasher::new("core");
    let mut record = KeyInputs::default();
    // Each part is also hashed on its own for the record (cheap: stamps, not contents).
    let mut part = KeyHasher::new("part");
    match &input.stage3 {
        Stage3::File { path } => {
            let (size, mtime) = stamp(path)?;
            for field in [
                b"stage3 file".as_slice(),
                path.to_string_lossy().as_bytes(),
                &size.to_le_bytes(),
                &mtime.to_le_bytes(),
            ] {
                hasher.field(field);
                part.field(field);
            }
        }
        Stage3::Release {
            base, date, arch, ..
        } => {
            for field in [
                b"stage3 release".as_slice(),
                base.as_bytes(),
                date.as_deref().unwrap_or("latest").as_bytes(),
                arch.as_bytes(),
            ] {
                hasher.field(field);
                part.field(field);
            }
        }
    }
    record
        .core
        .insert("stage3".to_owned(), part.finish().short().to_owned());
    let mut part = KeyHasher::new("part");
    match &input.portage {
        PortageTree::Dir { path } => {
            hasher.field(b"portage dir");
            for (relative, full) in files_below(path, &[".git"], false)? {
                let (size, mtime) = stamp(&full)?;
                for field in [
                    relative.as_bytes(),
                    &size.to_le_bytes(),
                    &mtime.to_le_bytes(),
                ] {
                    hasher.field(field);
                    part.field(field);
                }
            }
        }
        PortageTree::Snapshot { url, date } => {
            for field in [
                b"portage snapshot".as_slice(),
                url.as_deref().unwrap_or_default().as_bytes(),
                date.as_bytes(),
            ] {
                hasher.field(field);
                part.field(field);
            }
        }
    }
    record
        .core
        .insert("portage tree".to_owned(), part.finish().short().to_owned());
    let mut part = KeyHasher::new("part");
    for (name, text) in crate::CONTAINER_SCRIPTS {
        hasher.field(name.as_bytes());
        hasher.field(text.as_bytes());
        part.field(name.as_bytes());
        part.field(text.as_bytes());
    }
    hasher.field(core_dockerfile.as_bytes());
    part.field(core_dockerfile.as_bytes());
    record
        .core
        .insert("gbb's scripts".to_owned(), part.finish().short().to_owned());
    Ok((hasher.finish(), record))
}

/// The key of an image or builder, given the keys of what it is built on (`parent`) and in
/// (`builder`), and for an image whether it keeps a builder state (`keeps_state`; `None` for
/// builders, which always are kept).
pub(crate) fn definition_key(
    definition: &Definition,
    parent: Option<&ContentKey>,
    builder: Option<&ContentKey>,
    keeps_state: Option<bool>,
) -> Result<(ContentKey, KeyInputs), BuildError> {
    let mut record = KeyInputs::default();
    let mut hasher = KeyHasher::new(definition.kind.as_str());
    hasher.field(definition.id.as_str().as_bytes());
    hasher.field(b"files");
    for (relative, full) in folder_inputs(&definition.dir)? {
        let content = std::fs::read(&full).map_err(io(&full))?;
        hasher.field(relative.as_bytes());
        hasher.field(&content);
        record.files.insert(relative, digest(&content));
    }
    hasher.field(b"config");
    for (name, var) in definition.config.vars() {
        hasher.field(name.as_bytes());
        let mut value = KeyHasher::new("value");
        for item in var.value.items() {
            hasher.field(item.as_bytes());
            value.field(item.as_bytes());
        }
        record
            .config
            .insert(name.to_owned(), value.finish().short().to_owned());
    }
    hasher.field(b"parent");
    hasher.field(parent.map_or("", ContentKey::as_str).as_bytes());
    hasher.field(b"builder");
    hasher.field(builder.map_or("", ContentKey::as_str).as_bytes());

    if definition.kind == gbb_stack::Kind::Image {
        // How phase 2 makes the image: a new format rebuilds every image once.
        hasher.field(b"phase 2");
        hasher.field(PHASE2_FORMAT.as_bytes());
    }
    if let Some(keeps) = keeps_state {
        hasher.field(b"state");
        hasher.field(if keeps { b"kept" } else { b"none" });
    }
    record.parent = parent.map(|key| key.short().to_owned());
    record.builder = builder.map(|key| key.short().to_owned());
    record.keeps_state = keeps_state;
    Ok((hasher.finish(), record))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9, item 13: links in an image folder that lead to a folder or nowhere are named,
    /// with why, instead of failing the read with a bare OS error.
    #[test]
    fn links_in_an_image_folder_must_lead_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("image");
        std::fs::create_dir_all(image.join("files")).unwrap();
        std::fs::write(image.join("build.conf"), "").unwrap();
        std::fs::write(dir.path().join("shared.sh"), "echo shared").unwrap();
        std::os::unix::fs::symlink("../../shared.sh", image.join("files/shared.sh")).unwrap();
        let inputs = folder_inputs(&image).unwrap();
        let names: Vec<_> = inputs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["build.conf", "files/shared.sh"],
            "a link to a file is read"
        );

        std::os::unix::fs::symlink("/etc", image.join("files/etc")).unwrap();
        let error = folder_inputs(&image).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "`{}` is a symbolic link to `/etc` that leads to a folder; gbb reads only files in an image folder (copy the folder in, or link its files one by one)",
                image.join("files/etc").display()
            )
        );
        std::fs::remove_file(image.join("files/etc")).unwrap();

        std::os::unix::fs::symlink("missing.sh", image.join("files/gone.sh")).unwrap();
        let error = folder_inputs(&image).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "`{}` is a symbolic link to `missing.sh` that leads nowhere: its target does not exist",
                image.join("files/gone.sh").display()
            )
        );
        std::fs::remove_file(image.join("files/gone.sh")).unwrap();

        std::os::unix::fs::symlink("loop", image.join("loop")).unwrap();
        let error = folder_inputs(&image).unwrap_err().to_string();
        assert!(
            error.ends_with("is a symbolic link to `loop` that cannot be followed: Too many levels of symbolic links (os error 40)"),
            "{error}"
        );
    }
}

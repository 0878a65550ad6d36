//! The files of a layer as they are in the image: digests from the layer's `rootfs.tar`.
//!
//! `CONTENTS` records what Portage merged; the image holds what is left after the hooks and
//! the cleanup (headers, static libraries and docs purged, files a hook changed or removed).
//! SBOM readers match files by their content, so the digests must be the image's: the tar
//! is read once, every regular file hashed (SHA-256, SHA-1, MD5 at once), and each `CONTENTS`
//! path looked up, through the links of folders the root has (`/lib64 -> usr/lib64`) and
//! hard links. A path not in the tar is marked as not in the image; a file whose MD5 differs
//! from `CONTENTS` is marked as modified.

use crate::spdx::hex;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::SbomError;
use crate::model::{Digests, FileKind, ImageFile, Layer};

/// The most entries read from a `rootfs.tar`.
pub const MAX_ROOTFS_ENTRIES: u64 = 2_000_000;

/// How many links a path is followed through before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

enum Entry {
    File(Digests),
    Dir,
    Symlink(String),
    HardLink(String),
    Other,
}

impl Layer {
    /// Fills every file's [`crate::InstalledFile::image`] from the layer's `rootfs.tar`
    /// stream (one pass), and [`crate::HandInstalled::file`] for records that name a path.
    /// `path` names it in errors.
    pub fn digest_files(&mut self, path: &Path, reader: impl Read) -> Result<(), SbomError> {
        let entries = read_rootfs(path, reader)?;
        for package in &mut self.packages {
            for file in &mut package.files {
                file.image = look_up(&entries, &file.path).map(|entry| {
                    let digests = match entry {
                        Entry::File(digests) => Some(digests.clone()),
                        _ => None,
                    };
                    let modified = match (&file.kind, &digests) {
                        (FileKind::Obj { md5, .. }, Some(digests)) => *md5 != digests.md5,
                        _ => false,
                    };
                    ImageFile { digests, modified }
                });
            }
        }
        for record in &mut self.hand_installed {
            if record.info.starts_with('/') {
                record.file = match look_up(&entries, &record.info) {
                    Some(Entry::File(digests)) => Some(ImageFile {
                        digests: Some(digests.clone()),
                        modified: false,
                    }),
                    _ => None,
                };
            }
        }
        self.files_digested = true;
        Ok(())
    }
}

/// Every entry of the tar by its absolute path (`./usr/bin/x` → `/usr/bin/x`).
fn read_rootfs(path: &Path, reader: impl Read) -> Result<HashMap<String, Entry>, SbomError> {
    let tar_error = |source| SbomError::Tar {
        path: path.to_owned(),
        source,
    };
    let mut entries = HashMap::new();
    let mut archive = tar::Archive::new(reader);
    let mut buffer = vec![0u8; 64 * 1024];
    for (count, entry) in archive.entries().map_err(tar_error)?.enumerate() {
        if count as u64 >= MAX_ROOTFS_ENTRIES {
            return Err(SbomError::TooManyEntries {
                path: path.to_owned(),
                limit: MAX_ROOTFS_ENTRIES,
            });
        }
        let mut entry = entry.map_err(tar_error)?;
        let name = absolute(&String::from_utf8_lossy(&entry.path_bytes()));
        let kind = entry.header().entry_type();
        let link = || {
            entry
                .link_name_bytes()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        let value = if kind.is_file() {
            let (mut sha256, mut sha1, mut md5) = (Sha256::new(), Sha1::new(), Md5::new());
            loop {
                let n = entry.read(&mut buffer).map_err(tar_error)?;
                if n == 0 {
                    break;
                }
                sha256.update(&buffer[..n]);
                sha1.update(&buffer[..n]);
                md5.update(&buffer[..n]);
            }
            Entry::File(Digests {
                sha256: hex(&sha256.finalize()),
                sha1: hex(&sha1.finalize()),
                md5: hex(&md5.finalize()),
            })
        } else if kind.is_dir() {
            Entry::Dir
        } else if kind.is_symlink() {
            Entry::Symlink(link())
        } else if kind.is_hard_link() {
            Entry::HardLink(absolute(&link()))
        } else {
            Entry::Other
        };
        entries.insert(name, value);
    }
    Ok(entries)
}

/// `/a/b` for `./a/b/`, `a/b` or `/a/b`.
fn absolute(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// The entry at `path` in the image, following links of the folders on the way and hard
/// links at the end (not a symbolic link at the end: `CONTENTS`' `sym` entries are links
/// themselves).
fn look_up<'a>(entries: &'a HashMap<String, Entry>, path: &str) -> Option<&'a Entry> {
    let mut current = absolute(path);
    for _ in 0..MAX_LINKS {
        match entries.get(&current) {
            Some(Entry::HardLink(target)) => current = target.clone(),
            Some(entry) => return Some(entry),
            None => current = through_folder_link(entries, &current)?,
        }
    }
    None
}

/// `path` with its first folder that is a symbolic link replaced by the link's target, or
/// `None` when no folder on the way is a link.
fn through_folder_link(entries: &HashMap<String, Entry>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for end in 1..parts.len() {
        let prefix = format!("/{}", parts[..end].join("/"));
        if let Some(Entry::Symlink(target)) = entries.get(&prefix) {
            let base = if target.starts_with('/') {
                String::new()
            } else {
                format!("/{}", parts[..end - 1].join("/"))
            };
            let joined = format!("{base}/{target}/{}", parts[end..].join("/"));
            return Some(normalise(&joined));
        }
    }
    None
}

/// Resolves `.` and `..` in an absolute path, without leaving `/`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(&str, Entry)]) -> HashMap<String, Entry> {
        list.iter()
            .map(|(name, entry)| {
                let entry = match entry {
                    Entry::File(d) => Entry::File(d.clone()),
                    Entry::Dir => Entry::Dir,
                    Entry::Symlink(t) => Entry::Symlink(t.clone()),
                    Entry::HardLink(t) => Entry::HardLink(t.clone()),
                    Entry::Other => Entry::Other,
                };
                ((*name).to_owned(), entry)
            })
            .collect()
    }

    fn digests(tag: &str) -> Digests {
        Digests {
            sha256: tag.to_owned(),
            sha1: String::new(),
            md5: String::new(),
        }
    }

    #[test]
    fn follows_folder_links_and_hard_links() {
        let map = entries(&[
            ("/lib64", Entry::Symlink("usr/lib64".to_owned())),
            ("/usr/lib64/libc.so.6", Entry::File(digests("libc"))),
            ("/usr/bin/a", Entry::HardLink("/usr/bin/b".to_owned())),
            ("/usr/bin/b", Entry::File(digests("b"))),
            ("/x", Entry::Symlink("/x".to_owned())),
        ]);
        let sha = |path| match look_up(&map, path) {
            Some(Entry::File(d)) => Some(d.sha256.clone()),
            _ => None,
        };
        assert_eq!(sha("/lib64/libc.so.6").as_deref(), Some("libc"));
        assert_eq!(sha("/usr/bin/a").as_deref(), Some("b"));
        assert!(look_up(&map, "/usr/include/x.h").is_none());
        assert!(look_up(&map, "/x/loop").is_none(), "a link loop ends");
    }
}

//! [`FileIndex`]: what gbb keeps of a built image so that its children can be checked without
//! the image's `rootfs.tar`.
//!
//! A child's program finds its libraries in the files of the child *and* of every ancestor, so
//! checking a child needs the ancestors' files. Their tars may be gone (a cleaned cache, an
//! image built elsewhere), and reading hundreds of megabytes of tar per ancestor per build
//! would be slow, so each image keeps an index of what loading needs from it:
//!
//! - every ELF executable and shared object, with what it asks of the loader ([`ElfInfo`]):
//!   children load the libraries (and need *their* needs too, transitively), and `gbb check`
//!   re-checks an image's own programs from its index alone;
//! - every symlink with its target, because library names are mostly links
//!   (`libz.so.1 -> libz.so.1.3`) and whole folders may be (`/lib64 -> usr/lib64`);
//! - hard links to ELF files, as links to the first name;
//! - the text of `/etc/ld.so.conf` and of the files under `/etc/ld.so.conf.d/`, which add
//!   library folders and which a child's `include` may name, and musl's
//!   `/etc/ld-musl-<arch>.path`.
//!
//! Nothing else: folders, data files, scripts and device nodes do not take part in loading.
//! Two things are lost by that, both rare, both erring toward passing: a non-ELF file at a
//! library's path (the loader stops with "invalid ELF header", we search on), and a child's
//! real folder over an ancestor's folder symlink (the engine refuses such a tar or replaces
//! the link, depending on the builder; we still follow the link). A Gentoo image with a few thousand files gives an index of a few
//! hundred entries, tens of kilobytes.
//!
//! The index is JSON (serde_json, already a dependency of the workspace): a nested map of
//! typed entries would need its own escaping rules and parser in a line format, JSON has them
//! and stays readable for a user who opens `.gbb/build/<ns>/<name>/files.json` to see why a
//! library was not found. A `format` and a `version` field come first; a reader refuses any
//! other version with a message that says to build the image again.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tar::EntryType;

use crate::elf::{ElfInfo, read_elf_at, read_elf_stream};
use crate::path::normalize;

/// The `format` field of an index file.
const FORMAT: &str = "gbb-file-index";

/// The version of the index file's layout; bumped on any change a reader of the previous
/// version would misread.
pub const INDEX_VERSION: u32 = 1;

/// glibc's main configuration file; it and what sits under `/etc/ld.so.conf.d/` are kept as
/// text in the index.
const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// The largest configuration file kept (real ones are a few hundred bytes); a larger one is
/// truncated here, which loses only folders nobody lists in a file this size.
const MAX_CONF_LEN: u64 = 1 << 20;

/// One path of an image that takes part in loading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entry {
    /// An ELF executable or shared object.
    Elf(ElfInfo),
    /// A symbolic link and its target, as written (absolute targets are relative to the image's
    /// root, relative ones to the link's folder).
    Symlink(String),
    /// A hard link to an ELF file of the same image: the absolute path of its first name.
    HardLink(String),
    /// The text of a loader's configuration file (ld.so.conf, musl's path file).
    Conf(String),
}

/// The paths of one image (its own layer, not its parents') that take part in loading: see the
/// module documentation for what is kept and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileIndex {
    files: BTreeMap<String, Entry>,
}

/// The file as written: the header fields first, so a reader can refuse another version before
/// reading the rest.
#[derive(Serialize)]
struct IndexFileOut<'a> {
    format: &'a str,
    version: u32,
    files: &'a BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct IndexHeader {
    format: String,
    version: u32,
}

#[derive(Deserialize)]
struct IndexFileIn {
    files: BTreeMap<String, Entry>,
}

/// Why an index could not be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The tar stream could not be read (an I/O error, or not a tar).
    #[error("reading the image's tar{}: {source}", entry.as_ref().map(|e| format!(" at `{e}`")).unwrap_or_default())]
    Tar {
        /// The entry being read when it failed, when known.
        entry: Option<String>,
        source: io::Error,
    },
    #[error("reading `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("`{}` is not a gbb file index: {source}", path.display())]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "`{}` is a file index of version {found}, this gbb reads version {expected}; build the image again to replace it",
        path.display()
    )]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("writing `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl FileIndex {
    /// Reads an image's root from a tar stream in one pass (as phase 1 writes `rootfs.tar`),
    /// without extracting anything: ELF files are read only as far as their dynamic section,
    /// the rest of every entry is skipped by the tar reader.
    ///
    /// Entries are taken in order and a later entry for a path replaces an earlier one, as
    /// extracting the tar would. Paths that are not UTF-8 are left out (library names and
    /// folders are ASCII in practice; JSON could not hold them as they are).
    pub fn from_tar(reader: impl Read) -> Result<FileIndex, IndexError> {
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(tar_error(None))?;
        index_entries(entries, None)
    }

    /// [`FileIndex::from_tar`] for a tar file, such as phase 1's `rootfs.tar`: the same index,
    /// faster. ELF files are read with positioned reads of only the parts parsed, and the tar
    /// reader seeks over everything else (data files, and most of every library: the dynamic
    /// section of a large one sits near its end).
    ///
    /// It takes an open file, not a path: `rootfs.tar` comes out of a build container, and
    /// the caller opens it without following links (`outputs::open_regular`).
    pub fn from_tar_file(file: &File) -> Result<FileIndex, IndexError> {
        // One handle walks the entries (moving the shared offset); the ELF files are read
        // through the other with positioned reads, which do not use the offset.
        let walker = file.try_clone().map_err(tar_error(None))?;
        let mut archive = tar::Archive::new(walker);
        let entries = archive.entries_with_seek().map_err(tar_error(None))?;
        index_entries(entries, Some(file))
    }

    /// Reads an index written by [`FileIndex::save`].
    pub fn load(path: &Path) -> Result<FileIndex, IndexError> {
        let file = File::open(path).map_err(|source| IndexError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::read(path, file)
    }

    /// Reads an index from `reader`, a file the caller opened (without following links, for
    /// one a container could reach); `path` names it in errors.
    pub fn read(path: &Path, reader: impl Read) -> Result<FileIndex, IndexError> {
        let read_error = |source| IndexError::Read {
            path: path.to_owned(),
            source,
        };
        let mut bytes = Vec::new();
        BufReader::new(reader)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        let format_error = |source| IndexError::Format {
            path: path.to_owned(),
            source,
        };
        let header: IndexHeader = serde_json::from_slice(&bytes).map_err(format_error)?;
        if header.format != FORMAT {
            return Err(format_error(serde::de::Error::custom(format!(
                "its format is `{}`, not `{FORMAT}`",
                header.format
            ))));
        }
        if header.version != INDEX_VERSION {
            return Err(IndexError::Version {
                path: path.to_owned(),
                found: header.version,
                expected: INDEX_VERSION,
            });
        }
        let index: IndexFileIn = serde_json::from_slice(&bytes).map_err(format_error)?;
        Ok(FileIndex { files: index.files })
    }

    /// Writes the index to `path`: to a new file beside it, renamed over `path` once it is
    /// whole, so a reader never sees half an index and a failure leaves the previous one.
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let write_error = |source| IndexError::Write {
            path: path.to_owned(),
            source,
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let file = tempfile::NamedTempFile::new_in(folder).map_err(write_error)?;
        let mut writer = BufWriter::new(file);
        self.write_to(&mut writer).map_err(write_error)?;
        let file = writer
            .into_inner()
            .map_err(|e| write_error(e.into_error()))?;
        file.as_file().sync_all().map_err(write_error)?;
        file.persist(path).map_err(|e| write_error(e.error))?;
        Ok(())
    }

    /// Writes the index as JSON (one line, keys sorted, so the same image gives the same bytes).
    pub fn write_to(&self, writer: impl Write) -> io::Result<()> {
        let out = IndexFileOut {
            format: FORMAT,
            version: INDEX_VERSION,
            files: &self.files,
        };
        serde_json::to_writer(writer, &out).map_err(io::Error::other)
    }

    /// The entry at an absolute, normalized image path, in this image's own layer.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.get(path)
    }

    /// Every entry, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.files
            .iter()
            .map(|(path, entry)| (path.as_str(), entry))
    }

    /// The ELF files of this layer, sorted by path.
    pub fn elf_files(&self) -> impl Iterator<Item = (&str, &ElfInfo)> {
        self.entries().filter_map(|(path, entry)| match entry {
            Entry::Elf(info) => Some((path, info)),
            _ => None,
        })
    }

    /// How many paths the index holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

fn tar_error(entry: Option<String>) -> impl FnOnce(io::Error) -> IndexError {
    move |source| IndexError::Tar { entry, source }
}

/// Reads every entry of a tar into an index (see [`FileIndex::from_tar`]); `tar_file`, when
/// given, is the tar as a file, for positioned reads of ELF files.
fn index_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    tar_file: Option<&File>,
) -> Result<FileIndex, IndexError> {
    let mut files = BTreeMap::new();
    let mut buffer = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(tar_error(None))?;
        let Ok(name) = std::str::from_utf8(&entry.path_bytes()).map(normalize) else {
            continue;
        };
        // Whatever the path held before, this entry replaces it.
        files.remove(&name);
        let kind = entry.header().entry_type();
        let new_entry = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                if is_loader_config(&name) {
                    let mut text = Vec::new();
                    (&mut entry)
                        .take(MAX_CONF_LEN)
                        .read_to_end(&mut text)
                        .map_err(tar_error(Some(name.clone())))?;
                    Some(Entry::Conf(String::from_utf8_lossy(&text).into_owned()))
                } else {
                    let len = entry.size();
                    let read = match tar_file {
                        // A sparse file's data is not one range of the tar.
                        Some(file) if kind != EntryType::GNUSparse => {
                            read_elf_at(file, entry.raw_file_position(), len)
                        }
                        _ => read_elf_stream(&mut entry, len, &mut buffer),
                    };
                    read.map_err(tar_error(Some(name.clone())))?.map(Entry::Elf)
                }
            }
            EntryType::Symlink => link_target(&entry).map(Entry::Symlink),
            EntryType::Link => link_target(&entry).and_then(|target| {
                // Hard link names in a tar are relative to the archive's root.
                let target = normalize(&target);
                match files.get(&target) {
                    Some(Entry::Elf(_)) => Some(Entry::HardLink(target)),
                    Some(Entry::Conf(text)) => Some(Entry::Conf(text.clone())),
                    _ => None,
                }
            }),
            _ => None,
        };
        if let Some(new_entry) = new_entry {
            files.insert(name, new_entry);
        }
    }
    // The root itself is never a file of interest.
    files.remove("/");
    Ok(FileIndex { files })
}

/// Whether `path` is a loader's configuration, kept as text: `/etc/ld.so.conf`, a file under
/// `/etc/ld.so.conf.d/` (where `include` lines point on every distribution we know), or
/// musl's `/etc/ld-musl-<arch>.path`.
pub(crate) fn is_loader_config(path: &str) -> bool {
    path == LD_SO_CONF
        || path.starts_with("/etc/ld.so.conf.d/")
        || path
            .strip_prefix("/etc/ld-musl-")
            .is_some_and(|rest| rest.ends_with(".path") && !rest.contains('/'))
}

/// A link entry's target, or `None` when it is missing or not UTF-8.
fn link_target<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    let target = entry.link_name_bytes()?;
    String::from_utf8(target.into_owned()).ok()
}

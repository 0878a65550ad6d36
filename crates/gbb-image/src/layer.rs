//! A deterministic layer from a root tar (phase 1's `rootfs.tar`, or any tar of files).
//!
//! The archive is read twice and never extracted: a first pass reads every header (path,
//! type, owner, mode, times, link target, device numbers, `SCHILY.xattr.*` records) and where
//! each file's data starts; a second pass writes the entries sorted by path, copying file data
//! with positioned reads from the input. Extracting to disk would need root to keep owners and
//! devices and would lose what the host's file system cannot hold.
//!
//! What is kept and what is made canonical, so that the same files always give the same bytes:
//!
//! - **Order**: entries sorted by their path's bytes (a parent always comes before its
//!   children, since a path sorts before any longer path it starts). When a path appears twice,
//!   the later entry wins, as it would when extracting.
//! - **Paths**: relative, without `./`, `//` or a trailing `/` (directories get one `/`, as
//!   tar writes them); `..` is refused. The root folder's own entry (`./`) is left out: a layer
//!   describes what is inside the root, and engines ignore the root's entry anyway.
//! - **Times**: the modification time clamped to the [`SourceDateEpoch`] (older times are
//!   kept, newer ones become the epoch, as `tar --clamp-mtime` does); access and change times
//!   and sub-second times are dropped.
//! - **Owners**: numeric uid and gid kept; user and group *names* dropped. Runtimes set owners
//!   from the numbers (Docker, containerd and umoci never look the names up), the image's own
//!   `/etc/passwd` names them at run time, and the names in a build container's tar come from
//!   that container's passwd: keeping them would let the digest change with the build
//!   container while the image behaves the same.
//! - **Modes**: all twelve bits, so setuid, setgid and sticky bits survive.
//! - **Hard links**: the files of one inode are written once, as the first of their names in
//!   the sorted order, and the other names as tar hard links to it, whatever order the input
//!   had them in.
//! - **Symlinks, device nodes and fifos** are kept with their targets and device numbers;
//!   **xattrs** (`SCHILY.xattr.*` PAX records, file capabilities among them) are kept, sorted
//!   by name. Other PAX records (times, the reader's own path and size records) are consumed.
//! - **Format**: GNU headers (long names as GNU long-name entries, big numbers in base 256),
//!   with a PAX header before an entry only for its xattrs: what GNU tar writes, read by Go's
//!   archive/tar (Docker, containerd, skopeo, umoci).
//! - **Compression**: fixed settings, see [`Compression`].
//!
//! No whiteouts: this writes a layer from a whole root, which only adds files. A layer from a
//! container's changes (a `RUN` step) needs whiteouts for what the step deleted; the tar the
//! engine gives for those already carries them as `.wh.` entries, which pass through here as
//! ordinary empty files, which is what they are in a layer tar.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::image::{Descriptor, MediaType, Sha256Digest};
use tar::{EntryType, Header};

use crate::digest_writer::DigestWriter;
use crate::pipeline::PipeWriter;
use crate::store::{BlobStore, BlobWriter};
use crate::{EntryProblem, Error, Result, SourceDateEpoch};

/// How a layer is compressed. The settings are fixed, because the blob digest depends on them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// gzip at level 6 (gzip's and Docker's default), through zlib-rs, with no file name, a
    /// zero time and "unknown" as the operating system in the header: what every engine and
    /// registry reads. The default.
    #[default]
    Gzip,
    /// zstd at level 3 (zstd's default), one thread, no checksum: smaller and faster, read by
    /// containerd and Docker 23+, not by older engines (Docker 20.10's `docker load`).
    Zstd,
    /// No compression (`application/vnd.oci.image.layer.v1.tar`).
    None,
}

/// gzip's default level, which Docker uses too.
const GZIP_LEVEL: u32 = 6;
/// zstd's default level.
const ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// The OCI media type of a layer compressed this way.
    pub fn media_type(self) -> MediaType {
        match self {
            Self::Gzip => MediaType::ImageLayerGzip,
            Self::Zstd => MediaType::ImageLayerZstd,
            Self::None => MediaType::ImageLayer,
        }
    }
}

/// What a layer is made with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LayerOptions {
    /// The time file times are clamped to.
    pub epoch: SourceDateEpoch,
    /// How the layer blob is compressed.
    pub compression: Compression,
}

/// A layer written to a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The compressed blob, as the manifest lists it.
    pub descriptor: Descriptor,
    /// The SHA-256 of the uncompressed tar, as the config's `rootfs.diff_ids` lists it.
    pub diff_id: Sha256Digest,
    /// The uncompressed tar's length in bytes.
    pub uncompressed_size: u64,
    /// How many entries the layer holds (hard links and folders included).
    pub entries: usize,
}

/// What an entry is, with what only that kind carries.
#[derive(Debug, Clone)]
enum Kind {
    /// A regular file: its data's offset in the input and its length.
    File {
        offset: u64,
        size: u64,
    },
    Directory,
    Symlink(Vec<u8>),
    /// A hard link to another entry's path (normalized). Resolved before writing.
    HardLink(Vec<u8>),
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// One entry of the root, as read in the first pass.
#[derive(Debug, Clone)]
struct Member {
    /// Normalized: relative, no `.` or empty components, no trailing slash.
    path: Vec<u8>,
    kind: Kind,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    /// `(name, value)` without the `SCHILY.xattr.` prefix, sorted by name.
    xattrs: Vec<(String, Vec<u8>)>,
}

/// Writes the layer of the root tar at `root_tar` into `store`. See the module documentation
/// for what is kept and what is made canonical.
pub fn write_layer(store: &BlobStore, root_tar: &Path, options: &LayerOptions) -> Result<Layer> {
    let file = File::open(root_tar).map_err(|e| Error::io("open", root_tar, e))?;
    let length = file
        .metadata()
        .map_err(|e| Error::io("read the size of", root_tar, e))?
        .len();
    write_layer_at(store, &file, root_tar, 0, length, options)
}

/// Writes the layer of the tar that fills `length` bytes from `start` of `file` (a whole file,
/// or a layer inside a `docker save` archive).
fn write_layer_at(
    store: &BlobStore,
    file: &File,
    root_tar: &Path,
    start: u64,
    length: u64,
    options: &LayerOptions,
) -> Result<Layer> {
    let members = read_members(file, root_tar, start, length)?;
    let members = resolve_hard_links(sort_and_dedup(members), root_tar)?;
    write_members(store, file, root_tar, &members, options)
}

/// Writes the layer of a tar that arrives as a stream (an engine's export of a container or
/// of a committed image's layer), by first copying it to a temporary file in the store's
/// folder: sorting needs to read the entries' data in another order than they come in, and a
/// file allows that without holding hundreds of MB in memory. The temporary file is removed
/// when done, whatever happens.
pub fn write_layer_from_reader(
    store: &BlobStore,
    mut tar: impl Read,
    options: &LayerOptions,
) -> Result<Layer> {
    let mut spool = tempfile::Builder::new()
        .prefix(".gbb-spool")
        .tempfile_in(store.root())
        .map_err(|e| Error::io("create a temporary file in", store.root(), e))?;
    io::copy(&mut tar, spool.as_file_mut()).map_err(|e| Error::io("write", spool.path(), e))?;
    write_layer(store, spool.path(), options)
}

/// Writes the layer of the *last* layer of the first image in a `docker save` archive (what
/// the engine's image export API returns), read in place: the layer a `RUN` step made, once
/// its container is committed. The engine's tar of the layer is made canonical like any root
/// tar; whiteouts (`.wh.<name>`, `.wh..wh..opq`), which mark what the step deleted, are
/// ordinary empty files in it and are kept as such.
///
/// Works with the layouts of Docker before 25 (`<id>/layer.tar`) and after
/// (`blobs/sha256/<hex>`), which both list the layers in `manifest.json`; the layer must be
/// stored uncompressed, as `docker save` stores it.
pub fn write_top_layer_of_docker_save(
    store: &BlobStore,
    archive_path: &Path,
    options: &LayerOptions,
) -> Result<Layer> {
    #[derive(serde::Deserialize)]
    struct SavedImage {
        #[serde(rename = "Layers")]
        layers: Vec<String>,
    }
    let file = File::open(archive_path).map_err(|e| Error::io("open", archive_path, e))?;
    let tar_error = |source| Error::Tar {
        path: archive_path.to_path_buf(),
        source,
    };
    let mut members: HashMap<Vec<u8>, (u64, u64)> = HashMap::new();
    let mut manifest = None;
    let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, &file));
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let Some(path) = normalize(&entry.path_bytes()) else {
            continue;
        };
        if path == b"manifest.json" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(tar_error)?;
            manifest = Some(bytes);
        } else if entry.header().entry_type().is_file() {
            members.insert(path, (entry.raw_file_position(), entry.size()));
        }
    }
    let not_a_save = |problem: String| Error::NotADockerSave {
        path: archive_path.to_path_buf(),
        problem,
    };
    let manifest = manifest.ok_or_else(|| not_a_save("it has no `manifest.json`".to_owned()))?;
    let images: Vec<SavedImage> =
        serde_json::from_slice(&manifest).map_err(|source| Error::Json {
            what: "docker archive manifest",
            digest: archive_path.display().to_string(),
            source,
        })?;
    let layer = images
        .first()
        .and_then(|image| image.layers.last())
        .ok_or_else(|| not_a_save("its `manifest.json` lists no layer".to_owned()))?;
    let &(start, length) = normalize(layer.as_bytes())
        .and_then(|path| members.get(&path))
        .ok_or_else(|| {
            not_a_save(format!(
                "its `manifest.json` names `{layer}`, which the archive does not hold"
            ))
        })?;
    write_layer_at(store, &file, archive_path, start, length, options)
}

fn entry_error(archive: &Path, path: &[u8], problem: EntryProblem) -> Error {
    Error::Entry {
        archive: archive.to_path_buf(),
        entry: String::from_utf8_lossy(path).into_owned(),
        problem,
    }
}

/// The first pass: every entry's metadata and the position of its data.
fn read_members(file: &File, archive_path: &Path, start: u64, length: u64) -> Result<Vec<Member>> {
    let tar_error = |source| Error::Tar {
        path: archive_path.to_path_buf(),
        source,
    };
    let section = Section {
        file,
        offset: start,
        remaining: length,
    };
    let mut archive = tar::Archive::new(BufReader::with_capacity(256 * 1024, section));
    let mut members = Vec::new();
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let raw_path = entry.path_bytes().into_owned();
        let bad = |problem| entry_error(archive_path, &raw_path, problem);
        let path = normalize(&raw_path).ok_or_else(|| bad(EntryProblem::LeavesRoot))?;
        let header = entry.header();
        let entry_type = header.entry_type();
        if matches!(entry_type, EntryType::XGlobalHeader) {
            continue;
        }
        let number =
            |value: io::Result<u64>| value.map_err(|e| bad(EntryProblem::BadHeader(e.to_string())));
        let mode = header
            .mode()
            .map_err(|e| bad(EntryProblem::BadHeader(e.to_string())))?
            & 0o7777;
        let mut uid = number(header.uid())?;
        let mut gid = number(header.gid())?;
        let mtime = number(header.mtime())?;
        let device = |header: &Header| -> Result<(u32, u32)> {
            let number = |value: io::Result<Option<u32>>| {
                value
                    .map(Option::unwrap_or_default)
                    .map_err(|e| bad(EntryProblem::BadHeader(e.to_string())))
            };
            Ok((
                number(header.device_major())?,
                number(header.device_minor())?,
            ))
        };
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let kind = match entry_type {
            EntryType::Regular | EntryType::Continuous => Kind::File {
                offset: start + entry.raw_file_position(),
                size: entry.size(),
            },
            EntryType::Directory => Kind::Directory,
            EntryType::Symlink => {
                Kind::Symlink(link.ok_or_else(|| bad(EntryProblem::NoLinkTarget))?)
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| bad(EntryProblem::NoLinkTarget))?;
                Kind::HardLink(normalize(&target).ok_or_else(|| bad(EntryProblem::LeavesRoot))?)
            }
            EntryType::Char => {
                let (major, minor) = device(header)?;
                Kind::CharDevice { major, minor }
            }
            EntryType::Block => {
                let (major, minor) = device(header)?;
                Kind::BlockDevice { major, minor }
            }
            EntryType::Fifo => Kind::Fifo,
            other => return Err(bad(EntryProblem::UnsupportedType(other.as_byte() as char))),
        };
        let mut xattrs = Vec::new();
        if let Some(extensions) = entry
            .pax_extensions()
            .map_err(|e| bad(EntryProblem::BadHeader(e.to_string())))?
        {
            for extension in extensions {
                let extension =
                    extension.map_err(|e| bad(EntryProblem::BadHeader(e.to_string())))?;
                let Ok(key) = extension.key() else { continue };
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push((name.to_owned(), extension.value_bytes().to_vec()));
                } else if key == "uid" || key == "gid" {
                    // Ids too big for the header's octal field.
                    let value = extension
                        .value()
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                        .ok_or_else(|| bad(EntryProblem::BadHeader(format!("PAX {key}"))))?;
                    if key == "uid" {
                        uid = value;
                    } else {
                        gid = value;
                    }
                }
            }
        }
        // By name, stable, and of two records for one name the later wins (as in PAX).
        xattrs.sort_by(|a, b| a.0.cmp(&b.0));
        xattrs.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0;
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        if path.is_empty() {
            // The root folder's own entry (`./`); see the module documentation.
            continue;
        }
        members.push(Member {
            path,
            kind,
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        });
    }
    Ok(members)
}

/// A tar path made relative and canonical; `None` when it has a `..` component. The root
/// itself becomes the empty path.
fn normalize(path: &[u8]) -> Option<Vec<u8>> {
    let mut normalized = Vec::with_capacity(path.len());
    for component in path.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return None,
            name => {
                if !normalized.is_empty() {
                    normalized.push(b'/');
                }
                normalized.extend_from_slice(name);
            }
        }
    }
    Some(normalized)
}

/// Sorted by path; of two entries with one path, the later one in the archive is kept.
fn sort_and_dedup(mut members: Vec<Member>) -> Vec<Member> {
    // Stable, so equal paths stay in archive order and the last of each run is the later one.
    members.sort_by(|a, b| a.path.cmp(&b.path));
    let mut kept: Vec<Member> = Vec::with_capacity(members.len());
    for member in members {
        match kept.last_mut() {
            Some(last) if last.path == member.path => *last = member,
            _ => kept.push(member),
        }
    }
    kept
}

/// Every group of names of one inode becomes: the first name (in sorted order) with the
/// data, the others hard links to it.
fn resolve_hard_links(mut members: Vec<Member>, archive: &Path) -> Result<Vec<Member>> {
    let index: HashMap<Vec<u8>, usize> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    // The entry holding the data for each hard link, following chains of links.
    let mut holder_of = vec![None; members.len()];
    for (i, member) in members.iter().enumerate() {
        let mut current = i;
        let mut steps = 0;
        while let Kind::HardLink(target) = &members[current].kind {
            current = *index.get(target).ok_or_else(|| {
                entry_error(
                    archive,
                    &member.path,
                    EntryProblem::DanglingHardLink(String::from_utf8_lossy(target).into_owned()),
                )
            })?;
            steps += 1;
            if steps > members.len() {
                return Err(entry_error(
                    archive,
                    &member.path,
                    EntryProblem::HardLinkLoop,
                ));
            }
        }
        if current != i {
            holder_of[i] = Some(current);
        }
    }
    // Each group's names, the holder of the data among them.
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, holder) in holder_of.iter().enumerate() {
        if let Some(holder) = *holder {
            groups.entry(holder).or_insert_with(|| vec![holder]).push(i);
        }
    }
    for (holder, mut group) in groups {
        // Members are sorted, so the smallest index is the first name.
        group.sort_unstable();
        let first = group[0];
        let data = members[holder].clone();
        let first_path = members[first].path.clone();
        for i in group {
            let path = std::mem::take(&mut members[i].path);
            let kind = if i == first {
                data.kind.clone()
            } else {
                Kind::HardLink(first_path.clone())
            };
            members[i] = Member {
                path,
                kind,
                ..data.clone()
            };
        }
    }
    Ok(members)
}

/// The compressed writer over the blob, chosen by [`Compression`].
enum Encoder {
    Gzip(flate2::write::GzEncoder<BlobWriter>),
    Zstd(zstd::stream::write::Encoder<'static, BlobWriter>),
    None(BlobWriter),
}

impl Encoder {
    fn new(blob: BlobWriter, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip => Self::Gzip(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(blob, flate2::Compression::new(GZIP_LEVEL)),
            ),
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(blob, ZSTD_LEVEL)?;
                encoder.include_checksum(false)?;
                encoder.include_contentsize(false)?;
                Self::Zstd(encoder)
            }
            Compression::None => Self::None(blob),
        })
    }

    fn finish(self) -> io::Result<BlobWriter> {
        match self {
            Self::Gzip(encoder) => encoder.finish(),
            Self::Zstd(encoder) => encoder.finish(),
            Self::None(blob) => Ok(blob),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Gzip(encoder) => encoder.write(buf),
            Self::Zstd(encoder) => encoder.write(buf),
            Self::None(blob) => blob.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Gzip(encoder) => encoder.flush(),
            Self::Zstd(encoder) => encoder.flush(),
            Self::None(blob) => blob.flush(),
        }
    }
}

/// Reads `remaining` bytes from `offset` of a file with positioned reads, failing on a short
/// file (a truncated archive must not become a layer with zeroes in it).
struct Section<'a> {
    file: &'a File,
    offset: u64,
    remaining: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let len = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..len], self.offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a file's data",
            ));
        }
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The second pass: the sorted entries into a compressed blob, hashing both streams.
fn write_members(
    store: &BlobStore,
    file: &File,
    archive: &Path,
    members: &[Member],
    options: &LayerOptions,
) -> Result<Layer> {
    let blob = store.writer()?;
    let temp: PathBuf = store.root().join("blobs/sha256/.gbb-tmp");
    let write_error = |e| Error::io("write a layer in", &temp, e);
    let encoder = Encoder::new(blob, options.compression).map_err(write_error)?;
    let mut builder = tar::Builder::new(DigestWriter::new(PipeWriter::new(encoder)));
    let epoch = options.epoch.seconds();
    for member in members {
        let mut header = Header::new_gnu();
        header.set_mode(member.mode);
        header.set_uid(member.uid);
        header.set_gid(member.gid);
        header.set_mtime(member.mtime.min(epoch));
        header.set_size(0);
        // A hard link's xattrs are its first name's (one inode): written once, there.
        if !member.xattrs.is_empty() && !matches!(member.kind, Kind::HardLink(_)) {
            let records: Vec<(String, &[u8])> = member
                .xattrs
                .iter()
                .map(|(name, value)| (format!("SCHILY.xattr.{name}"), value.as_slice()))
                .collect();
            builder
                .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(write_error)?;
        }
        let path = Path::new(OsStr::from_bytes(&member.path));
        let result = match &member.kind {
            Kind::File { offset, size } => {
                header.set_entry_type(EntryType::Regular);
                header.set_size(*size);
                let data = Section {
                    file,
                    offset: *offset,
                    remaining: *size,
                };
                builder.append_data(&mut header, path, data)
            }
            Kind::Directory => {
                header.set_entry_type(EntryType::Directory);
                let mut dir = member.path.clone();
                dir.push(b'/');
                let dir = Path::new(OsStr::from_bytes(&dir));
                builder.append_data(&mut header, dir, io::empty())
            }
            Kind::Symlink(target) => {
                header.set_entry_type(EntryType::Symlink);
                let target = Path::new(OsStr::from_bytes(target));
                builder.append_link(&mut header, path, target)
            }
            Kind::HardLink(target) => {
                header.set_entry_type(EntryType::Link);
                let target = Path::new(OsStr::from_bytes(target));
                builder.append_link(&mut header, path, target)
            }
            Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                let kind = if matches!(member.kind, Kind::CharDevice { .. }) {
                    EntryType::Char
                } else {
                    EntryType::Block
                };
                header.set_entry_type(kind);
                header.set_device_major(*major).map_err(write_error)?;
                header.set_device_minor(*minor).map_err(write_error)?;
                builder.append_data(&mut header, path, io::empty())
            }
            Kind::Fifo => {
                header.set_entry_type(EntryType::Fifo);
                builder.append_data(&mut header, path, io::empty())
            }
        };
        result.map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::Tar {
                    path: archive.to_path_buf(),
                    source: e,
                }
            } else {
                write_error(e)
            }
        })?;
    }
    let hashed = builder.into_inner().map_err(write_error)?;
    let (pipe, diff_hex, uncompressed_size) = hashed.finish();
    let encoder = pipe.finish().map_err(write_error)?;
    let blob = encoder.finish().map_err(write_error)?.finish()?;
    let diff_id = Sha256Digest::from_str(&diff_hex).map_err(|_| Error::Digest(diff_hex.clone()))?;
    Ok(Layer {
        descriptor: blob.descriptor(options.compression.media_type()),
        diff_id,
        uncompressed_size,
        entries: members.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_relative_and_canonical() {
        let cases: &[(&str, Option<&str>)] = &[
            ("./", Some("")),
            (".", Some("")),
            ("./usr/bin/", Some("usr/bin")),
            ("/etc//passwd", Some("etc/passwd")),
            ("a/./b", Some("a/b")),
            ("a/../b", None),
            ("../etc", None),
        ];
        for (input, expected) in cases {
            let got = normalize(input.as_bytes()).map(|p| String::from_utf8(p).unwrap());
            assert_eq!(got.as_deref(), *expected, "{input}");
        }
    }
}

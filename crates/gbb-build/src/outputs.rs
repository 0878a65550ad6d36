//! The boundary between a build container and the host's files.
//!
//! A build container runs users' hooks as root, so whatever it leaves in its output folder is
//! untrusted: a hook can plant `ln -s /etc/shadow /gbb-out/packages.tsv` to have the host's
//! file copied into the committed `PACKAGES.md`, or a link where gbb writes next
//! (`/gbb-out/context.tar`) to have gbb overwrite a host file (issue 9, items 1, 2 and 10).
//! The rules, all in this file:
//!
//! - every container run gets a fresh folder, [`RunDir`] (`.gbb/run/<id>-XXXXXX/`), mounted as
//!   `/gbb-out`; it is removed when the run is over, whatever happened, so a failed or
//!   disk-filling run leaves nothing behind;
//! - gbb takes only regular files out of it ([`RunDir::take_into`]): checked with `lstat`,
//!   opened with `O_NOFOLLOW`, checked again with `fstat`, and moved (or copied, when the file
//!   is not the user's or has other names) into `.gbb/build/<ns>/<name>/`, which no container
//!   mounts;
//! - text read back (`packages.tsv`, `purged.txt`, `key`) goes through [`read_text`]: a regular
//!   file, not a link, of at most [`TEXT_LIMIT`] bytes;
//! - what gbb writes itself ([`write_file`], build contexts) is created exclusively under a
//!   fresh random name (`O_EXCL`, through `tempfile`) and renamed over its target, so a link at
//!   the target or at a guessable temporary name is replaced, never followed.
//!
//! Files gbb hands to the user belong to the user who ran gbb ([`Owner`]), not to the
//! container's root: moved files are `chown`ed when gbb may (it runs as root), and copied into
//! a file of its own otherwise.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::io;
use crate::{BuildError, Paths};

/// The most a text file from phase 1 may hold (`packages.tsv` of a large image is a few
/// hundred lines): a container cannot make gbb read gigabytes into memory.
pub(crate) const TEXT_LIMIT: u64 = 4 * 1024 * 1024;

/// What phase 1 leaves that gbb keeps in `.gbb/build/<ns>/<name>/`: the root file system for
/// phase 2 (and `-f`), what `PACKAGES.md` and the SBOMs are made from (for this image and
/// its children; `pkgdb.tar`: see the gbb-sbom crate), and the file index children's loader
/// checks read (`files.json`, which gbb itself writes into the run's folder after the
/// container ended, over anything a hook left there: see `loader_check.rs`).
pub(crate) const KEPT_OUTPUTS: [&str; 8] = [
    "rootfs.tar",
    "packages.tsv",
    "purged.txt",
    "package.installed",
    "pkgdb.tar",
    crate::loader_check::FILE_INDEX,
    crate::binpkg_index::KEPT_INDEX,
    crate::binpkg_index::KEPT_STAMP,
];

/// The mode of every file gbb hands to the user: data, never executable or set-id (a
/// container could `chmod 4755` what it leaves).
const FILE_MODE: u32 = 0o644;

/// The user who ran gbb: the owner of the files gbb writes for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Owner {
    pub(crate) fn of_this_process() -> Self {
        // SAFETY: getuid and getgid always succeed and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Self { uid, gid }
    }
}

/// Whether an I/O error means a full disk (or a full quota, which users meet the same way).
pub(crate) fn is_no_space(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded
    ) || matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// The error of writing `path`: [`BuildError::NoSpace`] when the disk is full, so the message
/// says so and names the file; [`BuildError::Io`] otherwise.
pub(crate) fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| {
        if is_no_space(&source) {
            BuildError::NoSpace {
                path: path.to_owned(),
            }
        } else {
            BuildError::Io {
                path: path.to_owned(),
                source,
            }
        }
    }
}

fn describe(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading if it is a regular file; `None` when there is nothing there.
///
/// `lstat` first, so that a device node or a pipe a container made is never opened (opening
/// one can block or have effects); then `O_NOFOLLOW` and `fstat` on what was opened, so that
/// what is read is exactly what was checked.
pub(crate) fn open_regular(path: &Path) -> Result<Option<(File, Metadata)>, BuildError> {
    let checked = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let not_regular = |found| BuildError::NotARegularFile {
        path: path.to_owned(),
        found,
    };
    if !checked.file_type().is_file() {
        return Err(not_regular(describe(checked.file_type())));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => not_regular("a symbolic link"),
            _ => io(path)(e),
        })?;
    let meta = file.metadata().map_err(io(path))?;
    if !meta.file_type().is_file() || meta.ino() != checked.ino() || meta.dev() != checked.dev() {
        return Err(not_regular(describe(meta.file_type())));
    }
    Ok(Some((file, meta)))
}

/// The text of a regular file, or `None` when there is none; a link, a folder or a file of more
/// than `limit` bytes is an error. Bytes that are not UTF-8 are replaced (the text goes into
/// Markdown).
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<Option<String>, BuildError> {
    let Some((file, meta)) = open_regular(path)? else {
        return Ok(None);
    };
    if meta.len() > limit {
        return Err(BuildError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::new();
    // `take`, as the file could grow after the check.
    file.take(limit).read_to_end(&mut bytes).map_err(io(path))?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Writes `content` to `path` for the user: into a new file of a random name next to it
/// (created with `O_EXCL`, so no link planted at a guessable name is followed), then renamed
/// over `path` (which replaces a link there instead of writing through it). Readers never see
/// half a file, and a failure (a full disk) leaves `path` as it was.
pub fn write_file(path: &Path, content: &[u8]) -> Result<(), BuildError> {
    replace_file(path, |temp| temp.write_all(content))
}

/// Replaces `target` with what `fill` writes: into a new file of mode [`FILE_MODE`] with a
/// random name next to it (removed when anything fails), then renamed over `target`. The one
/// way this module writes a file for the user (see [`write_file`]).
fn replace_file(
    target: &Path,
    fill: impl FnOnce(&mut tempfile::NamedTempFile) -> std::io::Result<()>,
) -> Result<(), BuildError> {
    let name = target
        .file_name()
        .map(|n| format!(".{}.", n.to_string_lossy()))
        .unwrap_or_else(|| ".gbb.".to_owned());
    let mut temp = tempfile::Builder::new()
        .prefix(&name)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(FILE_MODE))
        .tempfile_in(target.parent().unwrap_or(Path::new(".")))
        .map_err(write_error(target))?;
    fill(&mut temp)
        .and_then(|()| temp.flush())
        .map_err(write_error(target))?;
    temp.persist(target)
        .map_err(|e| write_error(target)(e.error))?;
    Ok(())
}

/// Removes the folders of runs that ended without cleaning up (gbb was killed). Called with the
/// stack's lock held, so no other run of this stack is using one.
pub(crate) fn remove_leftover_runs(paths: &Paths) -> Result<(), BuildError> {
    let runs = paths.runs();
    match std::fs::remove_dir_all(&runs) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        // A stack on a read-only file system (or one this user may not write) can still be
        // built when everything is up to date; leftovers there cannot be removed anyway, and
        // each run makes a folder of its own, so they are in nobody's way.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(io(&runs)(e)),
    }
}

/// The folder one container run writes into (its `/gbb-out`), and where gbb puts the files of
/// that run it writes itself (the build context): `.gbb/run/<id>-XXXXXX/`. Removed when
/// dropped, whatever happened.
pub(crate) struct RunDir {
    dir: tempfile::TempDir,
}

impl RunDir {
    pub(crate) fn new(paths: &Paths, id: &str) -> Result<Self, BuildError> {
        let runs = paths.runs();
        std::fs::create_dir_all(&runs).map_err(write_error(&runs))?;
        let prefix = format!("{}-", id.replace('/', "-"));
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&runs)
            .map_err(write_error(&runs))?;
        Ok(Self { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder, no longer removed when dropped (for `gbb shell`, whose container runs after
    /// the spec is made); the next build removes it.
    pub(crate) fn keep(self) -> PathBuf {
        self.dir.keep()
    }

    /// `name` in the folder, if the container left it there as a regular file; anything else
    /// of that name (a link, a folder) is an error.
    pub(crate) fn regular_file(&self, name: &str) -> Result<Option<PathBuf>, BuildError> {
        let path = self.path().join(name);
        Ok(open_regular(&path)?.map(|_| path))
    }

    /// Moves `names` out of the folder into `dest` (which no container mounts), replacing what
    /// is there; a name this run did not leave is removed from `dest`, so nothing of an
    /// earlier run mixes in. Only regular files are taken; they end up owned by `owner`, of
    /// mode 0644.
    pub(crate) fn take_into(
        &self,
        names: &[&str],
        dest: &Path,
        owner: Owner,
    ) -> Result<(), BuildError> {
        std::fs::create_dir_all(dest).map_err(write_error(dest))?;
        for name in names {
            let from = self.path().join(name);
            let to = dest.join(name);
            match open_regular(&from)? {
                Some((file, meta)) => move_file(&from, file, &meta, &to, owner)?,
                None => match std::fs::remove_file(&to) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&to)(e)),
                },
            }
        }
        Ok(())
    }
}

impl RunDir {
    /// Moves the folder `name` (Portage's build logs, with `BOB_KEEP_BUILD_LOG`) out of the
    /// run's folder into `dest/name`, replacing what an earlier run left there. Only the
    /// regular files directly inside it are taken, by the same rules as [`Self::take_into`];
    /// links, folders and anything else a container left there are not followed and stay
    /// behind (the run's folder is removed with them).
    pub(crate) fn take_folder_into(
        &self,
        name: &str,
        dest: &Path,
        owner: Owner,
    ) -> Result<(), BuildError> {
        let from = self.path().join(name);
        let to = dest.join(name);
        match std::fs::remove_dir_all(&to) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(&to)(e)),
        }
        match std::fs::symlink_metadata(&from) {
            Ok(meta) if meta.file_type().is_dir() => {}
            // Not a folder (a link, say): nothing is taken, nothing followed.
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&from)(e)),
        }
        std::fs::create_dir_all(&to).map_err(write_error(&to))?;
        for entry in std::fs::read_dir(&from).map_err(io(&from))? {
            let entry = entry.map_err(io(&from))?;
            let source = entry.path();
            // open_regular checks the type without following a link (lstat, O_NOFOLLOW).
            if let Ok(Some((file, meta))) = open_regular(&source) {
                move_file(&source, file, &meta, &to.join(entry.file_name()), owner)?;
            }
        }
        Ok(())
    }
}

/// Moves the checked regular file `from` (open as `file`) to `to`. A rename when the file can
/// be the user's (it is already, or gbb may `chown` it) and has no other name (a hard link a
/// container made into a folder it still reaches would let it change the file later);
/// otherwise a copy into a new file of gbb's own.
fn move_file(
    from: &Path,
    mut file: File,
    meta: &Metadata,
    to: &Path,
    owner: Owner,
) -> Result<(), BuildError> {
    let owned = (meta.uid() == owner.uid && meta.gid() == owner.gid)
        || std::os::unix::fs::fchown(&file, Some(owner.uid), Some(owner.gid)).is_ok();
    if owned && meta.nlink() == 1 {
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
            .map_err(io(from))?;
        match std::fs::rename(from, to) {
            Ok(()) => return Ok(()),
            // Another file system: copy.
            Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
            Err(e) => return Err(io(to)(e)),
        }
    }
    replace_file(to, |temp| std::io::copy(&mut file, temp).map(drop))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn paths(dir: &Path) -> Paths {
        Paths::new(dir, &dir.join("cache"))
    }

    #[test]
    fn read_text_refuses_links_folders_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("canary");
        std::fs::write(&canary, "secret\n").unwrap();
        let link = dir.path().join("packages.tsv");
        symlink(&canary, &link).unwrap();
        let error = read_text(&link, TEXT_LIMIT).unwrap_err();
        assert!(error.to_string().contains("is a symbolic link"), "{error}");

        let folder = dir.path().join("purged.txt");
        std::fs::create_dir(&folder).unwrap();
        assert!(
            read_text(&folder, TEXT_LIMIT)
                .unwrap_err()
                .to_string()
                .contains("is a folder")
        );

        let large = dir.path().join("large");
        std::fs::write(&large, "x".repeat(100)).unwrap();
        let error = read_text(&large, 10).unwrap_err();
        assert!(
            error.to_string().contains("100 bytes, more than the 10"),
            "{error}"
        );

        assert_eq!(
            read_text(&canary, TEXT_LIMIT).unwrap().as_deref(),
            Some("secret\n")
        );
        assert_eq!(
            read_text(&dir.path().join("none"), TEXT_LIMIT).unwrap(),
            None
        );
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("packages.tsv");
        let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o644) }, 0);
        // Opening a fifo for reading would block this test forever.
        let error = read_text(&fifo, TEXT_LIMIT).unwrap_err();
        assert!(error.to_string().contains("is a named pipe"), "{error}");
    }

    #[test]
    fn write_file_replaces_a_planted_link_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let canary = dir.path().join("canary");
        std::fs::write(&canary, "untouched").unwrap();
        let target = dir.path().join("PACKAGES.md");
        symlink(&canary, &target).unwrap();
        write_file(&target, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "untouched");
        assert!(std::fs::symlink_metadata(&target).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o600, 0o600, "{mode:o}");
        // Nothing else is left next to it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn take_into_moves_regular_files_and_refuses_links() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(&paths(dir.path()), "ns/app").unwrap();
        let dest = dir.path().join("build/ns/app");
        std::fs::create_dir_all(&dest).unwrap();
        // Left by an earlier run, not by this one: removed.
        std::fs::write(dest.join("purged.txt"), "/old\n").unwrap();
        std::fs::write(run.path().join("rootfs.tar"), "tar").unwrap();
        std::fs::set_permissions(
            run.path().join("rootfs.tar"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        std::fs::write(run.path().join("packages.tsv"), "a/b-1\t\t\n").unwrap();
        run.take_into(&KEPT_OUTPUTS, &dest, Owner::of_this_process())
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("rootfs.tar")).unwrap(),
            "tar"
        );
        let mode = std::fs::metadata(dest.join("rootfs.tar")).unwrap().mode() & 0o7777;
        assert_eq!(mode, FILE_MODE, "{mode:o}");
        assert!(dest.join("packages.tsv").is_file());
        assert!(!dest.join("purged.txt").exists());

        let canary = dir.path().join("canary");
        std::fs::write(&canary, "secret").unwrap();
        let run = RunDir::new(&paths(dir.path()), "ns/app").unwrap();
        symlink(&canary, run.path().join("packages.tsv")).unwrap();
        let error = run
            .take_into(&KEPT_OUTPUTS, &dest, Owner::of_this_process())
            .unwrap_err();
        assert!(error.to_string().contains("packages.tsv"), "{error}");
        assert!(error.to_string().contains("is a symbolic link"), "{error}");
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
        assert!(
            std::fs::symlink_metadata(dest.join("packages.tsv"))
                .unwrap()
                .is_file()
        );
        let folder = run.path().to_owned();
        drop(run);
        assert!(!folder.exists(), "the run's folder is removed");
    }

    #[test]
    fn files_of_another_owner_end_up_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(&paths(dir.path()), "ns/app").unwrap();
        let file = run.path().join("rootfs.tar");
        std::fs::write(&file, "tar").unwrap();
        let me = Owner::of_this_process();
        // As root, the file can be another user's, as a container's files are to a user who
        // runs gbb without root. As a user, this one is already theirs.
        let _ = std::os::unix::fs::chown(&file, Some(54321), Some(54321));
        // A second name, as a hard link a container made: copied, not moved.
        std::fs::hard_link(&file, run.path().join("other-name")).unwrap();
        let dest = dir.path().join("out");
        run.take_into(&["rootfs.tar"], &dest, me).unwrap();
        let meta = std::fs::metadata(dest.join("rootfs.tar")).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (me.uid, me.gid));
        assert_eq!(meta.nlink(), 1, "a copy, not the container's inode");
        assert_eq!(
            std::fs::read_to_string(dest.join("rootfs.tar")).unwrap(),
            "tar"
        );
    }

    #[test]
    fn a_full_disk_is_named() {
        let error = write_error(Path::new("/x/context.tar"))(std::io::Error::from_raw_os_error(
            libc::ENOSPC,
        ));
        assert_eq!(
            error.to_string(),
            "no space left on device: cannot write `/x/context.tar`"
        );
    }
}

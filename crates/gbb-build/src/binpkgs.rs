//! The binary package cache, and how a build container adds to it without being able to
//! change it.
//!
//! Gentoo binary packages are cached so that a rebuild compiles only what changed. The cache
//! is shared by every build of the same builder chain, on every stack of the machine, which
//! makes it a target: a package a hook replaces there is installed into every image built
//! from the chain afterwards. So:
//!
//! - **One cache per builder chain, by content key.** `<cache>/packages/<ns>/<builder>/<key>`,
//!   where the key is the content key of the builder the chain starts from (computed before
//!   anything runs). Two stacks share packages only when their builder chains are the same,
//!   file for file and setting for setting; a stack with the same namespace name but another
//!   builder (or another stage3 or portage tree) gets a cache of its own.
//! - **Read-only in the container.** The cache is mounted read-only at
//!   [`CACHE_TARGET`]; `PKGDIR` ([`RUN_TARGET`]) is a fresh, empty folder of this run. The
//!   in-container script (`gbb_binpkg_setup` in `container/helpers.sh`) fills it with
//!   symlinks to the cached files and a `Packages` index of them; Portage reads cached
//!   packages through the links and writes what it builds as new files (with
//!   `binpkg-multi-instance`, a new build id).
//! - **gbb moves new packages in, after the container ended** ([`PackageRun::harvest`]): it
//!   walks the run's folder without following any link, takes only regular files (with one
//!   link to their inode) whose paths are valid binary package paths
//!   ([`binary_package_path`]), and links each into the cache under the same name, which
//!   fails rather than replaces when the name is taken: a file in the cache never changes.
//!   The container is gone by then, so nothing changes the folder while gbb reads it.
//!
//! A hook can still add packages under new names, as its own emerge does; what it cannot do
//! is change a package another build already put in the cache.

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use gbb_engine::Mount;

use crate::BuildError;
use crate::error::io;
use crate::outputs::write_file;

/// Where the cache of the builder chain is mounted, read-only.
pub(crate) const CACHE_TARGET: &str = crate::mount_targets::PACKAGE_CACHE;
/// Where this run's own `PKGDIR` is mounted.
pub(crate) const RUN_TARGET: &str = crate::mount_targets::PACKAGE_RUN;

/// The binary package cache of one builder chain.
#[derive(Clone, Debug)]
pub(crate) struct PackageCache {
    dir: PathBuf,
}

impl PackageCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The cache's folder on this machine.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The read-only mount of the cache alone: for `gbb shell`, whose `PKGDIR` stays inside
    /// its container and goes with it.
    pub(crate) fn read_only_mounts(&self) -> Result<Vec<Mount>, BuildError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        Ok(vec![Mount {
            source: std::fs::canonicalize(&self.dir).map_err(io(&self.dir))?,
            target: CACHE_TARGET.to_owned(),
            read_only: true,
        }])
    }

    /// A fresh, empty `PKGDIR` for one run, in `runs` (on the cache's file system, so that
    /// moving packages in is a link, not a copy). Folders left by gbb processes that are
    /// gone (killed before they could remove theirs) are removed first.
    pub(crate) fn open_run(&self, runs: &Path) -> Result<PackageRun, BuildError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        std::fs::create_dir_all(runs).map_err(io(runs))?;
        remove_abandoned_runs(runs);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempdir_in(runs)
            .map_err(io(runs))?;
        Ok(PackageRun {
            cache: self.clone(),
            dir,
        })
    }
}

/// Removes run folders named after a process that no longer exists. Best effort: a folder
/// that cannot be removed now is tried again next time.
fn remove_abandoned_runs(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// One run's own `PKGDIR`, removed (with whatever was not taken) when dropped.
#[derive(Debug)]
pub(crate) struct PackageRun {
    cache: PackageCache,
    dir: tempfile::TempDir,
}

/// What [`PackageRun::harvest`] did with the files of a run.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Harvest {
    /// Packages moved into the cache (paths relative to it).
    pub(crate) added: Vec<PathBuf>,
    /// Entries left out, with the reason (paths relative to the run's folder). The links
    /// the in-container script made to cached files, Portage's index and the folders of
    /// valid paths are expected there and not listed.
    pub(crate) refused: Vec<(PathBuf, &'static str)>,
    /// Whether the run left `_no_cache_<tag>` records to add to the cache's.
    pub(crate) no_cache_done: bool,
}

impl PackageRun {
    /// This run's own `PKGDIR` on this machine (empty until the container runs).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The mounts of a build container: the cache read-only, this run's folder as `PKGDIR`.
    pub(crate) fn mounts(&self) -> Result<Vec<Mount>, BuildError> {
        let mut mounts = self.cache.read_only_mounts()?;
        mounts.push(Mount {
            source: std::fs::canonicalize(self.dir.path()).map_err(io(self.dir.path()))?,
            target: RUN_TARGET.to_owned(),
            read_only: false,
        });
        Ok(mounts)
    }

    /// Moves the packages the run built into the cache (see the module's documentation).
    /// Call it only once the container has ended.
    pub(crate) fn harvest(self) -> Result<Harvest, BuildError> {
        let mut harvest = Harvest::default();
        let mut found = Vec::new();
        walk(self.dir.path(), Path::new(""), &mut found, &mut harvest)?;
        if harvest.no_cache_done {
            merge_no_cache_done(self.dir.path(), &self.cache.dir)?;
        }
        for relative in found {
            let source = self.dir.path().join(&relative);
            let target = self.cache.dir.join(&relative);
            if add_to_cache(&source, &target)? {
                harvest.added.push(relative);
            } else {
                harvest
                    .refused
                    .push((relative, "a package of that name is in the cache"));
            }
        }
        Ok(harvest)
    }
}

/// The file in which a builder chain's cache records which `_no_cache_<tag>` entries were
/// built again already (`<tag> <entry>` lines), so that each is done once per tag, as kubler
/// does. The container reads it from the read-only cache and writes new lines into its own
/// `PKGDIR`; gbb adds the lines it accepts to the cache's file.
const NO_CACHE_DONE: &str = ".gbb-no-cache-done";

/// At most this much of a run's `NO_CACHE_DONE` is read.
const NO_CACHE_DONE_LIMIT: u64 = 64 * 1024;

/// Whether `line` is a `_no_cache_<tag>` record: a tag and a `cat/pkg` entry (or a file below
/// it), in the characters tags and package paths may hold.
fn valid_no_cache_line(line: &str) -> bool {
    let Some((tag, entry)) = line.split_once(' ') else {
        return false;
    };
    let word = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c) || extra.contains(c))
    };
    word(tag, "") && word(entry, "/") && entry.contains('/') && !entry.contains("..")
}

/// Adds the valid lines of the run's `NO_CACHE_DONE` (a regular file, checked by the walk)
/// that the cache's file lacks, writing the cache's file anew under a temporary name
/// ([`write_file`]).
fn merge_no_cache_done(run: &Path, cache: &Path) -> Result<(), BuildError> {
    let source = run.join(NO_CACHE_DONE);
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(
            std::fs::File::open(&source).map_err(io(&source))?,
            NO_CACHE_DONE_LIMIT,
        ),
        &mut text,
    )
    .map_err(io(&source))?;
    let target = cache.join(NO_CACHE_DONE);
    let existing = std::fs::read_to_string(&target).unwrap_or_default();
    let mut lines: Vec<&str> = existing.lines().collect();
    for line in text.lines().filter(|l| valid_no_cache_line(l)) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.len() == existing.lines().count() {
        return Ok(());
    }
    std::fs::create_dir_all(cache).map_err(io(cache))?;
    write_file(&target, (lines.join("\n") + "\n").as_bytes())
}

/// Files Portage keeps in `PKGDIR` that are not packages: its index.
fn is_index(name: &OsStr) -> bool {
    name == "Packages" || name == "Packages.gz"
}

/// Collects the regular files under `root/relative` that may go into the cache, lstat-ing
/// every entry and descending only into real folders, at most two levels down
/// (`category/name/`). Hand-written rather than with walkdir: the walk is two levels deep
/// and every kind of entry needs its own answer.
fn walk(
    root: &Path,
    relative: &Path,
    found: &mut Vec<PathBuf>,
    harvest: &mut Harvest,
) -> Result<(), BuildError> {
    let dir = root.join(relative);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .collect::<Result<_, _>>()
        .map_err(io(&dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let depth = relative.components().count();
    for entry in entries {
        let name = entry.file_name();
        let path = relative.join(&name);
        // lstat: a link is a link, whatever it points at.
        let metadata = entry.path().symlink_metadata().map_err(io(&entry.path()))?;
        let kind = metadata.file_type();
        if kind.is_dir() {
            if depth < 2 {
                walk(root, &path, found, harvest)?;
            } else {
                harvest
                    .refused
                    .push((path, "a folder where packages belong"));
            }
        } else if kind.is_symlink() {
            let own_link = std::fs::read_link(entry.path())
                .is_ok_and(|target| target == Path::new(CACHE_TARGET).join(&path));
            if !own_link {
                harvest.refused.push((path, "a symbolic link"));
            }
        } else if depth == 0 && is_index(&name) {
            // Portage's index of this run: rebuilt from the cache by every run.
        } else if depth == 0 && name == NO_CACHE_DONE && kind.is_file() && metadata.nlink() == 1 {
            harvest.no_cache_done = true;
        } else if !kind.is_file() {
            harvest.refused.push((path, "not a regular file"));
        } else if metadata.nlink() != 1 {
            harvest
                .refused
                .push((path, "a file with other hard links to it"));
        } else if !binary_package_path(&path) {
            harvest.refused.push((path, "not a binary package's name"));
        } else {
            found.push(path);
        }
    }
    Ok(())
}

/// Links `source` into the cache as `target`, which fails when `target` exists: a cached file
/// is never replaced. Returns whether it was added. Across file systems (a cache folder on
/// another mount than its runs) the file is copied to a temporary name beside `target`
/// first, and that is linked.
fn add_to_cache(source: &Path, target: &Path) -> Result<bool, BuildError> {
    let parent = target.parent().expect("package paths have folders");
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    // Only what Portage needs: readable, no set-id or executable bits. A file gbb may not
    // change (made by the container's root while gbb runs as a user) is copied instead: the
    // copy is gbb's own.
    let owned = std::fs::set_permissions(source, std::fs::Permissions::from_mode(0o644)).is_ok();
    let copy_and_link = || -> Result<std::io::Result<()>, BuildError> {
        let temporary = tempfile::NamedTempFile::with_prefix_in(".gbb-incoming-", parent)
            .map_err(io(parent))?;
        std::fs::copy(source, temporary.path()).map_err(io(temporary.path()))?;
        std::fs::set_permissions(temporary.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(io(temporary.path()))?;
        Ok(std::fs::hard_link(temporary.path(), target))
    };
    let linked = if owned {
        match std::fs::hard_link(source, target) {
            Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => copy_and_link()?,
            other => other,
        }
    } else {
        copy_and_link()?
    };
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(target)(e)),
    }
}

/// Whether `path` (relative) is where Portage keeps a binary package in `PKGDIR`:
/// `category/name/name-version-build.xpak` or `category/name/name-version-build.gpkg.tar`
/// (FEATURES=binpkg-multi-instance, Portage's default), or `category/name-version.tbz2` or
/// `category/name-version.gpkg.tar` (without it). Names follow PMS: a category is
/// `[A-Za-z0-9_][A-Za-z0-9+_.-]*`, a package name `[A-Za-z0-9_][A-Za-z0-9+_-]*` not ending in
/// what looks like a version, a version `1.2.3b_rc4_p5-r6`; a build id is a number from 1.
/// Anything else (`..`, hidden files, Portage's temporary `*.partial` files, names with
/// spaces) is not.
pub(crate) fn binary_package_path(path: &Path) -> bool {
    // Split by hand: `Path::components` would quietly drop a `.` in the middle.
    let Some(text) = path.to_str() else {
        return false;
    };
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [category, name, file] => {
            valid_category(category)
                && valid_name(name)
                && [".xpak", ".gpkg.tar"].iter().any(|suffix| {
                    file.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .and_then(|rest| rest.strip_suffix(suffix))
                        .and_then(|rest| rest.rsplit_once('-'))
                        .is_some_and(|(version, build)| {
                            valid_version(version) && valid_build_id(build)
                        })
                })
        }
        [category, file] => {
            valid_category(category)
                && [".tbz2", ".gpkg.tar"].iter().any(|suffix| {
                    file.strip_suffix(suffix)
                        .and_then(split_package_version)
                        .is_some()
                })
        }
        _ => false,
    }
}

fn valid_category(category: &str) -> bool {
    let mut chars = category.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "+_-".contains(c));
    // PMS: a name must not end in a hyphen and something that is a valid version.
    well_formed
        && !name
            .char_indices()
            .filter(|&(_, c)| c == '-')
            .any(|(at, _)| valid_version(&name[at + 1..]))
}

/// `name-version` split at the hyphen that starts a valid version after a valid name.
fn split_package_version(pf: &str) -> Option<(&str, &str)> {
    pf.char_indices()
        .filter(|&(_, c)| c == '-')
        .map(|(at, _)| (&pf[..at], &pf[at + 1..]))
        .find(|(name, version)| valid_name(name) && valid_version(version))
}

fn valid_build_id(build: &str) -> bool {
    !build.is_empty() && !build.starts_with('0') && build.bytes().all(|b| b.is_ascii_digit())
}

/// A PMS version: `\d+(\.\d+)*[a-z]?((_alpha|_beta|_pre|_rc|_p)\d*)*(-r\d+)?`.
fn valid_version(version: &str) -> bool {
    fn digits(s: &str) -> (&str, &str) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s.split_at(end)
    }
    let (number, mut rest) = digits(version);
    if number.is_empty() {
        return false;
    }
    while let Some(after) = rest.strip_prefix('.') {
        let (number, after) = digits(after);
        if number.is_empty() {
            return false;
        }
        rest = after;
    }
    if let Some(c) = rest.chars().next()
        && c.is_ascii_lowercase()
    {
        rest = &rest[1..];
    }
    'suffixes: while rest.starts_with('_') {
        for suffix in ["_alpha", "_beta", "_pre", "_rc", "_p"] {
            if let Some(after) = rest.strip_prefix(suffix) {
                // `_p` is a prefix of `_pre`: take it only when no letter follows.
                if after.starts_with(|c: char| c.is_ascii_lowercase()) {
                    continue;
                }
                rest = digits(after).1;
                continue 'suffixes;
            }
        }
        return false;
    }
    if let Some(after) = rest.strip_prefix("-r") {
        let (number, after) = digits(after);
        return !number.is_empty() && after.is_empty();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn no_cache_records_are_merged_once_and_checked() {
        let run = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::write(cache.path().join(NO_CACHE_DONE), "2025 dev-lang/go\n").unwrap();
        std::fs::write(
            run.path().join(NO_CACHE_DONE),
            "2025 dev-lang/go\n2026 dev-libs/libgreet\nbad line here\n2026 ../../etc\n",
        )
        .unwrap();
        merge_no_cache_done(run.path(), cache.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(cache.path().join(NO_CACHE_DONE)).unwrap(),
            "2025 dev-lang/go\n2026 dev-libs/libgreet\n"
        );
    }

    #[test]
    fn versions_follow_pms() {
        for good in [
            "1",
            "1.0",
            "1.2.3",
            "1.0a",
            "2.0_rc1",
            "1.0_p",
            "1.0_pre2_p3",
            "1.0-r1",
            "1.0b_beta4-r12",
            "2024.11.27",
        ] {
            assert!(valid_version(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "1.",
            ".1",
            "1..2",
            "1.0ab",
            "1.0_foo",
            "1.0-r",
            "1.0-rx",
            "1.0-1",
            "1 0",
            "1.0/",
            "v1",
            "1.0_prefix",
        ] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_categories_follow_pms() {
        assert!(valid_name("greet"));
        assert!(valid_name("gtk+"));
        assert!(valid_name("libfoo-bar"));
        assert!(valid_name("foo-bar2"));
        assert!(!valid_name("foo-1"), "ends in a version");
        assert!(!valid_name("foo-1.0-r1"));
        assert!(!valid_name("-foo"));
        assert!(!valid_name(".foo"));
        assert!(!valid_name(""));
        assert!(!valid_name("fo o"));
        assert!(valid_category("app-misc"));
        assert!(valid_category("dev-perl.x"));
        assert!(!valid_category(".gbb"));
        assert!(!valid_category(".."));
        assert!(!valid_category("-x"));
        assert!(!valid_category("a/b"));
    }

    #[test]
    fn binary_package_paths() {
        for good in [
            "app-misc/greet/greet-1.0-1.gpkg.tar",
            "app-misc/greet/greet-1.0-r2-12.xpak",
            "dev-libs/libfoo-bar/libfoo-bar-2.0_rc1-3.gpkg.tar",
            "app-misc/greet-1.0.tbz2",
            "app-misc/greet-1.0-r1.gpkg.tar",
            "x11-libs/gtk+/gtk+-3.24.1-1.gpkg.tar",
        ] {
            assert!(binary_package_path(Path::new(good)), "{good}");
        }
        for bad in [
            "Packages",
            "app-misc/greet/greet-1.0-1.gpkg.tar.partial",
            "app-misc/greet/greet-1.0-0.gpkg.tar",
            "app-misc/greet/greet-1.0-01.gpkg.tar",
            "app-misc/greet/greet-1.0.gpkg.tar",
            "app-misc/greet/other-1.0-1.gpkg.tar",
            "app-misc/greet/greet-1.0-1.tbz2",
            "app-misc/greet-1.0-1.xpak",
            "app-misc/greet.tbz2",
            "../app-misc/greet/greet-1.0-1.gpkg.tar",
            "/app-misc/greet/greet-1.0-1.gpkg.tar",
            "app-misc/../greet/greet-1.0-1.gpkg.tar",
            "app-misc/./greet/greet-1.0-1.gpkg.tar",
            ".gbb/greet/greet-1.0-1.gpkg.tar",
            "app-misc/greet/.greet-1.0-1.gpkg.tar",
            "app-misc/greet/greet-1.0-1.gpkg.tar/x",
            "app-misc/gr eet/gr eet-1.0-1.gpkg.tar",
            "All/greet-1.0.tbz2/x",
            "a/b/c/d-1.0-1.xpak",
        ] {
            assert!(!binary_package_path(Path::new(bad)), "{bad}");
        }
    }

    /// A cache and a run folder in a temporary folder.
    fn setup() -> (tempfile::TempDir, PackageCache, PackageRun) {
        let root = tempfile::tempdir().unwrap();
        let cache = PackageCache::new(root.path().join("cache"));
        let run = cache.open_run(&root.path().join("runs")).unwrap();
        (root, cache, run)
    }

    fn write(path: &Path, content: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// What the in-container script makes for a cached package: a link at `name` in the run's
    /// folder to the cached `app-misc/greet/greet-1.0-1.gpkg.tar`, as the container sees it.
    fn link_to_cached_greet(pkgdir: &Path, name: &str) {
        let link = pkgdir.join(name);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(
            Path::new(CACHE_TARGET).join("app-misc/greet/greet-1.0-1.gpkg.tar"),
            link,
        )
        .unwrap();
    }

    #[test]
    fn harvest_moves_new_packages_and_never_replaces_cached_ones() {
        let (_root, cache, run) = setup();
        let cached = cache.dir.join("app-misc/greet/greet-1.0-1.gpkg.tar");
        write(&cached, "the real package");
        let pkgdir = run.dir.path().to_owned();
        // What the in-container script makes: a link to the cached package, and the index.
        link_to_cached_greet(&pkgdir, "app-misc/greet/greet-1.0-1.gpkg.tar");
        write(&pkgdir.join("Packages"), "index");
        // What Portage builds.
        write(
            &pkgdir.join("app-misc/greet/greet-1.0-2.gpkg.tar"),
            "a new build",
        );
        write(
            &pkgdir.join("dev-libs/libgreet/libgreet-1.0-1.gpkg.tar"),
            "a library",
        );
        // A hook that replaced the link with a file of its own.
        let planted = pkgdir.join("app-misc/hello/hello-2-1.gpkg.tar");
        write(&planted, "x");
        write(
            &cache.dir.join("app-misc/hello/hello-2-1.gpkg.tar"),
            "hello, cached",
        );
        let runs = run.dir.path().parent().unwrap().to_owned();

        let harvest = run.harvest().unwrap();
        assert_eq!(
            harvest.added,
            vec![
                PathBuf::from("app-misc/greet/greet-1.0-2.gpkg.tar"),
                PathBuf::from("dev-libs/libgreet/libgreet-1.0-1.gpkg.tar"),
            ]
        );
        assert_eq!(
            harvest.refused,
            vec![(
                PathBuf::from("app-misc/hello/hello-2-1.gpkg.tar"),
                "a package of that name is in the cache"
            )]
        );
        assert_eq!(
            std::fs::read_to_string(&cached).unwrap(),
            "the real package"
        );
        assert_eq!(
            std::fs::read_to_string(cache.dir.join("app-misc/hello/hello-2-1.gpkg.tar")).unwrap(),
            "hello, cached"
        );
        assert_eq!(
            std::fs::read_to_string(cache.dir.join("app-misc/greet/greet-1.0-2.gpkg.tar")).unwrap(),
            "a new build"
        );
        let mode = std::fs::metadata(cache.dir.join("app-misc/greet/greet-1.0-2.gpkg.tar"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o644);
        assert!(!cache.dir.join("Packages").exists(), "the index stays out");
        assert_eq!(
            std::fs::read_dir(&runs).unwrap().count(),
            0,
            "the run's folder is removed"
        );
    }

    #[test]
    fn harvest_refuses_links_folders_and_odd_names() {
        let (root, cache, run) = setup();
        let pkgdir = run.dir.path().to_owned();
        let canary = root.path().join("canary");
        write(&canary, "host file");
        // A link with a package's name to a host file, and one to a cached file under
        // another name.
        link_to_cached_greet(&pkgdir, "app-misc/greet/greet-1.0-4.gpkg.tar");
        symlink(&canary, pkgdir.join("app-misc/greet/greet-1.0-3.gpkg.tar")).unwrap();
        // A linked folder: nothing below it is read.
        let outside = root.path().join("outside/app-misc/x");
        write(&outside.join("x-1-1.gpkg.tar"), "from outside");
        symlink(
            root.path().join("outside/app-misc"),
            pkgdir.join("sys-apps"),
        )
        .unwrap();
        // Too deep, odd names, a hard link, a fifo.
        write(
            &pkgdir.join("app-misc/greet/deeper/greet-1.0-5.gpkg.tar"),
            "deep",
        );
        write(
            &pkgdir.join("app-misc/greet/greet-1.0-1.gpkg.tar.partial"),
            "partial",
        );
        write(&pkgdir.join("app-misc/greet/notes.txt"), "notes");
        write(&pkgdir.join(".hidden/x/x-1-1.gpkg.tar"), "hidden");
        write(&pkgdir.join("app-misc/greet/greet-1.0-6.gpkg.tar"), "hard");
        std::fs::hard_link(
            pkgdir.join("app-misc/greet/greet-1.0-6.gpkg.tar"),
            root.path().join("other-link"),
        )
        .unwrap();
        let fifo = pkgdir.join("app-misc/greet/greet-1.0-7.gpkg.tar");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());

        let harvest = run.harvest().unwrap();
        assert_eq!(harvest.added, Vec::<PathBuf>::new());
        let refused: Vec<(String, &str)> = harvest
            .refused
            .iter()
            .map(|(p, why)| (p.display().to_string(), *why))
            .collect();
        assert_eq!(
            refused,
            vec![
                (
                    ".hidden/x/x-1-1.gpkg.tar".to_owned(),
                    "not a binary package's name"
                ),
                (
                    "app-misc/greet/deeper".to_owned(),
                    "a folder where packages belong"
                ),
                (
                    "app-misc/greet/greet-1.0-1.gpkg.tar.partial".to_owned(),
                    "not a binary package's name"
                ),
                (
                    "app-misc/greet/greet-1.0-3.gpkg.tar".to_owned(),
                    "a symbolic link"
                ),
                (
                    "app-misc/greet/greet-1.0-4.gpkg.tar".to_owned(),
                    "a symbolic link"
                ),
                (
                    "app-misc/greet/greet-1.0-6.gpkg.tar".to_owned(),
                    "a file with other hard links to it"
                ),
                (
                    "app-misc/greet/greet-1.0-7.gpkg.tar".to_owned(),
                    "not a regular file"
                ),
                (
                    "app-misc/greet/notes.txt".to_owned(),
                    "not a binary package's name"
                ),
                ("sys-apps".to_owned(), "a symbolic link"),
            ]
        );
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "host file");
        let mut cached = Vec::new();
        let mut stack = vec![cache.dir.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    stack.push(entry.path());
                } else {
                    cached.push(entry.path());
                }
            }
        }
        assert!(cached.is_empty(), "nothing reached the cache: {cached:?}");
    }

    #[test]
    fn abandoned_runs_are_removed() {
        let root = tempfile::tempdir().unwrap();
        let runs = root.path().join("runs");
        // No process has a pid this high (the kernel's limit is 2^22).
        write(&runs.join("4294967-abc/app-misc/x"), "left over");
        write(
            &runs.join(format!("{}-mine/x", std::process::id())),
            "in use",
        );
        let cache = PackageCache::new(root.path().join("cache"));
        let _run = cache.open_run(&runs).unwrap();
        assert!(!runs.join("4294967-abc").exists());
        assert!(runs.join(format!("{}-mine", std::process::id())).exists());
    }
}

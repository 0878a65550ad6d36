//! Can every program of an image be loaded? gbb-elf answers it before an image is tagged.
//!
//! The most common mistake with minimal images is a dynamically linked program without its
//! C library or loader (a parent image left out, `copy_gcc_libs` forgotten, a library purged
//! with the static-library cleanup): the image builds, and `docker run` says only
//! `exec /usr/bin/figlet: no such file or directory`. gbb-elf replays what the glibc loader
//! (or musl's, for programs that name it) would do for every program of the image, against the
//! image's files and its ancestors', and reports each file whose loader or libraries would not
//! be found.
//!
//! It is pure: no engine, no container, no file system beyond reading a tar stream and index
//! files. The flow:
//!
//! 1. [`FileIndex::from_tar_file`] (or [`FileIndex::from_tar`] for a stream) reads phase 1's
//!    `rootfs.tar` once and keeps what loading needs (ELF files with their `PT_INTERP`,
//!    `DT_NEEDED`, `DT_RPATH`, `DT_RUNPATH`; symlinks; the loaders' configuration files);
//!    [`FileIndex::save`] stores it with the image's outputs, so children (and `gbb check`)
//!    never need the tar again;
//! 2. [`check`] takes the image's index and its ancestors' (nearest first) and returns
//!    [`Finding`]s, whose `Display` is the line a user reads, with a [`Hint`] where one is
//!    known: `copy_gcc_libs`, or another built image ([`KnownImage`]) that has the file.
//!
//! Modules: `elf.rs` reads ELF headers, `index.rs` the index, `view.rs` the merged layers and
//! symlinks, `ld_so_conf.rs` the configured library folders, `search.rs` the loader's search
//! order, `check.rs` the walk over each program's libraries, `finding.rs` the report,
//! `waivers.rs` `_allow_missing_libs`.

mod check;
mod elf;
mod finding;
mod index;
mod ld_so_conf;
mod path;
mod search;
mod view;
mod waivers;

pub use check::{KnownImage, check};
pub use elf::{ElfClass, ElfInfo, ElfType};
pub use finding::{Finding, Hint, Missing, Needed};
pub use index::{Entry, FileIndex, INDEX_VERSION, IndexError};
pub use waivers::{WaiverError, Waivers};

//! The folders the glibc loader searches for a library, in its order (`man ld.so`, and
//! `_dl_map_object` in glibc's `elf/dl-load.c`):
//!
//! 1. `DT_RPATH` of the object that needs the library, then of the object that loaded *that*
//!    one, and so on up to the program, but only when the needing object has no `DT_RUNPATH`
//!    (an object with a `DT_RUNPATH` has its `DT_RPATH` ignored altogether);
//! 2. `LD_LIBRARY_PATH`, which is not known at build time and is left out;
//! 3. `DT_RUNPATH` of the needing object only (it is not inherited);
//! 4. the folders of `/etc/ld.so.conf` (standing in for `ld.so.cache`, see `ld_so_conf.rs`);
//! 5. the default folders.
//!
//! In paths, `$ORIGIN` is the folder of the object whose path it is (for a library, the folder
//! it was found in, as glibc takes it: links in the name are not resolved), `$LIB` the
//! ABI's library folder name and `$PLATFORM` the processor name, each also as `${...}`. An
//! entry that stays relative (an empty one, or `lib` without `$ORIGIN`) means the current
//! folder of the process, which is not known: it is skipped.
//!
//! A program whose loader is musl's (`ld-musl-<arch>.so.1`) is searched by musl's rules
//! instead (`load_library` in musl's `ldso/dynlink.c`): the names of libc's parts (`libc.so`,
//! `libpthread.so.0`, `libm.so`, ...) are met by the loader itself, which is musl's libc;
//! `DT_RUNPATH` (or, without it, `DT_RPATH`) of the needing object and of every object up the
//! chain to the program; then the folders of `/etc/ld-musl-<arch>.path` (colon- or
//! line-separated) or, without that file, `/lib`, `/usr/local/lib` and `/usr/lib`. musl reads
//! no ld.so.conf.

use object::elf::{EM_386, EM_AARCH64, EM_ARM, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};

use crate::elf::{ElfClass, ElfInfo};
use crate::path::normalize;

/// The loader's built-in folders: the union of those of the glibc builds an image may carry,
/// as the loader's build decides them and we cannot ask it. Gentoo's glibc for a 64-bit ABI
/// has `/lib64` and `/usr/lib64`; Debian's (which the example stack's `glibc-host` copies
/// from the test build root) has its multiarch folders (`/lib/x86_64-linux-gnu`,
/// `/usr/lib/x86_64-linux-gnu`), then `/lib` and `/usr/lib`, which Gentoo's own
/// `ld.so.conf` lists too (and musl, whose loader reads no ld.so.conf, searches by default).
/// A 32-bit program gets `/lib32` and `/usr/lib32` (Gentoo's folders for the 32-bit ABI on a
/// 64-bit system), its multiarch folders, and `/lib` and `/usr/lib` (a 32-bit system's). Libraries of another ABI found there are skipped. The
/// price of the union is a library passed in a folder only *another* build of the loader
/// searches, which no real image mixes.
pub(crate) fn default_dirs(info: &ElfInfo) -> Vec<String> {
    let mut dirs = Vec::with_capacity(6);
    let abi_dirs = match info.class {
        ElfClass::Elf64 => ["/lib64", "/usr/lib64"],
        ElfClass::Elf32 => ["/lib32", "/usr/lib32"],
    };
    dirs.extend(abi_dirs.map(str::to_owned));
    if let Some(triplet) = multiarch(info) {
        dirs.extend([format!("/lib/{triplet}"), format!("/usr/lib/{triplet}")]);
    }
    dirs.extend(["/lib".to_owned(), "/usr/lib".to_owned()]);
    dirs
}

/// Debian's multiarch name for the ABI, where we know it.
fn multiarch(info: &ElfInfo) -> Option<&'static str> {
    Some(match (info.machine, info.class, info.big_endian) {
        (EM_X86_64, ElfClass::Elf64, false) => "x86_64-linux-gnu",
        (EM_386, ElfClass::Elf32, false) => "i386-linux-gnu",
        (EM_AARCH64, ElfClass::Elf64, false) => "aarch64-linux-gnu",
        (EM_ARM, ElfClass::Elf32, false) => "arm-linux-gnueabihf",
        (EM_PPC64, ElfClass::Elf64, false) => "powerpc64le-linux-gnu",
        (EM_RISCV, ElfClass::Elf64, false) => "riscv64-linux-gnu",
        (EM_S390, ElfClass::Elf64, true) => "s390x-linux-gnu",
        _ => return None,
    })
}

/// Which loader's rules a program is searched by, from the loader it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rules {
    Glibc,
    /// musl, with its architecture name as in its loader's name (`x86_64`).
    Musl {
        arch: String,
    },
}

impl Rules {
    pub(crate) fn of(interpreter: &str) -> Rules {
        let name = crate::path::file_name(interpreter);
        match name
            .strip_prefix("ld-musl-")
            .and_then(|rest| rest.strip_suffix(".so.1"))
        {
            Some(arch) => Rules::Musl {
                arch: arch.to_owned(),
            },
            None => Rules::Glibc,
        }
    }
}

/// Whether musl's loader answers `name` itself: the parts of the C library glibc splits into
/// several files (`libc.so`, `libpthread.so.0`, `libm.so.6`, ...) are all musl's libc.
pub(crate) fn musl_provides(name: &str) -> bool {
    const PARTS: &[&str] = &["c", "pthread", "rt", "m", "dl", "util", "xnet"];
    name.strip_prefix("lib")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(part, _)| PARTS.contains(&part))
}

/// musl's system folders: those of its path file's text, or its built-in ones.
pub(crate) fn musl_dirs(path_file: Option<&str>) -> Vec<String> {
    match path_file {
        Some(text) => text
            .split([':', '\n'])
            .map(str::trim)
            .filter(|dir| dir.starts_with('/'))
            .map(normalize)
            .collect(),
        None => ["/lib", "/usr/local/lib", "/usr/lib"]
            .map(str::to_owned)
            .to_vec(),
    }
}

/// What `$LIB` stands for: the ABI's library folder name on Gentoo.
fn lib_name(class: ElfClass) -> &'static str {
    match class {
        ElfClass::Elf64 => "lib64",
        ElfClass::Elf32 => "lib",
    }
}

/// What `$PLATFORM` stands for (glibc's `AT_PLATFORM` for the machine), or `None` for a machine
/// we do not know, whose `$PLATFORM` paths are then skipped.
fn platform(info: &ElfInfo) -> Option<&'static str> {
    Some(match info.machine {
        EM_X86_64 => "x86_64",
        EM_386 => "i686",
        EM_AARCH64 => "aarch64",
        EM_ARM => "v7l",
        EM_PPC64 => "power8",
        EM_RISCV => "riscv64",
        EM_S390 => "s390x",
        _ => return None,
    })
}

/// `value` with `$ORIGIN`, `$LIB` and `$PLATFORM` (and their `${...}` forms) replaced for an
/// object `info` whose folder is `origin`; `None` when it names a token we cannot fill in.
pub(crate) fn expand(value: &str, origin: &str, info: &ElfInfo) -> Option<String> {
    if !value.contains('$') {
        return Some(value.to_owned());
    }
    let mut out = String::with_capacity(value.len() + origin.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            let end = braced.find('}')?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        match name {
            "ORIGIN" => out.push_str(origin),
            "LIB" => out.push_str(lib_name(info.class)),
            "PLATFORM" => out.push_str(platform(info)?),
            _ => return None,
        }
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

/// The absolute folders of a `DT_RPATH`/`DT_RUNPATH` value, expanded for its object.
pub(crate) fn path_list(value: &str, origin: &str, info: &ElfInfo) -> Vec<String> {
    value
        .split(':')
        .filter_map(|entry| expand(entry, origin, info))
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| normalize(&dir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::ElfType;

    fn x86_64() -> ElfInfo {
        ElfInfo {
            class: ElfClass::Elf64,
            big_endian: false,
            machine: EM_X86_64,
            elf_type: ElfType::Dyn,
            interpreter: None,
            soname: None,
            needed: Vec::new(),
            rpath: None,
            runpath: None,
        }
    }

    #[track_caller]
    fn case(value: &str, expected: Option<&str>) {
        assert_eq!(
            expand(value, "/opt/app/bin", &x86_64()).as_deref(),
            expected,
            "{value}"
        );
    }

    #[test]
    fn expands_tokens() {
        case("$ORIGIN/../lib", Some("/opt/app/bin/../lib"));
        case("${ORIGIN}/../lib", Some("/opt/app/bin/../lib"));
        case("/usr/$LIB/app", Some("/usr/lib64/app"));
        case("/opt/${PLATFORM}/lib", Some("/opt/x86_64/lib"));
        case("/plain", Some("/plain"));
        case("$ORIGINAL/lib", None);
        case("${ORIGIN/lib", None);
    }

    #[test]
    fn lists_absolute_folders_only() {
        assert_eq!(
            path_list(
                "$ORIGIN/../lib::lib:/usr/lib64/x/",
                "/opt/app/bin",
                &x86_64()
            ),
            ["/opt/app/bin/../lib", "/usr/lib64/x"]
        );
    }

    #[test]
    fn musl_rules() {
        assert_eq!(
            Rules::of("/lib/ld-musl-x86_64.so.1"),
            Rules::Musl {
                arch: "x86_64".into()
            }
        );
        assert_eq!(Rules::of("/lib64/ld-linux-x86-64.so.2"), Rules::Glibc);
        for name in [
            "libc.so",
            "libc.so.6",
            "libpthread.so.0",
            "libm.so.6",
            "libdl.so.2",
        ] {
            assert!(musl_provides(name), "{name}");
        }
        for name in ["libcrypt.so.1", "libc", "libz.so.1", "libmagic.so.1"] {
            assert!(!musl_provides(name), "{name}");
        }
        assert_eq!(
            musl_dirs(Some("/opt/lib:/usr/lib\n/lib/\nrelative\n")),
            ["/opt/lib", "/usr/lib", "/lib"]
        );
        assert_eq!(musl_dirs(None), ["/lib", "/usr/local/lib", "/usr/lib"]);
    }

    #[test]
    fn default_folders_by_abi() {
        assert_eq!(
            default_dirs(&x86_64()),
            [
                "/lib64",
                "/usr/lib64",
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib",
                "/usr/lib"
            ]
        );
        let i386 = ElfInfo {
            class: ElfClass::Elf32,
            machine: EM_386,
            ..x86_64()
        };
        assert_eq!(
            default_dirs(&i386),
            [
                "/lib32",
                "/usr/lib32",
                "/lib/i386-linux-gnu",
                "/usr/lib/i386-linux-gnu",
                "/lib",
                "/usr/lib"
            ]
        );
        let unknown = ElfInfo {
            machine: 0x9026, // Alpha
            ..x86_64()
        };
        assert_eq!(
            default_dirs(&unknown),
            ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
        );
    }
}

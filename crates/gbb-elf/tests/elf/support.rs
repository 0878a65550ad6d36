//! Real ELF files for the tests: tiny C programs and libraries compiled with the host's `cc`,
//! the host's own loader and C library, and images made of them as in-memory tars.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use gbb_elf::FileIndex;

/// A folder of compiled files; libraries built here can be linked by later programs.
pub(crate) struct Compiler {
    dir: tempfile::TempDir,
}

impl Compiler {
    pub(crate) fn new() -> Compiler {
        Compiler {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Compiles `source` into `output` (a file name in this folder) with `cc` and `args`, and
    /// returns its bytes. Fails the test with cc's message when cc is missing or fails: these
    /// tests need real ELF files and never skip.
    pub(crate) fn cc(&self, output: &str, source: &str, args: &[&str]) -> Vec<u8> {
        let source_path = self.dir().join(format!("{output}.c"));
        std::fs::write(&source_path, source).unwrap();
        let out = self.dir().join(output);
        let result = Command::new("cc")
            .current_dir(self.dir())
            .arg(&source_path)
            .arg("-o")
            .arg(&out)
            .arg(format!("-L{}", self.dir().display()))
            // Where ld finds the libraries our libraries need, without adding a search path.
            .arg(format!("-Wl,-rpath-link,{}", self.dir().display()))
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("these tests compile C programs with the host's `cc`, which did not start: {e}; install gcc")
            });
        assert!(
            result.status.success(),
            "cc {output} {args:?} failed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::read(&out).unwrap()
    }

    /// A shared library `lib<name>.so` with soname `lib<name>.so.1`, whose `greet_<name>`
    /// calls the functions `calls` names (from libraries given in `args`).
    pub(crate) fn library(&self, name: &str, calls: &[&str], args: &[&str]) -> Vec<u8> {
        let declarations: String = calls
            .iter()
            .map(|c| format!("void greet_{c}(void);\n"))
            .collect();
        let body: String = calls
            .iter()
            .map(|c| format!("    greet_{c}();\n"))
            .collect();
        let source = format!(
            "#include <stdio.h>\n{declarations}void greet_{name}(void) {{\n{body}    puts(\"{name}\");\n}}\n"
        );
        let soname = format!("-Wl,-soname,lib{name}.so.1");
        let mut all = vec!["-shared", "-fPIC", soname.as_str()];
        all.extend_from_slice(args);
        let bytes = self.cc(&format!("lib{name}.so"), &source, &all);
        // ld looks for a library's needs by soname.
        let soname_link = self.dir().join(format!("lib{name}.so.1"));
        if !soname_link.exists() {
            std::os::unix::fs::symlink(format!("lib{name}.so"), soname_link).unwrap();
        }
        bytes
    }

    /// A program calling `greet_<c>` for each of `calls`.
    pub(crate) fn program(&self, output: &str, calls: &[&str], args: &[&str]) -> Vec<u8> {
        let declarations: String = calls
            .iter()
            .map(|c| format!("void greet_{c}(void);\n"))
            .collect();
        let body: String = calls
            .iter()
            .map(|c| format!("    greet_{c}();\n"))
            .collect();
        let source = format!(
            "#include <stdio.h>\n{declarations}int main(void) {{\n{body}    puts(\"main\");\n    return 0;\n}}\n"
        );
        self.cc(output, &source, args)
    }
}

/// A plain dynamically linked program (libc only).
pub(crate) fn hello() -> &'static [u8] {
    static HELLO: OnceLock<Vec<u8>> = OnceLock::new();
    HELLO.get_or_init(|| Compiler::new().program("hello", &[], &[]))
}

/// The host's loader and C library, read through their links: the files a glibc image holds.
pub(crate) struct HostLibc {
    pub(crate) loader: Vec<u8>,
    pub(crate) libc: Vec<u8>,
    pub(crate) libm: Vec<u8>,
}

pub(crate) fn host_libc() -> &'static HostLibc {
    static LIBC: OnceLock<HostLibc> = OnceLock::new();
    LIBC.get_or_init(|| HostLibc {
        loader: read_host("/lib64/ld-linux-x86-64.so.2"),
        libc: read_host(&gcc_file("libc.so.6")),
        libm: read_host(&gcc_file("libm.so.6")),
    })
}

/// Where the host's gcc finds `name`.
fn gcc_file(name: &str) -> String {
    let out = Command::new("cc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .unwrap_or_else(|e| panic!("`cc -print-file-name={name}` did not start: {e}; install gcc"));
    let path = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        path.starts_with('/'),
        "gcc does not know where `{name}` is (it said `{path}`)"
    );
    path
}

fn read_host(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("the tests need the host's `{path}`: {e}"))
}

/// An image's root as a tar, made in memory.
#[derive(Default)]
pub(crate) struct Image {
    builder: Option<tar::Builder<Vec<u8>>>,
}

impl Image {
    pub(crate) fn new() -> Image {
        Image {
            builder: Some(tar::Builder::new(Vec::new())),
        }
    }

    fn builder(&mut self) -> &mut tar::Builder<Vec<u8>> {
        self.builder.as_mut().unwrap()
    }

    /// A regular file; `path` is written as phase 1's tar writes it (`./usr/bin/x`).
    pub(crate) fn file(mut self, path: &str, bytes: &[u8]) -> Image {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        self.builder()
            .append_data(&mut header, format!(".{path}"), bytes)
            .unwrap();
        self
    }

    pub(crate) fn dir(mut self, path: &str) -> Image {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        self.builder()
            .append_data(&mut header, format!(".{path}/"), &[][..])
            .unwrap();
        self
    }

    pub(crate) fn symlink(mut self, path: &str, target: &str) -> Image {
        self.link(tar::EntryType::Symlink, path, target);
        self
    }

    /// A hard link to `target` (an image path, written relative to the archive's root).
    pub(crate) fn hard_link(mut self, path: &str, target: &str) -> Image {
        let target = format!(".{target}");
        self.link(tar::EntryType::Link, path, &target);
        self
    }

    fn link(&mut self, kind: tar::EntryType, path: &str, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(0);
        header.set_mode(0o777);
        self.builder()
            .append_link(&mut header, format!(".{path}"), target)
            .unwrap();
    }

    /// The host's loader at `/lib64/ld-linux-x86-64.so.2` and C library at
    /// `/usr/lib64/libc.so.6`, as in a Gentoo glibc image.
    pub(crate) fn with_glibc(self) -> Image {
        let host = host_libc();
        self.file("/lib64/ld-linux-x86-64.so.2", &host.loader)
            .file("/usr/lib64/libc.so.6", &host.libc)
    }

    pub(crate) fn tar(mut self) -> Vec<u8> {
        self.builder.take().unwrap().into_inner().unwrap()
    }

    pub(crate) fn index(self) -> FileIndex {
        FileIndex::from_tar(self.tar().as_slice()).expect("the test image's tar reads")
    }
}

/// A parent image with the host's glibc.
pub(crate) fn glibc_image() -> FileIndex {
    Image::new().with_glibc().index()
}

/// Findings as the lines users read.
pub(crate) fn lines(findings: &[gbb_elf::Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}

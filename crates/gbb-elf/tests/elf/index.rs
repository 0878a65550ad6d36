//! The file index on disk: what it keeps of a real image, and how it is read back.

use crate::support::{Compiler, Image, hello, host_libc};
use gbb_elf::{Entry, FileIndex, IndexError};

fn sample() -> FileIndex {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    Image::new()
        .dir("/usr")
        .dir("/usr/bin")
        .file("/usr/bin/hello", hello())
        .file("/usr/bin/script", b"#!/bin/sh\n")
        .file("/usr/lib64/libgreet.so.1.0", &greet)
        .symlink("/usr/lib64/libgreet.so.1", "libgreet.so.1.0")
        .file("/lib64/ld-linux-x86-64.so.2", &host_libc().loader)
        .file("/etc/ld.so.conf", b"include ld.so.conf.d/*.conf\n")
        .file("/etc/ld.so.conf.d/a.conf", b"/opt/a\n")
        .file("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .index()
}

#[test]
fn keeps_elf_files_links_and_ld_so_conf_only() {
    let index = sample();
    let paths: Vec<&str> = index.entries().map(|(path, _)| path).collect();
    assert_eq!(
        paths,
        [
            "/etc/ld.so.conf",
            "/etc/ld.so.conf.d/a.conf",
            "/lib64/ld-linux-x86-64.so.2",
            "/usr/bin/hello",
            "/usr/lib64/libgreet.so.1",
            "/usr/lib64/libgreet.so.1.0",
        ]
    );
    let Some(Entry::Elf(hello)) = index.get("/usr/bin/hello") else {
        panic!("hello is not an ELF entry");
    };
    assert_eq!(
        hello.interpreter.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    assert_eq!(hello.needed, ["libc.so.6"]);
    assert_eq!(
        hello.elf_type,
        gbb_elf::ElfType::Dyn,
        "gcc makes position-independent programs"
    );
    let Some(Entry::Elf(loader)) = index.get("/lib64/ld-linux-x86-64.so.2") else {
        panic!("the loader is not an ELF entry");
    };
    assert_eq!(loader.interpreter, None);
}

#[test]
fn a_tar_file_gives_the_same_index_as_a_stream() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let tar = Image::new()
        .file("/usr/bin/hello", hello())
        .file("/usr/lib64/libgreet.so.1", &greet)
        .file("/usr/lib64/libc.so.6", &host_libc().libc)
        .symlink("/lib64", "usr/lib64")
        .hard_link("/usr/bin/hello2", "/usr/bin/hello")
        .file("/etc/ld.so.conf", b"/opt/lib\n")
        .file("/usr/share/doc/README", b"text")
        .tar();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rootfs.tar");
    std::fs::write(&path, &tar).unwrap();
    let from_file = FileIndex::from_tar_file(&std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(from_file, FileIndex::from_tar(tar.as_slice()).unwrap());
    assert_eq!(from_file.len(), 6);
}

#[test]
fn round_trips_through_a_file() {
    let index = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("files.json");
    index.save(&path).unwrap();
    assert_eq!(FileIndex::load(&path).unwrap(), index);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(r#"{"format":"gbb-file-index","version":1,"files":{"#),
        "{text}"
    );
    // Only the index is left in the folder (no temporary file).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn another_version_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("files.json");
    std::fs::write(
        &path,
        r#"{"format":"gbb-file-index","version":99,"files":{"x":{"new":1}}}"#,
    )
    .unwrap();
    let error = FileIndex::load(&path).unwrap_err();
    assert!(
        matches!(error, IndexError::Version { found: 99, .. }),
        "{error:?}"
    );
    let message = error
        .to_string()
        .replace(&dir.path().display().to_string(), "[DIR]");
    insta::assert_snapshot!("another_version", message);
}

#[test]
fn a_damaged_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("files.json");
    std::fs::write(
        &path,
        "{\"format\":\"gbb-file-index\",\"version\":1,\"files\":[",
    )
    .unwrap();
    assert!(matches!(
        FileIndex::load(&path),
        Err(IndexError::Format { .. })
    ));
    std::fs::write(&path, r#"{"format":"other","version":1,"files":{}}"#).unwrap();
    assert!(matches!(
        FileIndex::load(&path),
        Err(IndexError::Format { .. })
    ));
    assert!(matches!(
        FileIndex::load(&dir.path().join("absent.json")),
        Err(IndexError::Read { .. })
    ));
}

#[test]
fn a_stream_that_is_not_a_tar_is_an_error() {
    let mut bytes = Image::new().file("/usr/bin/hello", hello()).tar();
    // Damage the first header's checksum.
    bytes[148..156].copy_from_slice(b"0000000\0");
    assert!(matches!(
        FileIndex::from_tar(bytes.as_slice()),
        Err(IndexError::Tar { .. })
    ));
}

/// A root packed by GNU tar with the options phase 1 uses (`gbb_write_rootfs` in
/// `container/helpers.sh`): PAX headers for long names and link targets, hard links, `./`
/// names.
#[test]
fn reads_a_tar_as_phase_1_writes_it() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let root = tempfile::tempdir().unwrap();
    let long = format!("/opt/{}/lib", "a-rather-long-folder-name".repeat(6));
    let write = |path: &str, bytes: &[u8]| {
        let path = root.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write("/usr/bin/hello", hello());
    write(&format!("{long}/libgreet.so.1.0"), &greet);
    write("/etc/ld.so.conf", format!("{long}\n").as_bytes());
    let at = |path: &str| root.path().join(path.trim_start_matches('/'));
    std::os::unix::fs::symlink(format!("{long}/libgreet.so.1.0"), at("/opt/libgreet.so.1"))
        .unwrap();
    std::fs::hard_link(at("/usr/bin/hello"), at("/usr/bin/hello-again")).unwrap();

    let tar = root.path().with_extension("tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .args([
            "--numeric-owner",
            "--sort=name",
            "--mtime=@0",
            "--clamp-mtime",
        ])
        .arg("--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime")
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap_or_else(|e| {
            panic!("this test packs a root with GNU `tar`, which did not start: {e}")
        });
    assert!(status.success(), "tar failed: {status}");

    let index = FileIndex::from_tar_file(&std::fs::File::open(&tar).unwrap()).unwrap();
    std::fs::remove_file(&tar).unwrap();
    let entries: Vec<String> = index
        .entries()
        .map(|(path, entry)| match entry {
            Entry::Elf(_) => format!("{path}: elf"),
            Entry::Symlink(target) => format!("{path} -> {target}"),
            Entry::HardLink(target) => format!("{path} = {target}"),
            Entry::Conf(text) => format!("{path}: {text:?}"),
        })
        .collect();
    let long_lib = format!("{long}/libgreet.so.1.0");
    assert_eq!(
        entries,
        [
            format!("/etc/ld.so.conf: {:?}", format!("{long}\n")),
            format!("{long_lib}: elf"),
            format!("/opt/libgreet.so.1 -> {long_lib}"),
            "/usr/bin/hello: elf".to_owned(),
            "/usr/bin/hello-again = /usr/bin/hello".to_owned(),
        ]
    );
}

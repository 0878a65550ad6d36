//! How long indexing and checking a large root takes: the host's folders given as arguments
//! are streamed as a tar (through a pipe, nothing written to disk) into `FileIndex::from_tar`,
//! then `check` runs on the index alone.
//!
//! ```text
//! cargo run --release -p gbb-elf --example check_speed -- \
//!     /usr/lib/x86_64-linux-gnu /usr/bin /usr/lib64 /lib64 /etc/ld.so.conf /etc/ld.so.conf.d
//! ```
//!
//! Given one `.tar` file instead, it reads that file with `FileIndex::from_tar_file`, as gbb
//! reads phase 1's `rootfs.tar`.
//!
//! An example binary, not a library: printing is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::Instant;

use gbb_elf::{FileIndex, Waivers, check};

fn main() {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        eprintln!("usage: check_speed HOST_PATH...");
        std::process::exit(2);
    }
    if let [tar] = roots.as_slice()
        && tar.ends_with(".tar")
    {
        let start = Instant::now();
        let file = std::fs::File::open(tar).expect("the tar opens");
        let index = FileIndex::from_tar_file(&file).expect("indexes");
        report(&index, start.elapsed());
        return;
    }
    let (reader, writer) = std::io::pipe().expect("a pipe");
    let writer_roots = roots.clone();
    let tar_writer = std::thread::spawn(move || {
        let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, writer));
        builder.follow_symlinks(false);
        for root in &writer_roots {
            let path = Path::new(root);
            let name = root.trim_start_matches('/');
            let metadata = std::fs::symlink_metadata(path).expect("the path exists");
            if metadata.is_dir() {
                builder
                    .append_dir_all(name, path)
                    .expect("the folder reads");
            } else {
                builder
                    .append_path_with_name(path, name)
                    .expect("the file reads");
            }
        }
        builder.into_inner().expect("the tar ends");
    });

    let start = Instant::now();
    let index = FileIndex::from_tar(BufReader::with_capacity(1 << 20, reader)).expect("indexes");
    let indexed = start.elapsed();
    tar_writer.join().expect("the tar writer ends");
    report(&index, indexed);
}

fn report(index: &FileIndex, indexed: std::time::Duration) {
    let mut json = Vec::new();
    index.write_to(&mut json).expect("serializes");

    let start = Instant::now();
    let findings = check(index, &[], &[], &Waivers::none());
    let checked = start.elapsed();

    let programs = index
        .elf_files()
        .filter(|(_, info)| info.is_program())
        .count();
    println!(
        "indexed {} entries ({} ELF files, {programs} programs; index file {} KiB) in {:.3} s",
        index.len(),
        index.elf_files().count(),
        json.len() / 1024,
        indexed.as_secs_f64()
    );
    println!(
        "checked in {:.3} s: {} findings",
        checked.as_secs_f64(),
        findings.len()
    );
    for finding in findings.iter().take(20) {
        println!("  {finding}");
    }
}

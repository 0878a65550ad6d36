//! A root tar written in the test with every kind of entry a layer must keep, in an order of
//! the test's choosing (so sorting is what makes layers equal, not the input).

use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

/// The file owned by a non-root user.
pub(crate) const USER_FILE: &str = "home/user/notes";
/// The setuid program.
pub(crate) const SETUID: &str = "usr/bin/su-ish";
/// The two names of one file: `LINK_FIRST` sorts first but is the link in the input.
pub(crate) const LINK_FIRST: &str = "etc/hard-a";
pub(crate) const LINK_DATA: &str = "etc/hard-b";
pub(crate) const SYMLINK: &str = "etc/symlink";
pub(crate) const DEVICE: &str = "dev/null";
pub(crate) const FIFO: &str = "run/fifo";
pub(crate) const XATTR_FILE: &str = "etc/with-xattr";
pub(crate) const XATTR_NAME: &str = "user.gbb.test";
pub(crate) const XATTR_VALUE: &[u8] = b"kept\0binary";
/// Newer than every epoch the tests use, so it is clamped.
pub(crate) const NEW_MTIME: u64 = 2_000_000_000;
/// Older than every epoch the tests use, so it is kept.
pub(crate) const OLD_MTIME: u64 = 1_000_000;

/// The order entries are written in.
#[derive(Clone, Copy)]
pub(crate) enum Order {
    AsListed,
    Reversed,
}

struct Entry {
    path: String,
    kind: EntryType,
    mode: u32,
    uid: u64,
    data: Vec<u8>,
    link: Option<String>,
    xattr: bool,
}

fn entry(path: &str, kind: EntryType, mode: u32) -> Entry {
    Entry {
        path: path.to_owned(),
        kind,
        mode,
        uid: 0,
        data: Vec::new(),
        link: None,
        xattr: false,
    }
}

/// Writes the root tar into `dir` and returns its path. `program`, when given, is put at
/// `/hello` (a static program for `docker run`).
pub(crate) fn write_root(dir: &Path, order: Order, program: Option<&Path>) -> PathBuf {
    let long_dir = format!("usr/share/{}", "very-long-folder-name/".repeat(6));
    let mut entries = vec![
        entry("./", EntryType::Directory, 0o755),
        entry("usr/", EntryType::Directory, 0o755),
        entry("usr/bin/", EntryType::Directory, 0o755),
        Entry {
            data: b"#!/bin/false\n".to_vec(),
            ..entry(SETUID, EntryType::Regular, 0o4755)
        },
        entry("etc/", EntryType::Directory, 0o755),
        Entry {
            data: b"one inode, two names\n".to_vec(),
            ..entry(LINK_DATA, EntryType::Regular, 0o644)
        },
        Entry {
            link: Some(LINK_DATA.to_owned()),
            ..entry(LINK_FIRST, EntryType::Link, 0o644)
        },
        Entry {
            link: Some("hard-b".to_owned()),
            ..entry(SYMLINK, EntryType::Symlink, 0o777)
        },
        Entry {
            data: b"has an xattr\n".to_vec(),
            xattr: true,
            ..entry(XATTR_FILE, EntryType::Regular, 0o644)
        },
        entry("home/", EntryType::Directory, 0o755),
        Entry {
            uid: 1234,
            ..entry("home/user/", EntryType::Directory, 0o750)
        },
        Entry {
            uid: 1234,
            data: b"owned by 1234\n".to_vec(),
            ..entry(USER_FILE, EntryType::Regular, 0o640)
        },
        entry("dev/", EntryType::Directory, 0o755),
        entry(DEVICE, EntryType::Char, 0o666),
        entry("run/", EntryType::Directory, 0o755),
        entry(FIFO, EntryType::Fifo, 0o600),
        entry("tmp/", EntryType::Directory, 0o1777),
        entry("usr/share/", EntryType::Directory, 0o755),
        Entry {
            data: b"a path longer than 100 bytes\n".to_vec(),
            ..entry(&format!("{long_dir}file"), EntryType::Regular, 0o644)
        },
    ];
    // Parents of the long path.
    let mut parent = String::from("usr/share/");
    for _ in 0..6 {
        parent.push_str("very-long-folder-name/");
        entries.push(entry(&parent, EntryType::Directory, 0o755));
    }
    if let Some(program) = program {
        entries.push(Entry {
            data: std::fs::read(program).unwrap(),
            ..entry("hello", EntryType::Regular, 0o755)
        });
    }
    if let Order::Reversed = order {
        // Reversed, but a hard link must still follow its target in a tar.
        entries.reverse();
        let link = entries.iter().position(|e| e.path == LINK_FIRST).unwrap();
        let data = entries.iter().position(|e| e.path == LINK_DATA).unwrap();
        entries.swap(link, data);
    }

    let path = dir.join("rootfs.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    for e in &entries {
        let mut header = Header::new_gnu();
        header.set_entry_type(e.kind);
        header.set_mode(e.mode);
        header.set_uid(e.uid);
        header.set_gid(e.uid);
        header
            .set_username(if e.uid == 0 { "root" } else { "someone" })
            .unwrap();
        header.set_groupname("somegroup").unwrap();
        // By path, so both orders give each file the same time.
        header.set_mtime(if e.path.len() % 2 == 0 {
            NEW_MTIME
        } else {
            OLD_MTIME
        });
        header.set_size(e.data.len() as u64);
        if e.kind == EntryType::Char {
            header.set_device_major(1).unwrap();
            header.set_device_minor(3).unwrap();
        }
        if e.xattr {
            builder
                .append_pax_extensions([(
                    format!("SCHILY.xattr.{XATTR_NAME}").as_str(),
                    XATTR_VALUE,
                )])
                .unwrap();
        }
        match &e.link {
            Some(target) => builder.append_link(&mut header, &e.path, target).unwrap(),
            None => builder
                .append_data(&mut header, &e.path, e.data.as_slice())
                .unwrap(),
        }
    }
    builder.into_inner().unwrap();
    path
}

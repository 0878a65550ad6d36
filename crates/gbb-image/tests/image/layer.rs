//! Layers read back byte by byte: what is kept, what is made canonical, and that the same
//! input always gives the same digests.

use std::collections::BTreeMap;
use std::io::Read;

use gbb_image::{BlobStore, Compression, LayerOptions, write_layer};
use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::fixture::{self, Order};
use crate::{EPOCH, epoch, image_of_root};

/// Every file of a store, by relative path, with its bytes.
fn store_files(store: &BlobStore) -> BTreeMap<String, Vec<u8>> {
    let blobs = store.root().join("blobs/sha256");
    std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn layer_keeps_owners_modes_links_devices_and_xattrs_and_clamps_times() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::Reversed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let options = LayerOptions {
        epoch: epoch(EPOCH),
        compression: Compression::Gzip,
    };
    let layer = write_layer(&store, &root, &options).unwrap();

    let digest = layer.descriptor.digest().digest().to_owned();
    let blob = std::fs::read(store.root().join("blobs/sha256").join(&digest)).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&blob)), digest);
    assert_eq!(layer.descriptor.size(), blob.len() as u64);
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(blob.as_slice())
        .read_to_end(&mut tar_bytes)
        .unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&tar_bytes)),
        layer.diff_id.digest()
    );
    assert_eq!(layer.uncompressed_size, tar_bytes.len() as u64);
    // No file name and no time in the gzip header.
    assert_eq!(&blob[3..8], &[0, 0, 0, 0, 0], "FLG and MTIME are zero");

    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut paths = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let path = path.trim_end_matches('/').to_owned();
        let header = entry.header().clone();
        assert!(header.mtime().unwrap() <= EPOCH, "{path}: time not clamped");
        assert!(
            header.username_bytes().is_none_or(<[u8]>::is_empty),
            "{path}: user name kept"
        );
        let mode = header.mode().unwrap();
        match path.as_str() {
            fixture::SETUID => assert_eq!(mode, 0o4755),
            "tmp" => assert_eq!(mode, 0o1777),
            fixture::USER_FILE => {
                assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (1234, 1234));
                assert_eq!(mode, 0o640);
            }
            fixture::LINK_FIRST => {
                assert_eq!(
                    header.entry_type(),
                    EntryType::Regular,
                    "first name has the data"
                );
                let mut data = String::new();
                entry.read_to_string(&mut data).unwrap();
                assert_eq!(data, "one inode, two names\n");
            }
            fixture::LINK_DATA => {
                assert_eq!(header.entry_type(), EntryType::Link);
                let target = entry.link_name_bytes().unwrap().into_owned();
                assert_eq!(target, fixture::LINK_FIRST.as_bytes());
            }
            fixture::SYMLINK => {
                assert_eq!(header.entry_type(), EntryType::Symlink);
                assert_eq!(entry.link_name_bytes().unwrap().as_ref(), b"hard-b");
            }
            fixture::DEVICE => {
                assert_eq!(header.entry_type(), EntryType::Char);
                assert_eq!(header.device_major().unwrap(), Some(1));
                assert_eq!(header.device_minor().unwrap(), Some(3));
            }
            fixture::FIFO => assert_eq!(header.entry_type(), EntryType::Fifo),
            fixture::XATTR_FILE => {
                let extensions = entry.pax_extensions().unwrap().unwrap();
                let xattrs: Vec<_> = extensions
                    .map(|e| {
                        let e = e.unwrap();
                        (e.key().unwrap().to_owned(), e.value_bytes().to_vec())
                    })
                    .collect();
                assert_eq!(
                    xattrs,
                    [(
                        format!("SCHILY.xattr.{}", fixture::XATTR_NAME),
                        fixture::XATTR_VALUE.to_vec()
                    )]
                );
            }
            _ => {}
        }
        paths.push(path);
    }
    assert!(
        !paths.iter().any(|p| p.is_empty() || p == "."),
        "no root entry"
    );
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "entries are sorted by path");
    assert_eq!(layer.entries, paths.len());
    assert!(
        paths.iter().any(|p| p.len() > 100),
        "the long path is there"
    );
}

#[test]
fn same_files_in_any_order_give_byte_identical_blobs_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let listed_dir = dir.path().join("listed");
    let reversed_dir = dir.path().join("reversed");
    std::fs::create_dir_all(&listed_dir).unwrap();
    std::fs::create_dir_all(&reversed_dir).unwrap();
    let listed = fixture::write_root(&listed_dir, Order::AsListed, None);
    let reversed = fixture::write_root(&reversed_dir, Order::Reversed, None);
    assert_ne!(
        std::fs::read(&listed).unwrap(),
        std::fs::read(&reversed).unwrap()
    );

    let mut results = Vec::new();
    for (name, root) in [("a", &listed), ("b", &reversed), ("c", &listed)] {
        let store = BlobStore::open(dir.path().join(name)).unwrap();
        let image = image_of_root(&store, root, epoch(EPOCH), Compression::Gzip, None);
        results.push((image.digest().clone(), store_files(&store)));
    }
    // `assert!`, not `assert_eq!`: the blobs are too long to print.
    assert!(results[0] == results[1], "input order changed the image");
    assert!(results[0] == results[2], "a second run changed the image");
    assert_eq!(results[0].1.len(), 3, "one layer, a config and a manifest");
}

#[test]
fn a_streamed_tar_gives_the_same_layer_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::AsListed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let options = LayerOptions {
        epoch: epoch(EPOCH),
        compression: Compression::Gzip,
    };
    let from_file = write_layer(&store, &root, &options).unwrap();
    let stream = std::fs::File::open(&root).unwrap();
    let from_stream = gbb_image::write_layer_from_reader(&store, stream, &options).unwrap();
    assert_eq!(from_file, from_stream);
    let leftovers: Vec<_> = std::fs::read_dir(store.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["blobs"], "the spooled copy is removed");
}

#[test]
fn another_epoch_gives_another_digest() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::AsListed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let first = image_of_root(&store, &root, epoch(EPOCH), Compression::Gzip, None);
    let second = image_of_root(&store, &root, epoch(EPOCH + 1), Compression::Gzip, None);
    assert_ne!(first.digest(), second.digest());
    assert_ne!(
        first.manifest.layers()[0].digest(),
        second.manifest.layers()[0].digest(),
        "the clamped file times changed"
    );
    assert_eq!(
        first.config.created().as_deref(),
        Some("2026-01-01T00:00:00Z")
    );
    assert_eq!(
        second.config.created().as_deref(),
        Some("2026-01-01T00:00:01Z")
    );
}

#[test]
fn zstd_and_uncompressed_layers_have_the_gzip_layers_diff_id() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::AsListed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let layer = |compression| {
        let options = LayerOptions {
            epoch: epoch(EPOCH),
            compression,
        };
        write_layer(&store, &root, &options).unwrap()
    };
    let gzip = layer(Compression::Gzip);
    let zstd = layer(Compression::Zstd);
    let plain = layer(Compression::None);
    assert_eq!(gzip.diff_id, zstd.diff_id);
    assert_eq!(gzip.diff_id, plain.diff_id);
    assert_eq!(plain.descriptor.digest().digest(), plain.diff_id.digest());
    let blob = store
        .root()
        .join("blobs/sha256")
        .join(zstd.descriptor.digest().digest());
    let tar_bytes = zstd::decode_all(std::fs::File::open(blob).unwrap()).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&tar_bytes)),
        zstd.diff_id.digest()
    );
    assert_eq!(
        zstd.descriptor.media_type().to_string(),
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
}

#[test]
fn bad_root_tars_are_refused_with_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let options = LayerOptions::default();

    let escaping = dir.path().join("escaping.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&escaping).unwrap());
    let mut header = plain_header(EntryType::Regular);
    // `append_data` refuses `..`, so the name is written into the header directly.
    header.as_old_mut().name[..9].copy_from_slice(b"../escape");
    header.set_cksum();
    builder.append(&header, std::io::empty()).unwrap();
    builder.into_inner().unwrap();
    let error = write_layer(&store, &escaping, &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}`: entry `../escape` leaves the root (a `..` component)",
            escaping.display()
        )
    );

    let dangling = dir.path().join("dangling.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&dangling).unwrap());
    let mut header = plain_header(EntryType::Link);
    builder.append_link(&mut header, "a", "missing").unwrap();
    builder.into_inner().unwrap();
    let error = write_layer(&store, &dangling, &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}`: entry `a` is a hard link to `missing`, which the archive does not hold",
            dangling.display()
        )
    );

    // A root tar is not a `docker save` archive.
    let error = gbb_image::write_top_layer_of_docker_save(&store, &dangling, &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is not a `docker save` archive: it has no `manifest.json`",
            dangling.display()
        )
    );

    let names: Vec<_> = std::fs::read_dir(store.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(names.is_empty(), "nothing half-written: {names:?}");
}

fn plain_header(kind: EntryType) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(0);
    header
}

#[test]
fn a_path_written_twice_keeps_the_later_entry_as_extracting_would() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("twice.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&root).unwrap());
    for (data, mode) in [(&b"first\n"[..], 0o600), (&b"second\n"[..], 0o644)] {
        let mut header = plain_header(EntryType::Regular);
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, "etc/motd", data).unwrap();
    }
    builder.into_inner().unwrap();
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let layer = write_layer(&store, &root, &LayerOptions::default()).unwrap();
    assert_eq!(layer.entries, 1);
    let blob = store
        .root()
        .join("blobs/sha256")
        .join(layer.descriptor.digest().digest());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(blob).unwrap(),
    ));
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.header().mode().unwrap(), 0o644);
    let mut data = String::new();
    entry.read_to_string(&mut data).unwrap();
    assert_eq!(data, "second\n");
}

#[test]
fn gnu_tar_in_pax_and_gnu_formats_gives_one_layer() {
    // A root made on disk and packed by the host's GNU tar with phase 1's options
    // (`gbb_write_rootfs` in container/helpers.sh), and again in GNU format in another order:
    // two different archives of the same files.
    use std::os::unix::fs::{PermissionsExt, symlink};
    let tar_program = crate::tools::require("tar", "tar");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), "tool\n").unwrap();
    std::fs::set_permissions(root.join("usr/bin/tool"), PermissionsExt::from_mode(0o4755)).unwrap();
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/alias")).unwrap();
    symlink("tool", root.join("usr/bin/link")).unwrap();
    std::fs::write(root.join("capable"), "x\n").unwrap();
    xattr::set(root.join("capable"), "user.gbb", b"v").unwrap();
    std::os::unix::fs::chown(root.join("capable"), Some(1234), Some(1234)).unwrap();

    let pax = dir.path().join("pax.tar");
    crate::tools::run(
        std::process::Command::new(&tar_program)
            .arg("-C")
            .arg(&root)
            .args([
                "--numeric-owner",
                "--sort=name",
                "--mtime=@1767225600",
                "--clamp-mtime",
            ])
            .arg("--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime")
            .args(["--xattrs", "--xattrs-include=user.*", "-cf"])
            .arg(&pax)
            .arg("."),
    );
    let gnu = dir.path().join("gnu.tar");
    crate::tools::run(
        std::process::Command::new(&tar_program)
            .arg("-C")
            .arg(&root)
            .args(["--format=gnu", "--sort=inode", "-cf"])
            .arg(&gnu)
            .args(["usr", "capable"]),
    );
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let options = LayerOptions {
        epoch: epoch(EPOCH),
        compression: Compression::Gzip,
    };
    let from_pax = write_layer(&store, &pax, &options).unwrap();
    let from_gnu = write_layer(&store, &gnu, &options).unwrap();
    // GNU format carries no xattrs, so the layers differ in that one record: every other
    // field is compared entry by entry.
    assert_eq!(from_pax.entries, from_gnu.entries);
    let entries = |layer: &gbb_image::Layer| {
        let blob = store
            .root()
            .join("blobs/sha256")
            .join(layer.descriptor.digest().digest());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(blob).unwrap(),
        ));
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let h = e.header().clone();
                let xattrs = e.pax_extensions().unwrap().map(|x| x.count()).unwrap_or(0);
                (
                    String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                    h.entry_type(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                    e.link_name_bytes().map(|l| l.into_owned()),
                    xattrs,
                )
            })
            .collect::<Vec<_>>()
    };
    let pax_entries = entries(&from_pax);
    let gnu_entries = entries(&from_gnu);
    for (p, g) in pax_entries.iter().zip(&gnu_entries) {
        assert_eq!(
            (&p.0, p.1, p.2, p.3, p.4, &p.5),
            (&g.0, g.1, g.2, g.3, g.4, &g.5)
        );
    }
    let capable = pax_entries.iter().find(|e| e.0 == "capable").unwrap();
    assert_eq!((capable.3, capable.6), (1234, 1), "owner and xattr kept");
    let names: Vec<_> = pax_entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "capable",
            "usr/",
            "usr/bin/",
            "usr/bin/alias",
            "usr/bin/link",
            "usr/bin/tool"
        ]
    );
    let alias = &pax_entries[3];
    assert_eq!(
        (alias.1, alias.2),
        (EntryType::Regular, 0o4755),
        "first name has the data"
    );
    assert_eq!(pax_entries[5].5.as_deref(), Some(&b"usr/bin/alias"[..]));
}

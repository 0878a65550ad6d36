//! `oci:DIR` checked by skopeo and umoci: two images, a child on its parent, in one layout.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use gbb_image::{
    BlobStore, Compression, Error, ImageInstructions, ImageRequest, OciLayoutImage, Platform,
    StoredImage, write_image, write_oci_layout,
};

use crate::fixture::{self, Order};
use crate::tools::{require, run};
use crate::{EPOCH, epoch, image_of_root};

/// A child with no layer of its own but instructions, on the fixture's image, read back
/// from the store as a later build would.
fn child_of(store: &BlobStore, parent: &StoredImage) -> StoredImage {
    let parent = StoredImage::open(store, parent.digest()).unwrap();
    let instructions = ImageInstructions {
        user: Some("1234".into()),
        working_dir: Some("/home/user".into()),
        ..Default::default()
    };
    write_image(
        store,
        &ImageRequest {
            parent: Some(&parent),
            platform: Platform::host(),
            layers: Vec::new(),
            instructions,
            epoch: epoch(EPOCH),
        },
    )
    .unwrap()
}

fn skopeo_inspect(layout: &Path, reference: &str) -> serde_json::Value {
    let skopeo = require("skopeo", "skopeo");
    let output = run(Command::new(skopeo)
        .arg("inspect")
        .arg(format!("oci:{}:{reference}", layout.display())));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn oci_layout_is_read_by_skopeo_and_unpacked_by_umoci_with_owners_modes_and_links() {
    let umoci = require("umoci", "umoci");
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::Reversed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let parent = image_of_root(&store, &root, epoch(EPOCH), Compression::Gzip, None);
    let child = child_of(&store, &parent);

    let layout = dir.path().join("layout");
    let images = [
        OciLayoutImage {
            ref_name: "test/parent:1",
            image: &parent,
        },
        OciLayoutImage {
            ref_name: "child",
            image: &child,
        },
    ];
    write_oci_layout(&store, &layout, &images).unwrap();
    let blob_count = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(
        blob_count, 5,
        "one shared layer, two configs, two manifests"
    );

    let inspected = skopeo_inspect(&layout, "test/parent:1");
    assert_eq!(inspected["Digest"], parent.digest().to_string());
    assert_eq!(inspected["Labels"]["org.gentoo-bb.test"], "yes");
    assert_eq!(inspected["Created"], "2026-01-01T00:00:00Z");
    let inspected = skopeo_inspect(&layout, "child");
    assert_eq!(inspected["Digest"], child.digest().to_string());
    assert_eq!(inspected["Layers"].as_array().unwrap().len(), 1);
    assert!(
        inspected["Env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("GREETING=hello")),
        "the child inherits ENV: {inspected}"
    );

    let bundle = dir.path().join("bundle");
    run(Command::new(&umoci)
        .args(["unpack", "--image"])
        .arg(format!("{}:test/parent:1", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    let meta = |path: &str| std::fs::symlink_metadata(rootfs.join(path)).unwrap();

    assert_eq!(meta(fixture::SETUID).mode() & 0o7777, 0o4755);
    assert_eq!(meta("tmp").mode() & 0o7777, 0o1777);
    let user_file = meta(fixture::USER_FILE);
    assert_eq!((user_file.uid(), user_file.gid()), (1234, 1234));
    assert_eq!(user_file.mode() & 0o7777, 0o640);
    assert_eq!(meta("home/user").uid(), 1234);
    let (a, b) = (meta(fixture::LINK_FIRST), meta(fixture::LINK_DATA));
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2), "one inode, two names");
    assert_eq!(
        std::fs::read_link(rootfs.join(fixture::SYMLINK)).unwrap(),
        Path::new("hard-b")
    );
    let device = meta(fixture::DEVICE);
    assert!(device.file_type().is_char_device());
    assert_eq!(device.rdev(), libc_makedev(1, 3));
    assert!(meta(fixture::FIFO).file_type().is_fifo());
    let xattr = xattr::get(rootfs.join(fixture::XATTR_FILE), fixture::XATTR_NAME).unwrap();
    assert_eq!(xattr.as_deref(), Some(fixture::XATTR_VALUE));
    assert_eq!(
        fixture::SETUID.len() % 2,
        0,
        "the fixture gives it a new time"
    );
    assert_eq!(
        meta(fixture::SETUID).mtime(),
        EPOCH as i64,
        "a new time is clamped"
    );
    assert_eq!(
        fixture::USER_FILE.len() % 2,
        1,
        "the fixture gives it an old time"
    );
    assert_eq!(
        meta(fixture::USER_FILE).mtime(),
        fixture::OLD_MTIME as i64,
        "an old time is kept"
    );
}

/// `makedev` for small numbers, as Linux encodes them.
fn libc_makedev(major: u64, minor: u64) -> u64 {
    (major << 8) | minor
}

#[test]
fn oci_layout_keeps_other_images_and_refuses_a_foreign_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture::write_root(dir.path(), Order::AsListed, None);
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let parent = image_of_root(&store, &root, epoch(EPOCH), Compression::Gzip, None);
    let child = child_of(&store, &parent);
    let layout = dir.path().join("layout");
    let one = |ref_name, image| [OciLayoutImage { ref_name, image }];
    write_oci_layout(&store, &layout, &one("parent", &parent)).unwrap();
    write_oci_layout(&store, &layout, &one("child", &child)).unwrap();
    let index = std::fs::read(layout.join("index.json")).unwrap();
    let first = String::from_utf8(index.clone()).unwrap();
    assert!(
        first.contains(r#""org.opencontainers.image.ref.name":"child""#),
        "{first}"
    );
    assert!(
        first.contains(r#""org.opencontainers.image.ref.name":"parent""#),
        "{first}"
    );
    let mode = |path: &Path| std::fs::metadata(path).unwrap().mode() & 0o777;
    assert_eq!(mode(&layout.join("index.json")), 0o644);
    let manifest_blob = layout.join("blobs/sha256").join(child.digest().digest());
    assert_eq!(
        mode(&manifest_blob),
        0o644,
        "others' tools can read the blobs"
    );
    // The same images again give the same index, byte for byte.
    write_oci_layout(&store, &layout, &one("child", &child)).unwrap();
    assert_eq!(std::fs::read(layout.join("index.json")).unwrap(), index);

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let error = write_oci_layout(&store, &foreign, &one("x", &child)).unwrap_err();
    assert!(matches!(error, Error::NotALayout(_)), "{error}");
    assert_eq!(
        std::fs::read_dir(&foreign).unwrap().count(),
        1,
        "nothing written"
    );

    let error = write_oci_layout(&store, &layout, &one("bad name", &child)).unwrap_err();
    assert!(matches!(error, Error::RefName(_)), "{error}");
}

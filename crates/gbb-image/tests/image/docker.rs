//! A docker archive loaded into the real engine and run.

use std::path::Path;
use std::process::Command;

use gbb_image::{BlobStore, Compression, DockerArchiveImage, write_docker_archive};

use crate::fixture::{self, Order};
use crate::tools::{require, run};
use crate::{EPOCH, epoch, image_of_root};

/// Removes the loaded image when the test ends, however it ends.
struct LoadedImage(String);

impl Drop for LoadedImage {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rmi", "--force", &self.0])
            .output();
    }
}

/// A static program that prints a line, compiled with the host's `cc` against glibc's
/// static libraries (libc6-dev ships `libc.a`).
fn static_hello(dir: &Path) -> std::path::PathBuf {
    let cc = require("cc", "gcc libc6-dev");
    let source = dir.join("hello.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { puts(\"hello from gbb-image\"); return 0; }\n",
    )
    .unwrap();
    let program = dir.join("hello");
    run(Command::new(cc)
        .arg("-static")
        .arg("-o")
        .arg(&program)
        .arg(&source));
    program
}

#[test]
fn docker_archive_loads_and_runs_on_the_engine() {
    let docker = require("docker", "docker.io");
    let dir = tempfile::tempdir().unwrap();
    let program = static_hello(dir.path());
    let root = fixture::write_root(dir.path(), Order::AsListed, Some(&program));
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let image = image_of_root(&store, &root, epoch(EPOCH), Compression::Gzip, None);

    let tag = format!("gbb-image-test/hello:{}", std::process::id());
    let archive = dir.path().join("image.tar");
    let tags = [tag.clone()];
    let images = [DockerArchiveImage {
        image: &image,
        repo_tags: &tags,
    }];
    write_docker_archive(&store, &archive, &images, epoch(EPOCH)).unwrap();

    // skopeo reads it as Docker's format too.
    let skopeo = require("skopeo", "skopeo");
    let inspected = run(Command::new(skopeo)
        .arg("inspect")
        .arg(format!("docker-archive:{}", archive.display())));
    let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(
        inspected["Layers"].as_array().map(Vec::len),
        Some(1),
        "{inspected}"
    );

    run(Command::new(&docker).arg("load").arg("-i").arg(&archive));
    let _loaded = LoadedImage(tag.clone());
    let id = run(Command::new(&docker).args(["image", "inspect", "--format", "{{.Id}}", &tag]));
    let id = String::from_utf8(id.stdout).unwrap();
    assert_eq!(
        id.trim(),
        image.config_digest().to_string(),
        "Docker's image id is the config's digest"
    );
    let output = run(Command::new(&docker).args(["run", "--rm", "--network", "none", &tag]));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello from gbb-image\n"
    );

    // The engine's own tar of the layer (`docker save`: files as the graph driver holds
    // them, Docker's order and headers) is made into the very same layer again: what a `RUN`
    // step's layer goes through.
    let saved = dir.path().join("saved.tar");
    run(Command::new(&docker)
        .args(["save", "-o"])
        .arg(&saved)
        .arg(&tag));
    let options = gbb_image::LayerOptions {
        epoch: epoch(EPOCH),
        compression: Compression::Gzip,
    };
    let again = gbb_image::write_top_layer_of_docker_save(&store, &saved, &options).unwrap();
    assert_eq!(
        gbb_image::oci_spec::image::Digest::from(again.diff_id).to_string(),
        image.config.rootfs().diff_ids()[0],
        "the layer round-tripped through the engine changed"
    );

    // The same image written again is the same archive, byte for byte.
    let again = dir.path().join("again.tar");
    write_docker_archive(&store, &again, &images, epoch(EPOCH)).unwrap();
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&again).unwrap()
    );
    let _ = fixture::USER_FILE;
}

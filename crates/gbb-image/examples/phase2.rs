//! What gbb's phase 2 does for `FROM scratch` + `ADD rootfs.tar /` + a `CMD`, without the
//! engine: the root's layer, the image config and manifest, and the docker archive that is
//! then loaded. The driver of `benches/phase2`, which times it (plus `docker load`) against
//! `docker build` of the same template.
//!
//!     cargo run --release -p gbb-image --example phase2 -- ROOT.tar STORE ARCHIVE TAG

// A command-line driver: its output is the point.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use gbb_image::{
    BlobStore, DockerArchiveImage, ImageInstructions, ImageRequest, LayerOptions, NewLayer,
    Platform, SourceDateEpoch, write_docker_archive, write_image, write_layer,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, store, archive, tag] = args.as_slice() else {
        eprintln!("usage: phase2 ROOT.tar STORE ARCHIVE TAG");
        return ExitCode::from(2);
    };
    let epoch = SourceDateEpoch::DEFAULT;
    let result = BlobStore::open(PathBuf::from(store)).and_then(|store| {
        let layer = write_layer(
            &store,
            &PathBuf::from(root),
            &LayerOptions {
                epoch,
                ..LayerOptions::default()
            },
        )?;
        let image = write_image(
            &store,
            &ImageRequest {
                parent: None,
                platform: Platform::host(),
                layers: vec![NewLayer {
                    layer,
                    created_by: "gbb: ADD rootfs.tar /".to_owned(),
                }],
                instructions: ImageInstructions {
                    cmd: Some(vec!["/bin/sh".to_owned()]),
                    ..ImageInstructions::default()
                },
                epoch,
            },
        )?;
        write_docker_archive(
            &store,
            &PathBuf::from(archive),
            &[DockerArchiveImage {
                image: &image,
                repo_tags: std::slice::from_ref(tag),
            }],
            epoch,
        )?;
        Ok(image)
    });
    match result {
        Ok(image) => {
            println!("{} (config {})", image.digest(), image.config_digest());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("phase2: {e}");
            ExitCode::FAILURE
        }
    }
}

//! gbb-image end to end: root tars into layers, images, OCI layouts and docker archives,
//! checked by reading the bytes back and by the tools made for these formats (skopeo, umoci,
//! docker).

mod docker;
mod fixture;
mod layer;
mod layout;
mod tools;

use std::path::Path;

use gbb_image::{
    BlobStore, Compression, ImageInstructions, ImageRequest, LayerOptions, NewLayer, Platform,
    SourceDateEpoch, StoredImage, write_image, write_layer,
};

/// 2026-01-01T00:00:00Z: between the fixture's old and new file times.
pub(crate) const EPOCH: u64 = 1_767_225_600;

pub(crate) fn epoch(seconds: u64) -> SourceDateEpoch {
    SourceDateEpoch::new(seconds).unwrap()
}

/// The fixture's root as an image on scratch with a few instructions.
pub(crate) fn image_of_root(
    store: &BlobStore,
    root_tar: &Path,
    epoch: SourceDateEpoch,
    compression: Compression,
    parent: Option<&StoredImage>,
) -> StoredImage {
    let options = LayerOptions { epoch, compression };
    let layer = write_layer(store, root_tar, &options).unwrap();
    let instructions = ImageInstructions {
        env: vec![("GREETING".into(), "hello".into())],
        cmd: Some(vec!["/hello".into()]),
        labels: [("org.gentoo-bb.test".to_owned(), "yes".to_owned())].into(),
        exposed_ports: vec!["8080".into()],
        ..Default::default()
    };
    write_image(
        store,
        &ImageRequest {
            parent,
            platform: Platform::host(),
            layers: vec![NewLayer {
                layer,
                created_by: "gbb: ADD rootfs.tar /".into(),
            }],
            instructions,
            epoch,
        },
    )
    .unwrap()
}

//! Unit tests' stacks: files written into a folder and read as a stack, with its paths (the
//! cache under the same folder). For tests only.

use std::path::Path;

use gbb_stack::Stack;

use crate::Paths;

/// Writes `files` (path in the stack, text) under `dir` and reads the stack there.
pub(crate) fn stack(dir: &Path, files: &[(&str, &str)]) -> (Stack, Paths) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let stack = Stack::discover(
        dir,
        &gbb_stack::LoadOptions {
            env: gbb_config::Environment::empty(),
            user_config: None,
        },
    )
    .unwrap();
    (stack, Paths::new(dir, &dir.join("cache")))
}

/// Writes an image of one file (`etc/<id>`, holding `content`) on `parent` into `store`, as
/// a build does, and records it as `id`'s last build in `paths`.
pub(crate) fn store_image(
    store: &gbb_image::BlobStore,
    paths: &Paths,
    id: &str,
    content: &str,
    parent: Option<&gbb_image::StoredImage>,
) -> gbb_image::StoredImage {
    use gbb_image::{
        ImageInstructions, ImageRequest, LayerOptions, NewLayer, Platform, SourceDateEpoch,
        write_image, write_layer,
    };
    std::fs::create_dir_all(&paths.cache).unwrap();
    let root = paths.cache.join(format!("{}.tar", id.replace('/', "-")));
    let mut builder = tar::Builder::new(std::fs::File::create(&root).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(content.len() as u64);
    builder
        .append_data(
            &mut header,
            format!("etc/{}", id.replace('/', "-")),
            content.as_bytes(),
        )
        .unwrap();
    builder.into_inner().unwrap();
    let layer = write_layer(store, &root, &LayerOptions::default()).unwrap();
    let image = write_image(
        store,
        &ImageRequest {
            parent,
            platform: Platform::host(),
            layers: vec![NewLayer {
                layer,
                created_by: "gbb: ADD rootfs.tar /".to_owned(),
            }],
            instructions: ImageInstructions::default(),
            epoch: SourceDateEpoch::DEFAULT,
        },
    )
    .unwrap();
    let manifest = paths.image_manifest(id);
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    std::fs::write(manifest, format!("{}\n", image.digest())).unwrap();
    image
}

/*!
Images written by gbb itself: an OCI content store, deterministic layers from a root tar, image
configs and manifests, and the two ways out of the store (an OCI image layout folder and a
`docker load` archive).

Why gbb writes images itself rather than asking an engine: `docker build` stamps the build time
into every layer header and into the config, so the same files give a new image id on every
rebuild, and the image exists only inside that engine. Here every byte of an image is a pure
function of its inputs (the root tar, the parent image, the config instructions and a
[`SourceDateEpoch`]), so identical inputs give identical digests, and images can be written to
a folder, loaded into any engine or pushed without one.

The flow:

```text
rootfs.tar ──write_layer──▶ Layer ─┐
parent StoredImage (or scratch) ───┼──write_image──▶ StoredImage ──write_oci_layout──▶ oci:DIR
ImageInstructions (ENV, CMD, ...) ─┘    (blobs in a BlobStore)  ──write_docker_archive─▶ FILE
```

Everything goes through a [`BlobStore`] (content addressed, written atomically, deduplicated by
digest); the layout writer copies blobs from one store into another, since an OCI image layout
is itself a store of the same shape. This crate has no engine and never prints.
*/

mod atomic_file;
mod canonical;
mod compare;
mod config;
mod digest_writer;
mod docker_archive;
mod epoch;
mod error;
mod image;
mod instructions;
mod layer;
mod layout;
mod pipeline;
mod store;

pub use compare::{Difference, first_difference};
pub use config::DockerExtensions;
pub use docker_archive::{DockerArchiveImage, write_docker_archive};
pub use epoch::SourceDateEpoch;
pub use error::{EntryProblem, Error};
pub use image::{ImageRequest, NewLayer, Platform, StoredImage, write_image};
pub use instructions::{Healthcheck, ImageInstructions};
pub use layer::{
    Compression, Layer, LayerOptions, write_layer, write_layer_from_reader,
    write_top_layer_of_docker_save,
};
pub use layout::{OciLayoutImage, write_oci_layout};
pub use store::{Blob, BlobStore, BlobWriter, sha256_of};

/// Re-exported so callers name the same types this crate returns.
pub use oci_spec;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

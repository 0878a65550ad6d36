//! An image in the store: config and manifest written from a parent, layers and instructions.

use oci_spec::image::{
    Arch, Descriptor, Digest, ImageConfiguration, ImageConfigurationBuilder, ImageManifest,
    ImageManifestBuilder, MediaType, Os, RootFs,
};

use crate::canonical::to_canonical_json;
use crate::config::{
    DockerExtensions, apply_extensions, apply_instructions, config_json, history, read_extensions,
};
use crate::store::{BlobStore, sha256_of};
use crate::{Error, ImageInstructions, Layer, Result, SourceDateEpoch};

/// The platform of an image with no parent. An image with a parent keeps the parent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Go's `GOOS` name: `linux`.
    pub os: String,
    /// Go's `GOARCH` name: `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... for architectures that have variants.
    pub variant: Option<String>,
}

impl Platform {
    /// Linux on the machine's own architecture, in Go's names (build containers run on the
    /// host, so what they build is for the host).
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        };
        Self {
            os: "linux".to_owned(),
            architecture: architecture.to_owned(),
            variant: None,
        }
    }
}

/// A layer to add to an image, with the history line that says where it came from.
#[derive(Debug, Clone)]
pub struct NewLayer {
    /// The layer, written with [`write_layer`](crate::write_layer).
    pub layer: Layer,
    /// The history's `created_by`: what made the layer, e.g. `gbb: ADD rootfs.tar /`.
    pub created_by: String,
}

/// What an image is made of.
#[derive(Debug, Clone)]
pub struct ImageRequest<'a> {
    /// The parent, or `None` for `FROM scratch`.
    pub parent: Option<&'a StoredImage>,
    /// The platform when there is no parent.
    pub platform: Platform,
    /// The layers this image adds, bottom first.
    pub layers: Vec<NewLayer>,
    /// The template's config instructions.
    pub instructions: ImageInstructions,
    /// The config's and history's `created`.
    pub epoch: SourceDateEpoch,
}

/// An image whose config and manifest are in a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredImage {
    /// The manifest's descriptor: its digest is the image's identity in registries and OCI
    /// layouts (`docker images --digests`).
    pub manifest_descriptor: Descriptor,
    /// The manifest.
    pub manifest: ImageManifest,
    /// The config (the OCI part).
    pub config: ImageConfiguration,
    /// The config's Docker extensions (health check, `ONBUILD`).
    pub docker: DockerExtensions,
}

impl StoredImage {
    /// Reads the image whose manifest has `manifest_digest` back from `store` (a parent built
    /// earlier), checking each blob against its digest.
    pub fn open(store: &BlobStore, manifest_digest: &Digest) -> Result<Self> {
        let manifest_bytes = store.read(&sha256_of(manifest_digest)?)?;
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|source| Error::Json {
                what: "image manifest",
                digest: manifest_digest.to_string(),
                source,
            })?;
        let config_digest = manifest.config().digest();
        let config_bytes = store.read(&sha256_of(config_digest)?)?;
        let json_error = |source| Error::Json {
            what: "image config",
            digest: config_digest.to_string(),
            source,
        };
        let config: ImageConfiguration =
            serde_json::from_slice(&config_bytes).map_err(json_error)?;
        let docker = read_extensions(&config_bytes).map_err(json_error)?;
        Ok(Self {
            manifest_descriptor: Descriptor::new(
                MediaType::ImageManifest,
                manifest_bytes.len() as u64,
                manifest_digest.clone(),
            ),
            manifest,
            config,
            docker,
        })
    }

    /// The manifest's digest.
    pub fn digest(&self) -> &Digest {
        self.manifest_descriptor.digest()
    }

    /// The config's digest: Docker's image id (`docker images`) for an image loaded from a
    /// docker archive.
    pub fn config_digest(&self) -> &Digest {
        self.manifest.config().digest()
    }

    /// Every blob of the image: layers (bottom first), config, manifest.
    pub fn blobs(&self) -> impl Iterator<Item = &Digest> {
        self.manifest
            .layers()
            .iter()
            .map(Descriptor::digest)
            .chain([self.config_digest(), self.digest()])
    }
}

/// Writes the config and manifest of the image `request` describes into `store` (its layers
/// must be there already) and returns it.
///
/// The config is the parent's with the instructions applied (Docker's rules, see
/// [`ImageInstructions`]), its `rootfs.diff_ids` the parent's and then the new layers', its
/// history the parent's and then one entry per new layer and one (an empty layer) for the
/// instructions when there are any, all `created` at the epoch. Config and manifest are
/// canonical JSON (sorted keys, compact), so the same request always gives the same digest.
pub fn write_image(store: &BlobStore, request: &ImageRequest<'_>) -> Result<StoredImage> {
    let created = request.epoch.rfc3339();
    let parent = request.parent;

    let mut diff_ids: Vec<String> = parent
        .map(|p| p.config.rootfs().diff_ids().clone())
        .unwrap_or_default();
    let mut layers: Vec<Descriptor> = parent
        .map(|p| p.manifest.layers().clone())
        .unwrap_or_default();
    let mut history_entries = parent
        .and_then(|p| p.config.history().clone())
        .unwrap_or_default();
    for new in &request.layers {
        let digest = new.layer.descriptor.digest();
        if !store.contains(&sha256_of(digest)?) {
            return Err(Error::MissingBlob {
                digest: digest.to_string(),
                store: store.root().to_path_buf(),
            });
        }
        diff_ids.push(Digest::from(new.layer.diff_id.clone()).to_string());
        layers.push(new.layer.descriptor.clone());
        history_entries.push(history(&created, &new.created_by, false));
    }
    if !request.instructions.is_empty() {
        history_entries.push(history(&created, "gbb: image config", true));
    }

    let mut rootfs = RootFs::default();
    rootfs.set_diff_ids(diff_ids);
    let (os, architecture, variant) = match parent {
        Some(p) => (
            p.config.os().clone(),
            p.config.architecture().clone(),
            p.config.variant().clone(),
        ),
        None => (
            Os::from(request.platform.os.as_str()),
            Arch::from(request.platform.architecture.as_str()),
            request.platform.variant.clone(),
        ),
    };
    let parent_config = parent.and_then(|p| p.config.config().as_ref());
    let execution = apply_instructions(parent_config, &request.instructions);
    let docker = apply_extensions(parent.map(|p| &p.docker), &request.instructions);

    let mut builder = ImageConfigurationBuilder::default()
        .created(created.clone())
        .os(os)
        .architecture(architecture)
        .config(execution)
        .rootfs(rootfs)
        .history(history_entries);
    if let Some(variant) = variant {
        builder = builder.variant(variant);
    }
    if let Some(author) = &request.instructions.author {
        builder = builder.author(author.clone());
    }
    let config = builder
        .build()
        .map_err(|e| Error::spec("image config", e))?;
    let config_bytes = config_json(&config, &docker).map_err(|source| Error::Json {
        what: "image config",
        digest: String::new(),
        source,
    })?;
    let config_blob = store.put(&config_bytes)?;

    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_blob.descriptor(MediaType::ImageConfig))
        .layers(layers)
        .build()
        .map_err(|e| Error::spec("image manifest", e))?;
    let manifest_bytes = to_canonical_json(&manifest).map_err(|source| Error::Json {
        what: "image manifest",
        digest: String::new(),
        source,
    })?;
    let manifest_blob = store.put(&manifest_bytes)?;

    Ok(StoredImage {
        manifest_descriptor: manifest_blob.descriptor(MediaType::ImageManifest),
        manifest,
        config,
        docker,
    })
}

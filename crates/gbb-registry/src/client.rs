//! A synchronous client of the distribution API over `oci-client`: connection settings (TLS
//! roots, plain HTTP), the push of a stored image, and the look-up of a manifest digest.
//!
//! oci-client is async; gbb is not. The client owns a current-thread tokio runtime and blocks
//! on each call, as `gbb-engine` does for bollard, so callers stay plain functions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, Once};
use std::time::Duration;

use futures_util::TryStreamExt as _;
use gbb_image::oci_spec::image::{Digest, Sha256Digest};
use gbb_image::{BlobStore, StoredImage};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use tokio::runtime::Runtime;

use crate::{Credentials, DockerConfig, Error};

/// How to connect to registries.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Plain HTTP instead of HTTPS (a local registry without TLS). Only when asked: credentials
    /// and images then cross the network in the clear.
    pub insecure: bool,
    /// A PEM file of CA certificates trusted besides the system's roots (a registry with a
    /// certificate from the organisation's own CA).
    pub ca_cert: Option<PathBuf>,
}

/// What happened to one blob of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPush {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// What the blob is.
    pub kind: BlobKind,
    /// Whether it was sent.
    pub outcome: BlobOutcome,
}

/// How a blob got to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The repository had it: nothing sent.
    Present,
    /// Another repository of the registry had it (pushed earlier by this client, e.g. the
    /// parent image), and the registry linked it over: nothing sent.
    Mounted {
        /// The repository it came from.
        from: String,
    },
    /// Sent.
    Sent,
}

/// The part of an image a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// A layer.
    Layer,
    /// The image config.
    Config,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The name pushed to (`registry/repository:tag`).
    pub reference: String,
    /// The manifest's digest, the same in the registry as in gbb's store.
    pub manifest_digest: String,
    /// Each layer (bottom first), then the config.
    pub blobs: Vec<BlobPush>,
}

impl PushReport {
    /// How many blobs were sent, and their bytes.
    pub fn sent(&self) -> (usize, u64) {
        self.blobs
            .iter()
            .filter(|b| b.outcome == BlobOutcome::Sent)
            .fold((0, 0), |(n, bytes), b| (n + 1, bytes + b.size))
    }
}

/// Who the client is to registries.
#[derive(Debug, Clone, Default)]
pub enum Login {
    /// No credentials.
    #[default]
    Anonymous,
    /// These credentials, for every registry (`--username`, `--password-stdin`).
    Basic(Credentials),
    /// The credentials `docker login` stored for each registry, none where it stored none.
    DockerConfig(DockerConfig),
}

impl Login {
    /// The credentials for `registry` (`host[:port]`).
    fn credentials_for(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        match self {
            Login::Anonymous => Ok(None),
            Login::Basic(credentials) => Ok(Some(credentials.clone())),
            Login::DockerConfig(config) => config.credentials_for(registry),
        }
    }
}

/// A connection to registries, as one user.
///
/// The login is fixed for the client's life: oci-client keeps the credentials it first used
/// for a registry (and the tokens they got), so other credentials for the same registry need
/// another client.
pub struct RegistryClient {
    runtime: Runtime,
    client: oci_client::Client,
    insecure: bool,
    login: Login,
    /// A repository each blob is known to be in, by registry and digest: what this client
    /// found or put there. A blob missing from one repository but known in another of the
    /// same registry is mounted (linked by the registry) instead of sent again, as `docker
    /// push` does for parent layers.
    known: Mutex<HashMap<(String, String), String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// The media type of a manifest that does not name its own (gbb's always do).
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// rustls needs one crypto provider per process; reqwest is built without one (see
/// Cargo.toml), so ring is installed here, once. A provider another part of the program
/// installed first is kept: any works.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn read_ca_cert(path: &Path) -> Result<Certificate, Error> {
    let data = std::fs::read(path).map_err(|source| Error::CaCert {
        path: path.to_path_buf(),
        source,
    })?;
    if !data
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(Error::NoCertificate(path.to_path_buf()));
    }
    Ok(Certificate {
        encoding: CertificateEncoding::Pem,
        data,
    })
}

/// The registry of a reference as users write it (`127.0.0.1:5000`, `docker.io`).
fn parse_reference(reference: &str) -> Result<Reference, Error> {
    Reference::from_str(reference).map_err(|source| Error::Reference {
        reference: reference.to_owned(),
        source,
    })
}

fn auth_of(credentials: Option<&Credentials>) -> RegistryAuth {
    match credentials {
        Some(c) => RegistryAuth::Basic(c.username.clone(), c.password.clone()),
        None => RegistryAuth::Anonymous,
    }
}

/// Sorts oci-client's error into the ones users can act on: no connection, refused
/// credentials; anything else keeps oci-client's words under what gbb was doing.
fn classify(
    error: OciDistributionError,
    reference: &Reference,
    with_credentials: bool,
    action: impl FnOnce() -> String,
) -> Error {
    let registry = reference.registry().to_owned();
    let unauthorized = |detail: Option<String>| Error::Unauthorized {
        registry: registry.clone(),
        repository: reference.repository().to_owned(),
        with_credentials,
        detail,
    };
    match error {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            Error::Unreachable {
                registry,
                source: Box::new(e),
            }
        }
        OciDistributionError::RequestError(e)
            if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) =>
        {
            unauthorized(None)
        }
        OciDistributionError::UnauthorizedError { .. } => unauthorized(None),
        OciDistributionError::AuthenticationFailure(detail) => unauthorized(Some(detail)),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => unauthorized(None),
        other => Error::Registry {
            registry,
            action: action(),
            source: other,
        },
    }
}

impl RegistryClient {
    /// A client with `options`, logging in as `login`.
    pub fn new(options: &ConnectOptions, login: Login) -> Result<Self, Error> {
        install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let extra_root_certificates = match &options.ca_cert {
            Some(path) => vec![read_ca_cert(path)?],
            None => Vec::new(),
        };
        let config = ClientConfig {
            protocol: if options.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            extra_root_certificates,
            // One PUT per blob, streamed from the store: chunked uploads would cost one
            // request per few megabytes of a layer.
            use_monolithic_push: true,
            connect_timeout: Some(Duration::from_secs(30)),
            user_agent: concat!("gbb/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        // `try_from`, not `Client::new`: that one falls back to a default client when the
        // config is refused (a bad CA file), which would hide the error.
        let client = runtime
            .block_on(async { oci_client::Client::try_from(config) })
            .map_err(Error::Client)?;
        Ok(Self {
            runtime,
            client,
            insecure: options.insecure,
            login,
            known: Mutex::new(HashMap::new()),
        })
    }

    /// Pushes `image` from `store` to `target` (`registry/repository:tag`), sending only
    /// the blobs the registry lacks, then the manifest (which is what moves the tag).
    ///
    /// Layers are streamed from the store, not read into memory. The manifest is sent as the
    /// bytes in the store, so its digest in the registry is the local one.
    ///
    /// `on_blob` hears of each blob once it is in the registry (so a caller can say what
    /// happens while a large layer goes).
    pub fn push(
        &self,
        store: &BlobStore,
        image: &StoredImage,
        target: &str,
        on_blob: &mut dyn FnMut(&BlobPush),
    ) -> Result<PushReport, Error> {
        let reference = parse_reference(target)?;
        let credentials = self.login.credentials_for(reference.registry())?;
        let credentials = credentials.as_ref();
        let with_credentials = credentials.is_some();
        let reference = &reference;
        let fail = |action: String| {
            move |e: OciDistributionError| classify(e, reference, with_credentials, || action)
        };
        let client = &self.client;
        let manifest_digest = image.digest().to_string();
        let manifest_bytes = store.read(&sha256(image.digest())?)?;
        // The registry stores the manifest under the type it is sent with.
        let content_type = image
            .manifest
            .media_type()
            .as_ref()
            .map(ToString::to_string)
            .and_then(|t| reqwest::header::HeaderValue::from_str(&t).ok())
            .unwrap_or(reqwest::header::HeaderValue::from_static(OCI_MANIFEST));
        self.runtime.block_on(async {
            client
                .auth(reference, &auth_of(credentials), RegistryOperation::Push)
                .await
                .map_err(fail("logging in".to_owned()))?;
            let mut blobs = Vec::new();
            let layers = image
                .manifest
                .layers()
                .iter()
                .map(|d| (d, BlobKind::Layer))
                .chain([(image.manifest.config(), BlobKind::Config)]);
            for (descriptor, kind) in layers {
                let digest = descriptor.digest().to_string();
                let present = client
                    .blob_exists(reference, &digest)
                    .await
                    .map_err(fail(format!("looking up blob `{digest}`")))?;
                let outcome = if present {
                    BlobOutcome::Present
                } else if let Some(from) = self.mounted(reference, &digest).await {
                    BlobOutcome::Mounted { from }
                } else {
                    let (file, size) = open_blob(store, descriptor.digest()).await?;
                    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20)
                        .map_err(OciDistributionError::IoError);
                    client
                        .push_blob_stream(reference, stream, &digest, Some(size))
                        .await
                        .map_err(fail(format!("sending blob `{digest}`")))?;
                    BlobOutcome::Sent
                };
                self.remember(reference, &digest);
                let blob = BlobPush {
                    digest,
                    size: descriptor.size(),
                    kind,
                    outcome,
                };
                on_blob(&blob);
                blobs.push(blob);
            }
            client
                .push_manifest_raw(reference, manifest_bytes, content_type)
                .await
                .map_err(|e| match e {
                    OciDistributionError::ServerError { code, message, .. }
                        if (400..500).contains(&code) && code != 401 && code != 403 =>
                    {
                        Error::ManifestRejected {
                            registry: reference.registry().to_owned(),
                            reference: target.to_owned(),
                            message: message.trim().to_owned(),
                        }
                    }
                    other => fail("sending the manifest".to_owned())(other),
                })?;
            Ok(PushReport {
                reference: target.to_owned(),
                manifest_digest,
                blobs,
            })
        })
    }

    /// Records that `digest` is in `reference`'s repository.
    fn remember(&self, reference: &Reference, digest: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(
                (reference.registry().to_owned(), digest.to_owned()),
                reference.repository().to_owned(),
            );
        }
    }

    /// Mounts `digest` into `reference`'s repository from another repository of the same
    /// registry that has it; the repository it came from, or `None` when none is known or
    /// the registry would not (then the blob is sent: a failed mount costs one request).
    async fn mounted(&self, reference: &Reference, digest: &str) -> Option<String> {
        let from = {
            let known = self.known.lock().ok()?;
            known
                .get(&(reference.registry().to_owned(), digest.to_owned()))
                .filter(|repository| *repository != reference.repository())
                .cloned()?
        };
        let source = Reference::from_str(&format!("{}/{from}", reference.registry())).ok()?;
        self.client
            .mount_blob(reference, &source, digest)
            .await
            .ok()
            .map(|()| from)
    }

    /// The digest of the manifest `reference` names in its registry (`HEAD` of the
    /// manifest): what `docker pull` would get.
    pub fn manifest_digest(&self, reference: &str) -> Result<String, Error> {
        let parsed = parse_reference(reference)?;
        let credentials = self.login.credentials_for(parsed.registry())?;
        let credentials = credentials.as_ref();
        let auth = auth_of(credentials);
        self.runtime
            .block_on(async {
                self.client
                    .auth(&parsed, &auth, RegistryOperation::Pull)
                    .await?;
                self.client.fetch_manifest_digest(&parsed, &auth).await
            })
            .map_err(|e| {
                classify(e, &parsed, credentials.is_some(), || {
                    format!("looking up the manifest of `{reference}`")
                })
            })
    }
}

/// The store's name for a digest of an image (gbb writes sha256 only).
fn sha256(digest: &Digest) -> Result<Sha256Digest, Error> {
    Sha256Digest::from_str(digest.digest())
        .map_err(|_| Error::Image(gbb_image::Error::Digest(digest.to_string())))
}

/// A blob of the store, opened for streaming, and its size.
async fn open_blob(store: &BlobStore, digest: &Digest) -> Result<(tokio::fs::File, u64), Error> {
    let digest = sha256(digest)?;
    let path = store.blob_path(&digest);
    let io_error = |source| {
        Error::Image(gbb_image::Error::Io {
            action: "read",
            path: path.clone(),
            source,
        })
    };
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Image(gbb_image::Error::MissingBlob {
                digest: format!("sha256:{}", digest.digest()),
                store: store.root().to_path_buf(),
            })
        } else {
            io_error(e)
        }
    })?;
    let size = file.metadata().await.map_err(io_error)?.len();
    Ok((file, size))
}

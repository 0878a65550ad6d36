/*!
Talking to registries over the OCI distribution API, with no engine: `gbb push` sends the
images gbb wrote into its content store ([`gbb_image::BlobStore`]) straight to a registry.

A push asks the registry which blobs (layers, config) it has, sends only the missing ones
(mounted from another repository of the registry when this client put them there, else
streamed from the store), then sends the manifest as the exact bytes in the store, so the
digest the registry serves is the one gbb computed. The result says per blob whether it was
sent or skipped ([`PushReport`]); this crate never prints.

Credentials come from the caller ([`Credentials`]) or from the user's docker `config.json`
([`DockerConfig`]: its credential helpers run as Docker runs them, else its `auths`). TLS uses the system's roots plus an
optional CA file; plain HTTP only when asked ([`ConnectOptions::insecure`]).

The API is synchronous: [`RegistryClient`] owns a small tokio runtime around `oci-client`.
*/

mod client;
mod credentials;
mod error;
#[cfg(feature = "test-registry")]
pub mod local_registry;

pub use client::{
    BlobKind, BlobOutcome, BlobPush, ConnectOptions, Login, PushReport, RegistryClient,
};
pub use credentials::{Credentials, DockerConfig, docker_config_path};
pub use error::Error;

//! The errors of talking to a registry, each naming the registry (and the image or file) it is
//! about, so that the binary can print them as they are.

use std::path::PathBuf;

/// Why a push (or a look-up in a registry) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image name the distribution API cannot address.
    #[error("`{reference}` is not a valid image reference")]
    Reference {
        /// The name as given.
        reference: String,
        /// What the parser said.
        #[source]
        source: oci_client::ParseError,
    },
    /// No connection: nothing listens, the name does not resolve, or TLS failed (a
    /// certificate the roots do not vouch for, or HTTPS spoken to a plain-HTTP registry).
    #[error("cannot reach the registry `{registry}`")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// What the HTTP client said (its chain names the cause).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The registry answered 401 or 403: no credentials where it needs some, or wrong ones.
    #[error(
        "the registry `{registry}` refused access to `{repository}` ({}){}",
        if *.with_credentials { "wrong user name or password, or no right to push there" }
        else { "it wants credentials: pass --username and --password-stdin, or log in with `docker login`" },
        .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The repository pushed to.
        repository: String,
        /// Whether credentials were sent.
        with_credentials: bool,
        /// The registry's own words, when it gave any.
        detail: Option<String>,
    },
    /// The registry took the blobs but refused the manifest.
    #[error("the registry `{registry}` rejected the manifest of `{reference}`: {message}")]
    ManifestRejected {
        /// `host[:port]`.
        registry: String,
        /// The image name pushed.
        reference: String,
        /// The registry's reason.
        message: String,
    },
    /// Any other failure of the distribution API.
    #[error("the registry `{registry}` failed while {action}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What was being done ("sending blob `sha256:...`").
        action: String,
        /// oci-client's error.
        #[source]
        source: oci_client::errors::OciDistributionError,
    },
    /// The CA file given for TLS could not be read.
    #[error("cannot read the CA certificate file `{path}`")]
    CaCert {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The CA file holds no PEM certificate.
    #[error("`{0}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)")]
    NoCertificate(PathBuf),
    /// The HTTP client could not be made (a certificate it refuses, a broken TLS setup).
    #[error("cannot set up the HTTP client for registries")]
    Client(#[source] oci_client::errors::OciDistributionError),
    /// The user's docker `config.json` could not be read or is not what Docker writes.
    #[error("cannot read the docker credentials file `{path}`: {problem}")]
    DockerConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A credential helper named in docker's `config.json` failed.
    #[error("the credential helper `{program}` failed for `{registry}`: {problem}")]
    CredentialHelper {
        /// `docker-credential-<name>`.
        program: String,
        /// The registry asked for.
        registry: String,
        /// What went wrong.
        problem: String,
    },
    /// The image in gbb's store could not be read.
    #[error(transparent)]
    Image(#[from] gbb_image::Error),
    /// The async runtime could not be started.
    #[error("cannot start the runtime for registry requests")]
    Runtime(#[source] std::io::Error),
}

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No engine answers at the address: one clear line, with what to do about it.
    #[error(
        "cannot reach the container engine at `{host}`: {cause}\n  hint: start it (dockerd) or point DOCKER_HOST at a running one"
    )]
    Unreachable { host: String, cause: String },

    /// An engine behind ssh (`ssh://` in `DOCKER_HOST` or `CONTAINER_HOST`) cannot be
    /// reached: ssh's own line, or what is missing, in one line.
    #[error("cannot reach the container engine at `{host}` through ssh: {cause}")]
    Ssh { host: String, cause: String },

    /// The ssh connection to an engine behind ssh ended while gbb used it: what the client
    /// saw (a refused or closed connection) says nothing, so ssh's reason is given instead.
    #[error(
        "the ssh connection to the container engine at `{host}` ended while {operation}: {cause}"
    )]
    SshEnded {
        host: String,
        operation: String,
        cause: String,
    },

    /// The engine gave no answer to a ping while a call ran (`watchdog.rs`): it stopped
    /// answering without closing the connection, which would otherwise hold the call for the
    /// client's one-hour timeout.
    #[error(
        "the container engine at `{host}` stopped answering while {operation}: a ping got no answer within {answer} s"
    )]
    NotAnswering {
        host: String,
        operation: String,
        answer: f64,
    },

    /// No Podman service answers on any of the sockets Podman's clients look for.
    #[error("no Podman service answers (tried {tried})\n  hint: {hint}")]
    PodmanUnreachable { tried: String, hint: String },

    /// The engine answered with an error.
    #[error("{operation} failed: {message}")]
    Api { operation: String, message: String },

    /// The operation was stopped by [`crate::Engine::cancel`].
    #[error("{operation} was stopped")]
    Cancelled { operation: String },

    /// The engine refused because something still uses the object (an image with containers
    /// or child images).
    #[error("{operation} failed: {message}")]
    InUse { operation: String, message: String },

    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

//! Credentials for a registry: given on the command line, or read from the user's docker
//! `config.json` (what `docker login` writes).
//!
//! Only the `auths` entries are read, in both forms Docker writes: `auth` (base64 of
//! `user:password`) and `username` + `password`. Credential helpers (`credsStore`,
//! `credHelpers`) are programs Docker runs to fetch a secret from a keyring; gbb does not run
//! them, so a registry whose login lives only in a helper needs `--username` and
//! `--password-stdin`. [`DockerConfig::helper_for`] names the helper, so the caller can say so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use crate::Error;

/// A user name and password (or token) for basic authentication.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or access token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    /// The password stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The parts of Docker's `config.json` that hold credentials.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(skip)]
    path: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Where Docker keeps `config.json`: `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json` (the values of those variables are passed in, so that tests
/// need not change the process environment).
pub fn docker_config_path(docker_config: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    match docker_config {
        Some(dir) if !dir.as_os_str().is_empty() => Some(dir.join("config.json")),
        _ => home.map(|home| home.join(".docker").join("config.json")),
    }
}

/// The names Docker Hub's entries go by in `config.json`; `docker login` writes the first.
const DOCKER_HUB_NAMES: [&str; 4] = [
    "index.docker.io",
    "docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

/// The host (and port) of an `auths` key, which may be a URL (`https://index.docker.io/v1/`).
fn host_of(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme
        .split_once('/')
        .map_or(without_scheme, |(host, _)| host)
}

/// Whether the `auths` key `key` is the registry `registry` (`host[:port]`).
fn same_registry(key: &str, registry: &str) -> bool {
    let host = host_of(key);
    host == registry || (DOCKER_HUB_NAMES.contains(&host) && DOCKER_HUB_NAMES.contains(&registry))
}

impl DockerConfig {
    /// Reads `path`; a missing file is an empty config (no credentials), as for Docker.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let problem = |problem: String| Error::DockerConfig {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(problem(e.to_string())),
        };
        let mut config: Self =
            serde_json::from_slice(&bytes).map_err(|e| problem(e.to_string()))?;
        config.path = path.to_path_buf();
        Ok(config)
    }

    /// The credentials stored for `registry` (`host[:port]`), if any.
    pub fn credentials_for(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        let Some((key, entry)) = self
            .auths
            .iter()
            .find(|(key, _)| same_registry(key, registry))
        else {
            return Ok(None);
        };
        let problem = |what: &str| Error::DockerConfig {
            path: self.path.clone(),
            problem: format!("the entry `{key}` {what}"),
        };
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| problem("has an `auth` that is not base64"))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| problem("has an `auth` that is not UTF-8 text"))?;
            let (username, password) = text
                .split_once(':')
                .ok_or_else(|| problem("has an `auth` without `user:password`"))?;
            return Ok(Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        match (&entry.username, &entry.password) {
            (Some(username), Some(password)) => Ok(Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            })),
            // An entry with neither is what `docker login` leaves when a helper keeps the secret.
            _ => Ok(None),
        }
    }

    /// The credential helper Docker would ask for `registry`, which gbb does not run.
    pub fn helper_for(&self, registry: &str) -> Option<&str> {
        self.cred_helpers
            .iter()
            .find(|(key, _)| same_registry(key, registry))
            .map(|(_, helper)| helper.as_str())
            .or(self.creds_store.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        DockerConfig::read(&path).unwrap()
    }

    fn creds(username: &str, password: &str) -> Option<Credentials> {
        Some(Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }

    #[test]
    fn both_forms_of_auths_entries_are_read() {
        // base64("alice:s3cr:et"): a colon in the password stays in it.
        let config = config(
            r#"{"auths": {
                "registry.example.org:5000": {"auth": "YWxpY2U6czNjcjpldA=="},
                "https://other.example.org/v2/": {"username": "bob", "password": "pw"},
                "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
                "helper.example.org": {}
            }}"#,
        );
        assert_eq!(
            config.credentials_for("registry.example.org:5000").unwrap(),
            creds("alice", "s3cr:et")
        );
        assert_eq!(
            config.credentials_for("other.example.org").unwrap(),
            creds("bob", "pw")
        );
        assert_eq!(
            config.credentials_for("registry-1.docker.io").unwrap(),
            creds("hub", "hubpw")
        );
        assert_eq!(
            config.credentials_for("registry.example.org").unwrap(),
            None
        );
        assert_eq!(config.credentials_for("helper.example.org").unwrap(), None);
    }

    #[test]
    fn helpers_are_named_not_run() {
        let config = config(r#"{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}"#);
        assert_eq!(config.helper_for("gcr.io"), Some("gcloud"));
        assert_eq!(config.helper_for("example.org"), Some("desktop"));
    }

    #[test]
    fn a_missing_file_has_no_credentials_and_a_broken_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = DockerConfig::read(&dir.path().join("config.json")).unwrap();
        assert_eq!(missing.credentials_for("example.org").unwrap(), None);

        let path = dir.path().join("broken.json");
        std::fs::write(&path, r#"{"auths": {"example.org": {"auth": "%%%"}}}"#).unwrap();
        let error = DockerConfig::read(&path)
            .unwrap()
            .credentials_for("example.org")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!(
                "cannot read the docker credentials file `{}`: the entry `example.org` has an \
                 `auth` that is not base64",
                path.display()
            )
        );
        std::fs::write(&path, "{").unwrap();
        assert!(DockerConfig::read(&path).is_err());
    }

    #[test]
    fn the_config_path_follows_docker_config_then_home() {
        assert_eq!(
            docker_config_path(Some(Path::new("/d")), Some(Path::new("/h"))),
            Some(PathBuf::from("/d/config.json"))
        );
        assert_eq!(
            docker_config_path(None, Some(Path::new("/h"))),
            Some(PathBuf::from("/h/.docker/config.json"))
        );
        assert_eq!(docker_config_path(None, None), None);
    }
}

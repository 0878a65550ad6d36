//! Credentials for a registry: given on the command line, or read from the user's docker
//! `config.json` (what `docker login` writes).
//!
//! As Docker does: a credential helper named for the registry (`credHelpers`) or for every
//! registry (`credsStore`) is asked first, by running `docker-credential-<name> get` with the
//! registry on its standard input (the protocol of docker-credential-helpers); without one,
//! the `auths` entries are read, in both forms Docker writes: `auth` (base64 of
//! `user:password`) and `username` + `password`. A helper that has no login for the registry,
//! or is not installed, means no credentials (an anonymous push, which a registry that wants a
//! login refuses; [`DockerConfig::helper_for`] names the helper, so the caller can say so).
//! Identity tokens (a helper's `<token>` user, for OAuth logins) are not supported.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    /// The `PATH` credential helpers are looked up in (the caller's environment; the
    /// process's own when `None`).
    #[serde(skip)]
    helper_search_path: Option<OsString>,
}

/// What a credential helper's `get` prints.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
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

    /// Credential helpers are looked up in `search_path` (a `PATH` value) rather than the
    /// process's own `PATH`.
    pub fn with_helper_search_path(mut self, search_path: Option<OsString>) -> Self {
        self.helper_search_path = search_path;
        self
    }

    /// The credentials stored for `registry` (`host[:port]`), if any: from its credential
    /// helper when one is named, else from `auths`.
    pub fn credentials_for(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        if let Some(helper) = self.helper_for(registry) {
            return self.ask_helper(helper, registry);
        }
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

    /// Runs `docker-credential-<helper> get` for `registry`.
    fn ask_helper(&self, helper: &str, registry: &str) -> Result<Option<Credentials>, Error> {
        let program = format!("docker-credential-{helper}");
        let failed = |problem: String| Error::CredentialHelper {
            program: program.clone(),
            registry: registry.to_owned(),
            problem,
        };
        // Docker Hub's logins are kept under its old index URL.
        let server = if DOCKER_HUB_NAMES.contains(&registry) {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        let mut command = Command::new(&program);
        if let Some(path) = &self.helper_search_path {
            // Rust looks the program up in the child's `PATH` when it is set.
            command.env("PATH", path);
        }
        let mut child = match command
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(failed(format!("cannot run it: {e}"))),
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is judged by its exit status below.
            let _ = stdin.write_all(server.as_bytes());
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(format!("cannot run it: {e}")))?;
        if !output.status.success() {
            // docker-credential-helpers' words for "no login for this registry".
            let said = String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr);
            if said.contains("credentials not found") {
                return Ok(None);
            }
            return Err(failed(format!(
                "it failed ({}): {}",
                output.status,
                said.trim()
            )));
        }
        let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
            .map_err(|e| failed(format!("its answer is not the JSON Docker expects: {e}")))?;
        if answer.username == "<token>" {
            return Err(failed(
                "it holds an identity token (an OAuth login), which gbb cannot use; pass \
                 --username and --password-stdin"
                    .to_owned(),
            ));
        }
        Ok(Some(Credentials {
            username: answer.username,
            password: answer.secret,
        }))
    }

    /// The credential helper Docker would ask for `registry`.
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
    fn helpers_are_named_per_registry_then_for_all() {
        let config = config(r#"{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}"#);
        assert_eq!(config.helper_for("gcr.io"), Some("gcloud"));
        assert_eq!(config.helper_for("example.org"), Some("desktop"));
    }

    /// A credential helper of the test's own, speaking docker-credential-helpers' protocol.
    const HELPER: &str = r#"#!/bin/sh
[ "$1" = get ] || exit 9
read -r server
case "$server" in
  registry.example.org) echo '{"ServerURL":"x","Username":"helped","Secret":"s3 cret"}' ;;
  https://index.docker.io/v1/) echo '{"Username":"hub","Secret":"hubsecret"}' ;;
  token.example.org) echo '{"Username":"<token>","Secret":"x"}' ;;
  broken.example.org) echo boom >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;

    #[test]
    fn credential_helpers_are_asked_as_docker_asks_them() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let helper = bin.path().join("docker-credential-gbbtest");
        std::fs::write(&helper, HELPER).unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = config(
            r#"{"auths": {"registry.example.org": {"auth": "aWdub3JlZDppZ25vcmVk"}},
                "credHelpers": {"registry.example.org": "gbbtest", "index.docker.io": "gbbtest",
                    "token.example.org": "gbbtest", "broken.example.org": "gbbtest",
                    "unknown.example.org": "gbbtest"},
                "credsStore": "not-installed"}"#,
        )
        .with_helper_search_path(Some(bin.path().as_os_str().to_owned()));

        assert_eq!(
            config.credentials_for("registry.example.org").unwrap(),
            creds("helped", "s3 cret"),
            "the helper wins over `auths`, as in Docker"
        );
        assert_eq!(
            config.credentials_for("docker.io").unwrap(),
            creds("hub", "hubsecret")
        );
        assert_eq!(config.credentials_for("unknown.example.org").unwrap(), None);
        assert_eq!(
            config.credentials_for("elsewhere.example.org").unwrap(),
            None,
            "a helper that is not installed has no login"
        );
        assert_eq!(
            config
                .credentials_for("broken.example.org")
                .unwrap_err()
                .to_string(),
            "the credential helper `docker-credential-gbbtest` failed for `broken.example.org`: \
             it failed (exit status: 3): boom"
        );
        assert!(
            config
                .credentials_for("token.example.org")
                .unwrap_err()
                .to_string()
                .contains("identity token")
        );
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

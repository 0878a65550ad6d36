//! Gentoo's release key, fetched on first use and pinned by fingerprint.
//!
//! gbb cannot ship Gentoo's key (it is Gentoo's to publish, and it is extended and given new
//! signing subkeys over the years), so the first build that downloads a stage3 or a portage
//! snapshot fetches the key file Gentoo publishes over HTTPS. Trust does not come from the
//! server: only a key whose *primary* fingerprint is the one pinned in gbb is kept, every other
//! key in the file is dropped, and a file without it is refused, naming both the fingerprint
//! wanted and the ones found. The key that passed is cached (armored, written to a temporary
//! file and renamed, so a cached key is always a whole and checked one) and used without a
//! request while it is fresh. When it is older than [`REFRESH_AFTER`] it is fetched again, to
//! pick up new subkeys and expiry dates; if that fails, the cached copy (still the pinned key)
//! is used and the caller is told why.
//!
//! The pin is a parameter of [`release_keyring`] so that tests can check the logic with keys
//! made on the spot; the `gbb` binary always passes [`GENTOO_RELEASE_KEY`], and no setting
//! changes it. The URL is a setting ([`KEY_URL_VARIABLE`]): a mirror of the key file cannot
//! make gbb accept another key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::download::{DownloadError, Downloader, NoProgress};
use crate::openpgp::{Keyring, SignatureError};

/// The primary fingerprint of Gentoo's automated release key ("Gentoo Linux Release
/// Engineering (Automated Weekly Release Key)"), which signs stage3 files, their DIGESTS and
/// the portage snapshots; see <https://www.gentoo.org/downloads/signatures/>.
pub const GENTOO_RELEASE_KEY: &str = "13EBBDBEDE7A12775DFDB1BABB572E0E2D182910";

/// Where Gentoo publishes its service keys (the release keys among them); the handbook imports
/// them from here to verify a stage3.
pub const GENTOO_KEYS_URL: &str = "https://qa-reports.gentoo.org/output/service-keys.gpg";

/// The environment variable that replaces [`GENTOO_KEYS_URL`] (a local copy, a proxy, a test
/// server). The fingerprint check applies all the same.
pub const KEY_URL_VARIABLE: &str = "GBB_GENTOO_KEYS_URL";

/// A cached key older than this is fetched again (falling back to the cached copy).
pub const REFRESH_AFTER: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What to fetch, what to accept, where to keep it.
pub struct ReleaseKeyRequest<'a> {
    /// The key file's URL.
    pub url: &'a str,
    /// The primary fingerprint to accept: upper-case hex without spaces.
    pub fingerprint: &'a str,
    /// The folder the accepted key is cached in (created when missing).
    pub cache: &'a Path,
}

/// Where the keyring [`release_keyring`] returns came from.
#[derive(Debug)]
pub enum KeyOrigin {
    /// The cached copy, fresh enough: no request was made.
    Cache(PathBuf),
    /// Fetched now from the URL (and cached).
    Fetched,
    /// The cached copy is old and fetching a new one failed (the reason); the old one is used.
    StaleCache {
        path: PathBuf,
        reason: ReleaseKeyError,
    },
}

/// What the user can do when gbb has no release key; ends every message below that leaves
/// the build without one.
const WHAT_TO_DO: &str = "set GENTOO_KEYRING to a file with Gentoo's release keys (https://www.gentoo.org/downloads/signatures/), or pass -s to skip the OpenPGP checks (hashes are checked all the same)";

/// Why gbb has no release key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseKeyError {
    #[error("Gentoo's release key could not be fetched: {source}; {WHAT_TO_DO}")]
    Unreachable {
        #[source]
        source: DownloadError,
    },
    #[error(
        "`{url}` does not hold Gentoo's release key: gbb accepts only the key with the fingerprint {}, the file has {}; nothing was cached. {WHAT_TO_DO}",
        spaced(expected),
        found.iter().map(|f| spaced(f)).collect::<Vec<_>>().join(", ")
    )]
    WrongKey {
        url: String,
        expected: String,
        found: Vec<String>,
    },
    #[error("`{url}` is not an OpenPGP key file ({source}); {WHAT_TO_DO}")]
    NotAKey {
        url: String,
        #[source]
        source: SignatureError,
    },
    #[error("cannot write the release key to `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A fingerprint in the groups of four Gentoo's pages and `gpg` show.
fn spaced(fingerprint: &str) -> String {
    fingerprint
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cached key file for a pin; the fingerprint is in the name, so a changed pin never
/// reads a key cached for another.
pub fn cached_key_path(cache: &Path, fingerprint: &str) -> PathBuf {
    cache.join(format!("gentoo-release-{fingerprint}.asc"))
}

/// Gentoo's release key: from the cache when fresh, else fetched, checked against the pinned
/// fingerprint and cached. See the module's documentation.
pub fn release_keyring(
    downloader: &Downloader,
    request: &ReleaseKeyRequest<'_>,
) -> Result<(Keyring, KeyOrigin), ReleaseKeyError> {
    let path = cached_key_path(request.cache, request.fingerprint);
    let cached = read_cached(&path, request.fingerprint);
    if let Some((keyring, modified)) = &cached {
        let age = SystemTime::now()
            .duration_since(*modified)
            .unwrap_or_default();
        if age < REFRESH_AFTER {
            return Ok((keyring.clone(), KeyOrigin::Cache(path)));
        }
    }
    match fetch_and_cache(downloader, request, &path) {
        Ok(keyring) => Ok((keyring, KeyOrigin::Fetched)),
        Err(reason @ ReleaseKeyError::Unreachable { .. }) => match cached {
            Some((keyring, _)) => Ok((keyring, KeyOrigin::StaleCache { path, reason })),
            None => Err(reason),
        },
        Err(other) => Err(other),
    }
}

/// The cached key and when it was written, when it is there, readable and still the pinned
/// key (anything else is treated as no cache and replaced by the next fetch).
fn read_cached(path: &Path, fingerprint: &str) -> Option<(Keyring, SystemTime)> {
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    let keyring = Keyring::from_bytes(&std::fs::read(path).ok()?).ok()?;
    let keyring = keyring.only(fingerprint)?;
    Some((keyring, metadata.modified().ok()?))
}

fn fetch_and_cache(
    downloader: &Downloader,
    request: &ReleaseKeyRequest<'_>,
    path: &Path,
) -> Result<Keyring, ReleaseKeyError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ReleaseKeyError::Io { path, source }
    };
    std::fs::create_dir_all(request.cache).map_err(io(request.cache))?;
    // The download goes to a fresh temporary file next to the cache (tempfile makes it with
    // O_EXCL, so nothing planted under a guessable name is followed).
    let part = tempfile::Builder::new()
        .prefix(".gentoo-keys-")
        .suffix(".part")
        .tempfile_in(request.cache)
        .map_err(io(request.cache))?;
    downloader
        .fetch(request.url, part.path(), &NoProgress)
        .map_err(|source| match source {
            DownloadError::Io { path, source } => ReleaseKeyError::Io { path, source },
            source => ReleaseKeyError::Unreachable { source },
        })?;
    let data = std::fs::read(part.path()).map_err(io(part.path()))?;
    drop(part);
    let all = Keyring::from_bytes(&data).map_err(|source| ReleaseKeyError::NotAKey {
        url: request.url.to_owned(),
        source,
    })?;
    let Some(keyring) = all.only(request.fingerprint) else {
        return Err(ReleaseKeyError::WrongKey {
            url: request.url.to_owned(),
            expected: request.fingerprint.to_owned(),
            found: all.fingerprints(),
        });
    };
    let armored = keyring
        .to_armor()
        .map_err(|source| ReleaseKeyError::NotAKey {
            url: request.url.to_owned(),
            source,
        })?;
    let mut file = tempfile::Builder::new()
        .prefix(".gentoo-release-")
        .tempfile_in(request.cache)
        .map_err(io(request.cache))?;
    file.write_all(armored.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(io(file.path()))?;
    file.persist(path).map_err(|e| ReleaseKeyError::Io {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(keyring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openpgp::testing::{binary_keyring, clearsign, test_key};
    use crate::test_mirror::{Behaviour, Mirror};

    const PATH: &str = "output/service-keys.gpg";

    /// One attempt, no waiting: the tests' servers answer at once or not at all.
    fn downloader() -> Downloader {
        Downloader::new(1, Duration::ZERO)
    }

    fn fingerprint_of(armored: &str) -> String {
        Keyring::from_armor(armored).unwrap().fingerprints()[0].clone()
    }

    /// A mirror serving `body` at [`PATH`] and an empty cache folder: what most tests start
    /// from.
    struct Fixture {
        mirror: Mirror,
        cache: tempfile::TempDir,
        url: String,
    }

    impl Fixture {
        fn serving(body: Vec<u8>) -> Self {
            let mirror = Mirror::start();
            mirror.put(PATH, Behaviour::Serve(body));
            let url = format!("{}{PATH}", mirror.url);
            Self {
                mirror,
                cache: tempfile::tempdir().unwrap(),
                url,
            }
        }

        /// The request for the key pinned to `fingerprint`, cached in the fixture's folder.
        fn request<'a>(&'a self, fingerprint: &'a str) -> ReleaseKeyRequest<'a> {
            ReleaseKeyRequest {
                url: &self.url,
                fingerprint,
                cache: self.cache.path(),
            }
        }
    }

    #[test]
    fn the_pinned_key_is_fetched_cached_and_reused_without_a_request() {
        let (release, release_public) = test_key("Release <r@example.org>");
        let (_, other_public) = test_key("Infra <i@example.org>");
        let pin = fingerprint_of(&release_public);
        // Gentoo's file is a binary keyring of several service keys: only the pinned one is
        // kept.
        let fixture = Fixture::serving(binary_keyring(&[&other_public, &release_public]));
        let (mirror, cache) = (&fixture.mirror, &fixture.cache);
        let request = fixture.request(&pin);

        let (keyring, origin) = release_keyring(&downloader(), &request).unwrap();
        assert!(matches!(origin, KeyOrigin::Fetched), "{origin:?}");
        assert_eq!(keyring.fingerprints(), vec![pin.clone()]);
        let signed = clearsign(&release, "DIGESTS\n");
        keyring.verify_cleartext("DIGESTS", &signed).unwrap();
        let cached = cached_key_path(cache.path(), &pin);
        let text = std::fs::read_to_string(&cached).unwrap();
        assert_eq!(
            Keyring::from_armor(&text).unwrap().fingerprints(),
            vec![pin.clone()]
        );
        assert_eq!(mirror.requests_for(PATH).len(), 1);
        let leftovers: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "only the key, no temporary file: {leftovers:?}"
        );

        // Armored blocks one after the other are read too.
        let other_cache = tempfile::tempdir().unwrap();
        mirror.put(
            PATH,
            Behaviour::Serve(format!("{other_public}\n{release_public}").into_bytes()),
        );
        let armored = ReleaseKeyRequest {
            cache: other_cache.path(),
            ..request
        };
        let (keyring, _) = release_keyring(&downloader(), &armored).unwrap();
        assert_eq!(keyring.fingerprints(), vec![pin.clone()]);
        let request = ReleaseKeyRequest {
            cache: cache.path(),
            ..armored
        };

        // Second use: from the cache, no request even with the server gone wrong.
        mirror.put(PATH, Behaviour::Status(500));
        let (keyring, origin) = release_keyring(&downloader(), &request).unwrap();
        assert!(matches!(origin, KeyOrigin::Cache(_)), "{origin:?}");
        keyring.verify_cleartext("DIGESTS", &signed).unwrap();
        assert_eq!(
            mirror.requests_for(PATH).len(),
            2,
            "no request for the cached key"
        );
    }

    #[test]
    fn a_stale_cache_is_refreshed_and_used_when_the_refresh_fails() {
        let (_, release_public) = test_key("Release <r@example.org>");
        let pin = fingerprint_of(&release_public);
        let fixture = Fixture::serving(release_public.clone().into_bytes());
        let (mirror, cache) = (&fixture.mirror, &fixture.cache);
        let request = fixture.request(&pin);
        release_keyring(&downloader(), &request).unwrap();
        let age = |days: u64| {
            std::fs::File::options()
                .write(true)
                .open(cached_key_path(cache.path(), &pin))
                .unwrap()
                .set_modified(SystemTime::now() - Duration::from_secs(days * 24 * 60 * 60))
                .unwrap();
        };
        age(8);
        let (_, origin) = release_keyring(&downloader(), &request).unwrap();
        assert!(matches!(origin, KeyOrigin::Fetched), "{origin:?}");
        assert_eq!(mirror.requests_for(PATH).len(), 2);

        age(8);
        mirror.put(PATH, Behaviour::Status(503));
        let (keyring, origin) = release_keyring(&downloader(), &request).unwrap();
        assert!(matches!(origin, KeyOrigin::StaleCache { .. }), "{origin:?}");
        assert_eq!(keyring.fingerprints(), vec![pin]);
    }

    #[test]
    fn another_key_is_refused_with_both_fingerprints_and_nothing_is_cached() {
        let (_, release_public) = test_key("Release <r@example.org>");
        let (_, impostor_public) = test_key("Release <r@example.org>");
        let pin = fingerprint_of(&release_public);
        let impostor = fingerprint_of(&impostor_public);
        let fixture = Fixture::serving(impostor_public.into_bytes());
        let (mirror, cache) = (&fixture.mirror, &fixture.cache);
        let request = fixture.request(&pin);
        let error = release_keyring(&downloader(), &request).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ReleaseKeyError::WrongKey { .. }),
            "{message}"
        );
        assert!(message.contains(&spaced(&pin)), "{message}");
        assert!(message.contains(&spaced(&impostor)), "{message}");
        assert!(message.contains("GENTOO_KEYRING"), "{message}");
        assert_eq!(
            std::fs::read_dir(cache.path()).unwrap().count(),
            0,
            "nothing cached, no temporary file left"
        );

        mirror.put(PATH, Behaviour::Serve(b"<html>not a key</html>".to_vec()));
        let error = release_keyring(&downloader(), &request).unwrap_err();
        assert!(matches!(error, ReleaseKeyError::NotAKey { .. }), "{error}");
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_server_that_is_down_says_what_to_do() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/{PATH}");
        let cache = tempfile::tempdir().unwrap();
        let request = ReleaseKeyRequest {
            url: &url,
            fingerprint: GENTOO_RELEASE_KEY,
            cache: cache.path(),
        };
        let error = release_keyring(&downloader(), &request).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, ReleaseKeyError::Unreachable { .. }),
            "{message}"
        );
        assert!(message.contains(&url), "{message}");
        assert!(
            message.contains("set GENTOO_KEYRING") && message.contains("pass -s"),
            "{message}"
        );
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }

    #[test]
    fn fingerprints_are_shown_in_groups_of_four() {
        assert_eq!(
            spaced(GENTOO_RELEASE_KEY),
            "13EB BDBE DE7A 1277 5DFD B1BA BB57 2E0E 2D18 2910"
        );
    }
}

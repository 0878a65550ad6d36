//! Getting a stage3 from the mirrors, verified before anything uses it.

use std::path::{Path, PathBuf};

use crate::download::{Downloader, Progress, from_mirrors};
use crate::{Digests, DownloadError, Keyring, ReleaseIndex};

/// What to fetch and how to check it.
pub struct Stage3Request<'a> {
    /// Mirror base URLs, tried in order (`MIRROR`, a whitespace list).
    pub mirrors: &'a [String],
    pub arch: &'a str,
    /// `STAGE3_BASE`, e.g. `stage3-amd64-openrc`.
    pub base: &'a str,
    /// `STAGE3_DATE`; the newest when `None`.
    pub date: Option<&'a str>,
    /// Where verified stage3s are kept (`<cache>/stage3`).
    pub cache: &'a Path,
    pub keyring: &'a Keyring,
    /// `-s`: skip the OpenPGP checks (never the hashes).
    pub skip_signatures: bool,
}

/// Why no verified stage3 could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Stage3Error {
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Index(#[from] crate::ReleaseIndexError),
    #[error(transparent)]
    Signature(#[from] crate::SignatureError),
    #[error(transparent)]
    Digests(#[from] crate::DigestsError),
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A stage3 in the cache, verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage3 {
    pub path: PathBuf,
    /// The release date (`STAGE3_DATE`).
    pub date: String,
    /// Whether it was downloaded now (false: it was in the cache already).
    pub downloaded: bool,
}

/// The newest (or the dated) release of `base` listed by the mirrors' index.
pub fn resolve_release(
    downloader: &Downloader,
    request: &Stage3Request<'_>,
) -> Result<crate::Release, Stage3Error> {
    let index_path = format!(
        "releases/{}/autobuilds/latest-{}.txt",
        request.arch, request.base
    );
    let text = from_mirrors(request.mirrors, &index_path, |url| {
        downloader.fetch_text(url)
    })?;
    // Older mirrors publish the index unsigned; a signed one must verify. The tarball itself
    // is always checked against signed DIGESTS and its own signature.
    let text = if text.contains("-----BEGIN PGP SIGNED MESSAGE-----") && !request.skip_signatures {
        request.keyring.verify_cleartext(&index_path, &text)?
    } else {
        text
    };
    let index = ReleaseIndex::parse(&text)?;
    Ok(index.pick(request.base, request.date)?.clone())
}

/// Fetches and verifies a stage3 (SHA512/BLAKE2B from the signed DIGESTS, and the tarball's
/// detached signature), or finds it verified in the cache.
pub fn fetch_stage3(
    downloader: &Downloader,
    request: &Stage3Request<'_>,
    progress: &dyn Progress,
) -> Result<Stage3, Stage3Error> {
    let release = resolve_release(downloader, request)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Stage3Error::Io { path, source }
    };
    std::fs::create_dir_all(request.cache).map_err(io(request.cache))?;
    let name = release.file_name().to_owned();
    let path = request.cache.join(&name);
    if path.is_file() {
        // Only verified files ever get their final name.
        return Ok(Stage3 {
            path,
            date: release.date,
            downloaded: false,
        });
    }
    let remote = format!("releases/{}/autobuilds/{}", request.arch, release.path);
    let digests_text = from_mirrors(request.mirrors, &format!("{remote}.DIGESTS"), |url| {
        downloader.fetch_text(url)
    })?;
    let digests_text = if request.skip_signatures {
        digests_text
    } else {
        request
            .keyring
            .verify_cleartext(&format!("{name}.DIGESTS"), &digests_text)?
    };
    let digests = Digests::parse(&digests_text)?;
    let part = request.cache.join(format!("{name}.part"));
    let verified = from_mirrors(request.mirrors, &remote, |url| {
        downloader.fetch(url, &part, progress)?;
        Ok(url.to_owned())
    })
    .map_err(Stage3Error::from)
    .and_then(|url| {
        // The hashes, always; then the signature of the tarball itself.
        digests.verify(&name, &part)?;
        if !request.skip_signatures {
            let signature = downloader.fetch_text(&format!("{url}.asc"))?;
            let data = std::fs::read(&part).map_err(io(&part))?;
            request.keyring.verify_detached(&name, &data, &signature)?;
        }
        Ok(())
    });
    if let Err(e) = verified {
        // A download that failed verification is never kept to resume: it is wrong, not short.
        if !matches!(e, Stage3Error::Download(_)) {
            let _ = std::fs::remove_file(&part);
        }
        return Err(e);
    }
    std::fs::rename(&part, &path).map_err(io(&path))?;
    Ok(Stage3 {
        path,
        date: release.date,
        downloaded: true,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blake2::Blake2b512;
    use sha2::{Digest, Sha512};

    use super::*;
    use crate::NoProgress;
    use crate::test_mirror::{Behaviour, Mirror};
    use crate::testing::{clearsign, detached, test_key};

    const BASE: &str = "stage3-amd64-openrc";
    const DATE: &str = "20261101T000000Z";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn name() -> String {
        format!("{BASE}-{DATE}.tar.xz")
    }

    fn tarball_path() -> String {
        format!("releases/amd64/autobuilds/{DATE}/{}", name())
    }

    /// A mirror with a good, signed release of `tarball`.
    struct Setup {
        mirror: Mirror,
        keyring: Keyring,
        key: pgp::composed::SignedSecretKey,
        tarball: Vec<u8>,
        cache: tempfile::TempDir,
    }

    fn setup() -> Setup {
        let (key, public) = test_key("Test Release <releng@example.org>");
        let mirror = Mirror::start();
        let tarball: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        mirror.put(
            &format!("releases/amd64/autobuilds/latest-{BASE}.txt"),
            Behaviour::Serve(
                clearsign(&key, &format!("# Latest\n{DATE}/{} {}\n20250101T000000Z/{BASE}-20250101T000000Z.tar.xz 1\n", name(), tarball.len()))
                    .into_bytes(),
            ),
        );
        let digests = format!(
            "# BLAKE2B HASH\n{}  {}\n# SHA512 HASH\n{}  {}\n",
            hex(&Blake2b512::digest(&tarball)),
            name(),
            hex(&Sha512::digest(&tarball)),
            name()
        );
        mirror.put(
            &format!("{}.DIGESTS", tarball_path()),
            Behaviour::Serve(clearsign(&key, &digests).into_bytes()),
        );
        mirror.put(&tarball_path(), Behaviour::Serve(tarball.clone()));
        mirror.put(
            &format!("{}.asc", tarball_path()),
            Behaviour::Serve(detached(&key, &tarball).into_bytes()),
        );
        Setup {
            mirror,
            keyring: Keyring::from_armor(&public).unwrap(),
            key,
            tarball,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn fetch(setup: &Setup, mirrors: &[String], skip: bool) -> Result<Stage3, Stage3Error> {
        let downloader = Downloader::new(3, Duration::from_millis(10));
        let request = Stage3Request {
            mirrors,
            arch: "amd64",
            base: BASE,
            date: None,
            cache: setup.cache.path(),
            keyring: &setup.keyring,
            skip_signatures: skip,
        };
        fetch_stage3(&downloader, &request, &NoProgress)
    }

    /// Nothing unverified is left under the final name, and nothing tampered stays at all.
    fn assert_nothing_kept(setup: &Setup) {
        assert!(!setup.cache.path().join(name()).exists());
        assert!(!setup.cache.path().join(format!("{}.part", name())).exists());
    }

    #[test]
    fn a_good_stage3_is_fetched_verified_and_then_taken_from_the_cache() {
        let setup = setup();
        let stage3 = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap();
        assert_eq!(stage3.date, DATE, "the newest release");
        assert!(stage3.downloaded);
        assert_eq!(std::fs::read(&stage3.path).unwrap(), setup.tarball);
        let again = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap();
        assert!(!again.downloaded);
        assert_eq!(
            setup.mirror.requests_for(&tarball_path()).len(),
            1,
            "not downloaded twice"
        );
    }

    #[test]
    fn a_tampered_tarball_is_refused_and_removed() {
        let setup = setup();
        let mut bad = setup.tarball.clone();
        bad[10] ^= 1;
        setup.mirror.put(&tarball_path(), Behaviour::Serve(bad));
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(error.to_string().contains("SHA512 of"), "{error}");
        assert_nothing_kept(&setup);
        // -s skips signatures, never hashes.
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), true).unwrap_err();
        assert!(error.to_string().contains("SHA512 of"), "{error}");
    }

    #[test]
    fn digests_signed_by_an_unknown_key_are_refused() {
        let setup = setup();
        let (stranger, _) = test_key("Stranger <x@example.org>");
        let digests = format!(
            "# SHA512 HASH\n{}  {}\n",
            hex(&Sha512::digest(&setup.tarball)),
            name()
        );
        setup.mirror.put(
            &format!("{}.DIGESTS", tarball_path()),
            Behaviour::Serve(clearsign(&stranger, &digests).into_bytes()),
        );
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not signed by any key of the keyring"),
            "{error}"
        );
        assert_nothing_kept(&setup);
        // Unsigned DIGESTS are refused too, unless -s.
        setup.mirror.put(
            &format!("{}.DIGESTS", tarball_path()),
            Behaviour::Serve(digests.into_bytes()),
        );
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(
            error.to_string().contains("has no OpenPGP signature"),
            "{error}"
        );
        fetch(&setup, std::slice::from_ref(&setup.mirror.url), true).unwrap();
    }

    #[test]
    fn a_wrong_hash_in_signed_digests_is_refused() {
        let setup = setup();
        let digests = format!(
            "# SHA512 HASH\n{}  {}\n",
            hex(&Sha512::digest(b"another")),
            name()
        );
        setup.mirror.put(
            &format!("{}.DIGESTS", tarball_path()),
            Behaviour::Serve(clearsign(&setup.key, &digests).into_bytes()),
        );
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(
            error.to_string().contains("but the DIGESTS file says"),
            "{error}"
        );
        assert_nothing_kept(&setup);
    }

    #[test]
    fn a_bad_or_missing_tarball_signature_is_refused() {
        let setup = setup();
        let (stranger, _) = test_key("Stranger <x@example.org>");
        setup.mirror.put(
            &format!("{}.asc", tarball_path()),
            Behaviour::Serve(detached(&stranger, &setup.tarball).into_bytes()),
        );
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not signed by any key of the keyring"),
            "{error}"
        );
        assert_nothing_kept(&setup);
        setup
            .mirror
            .put(&format!("{}.asc", tarball_path()), Behaviour::Status(404));
        let error = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(".asc` does not exist on the mirror"),
            "{error}"
        );
        // The hash-checked download may stay as `.part` (to resume from); never under its name.
        assert!(!setup.cache.path().join(name()).exists());
    }

    #[test]
    fn a_cut_download_resumes() {
        let setup = setup();
        setup.mirror.put(
            &tarball_path(),
            Behaviour::CutOnce {
                data: setup.tarball.clone(),
                cut: 300_000,
            },
        );
        let stage3 = fetch(&setup, std::slice::from_ref(&setup.mirror.url), false).unwrap();
        assert_eq!(std::fs::read(&stage3.path).unwrap(), setup.tarball);
        let requests = setup.mirror.requests_for(&tarball_path());
        assert_eq!(
            requests,
            vec![None, Some("bytes=300000-".to_owned())],
            "the second request resumed"
        );
    }

    #[test]
    fn a_failing_first_mirror_gives_way_to_the_next() {
        let setup = setup();
        for status in [404, 500] {
            let broken = Mirror::start();
            broken.put(
                &format!("releases/amd64/autobuilds/latest-{BASE}.txt"),
                Behaviour::Status(status),
            );
            let cache = tempfile::tempdir().unwrap();
            let downloader = Downloader::new(2, Duration::from_millis(10));
            let mirrors = [broken.url.clone(), setup.mirror.url.clone()];
            let request = Stage3Request {
                mirrors: &mirrors,
                arch: "amd64",
                base: BASE,
                date: Some(DATE),
                cache: cache.path(),
                keyring: &setup.keyring,
                skip_signatures: false,
            };
            let stage3 = fetch_stage3(&downloader, &request, &NoProgress).unwrap();
            assert_eq!(stage3.date, DATE);
            let tries = broken
                .requests_for(&format!("releases/amd64/autobuilds/latest-{BASE}.txt"))
                .len();
            assert_eq!(
                tries,
                if status == 500 { 2 } else { 1 },
                "500 is retried, 404 is not"
            );
        }
        // No mirror at all: every failure is listed.
        let broken = Mirror::start();
        let error = fetch(&setup, std::slice::from_ref(&broken.url), false).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("no mirror had `releases/amd64/autobuilds/latest-"),
            "{error}"
        );
    }
}

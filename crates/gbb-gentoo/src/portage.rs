//! Portage snapshots from the mirrors: `snapshots/gentoo-<date>.tar.xz` (or
//! `gentoo-latest.tar.xz`), checked against its detached `.gpgsig`, unpacked into the cache.
//! The unpacked tree is what the core mounts at `/var/db/repos/gentoo`; it gets its final name
//! only once whole.

use std::path::{Path, PathBuf};

use crate::download::{Downloader, Progress, from_mirrors};
use crate::{DownloadError, Keyring, SignatureError};

/// What to fetch.
pub struct SnapshotRequest<'a> {
    /// Mirror base URLs (`MIRROR`); `snapshots/` below each.
    pub mirrors: &'a [String],
    /// `PORTAGE_URL`: a base URL for snapshots instead of `<mirror>/snapshots/`.
    pub url: Option<&'a str>,
    /// `PORTAGE_DATE`: `latest` or `YYYYMMDD`.
    pub date: &'a str,
    /// Today (`YYYYMMDD`): `latest` is fetched at most once a day.
    pub today: &'a str,
    /// Where unpacked trees are kept (`<cache>/portage`).
    pub cache: &'a Path,
    pub keyring: &'a Keyring,
    pub skip_signatures: bool,
}

/// Why no verified tree could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("`{date}` is not a PORTAGE_DATE; use `latest` or YYYYMMDD")]
    BadDate { date: String },
    #[error("cannot unpack `{}`: {source}", path.display())]
    Unpack {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Fetches, checks and unpacks a snapshot; returns the tree's folder.
pub fn fetch_snapshot(
    downloader: &Downloader,
    request: &SnapshotRequest<'_>,
    progress: &dyn Progress,
) -> Result<PathBuf, SnapshotError> {
    let date = request.date;
    if date != "latest" && !(date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())) {
        return Err(SnapshotError::BadDate {
            date: date.to_owned(),
        });
    }
    let name = format!("gentoo-{date}.tar.xz");
    let stamp = if date == "latest" {
        request.today
    } else {
        date
    };
    let tree = request.cache.join(format!("gentoo-{stamp}"));
    if tree.is_dir() {
        return Ok(tree);
    }
    let unpack_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SnapshotError::Unpack { path, source }
    };
    std::fs::create_dir_all(request.cache).map_err(unpack_error(request.cache))?;
    let bases: Vec<String> = match request.url {
        Some(url) => vec![url.to_owned()],
        None => request
            .mirrors
            .iter()
            .map(|m| format!("{}/snapshots", m.trim_end_matches('/')))
            .collect(),
    };
    let part = request.cache.join(format!("{name}.part"));
    let url = from_mirrors(&bases, &name, |url| {
        downloader.fetch(url, &part, progress)?;
        Ok(url.to_owned())
    })?;
    if !request.skip_signatures {
        let checked = downloader
            .fetch_text(&format!("{url}.gpgsig"))
            .map_err(SnapshotError::from)
            .and_then(|signature| {
                let data = std::fs::read(&part).map_err(unpack_error(&part))?;
                request
                    .keyring
                    .verify_detached(&name, &data, &signature)
                    .map_err(SnapshotError::from)
            });
        if let Err(e) = checked {
            if matches!(e, SnapshotError::Signature(_)) {
                let _ = std::fs::remove_file(&part);
            }
            return Err(e);
        }
    }
    // Unpacked next to its final name, then renamed: a half-unpacked tree is never used.
    let temp = request
        .cache
        .join(format!(".gentoo-{stamp}.unpacking-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    let unpacked = unpack(&part, &temp).map_err(unpack_error(&part));
    if let Err(e) = unpacked {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e);
    }
    // Snapshots hold one top folder (`gentoo/`); the tree is what is inside it.
    let inner = single_subfolder(&temp).unwrap_or_else(|| temp.clone());
    std::fs::rename(&inner, &tree).map_err(unpack_error(&tree))?;
    let _ = std::fs::remove_dir_all(&temp);
    let _ = std::fs::remove_file(&part);
    Ok(tree)
}

fn unpack(archive: &Path, into: &Path) -> std::io::Result<()> {
    let file = std::fs::File::open(archive)?;
    let mut tar = tar::Archive::new(liblzma::read::XzDecoder::new(file));
    tar.set_preserve_permissions(true);
    std::fs::create_dir_all(into)?;
    tar.unpack(into)
}

fn single_subfolder(dir: &Path) -> Option<PathBuf> {
    let mut entries = std::fs::read_dir(dir).ok()?.filter_map(Result::ok);
    let first = entries.next()?;
    if entries.next().is_some() || !first.file_type().ok()?.is_dir() {
        return None;
    }
    Some(first.path())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use super::*;
    use crate::NoProgress;
    use crate::test_mirror::{Behaviour, Mirror};
    use crate::testing::{detached, test_key};

    /// A snapshot: `gentoo/profiles/repo_name`, xz-compressed.
    fn snapshot() -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let content = b"gentoo\n";
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "gentoo/profiles/repo_name", &content[..])
            .unwrap();
        let tar = tar.into_inner().unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&tar).unwrap();
        xz.finish().unwrap()
    }

    #[test]
    fn a_signed_snapshot_is_unpacked_and_a_bad_one_refused() {
        let (key, public) = test_key("Snapshots <s@example.org>");
        let (stranger, _) = test_key("Stranger <x@example.org>");
        let keyring = Keyring::from_armor(&public).unwrap();
        let mirror = Mirror::start();
        let data = snapshot();
        mirror.put(
            "snapshots/gentoo-20261101.tar.xz",
            Behaviour::Serve(data.clone()),
        );
        mirror.put(
            "snapshots/gentoo-20261101.tar.xz.gpgsig",
            Behaviour::Serve(detached(&stranger, &data).into_bytes()),
        );
        let cache = tempfile::tempdir().unwrap();
        let downloader = Downloader::new(2, Duration::from_millis(10));
        let mirrors = [mirror.url.clone()];
        let request = SnapshotRequest {
            mirrors: &mirrors,
            url: None,
            date: "20261101",
            today: "20261124",
            cache: cache.path(),
            keyring: &keyring,
            skip_signatures: false,
        };
        let error = fetch_snapshot(&downloader, &request, &NoProgress).unwrap_err();
        assert!(matches!(error, SnapshotError::Signature(_)), "{error}");
        assert!(!cache.path().join("gentoo-20261101").exists());

        mirror.put(
            "snapshots/gentoo-20261101.tar.xz.gpgsig",
            Behaviour::Serve(detached(&key, &data).into_bytes()),
        );
        let tree = fetch_snapshot(&downloader, &request, &NoProgress).unwrap();
        assert_eq!(tree, cache.path().join("gentoo-20261101"));
        assert_eq!(
            std::fs::read_to_string(tree.join("profiles/repo_name")).unwrap(),
            "gentoo\n"
        );
        // Kept: not fetched again.
        fetch_snapshot(&downloader, &request, &NoProgress).unwrap();
        assert_eq!(
            mirror
                .requests_for("snapshots/gentoo-20261101.tar.xz")
                .len(),
            2
        );
        assert!(matches!(
            fetch_snapshot(
                &downloader,
                &SnapshotRequest {
                    date: "yesterday",
                    ..request
                },
                &NoProgress
            ),
            Err(SnapshotError::BadDate { .. })
        ));
    }
}

/// The newest dated snapshot (`YYYYMMDD`) a mirror's `snapshots/` listing names. Mirrors
/// publish no index of snapshots, only the folder's HTML listing, so the names are picked out
/// of it: every `gentoo-YYYYMMDD.tar.xz`.
pub fn newest_snapshot(downloader: &Downloader, bases: &[String]) -> Result<String, DownloadError> {
    let listing = from_mirrors(bases, "", |url| downloader.fetch_text(url))?;
    let newest = snapshot_dates(&listing).into_iter().max();
    newest.ok_or_else(|| DownloadError::NoMirror {
        path: "snapshots/".to_owned(),
        failures: vec!["the listing names no gentoo-YYYYMMDD.tar.xz".to_owned()],
    })
}

fn snapshot_dates(listing: &str) -> Vec<String> {
    listing
        .match_indices("gentoo-")
        .filter_map(|(at, _)| {
            let rest = &listing[at + "gentoo-".len()..];
            let date = rest.get(..8)?;
            (date.bytes().all(|b| b.is_ascii_digit()) && rest[8..].starts_with(".tar.xz"))
                .then(|| date.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod listing_tests {
    #[test]
    fn dates_from_a_listing() {
        let listing = r#"<a href="gentoo-20261101.tar.xz">gentoo-20261101.tar.xz</a>
<a href="gentoo-20261123.tar.xz.gpgsig">x</a> <a href="gentoo-latest.tar.xz">l</a>
<a href="gentoo-20261122.tar.xz">gentoo-20261122.tar.xz</a> gentoo-2026.tar.xz"#;
        let mut dates = super::snapshot_dates(listing);
        dates.sort();
        dates.dedup();
        assert_eq!(dates, ["20261101", "20261122", "20261123"]);
    }
}

//! Reading `pkgdb.tar`, the package database phase 1 packs before the cleanup purges
//! `var/db/pkg` from the image's root (`gbb_record_pkgdb` in `container/helpers.sh`):
//!
//! ```text
//! pkg/<category>/<PF>/CONTENTS, SLOT, repository, USE, IUSE, LICENSE, HOMEPAGE,
//!                     DESCRIPTION, BUILD_TIME      copied from var/db/pkg
//! pkg/<category>/<PF>/SRC_URI, Manifest            from the package's ebuild in its
//!                                                  repository (var/db/pkg keeps no SRC_URI)
//! extra-installed.tsv                              log_as_installed's records
//! ```
//!
//! Portage writes `LICENSE` into `var/db/pkg` with its USE conditionals already reduced;
//! `SRC_URI` comes from the ebuild with them, so both are resolved against `USE` here (which
//! leaves an already reduced `LICENSE` as it is).
//!
//! The archive comes from a build container, where users' hooks run as root, so it is read
//! as hostile: only regular files and folders, only names of that layout (no absolute
//! paths, no `..`), at most [`MAX_ENTRIES`] entries, each file at most [`MAX_FILE`] bytes
//! ([`MAX_CONTENTS`] for `CONTENTS`), at most [`MAX_TOTAL`] bytes in all; names of files gbb
//! does not read are skipped unread. Any other entry is an error naming it: a container
//! that plants a link gets a failed step, not a quietly shorter SBOM.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path};

use crate::contents;
use crate::depend;
use crate::error::SbomError;
use crate::model::{Distfile, HandInstalled, ImageRef, LAYER_FORMAT, Layer, Package};
use crate::version;

/// The most entries read from one archive (a large image has a few hundred packages with a
/// dozen files each).
pub const MAX_ENTRIES: u64 = 200_000;
/// The most a `CONTENTS` file may hold (a TeX Live package lists about 100,000 paths, some
/// 10 MB).
pub const MAX_CONTENTS: u64 = 64 * 1024 * 1024;
/// The most any other file may hold.
pub const MAX_FILE: u64 = 4 * 1024 * 1024;
/// The most bytes read from one archive in all.
pub const MAX_TOTAL: u64 = 512 * 1024 * 1024;

/// The files of a package record gbb reads; others are skipped.
const FIELDS: [&str; 10] = [
    "CONTENTS",
    "SLOT",
    "repository",
    "USE",
    "IUSE",
    "LICENSE",
    "HOMEPAGE",
    "DESCRIPTION",
    "SRC_URI",
    "BUILD_TIME",
];

/// Reads a `pkgdb.tar` stream into the [`Layer`] of `image` (files not yet digested: see
/// [`Layer::digest_files`]). `path` names the archive in errors.
pub fn read_pkgdb(path: &Path, reader: impl Read, image: ImageRef) -> Result<Layer, SbomError> {
    let tar_error = |source| SbomError::Tar {
        path: path.to_owned(),
        source,
    };
    let mut records: BTreeMap<(String, String), BTreeMap<String, String>> = BTreeMap::new();
    let mut extra = String::new();
    let mut total = 0u64;
    let mut archive = tar::Archive::new(reader);
    for (count, entry) in archive.entries().map_err(tar_error)?.enumerate() {
        if count as u64 >= MAX_ENTRIES {
            return Err(SbomError::TooManyEntries {
                path: path.to_owned(),
                limit: MAX_ENTRIES,
            });
        }
        let entry = entry.map_err(tar_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let bad = |reason| SbomError::BadEntry {
            path: path.to_owned(),
            entry: name.clone(),
            reason,
        };
        let parts = parts_of(&name).ok_or_else(|| bad("not a plain relative path"))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(bad("only regular files and folders are read"));
        }
        let target = match parts.as_slice() {
            ["extra-installed.tsv"] => Target::Extra,
            ["pkg", category, pf, field] => {
                if !is_name(category) || !is_name(pf) || version::split_pf(pf).is_none() {
                    return Err(bad(
                        "not a package's folder (`pkg/<category>/<name>-<version>`)",
                    ));
                }
                if *field == "Manifest" || FIELDS.contains(field) {
                    Target::Field(category.to_string(), pf.to_string(), field.to_string())
                } else {
                    continue;
                }
            }
            _ => return Err(bad("not in the layout gbb writes")),
        };
        let limit = match &target {
            Target::Field(_, _, field) if field == "CONTENTS" => MAX_CONTENTS,
            _ => MAX_FILE,
        };
        let text = read_capped(entry, limit, &mut total).map_err(|e| match e {
            Capped::Io(source) => SbomError::Tar {
                path: path.to_owned(),
                source,
            },
            Capped::File => SbomError::TooLarge {
                path: path.to_owned(),
                entry: name.clone(),
                limit,
            },
            Capped::Total => SbomError::TooLarge {
                path: path.to_owned(),
                entry: "the archive".to_owned(),
                limit: MAX_TOTAL,
            },
        })?;
        match target {
            Target::Extra => extra = text,
            Target::Field(category, pf, field) => {
                records
                    .entry((category, pf))
                    .or_default()
                    .insert(field, text);
            }
        }
    }
    let mut packages = records
        .into_iter()
        .map(|((category, pf), fields)| package(path, &category, &pf, &fields))
        .collect::<Result<Vec<_>, _>>()?;
    packages.sort_by(|a, b| {
        (&a.category, &a.name, &a.version).cmp(&(&b.category, &b.name, &b.version))
    });
    Ok(Layer {
        format: LAYER_FORMAT,
        image,
        packages,
        hand_installed: hand_installed(&extra),
        files_digested: false,
    })
}

enum Target {
    Extra,
    Field(String, String, String),
}

enum Capped {
    Io(std::io::Error),
    File,
    Total,
}

/// Reads at most `limit` bytes (and what is left of [`MAX_TOTAL`]), as text: Portage writes
/// UTF-8, and a stray byte becomes U+FFFD rather than a refused build.
fn read_capped(entry: impl Read, limit: u64, total: &mut u64) -> Result<String, Capped> {
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Capped::File);
    }
    *total += bytes.len() as u64;
    if *total > MAX_TOTAL {
        return Err(Capped::Total);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The normal components of a relative path (`./pkg/a/b` → `pkg`, `a`, `b`), or `None` for
/// an absolute path or one with `..`.
fn parts_of(name: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    Some(parts)
}

/// A category or `PF`: Gentoo's name characters (`[A-Za-z0-9+_.-]`), not starting with `-`
/// or `.`.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(['-', '.'])
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+_.-".contains(&b))
}

/// One package from its record's files.
fn package(
    path: &Path,
    category: &str,
    pf: &str,
    fields: &BTreeMap<String, String>,
) -> Result<Package, SbomError> {
    let entry = |field: &str| format!("pkg/{category}/{pf}/{field}");
    let bad = |field: &str, line: usize, reason: String| SbomError::BadRecord {
        path: path.to_owned(),
        entry: entry(field),
        line,
        reason,
    };
    let field = |name: &str| fields.get(name).map(|t| t.trim()).unwrap_or_default();
    // Checked when the entry was read.
    let (name, version) = version::split_pf(pf).unwrap_or((pf, ""));
    let words = |name: &str| -> BTreeSet<String> {
        field(name).split_whitespace().map(str::to_owned).collect()
    };
    let use_set = words("USE");
    let iuse: BTreeSet<String> = words("IUSE")
        .into_iter()
        .map(|flag| flag.trim_start_matches(['+', '-']).to_owned())
        .collect();
    let use_enabled = iuse.intersection(&use_set).cloned().collect();
    let licence_raw = field("LICENSE").to_owned();
    let licence = depend::parse(&licence_raw)
        .map_err(|reason| bad("LICENSE", 1, reason))?
        .resolve(&use_set)
        .to_string();
    let src_uri = depend::parse(field("SRC_URI"))
        .map_err(|reason| bad("SRC_URI", 1, reason))?
        .resolve(&use_set);
    let manifest = manifest(field("Manifest"));
    let distfiles = distfiles(&src_uri.words(), &manifest);
    let (slot, subslot) = match field("SLOT").split_once('/') {
        Some((slot, sub)) => (slot.to_owned(), Some(sub.to_owned())),
        None => (field("SLOT").to_owned(), None),
    };
    let build_time = match field("BUILD_TIME") {
        "" => None,
        text => Some(
            text.parse()
                .map_err(|_| bad("BUILD_TIME", 1, format!("`{text}` is not a time")))?,
        ),
    };
    let files = contents::parse(fields.get("CONTENTS").map_or("", String::as_str))
        .map_err(|(line, reason)| bad("CONTENTS", line, reason))?;
    Ok(Package {
        category: category.to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        slot,
        subslot,
        repository: field("repository").to_owned(),
        iuse: iuse.into_iter().collect(),
        use_enabled,
        licence_raw,
        licence,
        homepage: field("HOMEPAGE")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        description: field("DESCRIPTION").to_owned(),
        distfiles,
        build_time,
        files,
    })
}

/// A Manifest's `DIST` lines: name → (size, BLAKE2B, SHA512). Other lines (`EBUILD`, `AUX`
/// of thick Manifests) and other digests are not needed.
type ManifestDist = BTreeMap<String, (Option<u64>, Option<String>, Option<String>)>;

fn manifest(text: &str) -> ManifestDist {
    let mut dist = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("DIST") {
            continue;
        }
        let (Some(name), Some(size)) = (words.next(), words.next()) else {
            continue;
        };
        let (mut blake2b, mut sha512) = (None, None);
        while let (Some(kind), Some(value)) = (words.next(), words.next()) {
            let hex = value.to_ascii_lowercase();
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            match kind {
                "BLAKE2B" => blake2b = Some(hex),
                "SHA512" => sha512 = Some(hex),
                _ => {}
            }
        }
        dist.insert(name.to_owned(), (size.parse().ok(), blake2b, sha512));
    }
    dist
}

/// `SRC_URI`'s words (conditionals resolved) as distfiles: `uri`, `uri -> name`, or a bare
/// name (a fetch-restricted file the user provides), with the Manifest's digests.
fn distfiles(words: &[&str], manifest: &ManifestDist) -> Vec<Distfile> {
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // EAPI 8's `fetch+` and `mirror+` prefixes say how Portage may fetch; the URI follows.
        let word = ["fetch+", "mirror+"]
            .iter()
            .find_map(|prefix| words[i].strip_prefix(prefix))
            .unwrap_or(words[i]);
        let (name, uri) = if words.get(i + 1) == Some(&"->") && i + 2 < words.len() {
            i += 3;
            (words[i - 1].to_owned(), Some(word))
        } else {
            i += 1;
            let name = word.rsplit('/').next().unwrap_or(word).to_owned();
            (name, word.contains("://").then_some(word))
        };
        if !by_name.contains_key(&name) {
            order.push(name.clone());
        }
        let uris = by_name.entry(name).or_default();
        if let Some(uri) = uri
            && !uris.iter().any(|known| known == uri)
        {
            uris.push(uri.to_owned());
        }
    }
    order
        .into_iter()
        .map(|name| {
            let (size, blake2b, sha512) = manifest.get(&name).cloned().unwrap_or_default();
            Distfile {
                uris: by_name.remove(&name).unwrap_or_default(),
                name,
                size,
                blake2b,
                sha512,
            }
        })
        .collect()
}

/// `extra-installed.tsv`: `*GROUP*: NAME<TAB>INFO<TAB>` per line, as `log_as_installed`
/// writes it for PACKAGES.md's table. A line of another shape keeps its first field as the
/// name.
fn hand_installed(text: &str) -> Vec<HandInstalled> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            let first = fields.next().unwrap_or_default();
            let info = fields.next().unwrap_or_default().to_owned();
            let (group, name) = first
                .strip_prefix('*')
                .and_then(|rest| rest.split_once("*: "))
                .unwrap_or(("", first));
            HandInstalled {
                group: group.to_owned(),
                name: name.to_owned(),
                info,
                file: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageRef {
        ImageRef {
            id: "ns/x".to_owned(),
            tag: "t".to_owned(),
        }
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/shadow").unwrap();
            }
            // Raw names: `append_data` would refuse `..`, which is what is tested.
            let bytes = name.as_bytes();
            header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn read(bytes: &[u8]) -> Result<Layer, SbomError> {
        read_pkgdb(Path::new("pkgdb.tar"), bytes, image())
    }

    #[test]
    fn refuses_links_escapes_and_strange_names() {
        use tar::EntryType::{Regular, Symlink};
        for (name, kind, message) in [
            ("pkg/a/b-1/CONTENTS", Symlink, "only regular files"),
            ("../pkg/a/b-1/USE", Regular, "not a plain relative path"),
            ("/pkg/a/b-1/USE", Regular, "not a plain relative path"),
            ("etc/passwd", Regular, "not in the layout"),
            ("pkg/a/-b/USE", Regular, "not a package's folder"),
            ("pkg/a/b/USE", Regular, "not a package's folder"),
        ] {
            let error = read(&tar_of(&[(name, kind, b"x")]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(message), "{name}: {error}");
            assert!(error.contains(name), "{name}: {error}");
        }
    }

    #[test]
    fn refuses_oversized_files() {
        let big = vec![b'a'; MAX_FILE as usize + 1];
        let error = read(&tar_of(&[("pkg/a/b-1/USE", tar::EntryType::Regular, &big)]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("larger than"), "{error}");
    }

    #[test]
    fn refuses_a_bad_licence_with_the_file() {
        let error = read(&tar_of(&[(
            "pkg/a/b-1/LICENSE",
            tar::EntryType::Regular,
            b"|| MIT",
        )]))
        .unwrap_err()
        .to_string();
        assert!(error.contains("pkg/a/b-1/LICENSE"), "{error}");
    }

    #[test]
    fn src_uri_renames_and_manifest_digests() {
        let manifest = manifest("DIST b.tar.gz 12 BLAKE2B AB SHA512 CD\nEBUILD x 1 SHA512 00\n");
        let words = [
            "https://e.org/a.tgz",
            "->",
            "b.tar.gz",
            "mirror://gnu/c.tar.xz",
            "local.bin",
            "fetch+https://e.org/d.zip",
        ];
        let files = distfiles(&words, &manifest);
        assert_eq!(files.len(), 4);
        assert_eq!(files[3].name, "d.zip");
        assert_eq!(files[3].uris, ["https://e.org/d.zip"]);
        assert_eq!(files[0].name, "b.tar.gz");
        assert_eq!(files[0].uris, ["https://e.org/a.tgz"]);
        assert_eq!(files[0].size, Some(12));
        assert_eq!(files[0].blake2b.as_deref(), Some("ab"));
        assert_eq!(files[0].sha512.as_deref(), Some("cd"));
        assert_eq!(files[1].name, "c.tar.xz");
        assert_eq!(files[2].uris, Vec::<String>::new());
    }

    #[test]
    fn hand_installed_records() {
        let records = hand_installed("*manual install*: data-1.0\tfile:///x\t\nodd line\n");
        assert_eq!(records[0].group, "manual install");
        assert_eq!(records[0].name, "data-1.0");
        assert_eq!(records[0].info, "file:///x");
        assert_eq!(records[1].name, "odd line");
    }
}

//! `--output oci:DIR`: an OCI image layout (<https://github.com/opencontainers/image-spec/blob/main/image-layout.md>)
//! holding one or more images, which share their blobs.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::Path;

use oci_spec::image::{ANNOTATION_REF_NAME, Descriptor, ImageIndex, ImageIndexBuilder, MediaType};

use crate::atomic_file::AtomicFile;
use crate::canonical::to_canonical_json;
use crate::store::{BlobStore, sha256_of};
use crate::{Error, Result, StoredImage};

/// One image of a layout and the name it is found by (`skopeo inspect oci:DIR:NAME`).
#[derive(Debug, Clone, Copy)]
pub struct OciLayoutImage<'a> {
    /// The `org.opencontainers.image.ref.name` annotation: a tag (`2026.01`) or a whole
    /// reference (`gentoobb/nginx:2026.01`); the layout spec's grammar allows both.
    pub ref_name: &'a str,
    /// The image, in the store the layout is written from.
    pub image: &'a StoredImage,
}

/// The layout's version file, the same for every layout.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// Writes `images` from `store` into the OCI image layout `dir`: their blobs (shared blobs
/// once), `oci-layout`, and `index.json` with one manifest per image, annotated with its
/// reference name.
///
/// `dir` may be missing, empty or an existing layout; a folder holding anything else is
/// refused rather than mixed with. Images already in an existing layout stay, unless one of
/// `images` takes their reference name. Blobs are written first and `index.json` last, each
/// atomically, so a layout is never left naming a blob it lacks. Entries of `index.json` are
/// sorted by reference name, so the same images give the same file.
pub fn write_oci_layout(
    store: &BlobStore,
    dir: &Path,
    images: &[OciLayoutImage<'_>],
) -> Result<()> {
    let mut by_name: BTreeMap<&str, &StoredImage> = BTreeMap::new();
    for entry in images {
        check_ref_name(entry.ref_name)?;
        if let Some(other) = by_name.insert(entry.ref_name, entry.image)
            && other.digest() != entry.image.digest()
        {
            return Err(Error::DuplicateRefName(entry.ref_name.to_owned()));
        }
    }
    refuse_foreign_folder(dir)?;
    let out = BlobStore::open(dir)?;
    for entry in images {
        for digest in entry.image.blobs() {
            store.copy_to(&sha256_of(digest)?, &out)?;
        }
    }
    let layout_file = dir.join("oci-layout");
    if !layout_file.is_file() {
        write_atomically(dir, "oci-layout", OCI_LAYOUT)?;
    }

    let index_path = dir.join("index.json");
    let mut manifests: Vec<Descriptor> = match fs::read(&index_path) {
        Ok(bytes) => {
            let index: ImageIndex =
                serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                    what: "image index",
                    digest: index_path.display().to_string(),
                    source,
                })?;
            index
                .manifests()
                .iter()
                .filter(|d| !ref_name_of(d).is_some_and(|n| by_name.contains_key(n)))
                .cloned()
                .collect()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("read", index_path, e)),
    };
    for (name, image) in &by_name {
        let mut descriptor = image.manifest_descriptor.clone();
        descriptor.set_annotations(Some(HashMap::from([(
            ANNOTATION_REF_NAME.to_owned(),
            (*name).to_owned(),
        )])));
        manifests.push(descriptor);
    }
    manifests.sort_by(|a, b| {
        (ref_name_of(a), a.digest().to_string()).cmp(&(ref_name_of(b), b.digest().to_string()))
    });
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .map_err(|e| Error::spec("image index", e))?;
    let bytes = to_canonical_json(&index).map_err(|source| Error::Json {
        what: "image index",
        digest: index_path.display().to_string(),
        source,
    })?;
    write_atomically(dir, "index.json", &bytes)
}

fn ref_name_of(descriptor: &Descriptor) -> Option<&str> {
    descriptor
        .annotations()
        .as_ref()?
        .get(ANNOTATION_REF_NAME)
        .map(String::as_str)
}

/// A folder that holds files but no `oci-layout` is the user's, not a layout.
fn refuse_foreign_folder(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() && !dir.join("oci-layout").is_file() {
                return Err(Error::NotALayout(dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("read the folder", dir, e)),
    }
}

/// Writes `name` in `dir` under a temporary name and renames it over the old one.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(&dir.join(name))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", file.temp_path(), e))?;
    file.commit()
}

/// The grammar of `org.opencontainers.image.ref.name` in the image layout spec:
/// `component ("/" component)*`, `component ::= alphanum (separator alphanum)*`,
/// `separator ::= [-._:@+] | "--"`. Hand-written: a dozen lines, against a regex crate.
fn check_ref_name(name: &str) -> Result<()> {
    let valid_component = |component: &str| {
        let bytes = component.as_bytes();
        let mut i = 0;
        let mut after_separator = true;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                after_separator = false;
                i += 1;
            } else if after_separator {
                return false;
            } else if bytes[i..].starts_with(b"--") {
                after_separator = true;
                i += 2;
            } else if b"-._:@+".contains(&b) {
                after_separator = true;
                i += 1;
            } else {
                return false;
            }
        }
        !after_separator
    };
    if name.split('/').all(valid_component) {
        Ok(())
    } else {
        Err(Error::RefName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_names_follow_the_layout_grammar() {
        for good in [
            "latest",
            "2026.01",
            "gentoobb/nginx:2026.01",
            "a--b",
            "v1+build@x",
        ] {
            assert!(check_ref_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", "-a", "a-", "a/", "/a", "a//b", "a---b", "a b", "a_-b", "ä",
        ] {
            assert!(check_ref_name(bad).is_err(), "{bad}");
        }
    }
}

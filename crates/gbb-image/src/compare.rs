//! The first difference between two images: what `gbb verify` names when a rebuild does not
//! give the kept image.
//!
//! Layers are compared first, bottom up, since a file is what a user can act on (a hook that
//! writes the date, a package that embeds the build host); within the first layer whose
//! `diff_id` differs, entries are compared in path order (layers gbb writes are sorted), each
//! by its header (type, mode, owner, time, link target, xattrs) and a hash of its data. Then
//! the config, field by field in key order. The manifest holds nothing else.

use std::collections::BTreeMap;
use std::io::Read;

use oci_spec::image::{Descriptor, MediaType};
use sha2::{Digest as _, Sha256};

use crate::store::{BlobStore, sha256_of};
use crate::{Error, Result, StoredImage};

/// Where two images first differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// They have a different number of layers.
    LayerCount { ours: usize, theirs: usize },
    /// The file `path` of layer `layer` (0 is the bottom) differs: `what` says how.
    File {
        layer: usize,
        path: String,
        what: String,
    },
    /// Layer `layer` differs, but no entry does (the tar's own bytes, e.g. padding).
    Layer { layer: usize },
    /// The config field `field` (a JSON path, `config.Env[2]`) differs.
    Config {
        field: String,
        ours: String,
        theirs: String,
    },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::LayerCount { ours, theirs } => {
                write!(f, "{ours} layers, the rebuild has {theirs}")
            }
            Self::File { layer, path, what } => {
                write!(f, "file `/{path}` (layer {}): {what}", layer + 1)
            }
            Self::Layer { layer } => write!(
                f,
                "layer {} differs in its tar bytes, not in any file",
                layer + 1
            ),
            Self::Config {
                field,
                ours,
                theirs,
            } => write!(
                f,
                "config field `{field}`: {ours}, the rebuild has {theirs}"
            ),
        }
    }
}

/// The first difference between `ours` (in `our_store`) and `theirs` (in `their_store`), or
/// `None` when their manifests are the same.
pub fn first_difference(
    our_store: &BlobStore,
    ours: &StoredImage,
    their_store: &BlobStore,
    theirs: &StoredImage,
) -> Result<Option<Difference>> {
    if ours.digest() == theirs.digest() {
        return Ok(None);
    }
    let (our_layers, their_layers) = (ours.manifest.layers(), theirs.manifest.layers());
    for (index, (a, b)) in our_layers.iter().zip(their_layers).enumerate() {
        if a.digest() == b.digest() {
            continue;
        }
        let (a_entries, b_entries) = (layer_entries(our_store, a)?, layer_entries(their_store, b)?);
        if let Some((path, what)) = first_entry_difference(&a_entries, &b_entries) {
            return Ok(Some(Difference::File {
                layer: index,
                path,
                what,
            }));
        }
        // The same entries: the same tar unless padding or the compression differ; go on to
        // a difference that says more, if there is one.
        if a.media_type() == b.media_type() && a_entries == b_entries {
            continue;
        }
        return Ok(Some(Difference::Layer { layer: index }));
    }
    if our_layers.len() != their_layers.len() {
        return Ok(Some(Difference::LayerCount {
            ours: our_layers.len(),
            theirs: their_layers.len(),
        }));
    }
    let (a, b) = (
        config_value(our_store, ours)?,
        config_value(their_store, theirs)?,
    );
    if let Some((field, ours, theirs)) = first_json_difference("", &a, &b) {
        return Ok(Some(Difference::Config {
            field,
            ours,
            theirs,
        }));
    }
    Ok(Some(Difference::Layer {
        layer: our_layers.len().saturating_sub(1),
    }))
}

/// One entry of a layer, as compared: its header fields and a hash of its data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntrySummary {
    kind: char,
    mode: u32,
    owner: (u64, u64),
    mtime: u64,
    link: Option<Vec<u8>>,
    xattrs: BTreeMap<String, Vec<u8>>,
    size: u64,
    data: [u8; 32],
}

fn layer_entries(store: &BlobStore, layer: &Descriptor) -> Result<BTreeMap<Vec<u8>, EntrySummary>> {
    let digest = sha256_of(layer.digest())?;
    let (file, _) = store.open_blob(&digest)?;
    let path = store.blob_path(&digest);
    let reader: Box<dyn Read> = match layer.media_type() {
        MediaType::ImageLayerGzip => Box::new(flate2::read::GzDecoder::new(file)),
        MediaType::ImageLayerZstd => Box::new(
            zstd::stream::read::Decoder::new(file).map_err(|e| Error::io("read", &path, e))?,
        ),
        _ => Box::new(file),
    };
    let tar_error = |source| Error::Tar {
        path: path.clone(),
        source,
    };
    let mut entries = BTreeMap::new();
    let mut archive = tar::Archive::new(std::io::BufReader::new(reader));
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let name = entry.path_bytes().into_owned();
        let mut xattrs = BTreeMap::new();
        if let Some(extensions) = entry.pax_extensions().map_err(tar_error)? {
            for extension in extensions {
                let extension = extension.map_err(tar_error)?;
                if let Ok(key) = extension.key()
                    && let Some(name) = key.strip_prefix("SCHILY.xattr.")
                {
                    xattrs.insert(name.to_owned(), extension.value_bytes().to_vec());
                }
            }
        }
        let header = entry.header().clone();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut entry, &mut HashWriter(&mut hasher)).map_err(tar_error)?;
        entries.insert(
            name,
            EntrySummary {
                kind: header.entry_type().as_byte() as char,
                mode: header.mode().unwrap_or(0),
                owner: (header.uid().unwrap_or(0), header.gid().unwrap_or(0)),
                mtime: header.mtime().unwrap_or(0),
                link,
                xattrs,
                size,
                data: hasher.finalize().into(),
            },
        );
    }
    Ok(entries)
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn first_entry_difference(
    ours: &BTreeMap<Vec<u8>, EntrySummary>,
    theirs: &BTreeMap<Vec<u8>, EntrySummary>,
) -> Option<(String, String)> {
    let mut paths: Vec<&Vec<u8>> = ours.keys().chain(theirs.keys()).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let name = String::from_utf8_lossy(path)
            .trim_end_matches('/')
            .to_owned();
        let what = match (ours.get(path), theirs.get(path)) {
            (Some(_), None) => "only in the kept image".to_owned(),
            (None, Some(_)) => "only in the rebuild".to_owned(),
            (Some(a), Some(b)) if a == b => continue,
            (Some(a), Some(b)) => {
                if a.kind != b.kind {
                    format!("its type changed (`{}` to `{}`)", a.kind, b.kind)
                } else if a.size != b.size || a.data != b.data {
                    format!(
                        "its content differs ({} bytes, the rebuild {})",
                        a.size, b.size
                    )
                } else if a.mode != b.mode {
                    format!("its mode differs ({:o}, the rebuild {:o})", a.mode, b.mode)
                } else if a.owner != b.owner {
                    format!(
                        "its owner differs ({}:{}, the rebuild {}:{})",
                        a.owner.0, a.owner.1, b.owner.0, b.owner.1
                    )
                } else if a.mtime != b.mtime {
                    format!("its time differs ({}, the rebuild {})", a.mtime, b.mtime)
                } else if a.link != b.link {
                    "its link target differs".to_owned()
                } else {
                    "its extended attributes differ".to_owned()
                }
            }
            (None, None) => continue,
        };
        return Some((name, what));
    }
    None
}

fn config_value(store: &BlobStore, image: &StoredImage) -> Result<serde_json::Value> {
    let digest = image.config_digest();
    let bytes = store.read(&sha256_of(digest)?)?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        what: "image config",
        digest: digest.to_string(),
        source,
    })
}

/// The first field where two JSON values differ, in key order, with both values.
fn first_json_difference(
    at: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    let join = |key: &str| {
        if at.is_empty() {
            key.to_owned()
        } else {
            format!("{at}.{key}")
        }
    };
    match (a, b) {
        (Value::Object(a_map), Value::Object(b_map)) => {
            let mut keys: Vec<&String> = a_map.keys().chain(b_map.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let missing = Value::Null;
                first_json_difference(
                    &join(key),
                    a_map.get(key).unwrap_or(&missing),
                    b_map.get(key).unwrap_or(&missing),
                )
            })
        }
        (Value::Array(a_items), Value::Array(b_items)) if a_items.len() == b_items.len() => a_items
            .iter()
            .zip(b_items)
            .enumerate()
            .find_map(|(i, (x, y))| first_json_difference(&format!("{at}[{i}]"), x, y)),
        _ if a == b => None,
        _ => Some((at.to_owned(), a.to_string(), b.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageInstructions, ImageRequest, LayerOptions, NewLayer, Platform, write_image};

    fn root_tar(files: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut builder = tar::Builder::new(file.reopen().unwrap());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_size(data.len() as u64);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.finish().unwrap();
        file
    }

    fn image(store: &BlobStore, files: &[(&str, &[u8])], env: &[(&str, &str)]) -> StoredImage {
        let tar = root_tar(files);
        let layer = crate::write_layer(store, tar.path(), &LayerOptions::default()).unwrap();
        write_image(
            store,
            &ImageRequest {
                parent: None,
                platform: Platform::host(),
                layers: vec![NewLayer {
                    layer,
                    created_by: "test".to_owned(),
                }],
                instructions: ImageInstructions {
                    env: env
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    ..Default::default()
                },
                epoch: Default::default(),
            },
        )
        .unwrap()
    }

    #[test]
    fn names_the_first_file_then_the_config_field() {
        let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (
            BlobStore::open(a_dir.path()).unwrap(),
            BlobStore::open(b_dir.path()).unwrap(),
        );
        let files: &[(&str, &[u8])] = &[("etc/a", b"1"), ("etc/date", b"Mon")];
        let ours = image(&a, files, &[("A", "1")]);
        let same = image(&b, files, &[("A", "1")]);
        assert_eq!(first_difference(&a, &ours, &b, &same).unwrap(), None);

        let dated = image(&b, &[("etc/a", b"1"), ("etc/date", b"Tue")], &[("A", "1")]);
        assert_eq!(
            first_difference(&a, &ours, &b, &dated).unwrap(),
            Some(Difference::File {
                layer: 0,
                path: "etc/date".to_owned(),
                what: "its content differs (3 bytes, the rebuild 3)".to_owned(),
            })
        );
        let extra = image(
            &b,
            &[("etc/a", b"1"), ("etc/b", b""), ("etc/date", b"Mon")],
            &[("A", "1")],
        );
        let found = first_difference(&a, &ours, &b, &extra).unwrap().unwrap();
        assert_eq!(
            found.to_string(),
            "file `/etc/b` (layer 1): only in the rebuild"
        );

        let env = image(&b, files, &[("A", "2")]);
        assert_eq!(
            first_difference(&a, &ours, &b, &env)
                .unwrap()
                .unwrap()
                .to_string(),
            "config field `config.Env[0]`: \"A=1\", the rebuild has \"A=2\""
        );
    }
}

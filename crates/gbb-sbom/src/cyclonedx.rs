//! CycloneDX 1.5 JSON.
//!
//! Own serde structs rather than the `cyclonedx-bom` crate: that crate models every part of
//! the standard (XML included, with its own validation and a dozen dependencies) where gbb
//! writes a small, fixed subset, and the tests validate the output with CycloneDX's own
//! `cyclonedx-python-lib` JSON validator anyway. 1.5 rather than 1.6: everything gbb writes is
//! in 1.5, and more readers know it.
//!
//! The document:
//! - `metadata.component` is the image (type `container`); every ancestor image is a
//!   `container` component too;
//! - every package of every layer is a top-level component (flat, as scanners expect), with
//!   the property `gentoo-bb:layer` naming the image that installed it, its purl, licence
//!   expression, homepage (`website`), distfiles (`distribution`, with the Manifest's SHA-512
//!   and BLAKE2b-512), and Gentoo's own facts as `gentoo:*` properties (slot, repository, USE);
//!   its files in the image are nested `file` components with SHA-1 and SHA-256;
//! - `dependencies`: each image depends on the packages it installed and on its parent image.

use serde::Serialize;

use crate::image::{DocumentOptions, ImageSbom, timestamp};
use crate::model::{HandInstalled, ImageRef, Layer, Package};
use crate::purl::purl;
use crate::spdx::hex;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "String::is_empty")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<Licence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct Licence {
    expression: String,
}

#[derive(Serialize)]
struct ExternalReference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// The CycloneDX document of `sbom`.
pub(crate) fn document(sbom: &ImageSbom, options: &DocumentOptions) -> Document {
    let layers: Vec<&Layer> = sbom.layers().collect();
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            components.push(image_component(&layer.image, false));
        }
        let mut depends_on = Vec::new();
        for package in &layer.packages {
            let component = package_component(layer, package);
            depends_on.push(component.bom_ref.clone());
            components.push(component);
        }
        for (index, record) in layer.hand_installed.iter().enumerate() {
            let component = hand_installed_component(layer, index, record);
            depends_on.push(component.bom_ref.clone());
            components.push(component);
        }
        if let Some(parent) = layers.get(i + 1) {
            depends_on.push(image_ref(&parent.image));
        }
        dependencies.push(Dependency {
            reference: image_ref(&layer.image),
            depends_on,
        });
    }
    Document {
        schema: "http://cyclonedx.org/schema/bom-1.5.schema.json",
        bom_format: "CycloneDX",
        spec_version: "1.5",
        serial_number: serial_number(&sbom.identity(options)),
        version: 1,
        metadata: Metadata {
            timestamp: timestamp(options.created),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "gbb".to_owned(),
                    version: Some(options.tool_version.clone()),
                    description: Some("gentoo-bb, the Gentoo container image builder".to_owned()),
                    ..Component::default()
                }],
            },
            component: image_component(sbom.image(), true),
        },
        components,
        dependencies,
    }
}

fn image_component(image: &ImageRef, own: bool) -> Component {
    Component {
        kind: "container",
        bom_ref: image_ref(image),
        name: image.id.clone(),
        version: Some(image.tag.clone()),
        properties: vec![Property {
            name: "gentoo-bb:role",
            value: if own { "image" } else { "ancestor image" }.to_owned(),
        }],
        ..Component::default()
    }
}

fn package_component(layer: &Layer, package: &Package) -> Component {
    let bom_ref = format!("{}:{}", layer.image.id, package.cpv());
    let licence = package.spdx_licence();
    let mut properties = vec![
        property("gentoo-bb:layer", &layer.image.id),
        property("gentoo:repository", &package.repository),
        property("gentoo:slot", &package.slot),
    ];
    if let Some(subslot) = &package.subslot {
        properties.push(property("gentoo:subslot", subslot));
    }
    if !package.iuse.is_empty() {
        properties.push(property("gentoo:use", &package.use_enabled.join(" ")));
        properties.push(property("gentoo:iuse", &package.iuse.join(" ")));
    }
    properties.push(property("gentoo:license", &package.licence));
    if let Some(time) = package
        .build_time
        .and_then(|t| jiff::Timestamp::from_second(t as i64).ok())
    {
        properties.push(property("gentoo:build-time", &timestamp(time)));
    }
    if layer.files_digested {
        properties.push(property(
            "gentoo-bb:files-not-in-image",
            &package.files_not_in_image().to_string(),
        ));
    }
    let mut external_references: Vec<ExternalReference> = package
        .homepage
        .iter()
        .map(|url| ExternalReference {
            kind: "website",
            url: url.clone(),
            comment: None,
            hashes: Vec::new(),
        })
        .collect();
    for distfile in &package.distfiles {
        let Some(uri) = distfile.uris.first() else {
            continue;
        };
        let mut hashes = Vec::new();
        if let Some(sha512) = &distfile.sha512 {
            hashes.push(hash("SHA-512", sha512));
        }
        if let Some(blake2b) = &distfile.blake2b {
            hashes.push(hash("BLAKE2b-512", blake2b));
        }
        external_references.push(ExternalReference {
            kind: "distribution",
            url: uri.clone(),
            comment: Some(format!("distfile {}", distfile.name)),
            hashes,
        });
    }
    let files = package
        .files
        .iter()
        .filter_map(|file| {
            let image = file.image.as_ref()?;
            let digests = image.digests.as_ref()?;
            let mut properties = Vec::new();
            if image.modified {
                properties.push(property("gentoo-bb:modified-after-install", "true"));
            }
            Some(Component {
                kind: "file",
                bom_ref: format!("{bom_ref}:{}", file.path),
                name: file.path.clone(),
                hashes: vec![
                    hash("SHA-1", &digests.sha1),
                    hash("SHA-256", &digests.sha256),
                ],
                properties,
                ..Component::default()
            })
        })
        .collect();
    Component {
        kind: "library",
        bom_ref,
        group: Some(package.category.clone()),
        name: package.name.clone(),
        version: Some(package.version.clone()),
        description: (!package.description.is_empty()).then(|| package.description.clone()),
        hashes: Vec::new(),
        licenses: if licence.expression == "NONE" {
            Vec::new()
        } else {
            vec![Licence {
                expression: licence.expression,
            }]
        },
        purl: Some(purl(package)),
        external_references,
        properties,
        components: files,
    }
}

/// `index`: the record's place in its layer, which keeps `bom-ref`s unique when a hook
/// records the same thing twice.
fn hand_installed_component(layer: &Layer, index: usize, record: &HandInstalled) -> Component {
    let mut external_references = Vec::new();
    if ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| record.info.starts_with(scheme))
    {
        external_references.push(ExternalReference {
            kind: "website",
            url: record.info.clone(),
            comment: None,
            hashes: Vec::new(),
        });
    }
    Component {
        kind: "library",
        bom_ref: format!("{}:manual:{index}:{}", layer.image.id, record.name),
        name: record.name.clone(),
        external_references,
        properties: vec![
            property("gentoo-bb:layer", &layer.image.id),
            property("gentoo-bb:installed-by-hand", &record.group),
            property("gentoo-bb:info", &record.info),
        ],
        components: record
            .file
            .as_ref()
            .and_then(|file| file.digests.as_ref())
            .map(|digests| Component {
                kind: "file",
                bom_ref: format!("{}:manual:{index}:{}", layer.image.id, record.info),
                name: record.info.clone(),
                hashes: vec![
                    hash("SHA-1", &digests.sha1),
                    hash("SHA-256", &digests.sha256),
                ],
                ..Component::default()
            })
            .into_iter()
            .collect(),
        ..Component::default()
    }
}

fn image_ref(image: &ImageRef) -> String {
    format!("image:{}", image.id)
}

fn property(name: &'static str, value: &str) -> Property {
    Property {
        name,
        value: value.to_owned(),
    }
}

fn hash(alg: &'static str, content: &str) -> Hash {
    Hash {
        alg,
        content: content.to_owned(),
    }
}

/// `urn:uuid:` from the document's identity digest, with the version (5, name-based) and
/// variant bits CycloneDX's schema requires: the same content always gets the same number.
fn serial_number(identity: &[u8; 32]) -> String {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&identity[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

//! SPDX 2.3 JSON.
//!
//! Own serde structs rather than a crate: the Rust SPDX crates on crates.io (`spdx-rs`) model
//! SPDX 2.2 and are not kept up; gbb writes a small, fixed subset, and the tests validate the
//! output with SPDX's own `pyspdxtools`. (The `spdx` crate, SPDX's licence list, checks the
//! licence table in the tests.)
//!
//! The document:
//! - describes the image (a package with purpose `CONTAINER`), which `CONTAINS` the packages
//!   it installed and `DEPENDS_ON` its parent image; the parent `CONTAINS` its own packages
//!   and depends on its parent, and so on, so every layer's packages are marked with the
//!   image they came from;
//! - a Portage package carries its purl (`externalRefs`, category `PACKAGE-MANAGER`), its
//!   licence as an SPDX expression (`licenseDeclared`), homepage, description, build time,
//!   slot, repository and USE flags (`comment`), and `CONTAINS` its regular files that are in
//!   the image, each with SHA-1 (required by SPDX) and SHA-256;
//! - each distfile is a package of purpose `SOURCE` with the Manifest's SHA512 and BLAKE2B
//!   digests, which the built package is `GENERATED_FROM`;
//! - `LicenseRef-Gentoo-*` licences are declared in `hasExtractedLicensingInfos`, pointing at
//!   the licence's file in the gentoo repository.

use std::collections::BTreeMap;

use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::image::{DocumentOptions, ImageSbom, timestamp};
use crate::model::{HandInstalled, ImageRef, Layer, Package};
use crate::purl::purl;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    files: Vec<File>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicence>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    built_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: String,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicence {
    license_id: String,
    extracted_text: String,
    name: String,
    see_alsos: Vec<String>,
}

const NOASSERTION: &str = "NOASSERTION";

/// The SPDX document of `sbom`.
pub(crate) fn document(sbom: &ImageSbom, options: &DocumentOptions) -> Document {
    let identity = sbom.identity(options);
    let image = sbom.image();
    let mut out = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("{}:{}", image.id, image.tag),
        document_namespace: format!(
            "{}/{}-{}",
            options.namespace_base.trim_end_matches('/'),
            sanitise(&image.id),
            hex(&identity[..16])
        ),
        creation_info: CreationInfo {
            created: timestamp(options.created),
            creators: vec![format!("Tool: gbb-{}", options.tool_version)],
        },
        packages: Vec::new(),
        files: Vec::new(),
        relationships: vec![relationship(
            "SPDXRef-DOCUMENT",
            "DESCRIBES",
            &image_id(image),
        )],
        has_extracted_licensing_infos: Vec::new(),
    };
    let mut licence_refs = BTreeMap::new();
    let layers: Vec<&Layer> = sbom.layers().collect();
    for (i, layer) in layers.iter().enumerate() {
        let own = i == 0;
        let image = image_id(&layer.image);
        out.packages.push(image_package(layer, own));
        for package in &layer.packages {
            add_package(&mut out, &mut licence_refs, layer, package);
        }
        for record in &layer.hand_installed {
            let id = hand_installed_id(layer, record);
            let digests = record.file.as_ref().and_then(|f| f.digests.as_ref());
            out.packages
                .push(hand_installed_package(&id, record, digests));
            out.relationships
                .push(relationship(&image, "CONTAINS", &id));
            if let Some(digests) = digests {
                let file_id = file_id(layer, &record.name, &record.info);
                out.files.push(file(&file_id, &record.info, digests, false));
                out.relationships
                    .push(relationship(&id, "CONTAINS", &file_id));
            }
        }
        if let Some(parent) = layers.get(i + 1) {
            out.relationships
                .push(relationship(&image, "DEPENDS_ON", &image_id(&parent.image)));
        }
    }
    out.has_extracted_licensing_infos = licence_refs
        .into_iter()
        .map(|(id, name): (String, String)| ExtractedLicence {
            extracted_text: format!(
                "The licence Gentoo calls `{name}`: its text is the file licenses/{name} of the \
                 ebuild repository the package came from."
            ),
            see_alsos: vec![format!(
                "https://gitweb.gentoo.org/repo/gentoo.git/plain/licenses/{name}"
            )],
            license_id: id,
            name,
        })
        .collect();
    out
}

fn image_package(layer: &Layer, own: bool) -> SpdxPackage {
    SpdxPackage {
        spdx_id: image_id(&layer.image),
        name: layer.image.id.clone(),
        version_info: Some(layer.image.tag.clone()),
        download_location: NOASSERTION.to_owned(),
        files_analyzed: false,
        package_verification_code: None,
        homepage: None,
        description: None,
        source_info: None,
        comment: Some(if own {
            "The image this document describes, built by gentoo-bb.".to_owned()
        } else {
            "An ancestor image: the packages it contains are in the image this document \
             describes as the layers below its own."
                .to_owned()
        }),
        built_date: None,
        primary_package_purpose: Some("CONTAINER"),
        checksums: Vec::new(),
        license_concluded: NOASSERTION.to_owned(),
        license_declared: NOASSERTION.to_owned(),
        copyright_text: NOASSERTION,
        external_refs: Vec::new(),
    }
}

fn add_package(
    out: &mut Document,
    licence_refs: &mut BTreeMap<String, String>,
    layer: &Layer,
    package: &Package,
) {
    let id = package_id(layer, package);
    let licence = package.spdx_licence();
    licence_refs.extend(licence.refs);
    let files: Vec<(&str, &crate::Digests, bool)> = package
        .files
        .iter()
        .filter_map(|file| {
            let image = file.image.as_ref()?;
            Some((file.path.as_str(), image.digests.as_ref()?, image.modified))
        })
        .collect();
    let verification = (!files.is_empty())
        .then(|| verification_code(files.iter().map(|(_, d, _)| d.sha1.as_str())));
    let mut comment = format!(
        "Gentoo package {} from the `{}` repository, slot {}{}; installed by the image {}.",
        package.cpv(),
        package.repository,
        package.slot,
        package
            .subslot
            .as_ref()
            .map(|s| format!("/{s}"))
            .unwrap_or_default(),
        layer.image.id,
    );
    if !package.iuse.is_empty() {
        comment.push_str(&format!(
            " USE flags enabled: {}; declared (IUSE): {}.",
            or_none(&package.use_enabled.join(" ")),
            package.iuse.join(" ")
        ));
    }
    if package.licence != package.licence_raw {
        comment.push_str(&format!(
            " LICENSE as the ebuild writes it: {}.",
            package.licence_raw
        ));
    }
    let missing = package.files_not_in_image();
    if layer.files_digested && missing > 0 {
        comment.push_str(&format!(
            " {missing} of the paths Portage installed are not in the image (purged after the \
             install); they are not listed."
        ));
    }
    let download = match package.distfiles.first() {
        None => "NONE".to_owned(),
        Some(distfile) => download_location(&distfile.uris),
    };
    out.packages.push(SpdxPackage {
        spdx_id: id.clone(),
        name: format!("{}/{}", package.category, package.name),
        version_info: Some(package.version.clone()),
        download_location: download,
        files_analyzed: !files.is_empty(),
        package_verification_code: verification,
        homepage: package.homepage.iter().find(|h| is_url(h)).cloned(),
        description: (!package.description.is_empty()).then(|| package.description.clone()),
        source_info: Some(format!(
            "built from source by Portage ({}::{})",
            package.cpv(),
            package.repository
        )),
        comment: Some(comment),
        built_date: package
            .build_time
            .and_then(|t| jiff::Timestamp::from_second(t as i64).ok())
            .map(timestamp),
        primary_package_purpose: None,
        checksums: Vec::new(),
        license_concluded: NOASSERTION.to_owned(),
        license_declared: licence.expression,
        copyright_text: NOASSERTION,
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: purl(package),
        }],
    });
    out.relationships
        .push(relationship(&image_id(&layer.image), "CONTAINS", &id));
    for (path, digests, modified) in files {
        let file_id = file_id(layer, &package.cpv(), path);
        out.files.push(file(&file_id, path, digests, modified));
        out.relationships
            .push(relationship(&id, "CONTAINS", &file_id));
    }
    for distfile in &package.distfiles {
        let source_id = format!(
            "SPDXRef-Source-{}-{}",
            sanitise(&distfile.name),
            short(&[&layer.image.id, &package.cpv(), &distfile.name], 8)
        );
        let mut checksums = Vec::new();
        if let Some(sha512) = &distfile.sha512 {
            checksums.push(Checksum {
                algorithm: "SHA512",
                checksum_value: sha512.clone(),
            });
        }
        if let Some(blake2b) = &distfile.blake2b {
            checksums.push(Checksum {
                algorithm: "BLAKE2b-512",
                checksum_value: blake2b.clone(),
            });
        }
        out.packages.push(SpdxPackage {
            spdx_id: source_id.clone(),
            name: distfile.name.clone(),
            version_info: None,
            download_location: download_location(&distfile.uris),
            files_analyzed: false,
            package_verification_code: None,
            homepage: None,
            description: None,
            source_info: None,
            comment: Some(format!(
                "A distfile of {} (SRC_URI: {}); {}.",
                package.cpv(),
                or_none(&distfile.uris.join(" ")),
                if checksums.is_empty() {
                    "the repository's Manifest had no digests for it"
                } else {
                    "digests from the repository's Manifest"
                }
            )),
            built_date: None,
            primary_package_purpose: Some("SOURCE"),
            checksums,
            license_concluded: NOASSERTION.to_owned(),
            license_declared: NOASSERTION.to_owned(),
            copyright_text: NOASSERTION,
            external_refs: Vec::new(),
        });
        out.relationships
            .push(relationship(&id, "GENERATED_FROM", &source_id));
    }
}

/// A file of the image, as SPDX lists it (`./usr/bin/x`).
fn file(id: &str, path: &str, digests: &crate::Digests, modified: bool) -> File {
    File {
        spdx_id: id.to_owned(),
        file_name: format!(".{path}"),
        checksums: vec![
            Checksum {
                algorithm: "SHA1",
                checksum_value: digests.sha1.clone(),
            },
            Checksum {
                algorithm: "SHA256",
                checksum_value: digests.sha256.clone(),
            },
        ],
        license_concluded: NOASSERTION,
        copyright_text: NOASSERTION,
        comment: modified.then_some(
            "Changed after Portage installed it (its MD5 differs from the package's record).",
        ),
    }
}

/// `owner`: what the file belongs to (a CPV, a hand-installed record's name).
fn file_id(layer: &Layer, owner: &str, path: &str) -> String {
    format!(
        "SPDXRef-File-{}",
        short(&[&layer.image.id, owner, path], 16)
    )
}

/// The SHA-1 of the sorted SHA-1s of a package's files, as SPDX defines its verification code.
fn verification_code<'a>(sha1s: impl Iterator<Item = &'a str>) -> VerificationCode {
    let mut sha1s: Vec<&str> = sha1s.collect();
    sha1s.sort_unstable();
    VerificationCode {
        package_verification_code_value: hex(&Sha1::digest(sha1s.concat().as_bytes())),
    }
}

fn hand_installed_package(
    id: &str,
    record: &HandInstalled,
    digests: Option<&crate::Digests>,
) -> SpdxPackage {
    SpdxPackage {
        spdx_id: id.to_owned(),
        name: record.name.clone(),
        version_info: None,
        download_location: if is_url(&record.info) {
            record.info.clone()
        } else {
            NOASSERTION.to_owned()
        },
        files_analyzed: digests.is_some(),
        package_verification_code: digests
            .map(|d| verification_code(std::iter::once(d.sha1.as_str()))),
        homepage: None,
        description: None,
        source_info: None,
        comment: Some(format!(
            "Installed without Portage by a build hook (log_as_installed `{}`): {}",
            record.group,
            or_none(&record.info)
        )),
        built_date: None,
        primary_package_purpose: None,
        checksums: Vec::new(),
        license_concluded: NOASSERTION.to_owned(),
        license_declared: NOASSERTION.to_owned(),
        copyright_text: NOASSERTION,
        external_refs: Vec::new(),
    }
}

fn relationship(a: &str, kind: &'static str, b: &str) -> Relationship {
    Relationship {
        spdx_element_id: a.to_owned(),
        relationship_type: kind,
        related_spdx_element: b.to_owned(),
    }
}

fn image_id(image: &ImageRef) -> String {
    format!(
        "SPDXRef-Image-{}-{}",
        sanitise(&image.id),
        short(&[&image.id], 8)
    )
}

fn package_id(layer: &Layer, package: &Package) -> String {
    format!(
        "SPDXRef-Package-{}-{}-{}",
        sanitise(&package.category),
        sanitise(&format!("{}-{}", package.name, package.version)),
        short(&[&layer.image.id, &package.cpv()], 8)
    )
}

fn hand_installed_id(layer: &Layer, record: &HandInstalled) -> String {
    format!(
        "SPDXRef-Package-manual-{}-{}",
        sanitise(&record.name),
        short(
            &[&layer.image.id, &record.group, &record.name, &record.info],
            8
        )
    )
}

/// The first URI SPDX accepts as a download location (http, https, ftp), else NOASSERTION:
/// `mirror://gnu/...` is Portage's own scheme and means nothing to other readers.
fn download_location(uris: &[String]) -> String {
    uris.iter()
        .find(|uri| is_url(uri))
        .cloned()
        .unwrap_or_else(|| NOASSERTION.to_owned())
}

fn is_url(text: &str) -> bool {
    ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| text.starts_with(scheme))
        && !text.contains(char::is_whitespace)
}

/// SPDX ids allow `[A-Za-z0-9.-]`; everything else becomes `-` (the hash suffix keeps ids
/// unique).
fn sanitise(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The first `len` hex digits of the SHA-256 of the parts (separated by NUL).
fn short(parts: &[&str], len: usize) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize())[..len].to_owned()
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

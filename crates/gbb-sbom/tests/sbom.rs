//! The SBOMs of a two-image fixture (see `fixture/mod.rs`): validated by the tools made for
//! them (SPDX's `pyspdxtools`, CycloneDX's `cyclonedx-python-lib` JSON validator, from PyPI,
//! installed by `scripts/setup-test-machine` into a venv), checked for content, and
//! snapshotted with PACKAGES.md.
//!
//! The venv is `$GBB_TEST_PYVENV`, else `$GBB_CACHE_DIR/pyvenv`, else `~/.cache/gbb/pyvenv`.
//! A missing venv fails the validation tests with what to run; they never skip.

mod fixture;

use std::path::{Path, PathBuf};
use std::process::Command;

use gbb_sbom::{DocumentOptions, Format, ImageSbom, Layer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use fixture::Fixture;

fn sbom(fixture: &Fixture) -> ImageSbom {
    ImageSbom {
        own: fixture.layer("example/greet"),
        ancestors: vec![fixture.layer("example/greetlib")],
    }
}

fn options() -> DocumentOptions {
    // 2026-11-27T00:00:00Z, as a caller passes SOURCE_DATE_EPOCH.
    DocumentOptions::new(
        jiff::Timestamp::from_second(1_795_737_600).unwrap(),
        "0.1.0",
    )
}

fn render(format: Format) -> (Fixture, String) {
    let fixture = Fixture::new();
    let text = sbom(&fixture).render(format, &options()).unwrap();
    (fixture, text)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The venv with the validators (see the module comment).
fn pyvenv() -> PathBuf {
    let venv = std::env::var_os("GBB_TEST_PYVENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("GBB_CACHE_DIR").map(|d| PathBuf::from(d).join("pyvenv")))
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/gbb/pyvenv")
        });
    assert!(
        venv.join("bin/pyspdxtools").is_file() && venv.join("bin/python").is_file(),
        "no SBOM validators in `{}`: run scripts/setup-test-machine (it installs spdx-tools and \
         cyclonedx-python-lib[json-validation] there), or point GBB_TEST_PYVENV at a venv with \
         them",
        venv.display()
    );
    venv
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("the validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn spdx_document_validates_with_pyspdxtools() {
    let venv = pyvenv();
    let (fixture, text) = render(Format::Spdx);
    let path = write(fixture.dir.path(), "greet.spdx.json", &text);
    let (ok, output) = run(Command::new(venv.join("bin/pyspdxtools"))
        .arg("-i")
        .arg(&path));
    // pyspdxtools exits 1 and logs "The document is invalid" with the issues; a valid
    // document exits 0 and logs nothing at its default level.
    assert!(ok, "pyspdxtools refused the document:\n{output}\n{text}");
    assert!(!output.contains("ERROR"), "{output}");
}

/// The validator refuses what it should: a document without the SHA-1 SPDX requires for
/// files, so the test above cannot pass by not validating.
#[test]
fn pyspdxtools_refuses_a_broken_document() {
    let venv = pyvenv();
    let (fixture, text) = render(Format::Spdx);
    let broken = text.replacen("\"algorithm\": \"SHA1\"", "\"algorithm\": \"MD5\"", 1);
    assert_ne!(broken, text);
    let path = write(fixture.dir.path(), "broken.spdx.json", &broken);
    let (ok, output) = run(Command::new(venv.join("bin/pyspdxtools"))
        .arg("-i")
        .arg(&path));
    assert!(!ok, "{output}");
    assert!(
        output.contains("checksums must contain a SHA1 algorithm checksum"),
        "{output}"
    );
}

const CYCLONEDX_VALIDATE: &str = "
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
if errors:
    print(errors)
    sys.exit(1)
print('valid')
";

#[test]
fn cyclonedx_document_validates_with_cyclonedx_python_lib() {
    let venv = pyvenv();
    let (fixture, text) = render(Format::CycloneDx);
    let path = write(fixture.dir.path(), "greet.cdx.json", &text);
    let (ok, output) = run(Command::new(venv.join("bin/python"))
        .args(["-c", CYCLONEDX_VALIDATE])
        .arg(&path));
    assert!(
        ok,
        "the CycloneDX validator refused the document:\n{output}\n{text}"
    );
    assert_eq!(output.trim(), "valid");
    // And refuses a broken one (an unknown hash algorithm).
    let broken = text.replacen("\"alg\": \"SHA-256\"", "\"alg\": \"SHA-257\"", 1);
    assert_ne!(broken, text);
    let path = write(fixture.dir.path(), "broken.cdx.json", &broken);
    let (ok, output) = run(Command::new(venv.join("bin/python"))
        .args(["-c", CYCLONEDX_VALIDATE])
        .arg(&path));
    assert!(!ok, "{output}");
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn spdx_package<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name}"))
}

fn related<'a>(doc: &'a Value, from: &Value, kind: &str) -> Vec<&'a str> {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spdxElementId"] == *from && r["relationshipType"] == kind)
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect()
}

#[test]
fn spdx_content_own_package_inherited_library_files_and_purls() {
    let (_fixture, text) = render(Format::Spdx);
    let doc = json(&text);
    let image = spdx_package(&doc, "example/greet");
    let parent = spdx_package(&doc, "example/greetlib");
    let greet = spdx_package(&doc, "app-misc/greet");
    let libgreet = spdx_package(&doc, "dev-libs/libgreet");
    let zlib = spdx_package(&doc, "sys-libs/zlib");

    // The document describes the image; the image contains its own packages and depends on
    // its parent, which contains the library.
    assert_eq!(
        related(&doc, &Value::from("SPDXRef-DOCUMENT"), "DESCRIBES"),
        [image["SPDXID"].as_str().unwrap()]
    );
    let own = related(&doc, &image["SPDXID"], "CONTAINS");
    assert!(own.contains(&greet["SPDXID"].as_str().unwrap()));
    assert!(own.contains(&zlib["SPDXID"].as_str().unwrap()));
    assert!(!own.contains(&libgreet["SPDXID"].as_str().unwrap()));
    assert_eq!(
        related(&doc, &image["SPDXID"], "DEPENDS_ON"),
        [parent["SPDXID"].as_str().unwrap()]
    );
    assert_eq!(
        related(&doc, &parent["SPDXID"], "CONTAINS"),
        [libgreet["SPDXID"].as_str().unwrap()]
    );

    // USE flags and the licence with its conditionals resolved (ssl on, doc off).
    assert_eq!(greet["versionInfo"], "1.0-r1");
    assert_eq!(
        greet["licenseDeclared"],
        "MIT AND OpenSSL AND (GPL-2.0-or-later OR BSD-2-Clause)"
    );
    let comment = greet["comment"].as_str().unwrap();
    assert!(
        comment.contains("USE flags enabled: nls ssl; declared (IUSE): doc nls ssl"),
        "{comment}"
    );
    assert_eq!(
        zlib["licenseDeclared"],
        "Zlib AND LicenseRef-Gentoo-Info-ZIP-custom"
    );
    let declared: Vec<&str> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licenseId"].as_str().unwrap())
        .collect();
    assert_eq!(declared, ["LicenseRef-Gentoo-Info-ZIP-custom"]);

    // purls.
    let purl = |p: &Value| {
        p["externalRefs"][0]["referenceLocator"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        purl(greet),
        "pkg:generic/app-misc/greet@1.0-r1?repository_url=https://gitweb.gentoo.org/repo/gentoo.git"
    );
    assert_eq!(
        purl(libgreet),
        "pkg:generic/dev-libs/libgreet@1.0?repository_url=https://gitweb.gentoo.org/repo/gentoo.git"
    );
    assert_eq!(
        purl(zlib),
        "pkg:generic/sys-libs/zlib@1.3.1?gentoo_repository=extra"
    );

    // Files: SHA-256 of the bytes in the image; the purged README is not listed; zlib's file
    // is found through the image's /lib64 -> usr/lib64 link.
    let file = |name: &str| {
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fileName"] == name)
            .cloned()
    };
    let greet_file = file("./usr/bin/greet").expect("the program is listed");
    assert_eq!(greet_file["checksums"][1]["algorithm"], "SHA256");
    assert_eq!(
        greet_file["checksums"][1]["checksumValue"],
        sha256_hex(fixture::GREET_BINARY)
    );
    assert_eq!(
        related(&doc, &greet["SPDXID"], "CONTAINS"),
        [greet_file["SPDXID"].as_str().unwrap()]
    );
    let lib = file("./usr/lib/libgreet.so.1").expect("the inherited library's file is listed");
    assert_eq!(
        lib["checksums"][1]["checksumValue"],
        sha256_hex(fixture::LIBGREET)
    );
    assert!(file("./usr/share/doc/greet-1.0-r1/README").is_none());
    assert!(file("./usr/include/greet.h").is_none());
    let libz = file("./lib64/libz.so.1").expect("found through /lib64 -> usr/lib64");
    assert!(
        libz["comment"]
            .as_str()
            .unwrap()
            .contains("Changed after Portage installed it"),
        "{libz}"
    );
    assert!(greet_file.get("comment").is_none(), "{greet_file}");
    assert!(
        comment.contains("2 of the paths Portage installed are not in the image"),
        "{comment}"
    );

    // Distfiles: the ones USE selected, with the Manifest's digests.
    let sources = related(&doc, &greet["SPDXID"], "GENERATED_FROM");
    assert_eq!(
        sources.len(),
        2,
        "greet-doc is behind USE=doc, which is off"
    );
    let tls = spdx_package(&doc, "greet-tls-1.0.tar.gz");
    assert_eq!(
        tls["downloadLocation"],
        "https://example.org/dist/tls.tar.gz"
    );
    assert_eq!(tls["checksums"][0]["checksumValue"], "4d".repeat(64));
    assert_eq!(tls["checksums"][1]["algorithm"], "BLAKE2b-512");

    // What was installed by hand; a record naming a path in the image lists that file.
    let data = spdx_package(&doc, "data-1.0");
    assert_eq!(data["downloadLocation"], "https://example.org/data");
    assert!(own.contains(&data["SPDXID"].as_str().unwrap()));
    let libgcc = spdx_package(&doc, "libgcc_s.so.1");
    assert!(own.contains(&libgcc["SPDXID"].as_str().unwrap()));
    let libgcc_file = file("./lib64/libgcc_s.so.1").expect("copy_gcc_libs' file is listed");
    assert_eq!(
        libgcc_file["checksums"][1]["checksumValue"],
        sha256_hex(fixture::LIBGCC)
    );
    assert_eq!(
        related(&doc, &libgcc["SPDXID"], "CONTAINS"),
        [libgcc_file["SPDXID"].as_str().unwrap()]
    );
}

#[test]
fn cyclonedx_content_own_package_inherited_library_files_and_purls() {
    let (_fixture, text) = render(Format::CycloneDx);
    let doc = json(&text);
    assert_eq!(doc["metadata"]["component"]["name"], "example/greet");
    assert_eq!(doc["metadata"]["component"]["type"], "container");
    let components = doc["components"].as_array().unwrap();
    let component = |name: &str| {
        components
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no component {name}"))
    };
    let property = |c: &Value, name: &str| {
        c["properties"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_owned())
    };
    let greet = component("greet");
    assert_eq!(greet["group"], "app-misc");
    assert_eq!(property(greet, "gentoo:use").as_deref(), Some("nls ssl"));
    assert_eq!(
        property(greet, "gentoo-bb:layer").as_deref(),
        Some("example/greet")
    );
    assert_eq!(
        greet["licenses"][0]["expression"],
        "MIT AND OpenSSL AND (GPL-2.0-or-later OR BSD-2-Clause)"
    );
    assert_eq!(
        greet["purl"],
        "pkg:generic/app-misc/greet@1.0-r1?repository_url=https://gitweb.gentoo.org/repo/gentoo.git"
    );
    let file = &greet["components"][0];
    assert_eq!(file["name"], "/usr/bin/greet");
    assert_eq!(file["hashes"][1]["alg"], "SHA-256");
    assert_eq!(
        file["hashes"][1]["content"],
        sha256_hex(fixture::GREET_BINARY)
    );

    let libgreet = component("libgreet");
    assert_eq!(
        property(libgreet, "gentoo-bb:layer").as_deref(),
        Some("example/greetlib")
    );
    assert_eq!(
        libgreet["purl"],
        "pkg:generic/dev-libs/libgreet@1.0?repository_url=https://gitweb.gentoo.org/repo/gentoo.git"
    );
    assert_eq!(
        component("zlib")["purl"],
        "pkg:generic/sys-libs/zlib@1.3.1?gentoo_repository=extra"
    );
    assert_eq!(component("example/greetlib")["type"], "container");

    // The image depends on its packages and its parent; the parent on the library.
    let depends = |reference: &str| -> Vec<String> {
        doc["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ref"] == reference)
            .unwrap()["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let own = depends("image:example/greet");
    assert!(own.contains(&greet["bom-ref"].as_str().unwrap().to_owned()));
    assert!(own.contains(&"image:example/greetlib".to_owned()));
    assert_eq!(
        depends("image:example/greetlib"),
        [libgreet["bom-ref"].as_str().unwrap()]
    );
}

#[test]
fn documents_are_deterministic_and_change_with_the_content() {
    let (_a, first) = render(Format::CycloneDx);
    let (_b, second) = render(Format::CycloneDx);
    assert_eq!(first, second);
    let fixture = Fixture::new();
    let mut sbom = sbom(&fixture);
    sbom.own.packages[0].version = "1.0-r2".to_owned();
    let changed = sbom.render(Format::CycloneDx, &options()).unwrap();
    assert_ne!(json(&first)["serialNumber"], json(&changed)["serialNumber"]);
}

#[test]
fn newest_build_time_of_all_layers() {
    let fixture = Fixture::new();
    // greet's BUILD_TIME; libgreet (the parent's) is older.
    assert_eq!(
        sbom(&fixture).newest_build_time().map(|t| t.as_second()),
        Some(1_764_300_000)
    );
}

#[test]
fn a_kept_layer_reads_back_the_same() {
    let fixture = Fixture::new();
    let layer = fixture.layer("example/greet");
    let text = layer.to_json().unwrap();
    assert_eq!(Layer::from_json(&text).unwrap(), Some(layer));
    let older = text.replacen("\"format\":1", "\"format\":0", 1);
    assert_eq!(Layer::from_json(&older).unwrap(), None);
}

#[test]
fn kept_layers_are_read_back_or_made_again() {
    let fixture = Fixture::new();
    let dir = fixture.path("out");
    std::fs::create_dir(&dir).unwrap();
    let image = || gbb_sbom::ImageRef {
        id: "example/greet".to_owned(),
        tag: "20261127".to_owned(),
    };
    assert_eq!(
        gbb_sbom::kept_layer(&dir, image()).unwrap(),
        None,
        "nothing collected"
    );
    std::fs::copy(fixture.path("greet-pkgdb.tar"), dir.join("pkgdb.tar")).unwrap();
    std::fs::copy(fixture.path("greet-rootfs.tar"), dir.join("rootfs.tar")).unwrap();
    let made = gbb_sbom::kept_layer(&dir, image()).unwrap().unwrap();
    assert_eq!(made, fixture.layer("example/greet"));
    // A kept layer is read instead of the archives.
    std::fs::remove_file(dir.join("rootfs.tar")).unwrap();
    std::fs::write(dir.join(gbb_sbom::LAYER_FILE), made.to_json().unwrap()).unwrap();
    assert_eq!(gbb_sbom::kept_layer(&dir, image()).unwrap(), Some(made));
}

#[test]
fn snapshots() {
    let fixture = Fixture::new();
    let sbom = sbom(&fixture);
    insta::assert_snapshot!(
        "packages_md",
        sbom.packages_md(
            1_234_567,
            &["/usr/include".to_owned(), "/var/db/pkg".to_owned()]
        )
    );
    insta::assert_snapshot!("spdx", sbom.render(Format::Spdx, &options()).unwrap());
    insta::assert_snapshot!(
        "cyclonedx",
        sbom.render(Format::CycloneDx, &options()).unwrap()
    );
}

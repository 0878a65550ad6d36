//! The SBOMs of the example stack, built for real (issue 12): every image's kept SPDX and
//! CycloneDX documents validate with the formats' own tools (`pyspdxtools`, cyclonedx-python-lib's
//! JSON validator, from the venv `scripts/setup-test-machine` makes: `$GBB_TEST_PYVENV`, else
//! `$GBB_CACHE_DIR/pyvenv`, else `~/.cache/gbb/pyvenv`; a missing venv fails the test), and
//! `greet`'s say what is in the image: its own package with its USE flags and licence, its
//! parent's library as inherited, files whose SHA-256 matches the file taken out of the image,
//! and a purl for each package. `gbb sbom` prints the kept documents byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{E2eStack, docker};

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

/// Runs a validator; whether it accepted, and what it said.
fn validate(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("the validator runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn assert_valid(venv: &Path, spdx: &Path, cyclonedx: &Path) {
    let (ok, output) = validate(
        Command::new(venv.join("bin/pyspdxtools"))
            .arg("-i")
            .arg(spdx),
    );
    assert!(
        ok && !output.contains("ERROR"),
        "pyspdxtools refused `{}`:\n{output}",
        spdx.display()
    );
    let (ok, output) = validate(
        Command::new(venv.join("bin/python"))
            .args(["-c", CYCLONEDX_VALIDATE])
            .arg(cyclonedx),
    );
    assert!(
        ok && output.trim() == "valid",
        "the CycloneDX validator refused `{}`:\n{output}",
        cyclonedx.display()
    );
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A container made (never started) from an image, to copy files out of; removed when
/// dropped.
struct Created(String);

impl Created {
    fn new(image: &str) -> Self {
        // A command, for images without one; the container never runs.
        Self(docker(&["create", image, "true"]).trim().to_owned())
    }

    /// The bytes of `path` in the image.
    fn read(&self, path: &str, scratch: &Path) -> Vec<u8> {
        let to = scratch.join(sha256_hex(path.as_bytes()));
        docker(&["cp", &format!("{}:{path}", self.0), &to.to_string_lossy()]);
        std::fs::read(&to).unwrap()
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn spdx_package<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no package {name} in {doc:#}"))
}

/// The elements `from` is related to by `kind`.
fn related<'a>(doc: &'a Value, from: &Value, kind: &str) -> Vec<&'a str> {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["spdxElementId"] == *from && r["relationshipType"] == kind)
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect()
}

/// The files an SPDX package `CONTAINS`, by name, with their SHA-256.
fn files_of(doc: &Value, package: &Value) -> Vec<(String, String)> {
    let ids = related(doc, &package["SPDXID"], "CONTAINS");
    doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ids.contains(&f["SPDXID"].as_str().unwrap()))
        .map(|f| {
            let sha256 = f["checksums"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["algorithm"] == "SHA256")
                .unwrap()["checksumValue"]
                .as_str()
                .unwrap()
                .to_owned();
            (f["fileName"].as_str().unwrap().to_owned(), sha256)
        })
        .collect()
}

const REPOSITORY_URL: &str = "repository_url=https://gitweb.gentoo.org/repo/gentoo.git";

#[test]
fn every_image_keeps_valid_sboms_that_say_what_is_in_it() {
    let venv = pyvenv();
    let stack = E2eStack::new();
    let ns = stack.ns.clone();
    let greet_id = stack.id("greet");

    // Not built yet: no SBOM, a refusal.
    let run = stack.gbb(&["sbom", &greet_id]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains(&format!("`{greet_id}` has no SBOM: `")),
        "{}",
        run.stderr
    );

    stack.gbb(&["build"]).success();

    // Every image: both documents kept and valid.
    for name in [
        "busybox",
        "glibc",
        "greetlib",
        "greet",
        "greet-tools",
        "hello",
    ] {
        let out = stack.output_dir(name);
        assert!(out.join("sbom-layer.json").is_file(), "{name}");
        assert_valid(
            &venv,
            &out.join("sbom.spdx.json"),
            &out.join("sbom.cdx.json"),
        );
    }

    // `gbb sbom` prints the kept files, byte for byte.
    let out = stack.output_dir("greet");
    for (args, file) in [
        (vec!["sbom", greet_id.as_str()], "sbom.spdx.json"),
        (
            vec!["sbom", greet_id.as_str(), "--format", "cyclonedx"],
            "sbom.cdx.json",
        ),
    ] {
        let output = stack.command(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        assert_eq!(
            output.stdout,
            std::fs::read(out.join(file)).unwrap(),
            "{args:?}"
        );
    }

    // SPDX: greet's own package, with its USE flags, licence and purl.
    let doc = json(&out.join("sbom.spdx.json"));
    let image = spdx_package(&doc, &greet_id);
    let parent = spdx_package(&doc, &stack.id("greetlib"));
    let greet = spdx_package(&doc, "app-misc/greet");
    let libgreet = spdx_package(&doc, "dev-libs/libgreet");
    assert_eq!(greet["versionInfo"], "1.0");
    assert_eq!(greet["licenseDeclared"], "MIT");
    let comment = greet["comment"].as_str().unwrap();
    assert!(
        comment.contains("USE flags enabled: nls; declared (IUSE): nls."),
        "{comment}"
    );
    let purl = |p: &Value| {
        p["externalRefs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["referenceType"] == "purl")
            .unwrap_or_else(|| panic!("no purl: {p:#}"))["referenceLocator"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        purl(greet),
        format!("pkg:generic/app-misc/greet@1.0?{REPOSITORY_URL}")
    );
    assert_eq!(
        purl(libgreet),
        format!("pkg:generic/dev-libs/libgreet@1.0?{REPOSITORY_URL}")
    );
    // The image contains its package; it depends on its parent, which contains the library.
    let own = related(&doc, &image["SPDXID"], "CONTAINS");
    assert!(own.contains(&greet["SPDXID"].as_str().unwrap()), "{own:?}");
    assert!(
        !own.contains(&libgreet["SPDXID"].as_str().unwrap()),
        "{own:?}"
    );
    assert_eq!(
        related(&doc, &image["SPDXID"], "DEPENDS_ON"),
        [parent["SPDXID"].as_str().unwrap()]
    );
    assert!(
        related(&doc, &parent["SPDXID"], "CONTAINS")
            .contains(&libgreet["SPDXID"].as_str().unwrap())
    );
    // Every package of every layer (greet, libgreet, glibc-host) has a purl.
    let packages: Vec<&Value> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            let id = p["SPDXID"].as_str().unwrap();
            // Portage's packages (what hooks installed by hand has no package manager).
            id.starts_with("SPDXRef-Package-") && !id.starts_with("SPDXRef-Package-manual-")
        })
        .collect();
    assert!(packages.len() >= 3, "{packages:#?}");
    for package in packages {
        assert!(
            purl(package).starts_with("pkg:generic/"),
            "{}",
            package["name"]
        );
    }

    // Files: the SHA-256 of each of greet's and libgreet's files is the one of the file in
    // the image.
    let scratch = tempfile::tempdir().unwrap();
    let container = Created::new(&greet_id);
    let greet_files = files_of(&doc, greet);
    assert!(
        greet_files
            .iter()
            .any(|(name, _)| name == "./usr/bin/greet"),
        "{greet_files:?}"
    );
    let library_files = files_of(&doc, libgreet);
    assert!(
        library_files
            .iter()
            .any(|(name, _)| name.starts_with("./usr/lib/libgreet.so")),
        "{library_files:?}"
    );
    for (name, sha256) in greet_files.iter().chain(&library_files) {
        let bytes = container.read(name.trim_start_matches('.'), scratch.path());
        assert_eq!(&sha256_hex(&bytes), sha256, "{name}");
    }
    drop(container);

    // CycloneDX: the same facts, in its terms.
    let doc = json(&out.join("sbom.cdx.json"));
    assert_eq!(doc["metadata"]["component"]["name"], greet_id.as_str());
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
    assert_eq!(property(greet, "gentoo:use").as_deref(), Some("nls"));
    assert_eq!(
        property(greet, "gentoo-bb:layer").as_deref(),
        Some(greet_id.as_str())
    );
    assert_eq!(greet["licenses"][0]["expression"], "MIT");
    assert_eq!(
        greet["purl"],
        format!("pkg:generic/app-misc/greet@1.0?{REPOSITORY_URL}")
    );
    let libgreet = component("libgreet");
    assert_eq!(
        property(libgreet, "gentoo-bb:layer").as_deref(),
        Some(format!("{ns}/greetlib").as_str())
    );

    // PACKAGES.md from the same data.
    let packages_md =
        std::fs::read_to_string(stack.image_dir("greet").join("PACKAGES.md")).unwrap();
    assert!(
        packages_md.contains("| app-misc/greet-1.0 | nls | MIT |"),
        "{packages_md}"
    );
    assert!(
        packages_md.contains(&format!(
            "### from {ns}/greetlib\n\n- dev-libs/libgreet-1.0"
        )),
        "{packages_md}"
    );

    // Phase 2 again (-f): the documents are made again from the kept layers, byte for byte.
    let spdx = std::fs::read(out.join("sbom.spdx.json")).unwrap();
    let cyclonedx = std::fs::read(out.join("sbom.cdx.json")).unwrap();
    std::fs::remove_file(out.join("sbom.spdx.json")).unwrap();
    let run = stack.gbb(&["build", "-f", &greet_id]);
    run.success();
    assert_eq!(run.result_of(&greet_id), "built", "{}", run.stderr);
    assert_eq!(std::fs::read(out.join("sbom.spdx.json")).unwrap(), spdx);
    assert_eq!(std::fs::read(out.join("sbom.cdx.json")).unwrap(), cyclonedx);

    // A parent whose outputs come from a gbb that collected no pkgdb.tar: the child still
    // builds, without SBOM (stale documents go), and its PACKAGES.md comes from packages.tsv.
    let parent = stack.output_dir("greetlib");
    std::fs::remove_file(parent.join("pkgdb.tar")).unwrap();
    std::fs::remove_file(parent.join("sbom-layer.json")).unwrap();
    let run = stack.gbb(&["build", "-F", &greet_id]);
    run.success();
    assert_eq!(run.result_of(&greet_id), "built", "{}", run.stderr);
    assert!(
        out.join("sbom-layer.json").is_file(),
        "its own layer, for children"
    );
    assert!(!out.join("sbom.spdx.json").exists());
    assert!(!out.join("sbom.cdx.json").exists());
    let packages_md =
        std::fs::read_to_string(stack.image_dir("greet").join("PACKAGES.md")).unwrap();
    assert!(
        packages_md.contains(&format!(
            "### from {ns}/greetlib\n\n- dev-libs/libgreet-1.0"
        )),
        "{packages_md}"
    );
    // The row as packages.tsv has it (USE as Portage recorded it, implicit flags and all).
    let tsv = std::fs::read_to_string(out.join("packages.tsv")).unwrap();
    let fields: Vec<&str> = tsv
        .lines()
        .find(|l| l.starts_with("app-misc/greet-1.0\t"))
        .unwrap_or_else(|| panic!("{tsv}"))
        .split('\t')
        .collect();
    let row = format!(
        "| {} | {} | {} |",
        fields[0],
        fields[1].trim(),
        fields[2].trim()
    );
    assert!(packages_md.contains(&row), "{row}\n{packages_md}");
    let run = stack.gbb(&["sbom", &greet_id, "--format", "cyclonedx"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("has no SBOM"), "{}", run.stderr);
}

//! Images written by gbb (issue 11): the same inputs give the same image, byte for byte, on
//! the real engine; what a root holds (set-id bits, hard links, owners, xattrs) reaches the
//! image; each `ADD`/`COPY`/`RUN` is one layer.

use std::collections::BTreeMap;
use std::io::Read;

use crate::harness::{E2eStack, docker};

const IMAGES: [&str; 6] = [
    "busybox",
    "glibc",
    "greetlib",
    "greet",
    "greet-tools",
    "hello",
];

/// Each image's engine id and the manifest digest gbb kept for it.
fn identities(stack: &E2eStack) -> BTreeMap<&'static str, (String, String)> {
    IMAGES
        .iter()
        .map(|name| {
            let id = stack
                .image_id(&format!("{name}:latest"))
                .unwrap_or_else(|| panic!("{name} is built"));
            let manifest =
                std::fs::read_to_string(stack.output_dir(name).join("manifest")).unwrap();
            (*name, (id, manifest.trim().to_owned()))
        })
        .collect()
}

/// The number of layers of an image, as the engine has them.
fn layer_count(image: &str) -> usize {
    docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        image,
    ])
    .trim()
    .parse()
    .unwrap()
}

#[test]
fn the_same_inputs_give_the_same_images_with_and_without_run() {
    let stack = E2eStack::new();
    // busybox gets a COPY and a RUN (it has a shell); the others are as in the example.
    let template =
        std::fs::read_to_string(stack.image_dir("busybox").join("Dockerfile.template")).unwrap();
    stack.write("busybox", "motd", "Welcome to a gbb image\n");
    stack.write(
        "busybox",
        "Dockerfile.template",
        &format!(
            "{template}COPY --chown=1000:100 --chmod=0640 motd /etc/motd\n\
             RUN mkdir -p /srv/www && echo hi > /srv/www/index.html \\\n    \
             && ln -s /bin/busybox /srv/www/tool && chmod 0750 /srv/www\n"
        ),
    );

    let first = stack.gbb(&["build"]);
    first.success();
    let before = identities(&stack);
    for (name, (_, manifest)) in &before {
        assert!(manifest.starts_with("sha256:"), "{name}: {manifest}");
    }

    // Everything again from binary packages, phase 1 included.
    let second = stack.gbb(&["build", "-F"]);
    second.success();
    for name in IMAGES {
        assert_eq!(
            second.result_of(&stack.id(name)),
            "built",
            "{}",
            second.stderr
        );
    }
    assert_eq!(identities(&stack), before, "{}", second.stderr);
    // The same image, so the engine's copy is tagged instead of loaded again.
    assert!(
        second.stderr.contains(&format!(
            "{}: phase 2: the engine has this image already",
            stack.id("glibc")
        )),
        "{}",
        second.stderr
    );

    // The RUN's work is in the image, and it runs.
    let busybox = stack.id("busybox");
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            &busybox,
            "cat",
            "/srv/www/index.html",
            "/etc/motd"
        ]),
        "hi\nWelcome to a gbb image\n"
    );
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            &busybox,
            "/bin/busybox",
            "stat",
            "-c",
            "%a %u:%g",
            "/etc/motd"
        ]),
        "640 1000:100\n",
        "COPY --chmod --chown"
    );
    // One layer per ADD, COPY and RUN; a child adds one to its parent's.
    assert_eq!(layer_count(&busybox), 3);
    assert_eq!(layer_count(&stack.id("glibc")), 1);
    assert_eq!(
        layer_count(&stack.id("greet")),
        layer_count(&stack.id("greetlib")) + 1
    );
    // Minimal: the size `docker build` gave the same template, within 1%.
    let size = |image: &str| -> f64 {
        docker(&["image", "inspect", "--format", "{{.Size}}", image])
            .trim()
            .parse()
            .unwrap()
    };
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(
        stack.output_dir("hello").join("rootfs.tar"),
        context.path().join("rootfs.tar"),
    )
    .unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nADD rootfs.tar /\n",
    )
    .unwrap();
    let built_by_docker = format!("{}/hello-by-docker-build:latest", stack.ns);
    docker(&[
        "build",
        "-q",
        "-t",
        &built_by_docker,
        context.path().to_str().unwrap(),
    ]);
    let (ours, docker_build) = (size(&stack.id("hello")), size(&built_by_docker));
    assert!(
        (ours - docker_build).abs() / docker_build < 0.01,
        "hello is {ours} bytes, {docker_build} from docker build"
    );
    // Nothing of the RUN step is left in the engine.
    let leftovers = docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", &busybox]);
    assert!(!leftovers.contains("gbb-run"), "{leftovers}");
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
}

/// One entry of a layer: type, mode, owner, link target, xattrs.
#[derive(Debug)]
struct Entry {
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    link: Option<String>,
    xattrs: BTreeMap<String, Vec<u8>>,
}

/// The entries of the first (root) layer of `image`, as the engine exports it.
fn root_layer_of(image: &str, dir: &std::path::Path) -> BTreeMap<String, Entry> {
    let saved = dir.join("saved.tar");
    docker(&["save", "-o", saved.to_str().unwrap(), image]);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&saved).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if entry.header().entry_type().is_file() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.insert(path, bytes);
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let layer = manifest[0]["Layers"][0].as_str().unwrap();
    let mut entries = BTreeMap::new();
    let mut layer = tar::Archive::new(files[layer].as_slice());
    for entry in layer.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut xattrs = BTreeMap::new();
        if let Some(extensions) = entry.pax_extensions().unwrap() {
            for extension in extensions {
                let extension = extension.unwrap();
                if let Some(name) = extension.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    xattrs.insert(name.to_owned(), extension.value_bytes().to_vec());
                }
            }
        }
        let header = entry.header();
        entries.insert(
            path.trim_end_matches('/').to_owned(),
            Entry {
                kind: header.entry_type(),
                mode: header.mode().unwrap() & 0o7777,
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                link: entry
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned()),
                xattrs,
            },
        );
    }
    entries
}

#[test]
fn set_id_bits_hard_links_owners_and_xattrs_reach_the_image() {
    let stack = E2eStack::new();
    // A hook makes them in the root; python3 (in the test build root) sets the xattrs, as the
    // root has no setcap: a file capability (cap_net_raw, effective) and a user xattr.
    stack.write(
        "busybox",
        "build.sh",
        r#"_packages="sys-apps/busybox-host"
finish_rootfs_build()
{
    local t="${_EMERGE_ROOT}/opt/t"
    mkdir -p "${t}"
    echo data > "${t}/suid"
    chmod 4755 "${t}/suid"
    ln "${t}/suid" "${t}/hardlink"
    echo mine > "${t}/owned"
    chown 1000:1001 "${t}/owned"
    echo cap > "${t}/cap"
    python3 -c 'import os, struct, sys
os.setxattr(sys.argv[1], "security.capability", struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0))
os.setxattr(sys.argv[1], "user.gbb", b"kept")' "${t}/cap"
}
"#,
    );
    stack.gbb(&["build", &stack.id("busybox")]).success();
    let dir = tempfile::tempdir().unwrap();
    let entries = root_layer_of(&stack.id("busybox"), dir.path());
    let entry = |path: &str| {
        entries
            .get(path)
            .unwrap_or_else(|| panic!("{path} is in the layer: {:?}", entries.keys()))
    };

    let suid = entry("opt/t/suid");
    let hardlink = entry("opt/t/hardlink");
    // The first name in sorted order holds the data; the other is a hard link to it.
    assert_eq!(hardlink.kind, tar::EntryType::Regular, "{hardlink:?}");
    assert_eq!(hardlink.mode, 0o4755);
    assert_eq!(suid.kind, tar::EntryType::Link, "{suid:?}");
    assert_eq!(suid.link.as_deref(), Some("opt/t/hardlink"));
    let owned = entry("opt/t/owned");
    assert_eq!((owned.uid, owned.gid), (1000, 1001));
    let cap = entry("opt/t/cap");
    assert_eq!(
        cap.xattrs.get("user.gbb").map(Vec::as_slice),
        Some(&b"kept"[..])
    );
    let capability = cap
        .xattrs
        .get("security.capability")
        .unwrap_or_else(|| panic!("{cap:?}"));
    assert_eq!(&capability[4..8], &(1u32 << 13).to_le_bytes());

    // And the engine runs the image with them.
    let busybox = stack.id("busybox");
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            &busybox,
            "/bin/busybox",
            "stat",
            "-c",
            "%a %u:%g %h",
            "/opt/t/suid",
            "/opt/t/owned"
        ]),
        "4755 0:0 2\n644 1000:1001 1\n"
    );
}

#[test]
fn bad_template_lines_are_refused_with_their_line_before_anything_runs() {
    let stack = E2eStack::new();
    let template =
        std::fs::read_to_string(stack.image_dir("hello").join("Dockerfile.template")).unwrap();
    stack.write(
        "hello",
        "Dockerfile.template",
        &format!("{template}SHELL [\"/bin/bash\", \"-c\"]\n"),
    );
    let line = template.lines().count() + 1;
    let run = stack.gbb(&["build", &stack.id("hello")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "Dockerfile.template` line {line}: unknown instruction `SHELL`"
        )),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty());

    // A FROM other than the parent (or scratch): gbb has no such image to build on.
    stack.write(
        "hello",
        "Dockerfile.template",
        "FROM debian:12\nADD rootfs.tar /\n",
    );
    let run = stack.gbb(&["build", &stack.id("hello")]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "Dockerfile.template` line 1: `FROM debian:12`: gbb builds on the image's parent"
        ),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty());
}

#[test]
fn verify_says_same_for_an_unchanged_image_and_names_the_file_a_dated_hook_writes() {
    let stack = E2eStack::new();
    let (hello, busybox) = (stack.id("hello"), stack.id("busybox"));
    // busybox's hook writes the time of the build into the root.
    stack.write(
        "busybox",
        "build.sh",
        r#"_packages="sys-apps/busybox-host"
finish_rootfs_build()
{
    mkdir -p "${_EMERGE_ROOT}/etc"
    date +%s%N > "${_EMERGE_ROOT}/etc/build-date"
}
"#,
    );
    stack.gbb(&["build", &hello, &busybox]).success();
    let busybox_id = stack.image_id("busybox:latest");

    let run = stack.gbb(&["verify", &hello, &busybox]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let hello_manifest =
        std::fs::read_to_string(stack.output_dir("hello").join("manifest")).unwrap();
    assert!(
        run.stdout
            .contains(&format!("{hello} same {}", hello_manifest.trim())),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!(
            "{busybox} different: file `/etc/build-date` (layer 1): its content differs"
        )),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // Nothing the user sees changed, and nothing is left running.
    assert_eq!(stack.image_id("busybox:latest"), busybox_id);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());

    // The unchanged image alone: exit 0.
    let run = stack.gbb(&["verify", &hello]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
}

//! kubler's in-container contract (issue 8): `build.sh` files written for kubler and for the
//! old gentoo-bb build unchanged in gbb's build containers.
//!
//! One stack exercises every helper and variable in its kubler form, so that the builds are
//! shared: a builder (`kbob`) whose hook fixes the profile link, adds an overlay from a git
//! repository in a local folder (`file://`) and provides a package by its plain atom; an
//! image on it (`kbase`) with patches, USE unmasking, users, downloads, `sed-or-die` and the
//! gcc and gfortran libraries; two children built in its kept state, one in kubler's names
//! (`kchild`: `_headers_from`, `BOB_INSTALL_BASELAYOUT`, ...) and one in the seed's (`kseed`:
//! `PACKAGES`, `KEEP_HEADERS`, `EMERGE_BIN`, `configure_bob`, ...); and a rebuild of `kbase`
//! for `_no_cache`. What each hook saw is written into its root (`usr/share/kubler-checks`) and
//! read back from `rootfs.tar`. A second stack builds an image of Gentoo's `acct-user` kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{self, E2eStack};

/// One entry of a `rootfs.tar`: its content (files), link target (links) and owner.
#[derive(Debug)]
struct Entry {
    content: String,
    link: Option<String>,
    uid: u64,
    gid: u64,
}

/// The entries of a `rootfs.tar`, by path without the leading `./`.
fn rootfs(path: &Path) -> BTreeMap<String, Entry> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(file);
    let mut entries = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let name = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| l.to_string_lossy().into_owned());
        let (uid, gid) = (entry.header().uid().unwrap(), entry.header().gid().unwrap());
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        entries.insert(
            name,
            Entry {
                content: String::from_utf8_lossy(&content).into_owned(),
                link,
                uid,
                gid,
            },
        );
    }
    entries
}

#[track_caller]
fn content<'a>(entries: &'a BTreeMap<String, Entry>, path: &str) -> &'a str {
    &entries
        .get(path)
        .unwrap_or_else(|| panic!("no `{path}` in the root: {:?}", entries.keys()))
        .content
}

#[track_caller]
fn assert_has(entries: &BTreeMap<String, Entry>, path: &str) {
    assert!(
        entries.contains_key(path),
        "no `{path}` in the root: {:?}",
        entries.keys()
    );
}

#[track_caller]
fn assert_lacks(entries: &BTreeMap<String, Entry>, path: &str) {
    assert!(
        !entries.contains_key(path),
        "`{path}` should not be in the root"
    );
}

/// Writes `files` (path, content) under `dir`.
fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// A small ebuild repository, `gbbtest`, committed to a git repository in `dir`: a package with
/// a USE flag, two files to patch, a header and a static library; and a baselayout that brings
/// its own `/etc/passwd`.
fn overlay(dir: &Path) {
    write_tree(
        dir,
        &[
            ("profiles/repo_name", "gbbtest\n"),
            (
                "metadata/layout.conf",
                "masters = gentoo\nthin-manifests = true\nsign-manifests = false\n",
            ),
            (
                "app-misc/motd/motd-1.0.ebuild",
                r#"# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A message of the day (kubler contract test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"
IUSE="shout"

RDEPEND="sys-libs/glibc-host"

src_unpack() {
	cp "${FILESDIR}"/motd.txt "${FILESDIR}"/footer.txt "${FILESDIR}"/motd.h "${S}"/ || die
}

src_compile() {
	if use shout; then
		tr 'a-z' 'A-Z' < motd.txt > motd.out || die
	else
		cp motd.txt motd.out || die
	fi
	printf '!<arch>\n' > libmotd.a || die
}

src_install() {
	insinto /usr/share/motd
	newins motd.out motd.txt
	doins footer.txt
	insinto /usr/include
	doins motd.h
	insinto /usr/lib
	doins libmotd.a
}
"#,
            ),
            ("app-misc/motd/files/motd.txt", "hello from motd\n"),
            ("app-misc/motd/files/footer.txt", "plain footer\n"),
            ("app-misc/motd/files/motd.h", "#define MOTD 1\n"),
            (
                "sys-apps/baselayout/baselayout-1.0.ebuild",
                r#"# Copyright 2026 gentoo-bb developers
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="A minimal base layout (kubler contract test package)"
HOMEPAGE="https://example.org/gentoo-bb"
S="${WORKDIR}"

LICENSE="MIT"
SLOT="0"
KEYWORDS="amd64"

src_compile() {
	printf 'root:x:0:0:root:/root:/bin/sh\nbasel:x:999:999::/:/bin/false\n' > passwd || die
	echo "gbb test baselayout" > gbb-baselayout || die
}

src_install() {
	insinto /etc
	doins passwd gbb-baselayout
}
"#,
            ),
        ],
    );
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "gbb tests")
            .env("GIT_AUTHOR_EMAIL", "tests@example.org")
            .env("GIT_COMMITTER_NAME", "gbb tests")
            .env("GIT_COMMITTER_EMAIL", "tests@example.org")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "gbbtest overlay"]);
}

const BUILDER_SH: &str = r#"#
# A kubler builder: its hook runs once, and every image built in it inherits the result.
#
configure_builder()
{
    fix_portage_profile_symlink
    add_overlay gbbtest file:///srv/overlay-src
    # Known now, so a second call does nothing.
    is_installed_overlay gbbtest
    add_overlay gbbtest file:///srv/overlay-src
    provide_package sys-libs/glibc-host
    echo 'app-misc/motd shout' >> /etc/portage/profile/package.use.mask
    echo "${CFLAGS}" > /etc/gbb-builder-cflags
    printf '#!/bin/sh\necho "emerge-logged: $*"\nexec emerge "$@"\n' > /usr/local/bin/emerge-logged
    chmod 755 /usr/local/bin/emerge-logged
}
"#;

const KBASE_SH: &str = r#"#
# kubler phase 1 config
#
_packages="dev-libs/libgreet app-misc/motd"
_no_cache="app-misc/motd"
_no_cache_20260101="dev-libs/libgreet"
_checks="${_EMERGE_ROOT}/usr/share/kubler-checks"

configure_rootfs_build()
{
    init_docs "${BOB_CURRENT_TARGET}"
    mkdir -p "${_checks}"
    cp /etc/portage/profile/package.provided "${_checks}/provided"
    cp /etc/gbb-builder-cflags "${_checks}/builder-cflags"
    echo "${CFLAGS}" > "${_checks}/image-cflags"
    unmask_use app-misc/motd shout
    update_use app-misc/motd +shout
    add_patch app-misc/motd file:///config/motd-fix.patch
    add_patch app-misc/motd footer.diff
    groupadd -g 4242 gbbgrp
    useradd -u 4242 -g gbbgrp -d /home/gbbusr -s /bin/false gbbusr
    mkdir -p "${_EMERGE_ROOT}"/home/gbbusr
    chown gbbusr:gbbgrp "${_EMERGE_ROOT}"/home/gbbusr
}

finish_rootfs_build()
{
    local status
    download_file file:///config/data.txt "data-@NS@.txt"
    mkdir -p "${_EMERGE_ROOT}"/usr/share/data
    cp "${__download_file}" "${_EMERGE_ROOT}"/usr/share/data/data.txt
    sed-or-die 'hello' 'goodbye' "${_EMERGE_ROOT}"/usr/share/data/data.txt
    status=0
    sed-or-die 'absent' 'x' "${_EMERGE_ROOT}"/usr/share/data/data.txt || status=$?
    echo "no match: ${status}" > "${_checks}/sed-or-die"
    status=0
    sed-or-die 'absent' 'x' /no/such/file || status=$?
    echo "no file: ${status}" >> "${_checks}/sed-or-die"

    # A server that breaks the download off after 1000 of 100000 bytes.
    python3 -c '
import socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8765))
server.listen(1)
open("/tmp/partial-ready", "w").close()
connection, _ = server.accept()
connection.recv(65536)
connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
connection.close()
' &
    until [[ -f /tmp/partial-ready ]]; do sleep 0.1; done
    status=0
    download_file http://127.0.0.1:8765/partial.bin "partial-@NS@.bin" || status=$?
    wait
    echo "status ${status}, left: $(ls -a /distfiles | grep -c 'partial-@NS@' || true)" > "${_checks}/partial"

    copy_gcc_libs
    copy_gfortran_libs
    # A builder whose gcc was built without Fortran (USE=-fortran): its library hidden a moment.
    local gfortran
    gfortran=$(gcc -print-file-name=libgfortran.so.5)
    mv "${gfortran}" /tmp/hidden-libgfortran
    status=0
    copy_gfortran_libs 2> "${_checks}/gfortran" || status=$?
    mv /tmp/hidden-libgfortran "${gfortran}"
    echo "status ${status}" >> "${_checks}/gfortran"
    touch "${_EMERGE_ROOT}/${_LIB}/probe.o"

    # kubler's glibc image keeps its iconv modules for _iconv_from this way.
    mkdir -p "${_EMERGE_ROOT}"/usr/lib/gconv
    echo utf7 > "${_EMERGE_ROOT}"/usr/lib/gconv/UTF-7.so
    tar -cpf "${_ROOTFS_BACKUP}"/kbase-iconv.tar "${_EMERGE_ROOT}"/usr/lib/gconv/
    rm -rf "${_EMERGE_ROOT}"/usr/lib/gconv

    log_as_installed "manual install" "data-1.0" "file:///config/data.txt"
}
"#;

const MOTD_PATCH: &str =
    "--- a/motd.txt\n+++ b/motd.txt\n@@ -1 +1 @@\n-hello from motd\n+hello from the patched motd\n";
const FOOTER_PATCH: &str =
    "--- a/footer.txt\n+++ b/footer.txt\n@@ -1 +1 @@\n-plain footer\n+patched footer\n";

const KCHILD_SH: &str = r#"#
# kubler phase 1 config, in the kept state of its parent
#
_packages="app-misc/greet-tools app-misc/hello-static"
_keep_headers=true
_keep_static_libs=true
_headers_from=@NS@/kbase
_static_libs_from=@NS@/kbase
_iconv_from=@NS@/kbase
BOB_INSTALL_BASELAYOUT=true
BOB_SKIP_LIB_CLEANUP=true
_checks="${_EMERGE_ROOT}/usr/share/kubler-checks"

configure_builder()
{
    mkdir -p "${_checks}"
    echo "${CFLAGS}" > "${_checks}/builder-cflags"
}

configure_rootfs_build()
{
    echo "${CFLAGS}" > "${_checks}/image-cflags"
    provide_package app-misc/hello-static-1.1 app-misc/greet
    cp /etc/portage/profile/package.provided "${_checks}/provided"
    unprovide_package app-misc/hello-static app-misc/greet-1.0
    cp /etc/portage/profile/package.provided "${_checks}/unprovided"
    useradd -u 4343 -d /home/kid -s /bin/false kid
    # flaggie's forms: flags for every package, and a keyword named by its kind.
    update_use -nls
    update_use app-misc/greet-tools +kw::~amd64
    cp /etc/portage/package.use/gbb "${_checks}/package.use"
    cp /etc/portage/package.accept_keywords/gbb "${_checks}/accept_keywords"
}

finish_rootfs_build()
{
    uninstall_package app-misc/hello-static
    mkdir -p "${_EMERGE_ROOT}/${_LIB}"
    touch "${_EMERGE_ROOT}/${_LIB}/probe.o"
}
"#;

const KSEED_SH: &str = r#"#
# build config of the old gentoo-bb, sourced by build-root.sh inside the build container
#
PACKAGES="app-misc/greet"
KEEP_HEADERS=true
KEEP_STATIC_LIBS=true
HEADERS_FROM=@NS@/kbase
STATIC_LIBS_FROM=@NS@/kbase
EMERGE_BIN="emerge-logged"
EMERGE_OPT="--jobs=2"

configure_bob() {
    echo "configure_bob ran" > /etc/gbb-seed-bob
}

finish_rootfs_build()
{
    mkdir -p $EMERGE_ROOT/usr/share/seed
    cp /etc/gbb-seed-bob $EMERGE_ROOT/usr/share/seed/
    local status=0
    download_from_oracle http://example.org/jdk.tar.gz || status=$?
    echo "oracle: ${status}" > $EMERGE_ROOT/usr/share/seed/oracle
}
"#;

const TEMPLATE: &str =
    "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\"\n\nADD rootfs.tar /\n";

/// The shared download cache, where `download_file` keeps what it fetched.
fn distfiles() -> PathBuf {
    std::env::var_os("GBB_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/gbb")
        })
        .join("distfiles")
}

#[test]
fn kubler_build_scripts_work_unchanged() {
    let stack = E2eStack::new();
    let ns = stack.ns.clone();
    let overlay_dir = tempfile::tempdir().unwrap();
    overlay(overlay_dir.path());
    let with_ns = |text: &str| text.replace("@NS@", &ns);

    stack.write_builder(
        "kbob",
        "build.conf",
        &format!(
            "BUILDER_MOUNTS=(\"{}:/srv/overlay-src:ro\")\nBOB_BUILDER_CFLAGS=\"-O1 -pipe -DGBB_BUILDER\"\n",
            overlay_dir.path().display()
        ),
    );
    stack.write_builder("kbob", "build.sh", BUILDER_SH);
    stack.write_builder(
        "kbob",
        "Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nLABEL maintainer=\"${MAINTAINER}\"\n",
    );
    stack.write(
        "kbase",
        "build.conf",
        "IMAGE_PARENT=\"scratch\"\nBUILDER=\"${NAMESPACE}/kbob\"\n",
    );
    stack.write("kbase", "build.sh", &with_ns(KBASE_SH));
    stack.write("kbase", "Dockerfile.template", TEMPLATE);
    stack.write("kbase", "motd-fix.patch", MOTD_PATCH);
    stack.write("kbase", "footer.diff", FOOTER_PATCH);
    stack.write("kbase", "data.txt", "hello world\nsay hello twice: hello\n");
    // These images test the build's steps, not images that run: the builder provides
    // glibc-host instead of installing it, so their programs have no C library, and gbb's
    // loader check is told so (issue 15).
    let waiver = "ALLOW_MISSING_LIBS=\"/usr/bin/greet*\"\n";
    stack.write(
        "kchild",
        "build.conf",
        &format!(
            "IMAGE_PARENT=\"${{NAMESPACE}}/kbase\"\nBOB_EMERGE_BIN=\"emerge-logged\"\n\
             BOB_EMERGE_OPT=\"--jobs=1\"\nBOB_BUILDER_CFLAGS=\"-O1 -DGBB_CHILD_BUILDER\"\n{waiver}"
        ),
    );
    stack.write("kchild", "build.sh", &with_ns(KCHILD_SH));
    stack.write("kchild", "Dockerfile.template", TEMPLATE);
    stack.write(
        "kseed",
        "build.conf",
        &format!("IMAGE_PARENT=\"${{NAMESPACE}}/kbase\"\nBOB_KEEP_BUILD_LOG=true\n{waiver}"),
    );
    stack.write("kseed", "build.sh", &with_ns(KSEED_SH));
    stack.write("kseed", "Dockerfile.template", TEMPLATE);

    let (kbase, kchild, kseed) = (stack.id("kbase"), stack.id("kchild"), stack.id("kseed"));
    let run = stack.gbb(&["build", "-j", "2", &kchild, &kseed]);
    run.success();
    for id in [&kbase, &kchild, &kseed] {
        assert_eq!(run.result_of(id), "built", "{}", run.stderr);
    }

    // The builder: profile link fixed, overlay cloned, glibc-host provided by its version.
    let base = rootfs(&stack.output_dir("kbase").join("rootfs.tar"));
    let checks = "usr/share/kubler-checks";
    let provided = content(&base, &format!("{checks}/provided"));
    assert!(
        provided.lines().any(|l| l == "sys-libs/glibc-host-2.36"),
        "{provided}"
    );
    assert_lacks(&base, "lib/x86_64-linux-gnu/libc.so.6");
    let builder_log = stack.log("kbob");
    assert!(
        builder_log.contains("make.profile now points at /var/db/repos/gentoo/profiles/"),
        "{builder_log}"
    );
    // BOB_BUILDER_CFLAGS in configure_builder, BOB_CFLAGS in the image's hooks.
    assert_eq!(
        content(&base, &format!("{checks}/builder-cflags")),
        "-O1 -pipe -DGBB_BUILDER\n"
    );
    assert_eq!(
        content(&base, &format!("{checks}/image-cflags")),
        "-O2 -pipe\n"
    );

    // The overlay's package, with the masked flag unmasked and both patches (URL and file).
    assert_eq!(
        content(&base, "usr/share/motd/motd.txt"),
        "HELLO FROM THE PATCHED MOTD\n"
    );
    assert_eq!(
        content(&base, "usr/share/motd/footer.txt"),
        "patched footer\n"
    );
    // Headers and static libraries purged from the image (kept for children).
    assert_lacks(&base, "usr/include/motd.h");
    assert_lacks(&base, "usr/lib/libmotd.a");

    // useradd in a hook reaches the image, and so do the owners the hook set.
    assert!(
        content(&base, "etc/passwd")
            .lines()
            .any(|l| l.starts_with("gbbusr:x:4242:4242:")),
        "{}",
        content(&base, "etc/passwd")
    );
    assert!(content(&base, "etc/group").contains("gbbgrp:x:4242:"));
    assert!(content(&base, "etc/shadow").contains("gbbusr:"));
    let home = &base["home/gbbusr"];
    assert_eq!((home.uid, home.gid), (4242, 4242));

    // download_file with __download_file, then sed-or-die and its exit codes.
    assert_eq!(
        content(&base, "usr/share/data/data.txt"),
        "goodbye world\nsay goodbye twice: goodbye\n"
    );
    assert_eq!(
        content(&base, &format!("{checks}/sed-or-die")),
        "no match: 3\nno file: 5\n"
    );
    // A download broken off leaves nothing, and says so.
    assert_eq!(
        content(&base, &format!("{checks}/partial")),
        "status 1, left: 0\n"
    );
    let base_log = stack.log("kbase");
    assert!(
        base_log
            .contains("gbb: download_file: could not download http://127.0.0.1:8765/partial.bin"),
        "{base_log}"
    );
    assert!(distfiles().join(format!("data-{ns}.txt")).is_file());
    let left: Vec<_> = std::fs::read_dir(distfiles())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.contains(&format!("partial-{ns}")).then_some(name)
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // gcc's and gfortran's run-time libraries (libgfortran needs libquadmath) into the library
    // folder, as the shared objects themselves; a builder without gfortran said in one line.
    for lib in [
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libgomp.so.1",
        "libgfortran.so.5",
        "libquadmath.so.0",
    ] {
        assert_has(&base, &format!("lib/{lib}"));
        let entry = &base[&format!("lib/{lib}")];
        assert!(
            entry.link.is_none() && entry.content.starts_with("\u{7f}ELF"),
            "lib/{lib} is not a shared object"
        );
    }
    assert_eq!(
        content(&base, &format!("{checks}/gfortran")),
        "gbb: copy_gfortran_libs: the builder has no libgfortran.so.5\nstatus 1\n"
    );
    // Object files in library folders are cleaned up.
    assert_lacks(&base, "lib/probe.o");
    assert_lacks(&base, "usr/lib/gconv/UTF-7.so");
    let packages_md =
        std::fs::read_to_string(stack.image_dir("kbase").join("PACKAGES.md")).unwrap();
    assert!(
        packages_md.contains("| *manual install*: data-1.0 | file:///config/data.txt |"),
        "{packages_md}"
    );

    // The kubler child: headers, static libraries and iconv modules of its parent, kept.
    let child = rootfs(&stack.output_dir("kchild").join("rootfs.tar"));
    for path in [
        "usr/include/motd.h",
        "usr/include/greet.h",
        "usr/lib/libmotd.a",
        "usr/lib/gconv/UTF-7.so",
        "usr/bin/greet-count",
        "etc/gbb-baselayout",
        "lib/probe.o",
    ] {
        assert_has(&child, path);
    }
    assert_eq!(child["var/run"].link.as_deref(), Some("/run"));
    // uninstall_package took it out of the root again.
    assert_lacks(&child, "usr/bin/hello");
    // provide_package with a CPV and with an atom; unprovide_package with both.
    let provided = content(&child, &format!("{checks}/provided"));
    assert!(
        provided.lines().any(|l| l == "app-misc/hello-static-1.1"),
        "{provided}"
    );
    assert!(
        provided.lines().any(|l| l == "app-misc/greet-1.0"),
        "{provided}"
    );
    let unprovided = content(&child, &format!("{checks}/unprovided"));
    assert!(
        !unprovided.contains("hello-static") && !unprovided.contains("app-misc/greet-1.0"),
        "{unprovided}"
    );
    assert!(
        unprovided.contains("sys-libs/glibc-host-2.36"),
        "{unprovided}"
    );
    // The builder's accounts (the parent's user and its own) and the baselayout's own entry.
    let passwd = content(&child, "etc/passwd");
    for user in ["gbbusr:x:4242:", "kid:x:4343:", "basel:x:999:"] {
        assert!(passwd.lines().any(|l| l.starts_with(user)), "{passwd}");
    }
    let package_use = content(&child, &format!("{checks}/package.use"));
    assert!(
        package_use.lines().any(|l| l == "*/* -nls"),
        "{package_use}"
    );
    let keywords = content(&child, &format!("{checks}/accept_keywords"));
    assert!(
        keywords.lines().any(|l| l == "app-misc/greet-tools ~amd64"),
        "{keywords}"
    );
    assert_eq!(
        content(&child, &format!("{checks}/builder-cflags")),
        "-O1 -DGBB_CHILD_BUILDER\n"
    );
    assert_eq!(
        content(&child, &format!("{checks}/image-cflags")),
        "-O2 -pipe\n"
    );
    let child_log = stack.log("kchild");
    assert!(
        child_log.contains("emerge-logged: ") && child_log.contains("--jobs=1"),
        "BOB_EMERGE_BIN and BOB_EMERGE_OPT: {child_log}"
    );

    // The seed's names.
    let seed = rootfs(&stack.output_dir("kseed").join("rootfs.tar"));
    for path in [
        "usr/bin/greet",
        "usr/include/greet.h",
        "usr/include/motd.h",
        "usr/lib/libmotd.a",
    ] {
        assert_has(&seed, path);
    }
    assert_eq!(
        content(&seed, "usr/share/seed/gbb-seed-bob"),
        "configure_bob ran\n"
    );
    assert_eq!(content(&seed, "usr/share/seed/oracle"), "oracle: 1\n");
    let seed_log = stack.log("kseed");
    assert!(
        seed_log.contains("emerge-logged: ") && seed_log.contains("--jobs=2"),
        "EMERGE_BIN and EMERGE_OPT: {seed_log}"
    );
    assert!(
        seed_log.contains("gbb: download_from_oracle: not supported by gbb"),
        "{seed_log}"
    );
    // BOB_KEEP_BUILD_LOG: Portage's build log of greet, next to gbb's output of the image.
    let logs: Vec<String> = std::fs::read_dir(stack.output_dir("kseed").join("portage-logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.iter().any(|name| name.contains("greet-1.0")),
        "{logs:?}"
    );

    // _no_cache: phase 1 again. motd is built again every time, libgreet only once for its tag
    // (the first build), so it comes from the binary package now.
    stack.gbb(&["build", "-F", "-n", &kbase]).success();
    let log = stack.log("kbase");
    assert!(
        log.contains("gbb: _no_cache: app-misc/motd is built again"),
        "{log}"
    );
    assert!(!log.contains("dev-libs/libgreet is built again"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains(">>> Emerging (") && l.contains("app-misc/motd-1.0")),
        "motd built from source: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(">>> Emerging binary (") && l.contains("dev-libs/libgreet-1.0")),
        "libgreet from its binary package: {log}"
    );

    let _ = std::fs::remove_file(distfiles().join(format!("data-{ns}.txt")));
}

/// Gentoo's way to make users and groups: `acct-user/gbbdemo` (and the `acct-group/gbbdemo` it
/// depends on, both in the example tree, on our `acct-user`/`acct-group` eclasses) run
/// `useradd`/`groupadd` in `pkg_preinst`, with `--prefix "${ROOT}"` for the image's root and
/// without for the builder's. The image has the user and the group as the packages define
/// them, with the shadow entries a root of its own would lack, and the home folder owned by
/// them.
#[test]
fn acct_user_packages_reach_the_image() {
    let stack = E2eStack::new();
    stack.write("accounts", "build.conf", "IMAGE_PARENT=\"scratch\"\n");
    stack.write("accounts", "build.sh", "_packages=\"acct-user/gbbdemo\"\n");
    stack.write("accounts", "Dockerfile.template", TEMPLATE);
    let accounts = stack.id("accounts");
    stack.gbb(&["build", &accounts]).success();

    let root = rootfs(&stack.output_dir("accounts").join("rootfs.tar"));
    let entry = |file: &str, name: &str| -> String {
        content(&root, file)
            .lines()
            .find(|l| l.split(':').next() == Some(name))
            .unwrap_or_else(|| panic!("no `{name}` in {file}: {}", content(&root, file)))
            .to_owned()
    };
    assert_eq!(
        entry("etc/passwd", "gbbdemo"),
        "gbbdemo:x:4501:4502:gentoo-bb demo user:/var/lib/gbbdemo:/sbin/nologin"
    );
    assert_eq!(entry("etc/group", "gbbdemo"), "gbbdemo:x:4502:");
    assert!(
        entry("etc/shadow", "gbbdemo").starts_with("gbbdemo:!"),
        "a locked password: {}",
        entry("etc/shadow", "gbbdemo")
    );
    assert!(entry("etc/gshadow", "gbbdemo").starts_with("gbbdemo:!"));
    let home = &root["var/lib/gbbdemo"];
    assert_eq!((home.uid, home.gid), (4501, 4502));
    let log = stack.log("accounts");
    assert!(
        log.contains("carried the accounts of /etc/passwd into the image"),
        "{log}"
    );
    // Both packages ran their phases in both roots: the image's (`--prefix`) and the builder's.
    assert_eq!(
        log.matches("Adding user gbbdemo (4501)").count(),
        2,
        "{log}"
    );

    // The tagged image has them as well.
    let image = format!("{accounts}:latest");
    let created = harness::docker(&["create", &image, "none"]);
    let container = created.trim();
    let passwd = Command::new("docker")
        .args(["cp", &format!("{container}:/etc/passwd"), "-"])
        .output()
        .unwrap();
    harness::docker(&["rm", container]);
    let mut archive = tar::Archive::new(passwd.stdout.as_slice());
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut archive.entries().unwrap().next().unwrap().unwrap(),
        &mut text,
    )
    .unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("gbbdemo:x:4501:4502:")),
        "{text}"
    );
}

//! The check on real ELF files: programs and libraries compiled with the host's `cc`, the
//! host's loader and C library, in images made as tars (see `support`).

use gbb_elf::{FileIndex, Hint, KnownImage, Needed, Waivers, check};
use insta::assert_snapshot;

use crate::support::{Compiler, Image, glibc_image, hello, host_libc, lines};

/// Checks `image` over `parents` with no known images and no waivers, as lines.
fn check_lines(image: &FileIndex, parents: &[&FileIndex]) -> String {
    lines(&check(image, parents, &[], &Waivers::none()))
}

#[test]
fn a_program_without_libc_misses_its_loader_and_libc() {
    let image = Image::new().file("/usr/bin/hello", hello()).index();
    let findings = check(&image, &[], &[], &Waivers::none());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].path, "/usr/bin/hello");
    let needed: Vec<_> = findings[0]
        .missing
        .iter()
        .map(|m| m.needed.clone())
        .collect();
    assert_eq!(
        needed,
        [
            Needed::Loader("/lib64/ld-linux-x86-64.so.2".into()),
            Needed::Library("libc.so.6".into())
        ]
    );
    assert_snapshot!("from_scratch", lines(&findings));
}

#[test]
fn a_known_image_with_libc_is_named_in_the_hint() {
    let image = Image::new().file("/usr/bin/hello", hello()).index();
    let glibc = glibc_image();
    let busybox = Image::new()
        .file("/bin/busybox", b"not an ELF file")
        .index();
    let known = [
        KnownImage {
            name: "ns/busybox",
            index: &busybox,
        },
        KnownImage {
            name: "ns/glibc",
            index: &glibc,
        },
    ];
    let findings = check(&image, &[], &known, &Waivers::none());
    assert_eq!(
        findings[0].missing[1].hint,
        Some(Hint::ProvidedBy(vec!["ns/glibc".into()]))
    );
    assert_snapshot!("provided_by_a_known_image", lines(&findings));
}

#[test]
fn loader_and_libc_in_the_image_satisfy_it() {
    let image = Image::new()
        .with_glibc()
        .file("/usr/bin/hello", hello())
        .index();
    assert_eq!(check_lines(&image, &[]), "");
}

#[test]
fn loader_and_libc_in_the_parent_satisfy_it() {
    let image = Image::new().file("/usr/bin/hello", hello()).index();
    assert_eq!(check_lines(&image, &[&glibc_image()]), "");
}

#[test]
fn a_library_of_the_grandparent_is_found() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    let image = Image::new().file("/usr/bin/app", &app).index();
    let parent = Image::new().file("/usr/bin/hello", hello()).index();
    let grandparent = Image::new()
        .with_glibc()
        .file("/usr/lib64/libgreet.so.1", &greet)
        .index();
    // Ancestors are read from their saved indexes, as in a build.
    let dir = tempfile::tempdir().unwrap();
    grandparent.save(&dir.path().join("files.json")).unwrap();
    let grandparent = FileIndex::load(&dir.path().join("files.json")).unwrap();
    assert_eq!(check_lines(&image, &[&parent, &grandparent]), "");
    // Without the grandparent, nothing provides it.
    assert_snapshot!(
        "without_the_grandparent",
        check_lines(&image, &[&parent, &glibc_image()])
    );
}

#[test]
fn an_origin_runpath_is_honoured() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet", "-Wl,-rpath,$ORIGIN/../lib"]);
    let glibc = glibc_image();
    let image = Image::new()
        .file("/opt/app/bin/app", &app)
        .file("/opt/app/lib/libgreet.so.1", &greet)
        .index();
    assert_eq!(check_lines(&image, &[&glibc]), "");
    // Moved away from `$ORIGIN/../lib`, the library is not found, and the hint says where it is.
    let moved = Image::new()
        .file("/opt/app/bin/app", &app)
        .file("/opt/app/libexec/libgreet.so.1", &greet)
        .index();
    assert_snapshot!("origin_moved", check_lines(&moved, &[&glibc]));
}

/// `-lgreet` needs `libgreet.so.1`, which needs `libinner.so.1`; both are in `/opt/a/lib`, and
/// only the program names that folder.
fn rpath_images(dtags: &str) -> (FileIndex, String) {
    let cc = Compiler::new();
    let inner = cc.library("inner", &[], &[]);
    let greet = cc.library("greet", &["inner"], &["-linner"]);
    let app = cc.program(
        "app",
        &["greet"],
        &["-lgreet", dtags, "-Wl,-rpath,/opt/a/lib"],
    );
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/opt/a/lib/libgreet.so.1", &greet)
        .file("/opt/a/lib/libinner.so.1", &inner)
        .index();
    let findings = check_lines(&image, &[&glibc_image()]);
    let tags = match &image.get("/usr/bin/app") {
        Some(gbb_elf::Entry::Elf(info)) => {
            format!("rpath {:?}, runpath {:?}", info.rpath, info.runpath)
        }
        other => panic!("the program is not an ELF entry: {other:?}"),
    };
    (image, format!("{tags}\n{findings}"))
}

#[test]
fn rpath_is_inherited_and_runpath_is_not() {
    // DT_RPATH of the program is searched for its libraries' needs too.
    let (_, rpath) = rpath_images("-Wl,--disable-new-dtags");
    assert_eq!(rpath, "rpath Some(\"/opt/a/lib\"), runpath None\n");
    // DT_RUNPATH is searched only for the program's own needs.
    let (_, runpath) = rpath_images("-Wl,--enable-new-dtags");
    assert_snapshot!("runpath_not_inherited", runpath);
}

#[test]
fn ld_so_conf_includes_add_folders() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    // The parent has the main file with a relative include; the child adds a file it includes.
    let parent = Image::new()
        .with_glibc()
        .file(
            "/etc/ld.so.conf",
            b"# made by env-update\ninclude ld.so.conf.d/*.conf\n/usr/local/lib64\n",
        )
        .index();
    let with_conf = Image::new()
        .file("/usr/bin/app", &app)
        .file("/opt/greet/lib/libgreet.so.1", &greet)
        .file(
            "/etc/ld.so.conf.d/05greet.conf",
            b"/opt/greet/lib # greet\n",
        )
        .index();
    assert_eq!(check_lines(&with_conf, &[&parent]), "");

    let without_conf = Image::new()
        .file("/usr/bin/app", &app)
        .file("/opt/greet/lib/libgreet.so.1", &greet)
        .file("/etc/ld.so.conf.d/.hidden.conf", b"/opt/greet/lib\n")
        .index();
    assert_snapshot!(
        "a_hidden_conf_file_is_not_included",
        check_lines(&without_conf, &[&parent])
    );
}

#[test]
fn a_static_program_passes() {
    let cc = Compiler::new();
    let program = cc.program("static", &[], &["-static"]);
    let image = Image::new().file("/bin/static", &program).index();
    assert!(
        matches!(image.get("/bin/static"), Some(gbb_elf::Entry::Elf(info)) if info.interpreter.is_none()),
        "a static program is indexed, without a loader"
    );
    assert_eq!(check_lines(&image, &[]), "");
}

#[test]
fn a_script_and_data_pass() {
    let image = Image::new()
        .file("/usr/bin/tool", b"#!/bin/sh\nexec /usr/bin/hello \"$@\"\n")
        .file("/usr/share/data.bin", b"\x7fELF")
        .file("/usr/share/empty", b"")
        .index();
    assert!(image.is_empty(), "{image:?}");
    assert_eq!(check_lines(&image, &[]), "");
}

#[test]
fn a_library_nothing_loads_passes() {
    let cc = Compiler::new();
    // libinner is compiled for linking only; the image lacks it.
    cc.library("inner", &[], &[]);
    let greet = cc.library("greet", &["inner"], &["-linner"]);
    let image = Image::new()
        .file("/usr/lib64/libgreet.so.1", &greet)
        .index();
    assert_eq!(check_lines(&image, &[]), "");
}

#[test]
fn waived_files_pass() {
    let cc = Compiler::new();
    // libinner is compiled for linking only; the image lacks it.
    cc.library("inner", &[], &[]);
    let greet = cc.library("greet", &["inner"], &["-linner"]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    let image = Image::new()
        .file("/usr/bin/hello", hello())
        .file("/opt/gpu/bin/tool", hello())
        .file("/usr/bin/app", &app)
        .file("/usr/lib64/libgreet.so.1", &greet)
        .index();
    let parents = [&glibc_image()];
    let unwaived = check(&image, &[], &[], &Waivers::none());
    assert_eq!(unwaived.len(), 4, "{}", lines(&unwaived));

    // Programs by exact path and by glob, and a library whose own need is missing.
    let waivers = Waivers::parse("/usr/bin/hello /opt/gpu/** usr/lib64/libgreet.so.1").unwrap();
    let findings = check(&image, &[], &[], &waivers);
    assert_snapshot!("waived", lines(&findings));
    assert!(check(&image, &parents, &[], &waivers).is_empty());
}

#[test]
fn a_library_is_reported_once_at_the_file_that_needs_it() {
    let cc = Compiler::new();
    // libinner is compiled for linking only; the image lacks it.
    cc.library("inner", &[], &[]);
    let greet = cc.library("greet", &["inner"], &["-linner"]);
    // Three programs load libgreet, whose libinner is missing: one line, for libgreet.
    let a = cc.program("a", &["greet"], &["-lgreet"]);
    // `both` needs libinner itself too: reported at `both`, not again at libgreet for it.
    let both = cc.program("both", &["greet", "inner"], &["-lgreet", "-linner"]);
    let image = Image::new()
        .file("/usr/bin/a", &a)
        .file("/usr/bin/b", &a)
        .file("/usr/bin/c", &a)
        .file("/usr/bin/both", &both)
        .file("/usr/lib64/libgreet.so.1", &greet)
        .index();
    assert_snapshot!("reported_once", check_lines(&image, &[&glibc_image()]));
}

#[test]
fn a_library_needed_only_by_a_missing_library_is_not_reported() {
    let cc = Compiler::new();
    // Both are compiled for linking only; the image has neither.
    cc.library("inner", &[], &[]);
    cc.library("greet", &["inner"], &["-linner"]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    // libgreet is missing, so its own need (libinner) cannot even be known.
    let image = Image::new().file("/usr/bin/app", &app).index();
    assert_snapshot!(
        "only_the_first_missing",
        check_lines(&image, &[&glibc_image()])
    );
}

#[test]
fn a_symlink_chain_resolves() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    let host = host_libc();
    // A merged-/usr layout: `/lib64` is a link, the loader and libc live in `/usr/lib64`
    // under versioned names.
    let parent = Image::new()
        .symlink("/lib64", "usr/lib64")
        .file("/usr/lib64/ld-2.36.so", &host.loader)
        .symlink("/usr/lib64/ld-linux-x86-64.so.2", "ld-2.36.so")
        .file("/usr/lib64/libc-2.36.so", &host.libc)
        .symlink("/usr/lib64/libc.so.6", "/lib64/libc-2.36.so")
        .index();
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/usr/lib64/libgreet.so.1.2.3", &greet)
        .symlink("/usr/lib64/libgreet.so.1.2", "libgreet.so.1.2.3")
        .symlink("/usr/lib64/libgreet.so.1", "../lib64/./libgreet.so.1.2")
        .index();
    assert_eq!(check_lines(&image, &[&parent]), "");
}

#[test]
fn a_broken_symlink_counts_as_missing() {
    let cc = Compiler::new();
    cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .symlink("/usr/lib64/libgreet.so.1", "libgreet.so.1.2")
        .symlink("/usr/lib/libgreet.so.1", "libgreet.so.1")
        .index();
    assert_snapshot!("broken_symlink", check_lines(&image, &[&glibc_image()]));
}

#[test]
fn a_symlink_loop_counts_as_missing() {
    let image = Image::new()
        .file("/usr/bin/hello", hello())
        .symlink("/lib64", "lib64")
        .file("/usr/lib64/libc.so.6", &host_libc().libc)
        .index();
    assert_snapshot!("symlink_loop", check_lines(&image, &[]));
}

/// A minimal 32-bit ELF header: a little-endian x86 shared object without segments.
fn elf32_library() -> Vec<u8> {
    let mut header = vec![0u8; 52];
    header[..4].copy_from_slice(b"\x7fELF");
    header[4] = 1; // ELFCLASS32
    header[5] = 1; // ELFDATA2LSB
    header[6] = 1; // EV_CURRENT
    header[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
    header[18..20].copy_from_slice(&3u16.to_le_bytes()); // EM_386
    header[20..24].copy_from_slice(&1u32.to_le_bytes());
    header[40..42].copy_from_slice(&52u16.to_le_bytes());
    header
}

#[test]
fn a_library_of_another_abi_is_skipped() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    // The same library built for another machine (e_machine patched to EM_AARCH64).
    let mut aarch64 = greet.clone();
    aarch64[18..20].copy_from_slice(&183u16.to_le_bytes());
    let wrong = Image::new()
        .file("/usr/bin/app", &app)
        .file("/lib64/libgreet.so.1", &elf32_library())
        .file("/usr/lib64/libgreet.so.1", &aarch64)
        .index();
    match wrong.get("/lib64/libgreet.so.1") {
        Some(gbb_elf::Entry::Elf(info)) => assert_eq!(info.class, gbb_elf::ElfClass::Elf32),
        other => panic!("the 32-bit library is not indexed as one: {other:?}"),
    }
    assert_snapshot!("another_abi", check_lines(&wrong, &[&glibc_image()]));

    // A right one later on the default path is found past them.
    let right = Image::new()
        .file("/usr/bin/app", &app)
        .file("/lib64/libgreet.so.1", &elf32_library())
        .file("/usr/lib64/libgreet.so.1", &aarch64)
        .file("/usr/lib/libgreet.so.1", &greet)
        .index();
    assert_eq!(check_lines(&right, &[&glibc_image()]), "");
}

#[test]
fn gcc_and_gfortran_libraries_get_their_helpers() {
    let cc = Compiler::new();
    // A stand-in with gfortran's soname (the host has no gfortran), compiled for linking only.
    cc.cc(
        "libgfortran.so",
        "void gfortran_stand_in(void) {}\n",
        &["-shared", "-fPIC", "-Wl,-soname,libgfortran.so.5"],
    );
    let app = cc.program(
        "app",
        &[],
        &["-Wl,--no-as-needed", "-lgcc_s", "-lgfortran", "-lm"],
    );
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/usr/lib64/libm.so.6", &host_libc().libm)
        .index();
    assert_snapshot!("gcc_libs", check_lines(&image, &[&glibc_image()]));
}

#[test]
fn a_hard_link_is_the_same_file() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    let app = cc.program("app", &["greet"], &["-lgreet"]);
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/usr/lib64/greet/libgreet-1.so", &greet)
        .hard_link("/usr/lib64/libgreet.so.1", "/usr/lib64/greet/libgreet-1.so")
        .index();
    assert_eq!(
        image.get("/usr/lib64/libgreet.so.1"),
        Some(&gbb_elf::Entry::HardLink(
            "/usr/lib64/greet/libgreet-1.so".into()
        ))
    );
    assert_eq!(check_lines(&image, &[&glibc_image()]), "");
}

#[test]
fn a_later_entry_replaces_an_earlier_one() {
    let image = Image::new()
        .file("/usr/lib64/libc.so.6", &host_libc().libc)
        .dir("/usr/lib64/libc.so.6")
        .file("/usr/bin/hello", hello())
        .symlink("/usr/bin/hello", "busybox")
        .index();
    assert_eq!(image.get("/usr/lib64/libc.so.6"), None);
    assert_eq!(
        image.get("/usr/bin/hello"),
        Some(&gbb_elf::Entry::Symlink("busybox".into()))
    );
}

#[test]
fn a_childs_file_hides_the_parents() {
    // The child replaces the parent's libc with a link to nowhere.
    let image = Image::new()
        .file("/usr/bin/hello", hello())
        .symlink("/usr/lib64/libc.so.6", "libc-9.99.so")
        .index();
    assert_snapshot!(
        "hidden_by_the_child",
        check_lines(&image, &[&glibc_image()])
    );
}

/// The example stack's chain (`examples/stack`): `glibc` copies Debian's C library into its
/// multiarch folder, `greetlib` installs `libgreet.so.1` into `/usr/lib`, `greet` links it with
/// `-rpath,/usr/lib`.
#[test]
fn the_example_stacks_layout_passes() {
    let cc = Compiler::new();
    let greet_lib = cc.library("greet", &[], &[]);
    let greet = cc.program("greet", &["greet"], &["-lgreet", "-Wl,-rpath,/usr/lib"]);
    let host = host_libc();
    let glibc = Image::new()
        .dir("/lib/x86_64-linux-gnu")
        .file("/lib/x86_64-linux-gnu/libc.so.6", &host.libc)
        .file("/lib/x86_64-linux-gnu/libm.so.6", &host.libm)
        .file("/lib64/ld-linux-x86-64.so.2", &host.loader)
        .index();
    let greetlib = Image::new()
        .file("/usr/lib/libgreet.so.1", &greet_lib)
        .symlink("/usr/lib/libgreet.so", "libgreet.so.1")
        .index();
    let image = Image::new().file("/usr/bin/greet", &greet).index();
    assert_eq!(check_lines(&image, &[&greetlib, &glibc]), "");
    assert_eq!(
        check_lines(&greetlib, &[&glibc]),
        "",
        "a library alone passes"
    );
    // On scratch, with the other images known by name.
    let known = [
        KnownImage {
            name: "example/glibc",
            index: &glibc,
        },
        KnownImage {
            name: "example/greetlib",
            index: &greetlib,
        },
    ];
    let findings = check(&image, &[], &known, &Waivers::none());
    assert_snapshot!("example_on_scratch", lines(&findings));
}

/// A stand-in for musl's loader (which is its libc): a library with musl's soname.
fn musl_loader(cc: &Compiler) -> Vec<u8> {
    cc.cc(
        "ld-musl.so",
        "void musl_stand_in(void) {}\n",
        &["-shared", "-fPIC", "-Wl,-soname,libc.so"],
    )
}

const MUSL: &str = "-Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1";

#[test]
fn a_musl_program_is_searched_by_musls_rules() {
    let cc = Compiler::new();
    let greet = cc.library("greet", &[], &[]);
    // Linked by the host's gcc against glibc, so it also needs `libc.so.6`: musl's loader
    // answers that name itself.
    let app = cc.program("app", &["greet"], &["-lgreet", MUSL]);
    let loader = musl_loader(&cc);
    let musl = Image::new()
        .file("/lib/ld-musl-x86_64.so.1", &loader)
        .index();
    // `/usr/local/lib` is one of musl's built-in folders (not glibc's).
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/usr/local/lib/libgreet.so.1", &greet)
        .index();
    assert_eq!(check_lines(&image, &[&musl]), "");

    // A path file replaces the built-in folders; ld.so.conf is not read.
    let configured = Image::new()
        .file("/lib/ld-musl-x86_64.so.1", &loader)
        .file("/etc/ld-musl-x86_64.path", b"/opt/lib\n/lib:/usr/lib\n")
        .file("/etc/ld.so.conf", b"/usr/local/lib\n")
        .index();
    assert_snapshot!("musl_path_file", check_lines(&image, &[&configured]));
    let in_path_file = Image::new()
        .file("/usr/bin/app", &app)
        .file("/opt/lib/libgreet.so.1", &greet)
        .index();
    assert_eq!(check_lines(&in_path_file, &[&configured]), "");

    // Without the loader, the loader is missing, and not libc: the loader is libc.
    assert_snapshot!("musl_on_scratch", check_lines(&image, &[]));
}

#[test]
fn musl_searches_runpath_up_the_chain() {
    let cc = Compiler::new();
    let inner = cc.library("inner", &[], &[]);
    let greet = cc.library("greet", &["inner"], &["-linner"]);
    let app = cc.program(
        "app",
        &["greet"],
        &[
            "-lgreet",
            "-Wl,--enable-new-dtags",
            "-Wl,-rpath,/opt/a/lib",
            MUSL,
        ],
    );
    let image = Image::new()
        .file("/usr/bin/app", &app)
        .file("/opt/a/lib/libgreet.so.1", &greet)
        .file("/opt/a/lib/libinner.so.1", &inner)
        .file("/lib/ld-musl-x86_64.so.1", &musl_loader(&cc))
        .index();
    // glibc would not find libinner (see `rpath_is_inherited_and_runpath_is_not`); musl does.
    assert_eq!(check_lines(&image, &[]), "");
}

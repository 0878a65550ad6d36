//! `gbb update` against a mirror served by the test on 127.0.0.1.

use gbb_gentoo::test_mirror::{Behaviour, Mirror};

use crate::harness::TestStack;

const INDEX: &str = "releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt";

fn stack(mirror: &Mirror) -> TestStack {
    TestStack::new()
        .file("build.conf", &format!("MIRROR=\"{}\"\nPORTAGE_DIR=/srv/portage\n", mirror.url))
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file(
            "dock/ns/builder/bob/build.conf",
            "# bootstrap from a stage3\nSTAGE3_BASE='stage3-amd64-openrc'\nSTAGE3_DATE='20250101T000000Z' # pinned\n#ARCH='amd64'\n",
        )
        .file("dock/ns/builder/local/build.conf", "STAGE3_FILE=/srv/stage3.tar\n")
}

#[test]
fn check_reports_and_update_rewrites_only_the_date() {
    let mirror = Mirror::start();
    mirror.put(
        INDEX,
        Behaviour::Serve(
            b"# Latest\n20261101T000000Z/stage3-amd64-openrc-20261101T000000Z.tar.xz 100\n"
                .to_vec(),
        ),
    );
    let stack = stack(&mirror);
    let conf = stack.path().join("dock/ns/builder/bob/build.conf");
    let before = std::fs::read_to_string(&conf).unwrap();

    let run = stack.gbb(&["update", "--check"]);
    assert_eq!(run.code, Some(1), "something is newer: {}", run.all());
    assert!(
        run.stdout.contains(
            "ns/bob   stage3-amd64-openrc  20250101T000000Z  20261101T000000Z  newer available"
        ),
        "{}",
        run.all()
    );
    assert!(
        !run.stdout.contains("ns/local"),
        "local stage3s are not looked up: {}",
        run.all()
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        before,
        "--check writes nothing"
    );

    let run = stack.gbb(&["update"]);
    run.success();
    assert!(
        run.stdout
            .contains("updated dock/ns/builder/bob/build.conf"),
        "{}",
        run.all()
    );
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        before.replace("20250101T000000Z", "20261101T000000Z"),
        "every other byte is kept"
    );
    let run = stack.gbb(&["update", "--check"]);
    run.success();
    assert!(run.stdout.contains("up to date"), "{}", run.all());
}

#[test]
fn a_signed_index_must_verify() {
    let mirror = Mirror::start();
    let (key, _) = gbb_gentoo::testing::test_key("Release <r@example.org>");
    let (_, other_public) = gbb_gentoo::testing::test_key("Other <o@example.org>");
    let index = gbb_gentoo::testing::clearsign(
        &key,
        "20261101T000000Z/stage3-amd64-openrc-20261101T000000Z.tar.xz 100\n",
    );
    mirror.put(INDEX, Behaviour::Serve(index.into_bytes()));
    let stack = stack(&mirror)
        .file("keys.asc", &other_public)
        .env("GENTOO_KEYRING", "keys.asc");
    let run = stack.gbb(&["update", "--check"]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(run.stderr.contains("ns/bob: `releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt` is not signed by any key of the keyring"), "{}", run.all());
    let run = stack.gbb(&["update", "--check", "-s"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(run.stderr.contains("warning: -s"), "{}", run.all());
}

#[test]
fn snapshots_are_reported() {
    let mirror = Mirror::start();
    mirror.put(
        INDEX,
        Behaviour::Serve(
            b"20261101T000000Z/stage3-amd64-openrc-20261101T000000Z.tar.xz 100\n".to_vec(),
        ),
    );
    mirror.put(
        "snapshots/",
        Behaviour::Serve(
            b"<a href=\"gentoo-20261122.tar.xz\">x</a> <a href=\"gentoo-20261123.tar.xz\">y</a>"
                .to_vec(),
        ),
    );
    let stack = TestStack::new()
        .file(
            "build.conf",
            &format!("MIRROR=\"{}\"\nPORTAGE_DATE=20261001\n", mirror.url),
        )
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file(
            "dock/ns/builder/bob/build.conf",
            "STAGE3_BASE=stage3-amd64-openrc\nSTAGE3_DATE=20261101T000000Z\n",
        );
    let run = stack.gbb(&["update", "--check"]);
    assert_eq!(run.code, Some(1), "{}", run.all());
    assert!(
        run.stdout.contains("ns/bob   portage snapshot     20261001          20261123          newer available (PORTAGE_DATE)"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("stage3-amd64-openrc  20261101T000000Z  20261101T000000Z  up to date"),
        "{}",
        run.all()
    );
}

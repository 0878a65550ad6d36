//! `gbb update` against a mirror served by the test on 127.0.0.1.

use gbb_gentoo::test_mirror::{Behaviour, Mirror};

use crate::harness::TestStack;

const INDEX: &str = "releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt";

/// A keyring of a key made for the test, so that no run fetches Gentoo's release key.
fn with_test_keyring(stack: TestStack) -> TestStack {
    let (_, public) = gbb_gentoo::testing::test_key("Release <r@example.org>");
    stack
        .file("test-keys.asc", &public)
        .env("GENTOO_KEYRING", "test-keys.asc")
}

fn stack(mirror: &Mirror) -> TestStack {
    let stack = TestStack::new()
        .file("build.conf", &format!("MIRROR=\"{}\"\nPORTAGE_DIR=/srv/portage\n", mirror.url))
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file(
            "dock/ns/builder/bob/build.conf",
            "# bootstrap from a stage3\nSTAGE3_BASE='stage3-amd64-openrc'\nSTAGE3_DATE='20250101T000000Z' # pinned\n#ARCH='amd64'\n",
        )
        .file("dock/ns/builder/local/build.conf", "STAGE3_FILE=/srv/stage3.tar\n");
    with_test_keyring(stack)
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
    let stack = with_test_keyring(TestStack::new())
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

/// Without `GENTOO_KEYRING`, gbb fetches Gentoo's release key, and accepts only the key with
/// the fingerprint it pins: a test key served in its place is refused, naming both.
#[test]
fn a_release_key_with_another_fingerprint_is_refused() {
    let mirror = Mirror::start();
    let (_, public) = gbb_gentoo::testing::test_key("Release <r@example.org>");
    let found = gbb_gentoo::Keyring::from_armor(&public)
        .unwrap()
        .fingerprints()[0]
        .clone();
    mirror.put("service-keys.gpg", Behaviour::Serve(public.into_bytes()));
    let stack = TestStack::new()
        .file("build.conf", &format!("MIRROR=\"{}\"\n", mirror.url))
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file(
            "dock/ns/builder/bob/build.conf",
            "STAGE3_BASE=stage3-amd64-openrc\n",
        )
        .env(
            "GBB_GENTOO_KEYS_URL",
            &format!("{}service-keys.gpg", mirror.url),
        );
    let run = stack.gbb(&["update", "--check"]);
    run.refused();
    let spaced = |f: &str| {
        f.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        run.stderr
            .contains("gbb accepts only the key with the fingerprint 13EB BDBE DE7A 1277 5DFD B1BA BB57 2E0E 2D18 2910"),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains(&spaced(&found)), "{}", run.all());
    assert!(
        !stack.path().join(".home/.cache/gbb/keys").exists()
            || std::fs::read_dir(stack.path().join(".home/.cache/gbb/keys"))
                .unwrap()
                .next()
                .is_none(),
        "nothing cached"
    );
    assert!(
        mirror.requests_for(INDEX).is_empty(),
        "no index read without a key"
    );

    // -s needs no key: nothing is fetched.
    let before = mirror.requests_for("service-keys.gpg").len();
    mirror.put(
        INDEX,
        Behaviour::Serve(
            b"20261101T000000Z/stage3-amd64-openrc-20261101T000000Z.tar.xz 1\n".to_vec(),
        ),
    );
    stack.gbb(&["update", "--check", "-s"]);
    assert_eq!(mirror.requests_for("service-keys.gpg").len(), before);
}

#[test]
fn a_key_server_that_is_down_says_what_to_do() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let stack = TestStack::new()
        .file("build.conf", "MIRROR=http://127.0.0.1:9/\n")
        .file("dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n")
        .file(
            "dock/ns/builder/bob/build.conf",
            "STAGE3_BASE=stage3-amd64-openrc\n",
        )
        .env(
            "GBB_GENTOO_KEYS_URL",
            &format!("http://127.0.0.1:{port}/service-keys.gpg"),
        );
    let run = stack.gbb(&["update", "--check"]);
    run.refused();
    let stderr = run.stderr.replace(&port.to_string(), "[PORT]");
    assert!(
        stderr.starts_with("error: Gentoo's release key could not be fetched: `http://127.0.0.1:[PORT]/service-keys.gpg` failed after 2 attempts"),
        "{}",
        run.all()
    );
    assert!(
        stderr.contains("set GENTOO_KEYRING to a file with Gentoo's release keys (https://www.gentoo.org/downloads/signatures/), or pass -s to skip the OpenPGP checks"),
        "{}",
        run.all()
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {}", run.all());
}

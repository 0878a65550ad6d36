//! The binary package cache under attack: a hook that overwrites or plants packages under
//! `/packages` (or writes the cache itself) cannot change what another image's build installs,
//! and another builder chain gets a cache of its own.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::harness::E2eStack;

/// Runs gbb with its cache in `cache`, and checks that it succeeded.
#[track_caller]
fn gbb(stack: &E2eStack, cache: &Path, args: &[&str]) -> Output {
    let output = stack
        .command(args)
        .env("GBB_CACHE_DIR", cache)
        .output()
        .expect("gbb runs");
    assert!(
        output.status.success(),
        "gbb {args:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file under `dir`, relative to it, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                folders.push(entry.path());
            } else {
                let relative = entry.path().strip_prefix(dir).unwrap().to_owned();
                assert!(
                    kind.is_file(),
                    "only regular files in the cache: {relative:?}"
                );
                found.push((relative, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// The cache folders of the namespace's `bob` chain, one per content key.
fn chain_caches(cache: &Path, ns: &str) -> Vec<PathBuf> {
    let dir = cache.join("packages").join(ns).join("bob");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

/// The `>>> Emerging` lines of a log.
fn emerges(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with(">>> Emerging"))
        .collect()
}

/// The hook of the attacking image: it writes through the link to the cached library, writes
/// the read-only cache itself, replaces the link with a file of the same name, and plants a
/// link to a host-looking file under a package's name.
const ATTACK: &str = r#"
_packages="app-misc/hello-static"

configure_rootfs_build()
{
    local link=/packages/dev-libs/libgreet/libgreet-1.0-1.gpkg.tar
    local cached=/var/cache/gbb/binpkgs/dev-libs/libgreet/libgreet-1.0-1.gpkg.tar
    [[ -L $link ]] && echo "attack: the cached library is linked in"
    if printf 'poisoned' >"$link" 2>/dev/null; then echo "attack: WROTE THROUGH THE LINK"; fi
    if printf 'poisoned' >"$cached" 2>/dev/null; then echo "attack: WROTE THE CACHE"; fi
    if rm -f "$cached" 2>/dev/null && [[ ! -e $cached ]]; then echo "attack: REMOVED FROM THE CACHE"; fi
    rm -f "$link"
    printf 'poisoned' >"$link"
    ln -s /etc/passwd /packages/dev-libs/libgreet/libgreet-1.0-8.gpkg.tar
    mkdir -p /packages/dev-libs/libgreet/sub
    printf 'poisoned' >/packages/dev-libs/libgreet/sub/libgreet-1.0-9.gpkg.tar
    echo "attack: done"
}
"#;

#[test]
fn hooks_cannot_change_cached_packages_and_chains_keep_their_own() {
    let stack = E2eStack::new();
    let cache = tempfile::tempdir().unwrap();
    let ns = stack.ns.clone();

    // The library is built once and cached.
    gbb(&stack, cache.path(), &["build", &stack.id("greetlib")]);
    let chains = chain_caches(cache.path(), &ns);
    assert_eq!(chains.len(), 1, "{chains:?}");
    let chain = chains[0].clone();
    let before = files(&chain);
    let library = PathBuf::from("dev-libs/libgreet/libgreet-1.0-1.gpkg.tar");
    assert!(
        before.iter().any(|(path, _)| *path == library),
        "{:?}",
        before.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );

    // Another image of the same chain attacks the cache from its hook.
    stack.write("hello", "build.sh", ATTACK);
    gbb(&stack, cache.path(), &["build", &stack.id("hello")]);
    let log = stack.log("hello");
    assert!(
        log.contains("attack: the cached library is linked in"),
        "{log}"
    );
    assert!(log.contains("attack: done"), "{log}");
    assert!(!log.contains("WROTE") && !log.contains("REMOVED"), "{log}");
    for refused in [
        "dev-libs/libgreet/libgreet-1.0-1.gpkg.tar (a package of that name is in the cache)",
        "dev-libs/libgreet/libgreet-1.0-8.gpkg.tar (a symbolic link)",
        "dev-libs/libgreet/sub (a folder where packages belong)",
    ] {
        assert!(
            log.contains(&format!(
                "gbb: not taken into the binary package cache: {refused}"
            )),
            "{refused}:\n{log}"
        );
    }
    let after: Vec<(PathBuf, Vec<u8>)> = files(&chain)
        .into_iter()
        .filter(|(path, _)| path.starts_with("dev-libs"))
        .collect();
    let library_before: Vec<(PathBuf, Vec<u8>)> = before
        .iter()
        .filter(|(path, _)| path.starts_with("dev-libs"))
        .cloned()
        .collect();
    assert_eq!(after, library_before, "the cached library is unchanged");

    // The victim: the library image again, from the real cached package.
    gbb(
        &stack,
        cache.path(),
        &["build", "-F", &stack.id("greetlib")],
    );
    let log = stack.log("greetlib");
    let lines = emerges(&log);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(">>> Emerging binary") && l.contains("dev-libs/libgreet-1.0")),
        "{log}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with(">>> Emerging binary")),
        "{lines:?}"
    );
    assert!(!log.contains("poisoned"), "{log}");
    assert_eq!(
        std::fs::read(chain.join(&library)).unwrap(),
        before.iter().find(|(p, _)| *p == library).unwrap().1
    );
    // With -n the chain's start is not in the plan: the same cache all the same.
    gbb(
        &stack,
        cache.path(),
        &["build", "-n", "-F", &stack.id("greetlib")],
    );
    let log = stack.log("greetlib");
    assert!(
        emerges(&log)
            .iter()
            .all(|l| l.starts_with(">>> Emerging binary")),
        "{log}"
    );
    let greet = stack.id("greet");
    gbb(&stack, cache.path(), &["build", &greet]);
    assert_eq!(
        crate::harness::docker(&["run", "--rm", &greet, "cache"]).trim(),
        "Hello, cache!"
    );

    // Another builder chain under the same names (a second stack with the same namespace
    // and builder name looks the same): a cache of its own, which starts empty.
    let bob = stack
        .root()
        .join("dock")
        .join(&ns)
        .join("builder/bob/build.sh");
    let text = std::fs::read_to_string(&bob).unwrap();
    std::fs::write(&bob, format!("{text}\n# another builder\n")).unwrap();
    gbb(&stack, cache.path(), &["build", &stack.id("greetlib")]);
    let chains = chain_caches(cache.path(), &ns);
    assert_eq!(chains.len(), 2, "{chains:?}");
    let log = stack.log("greetlib");
    assert!(
        emerges(&log)
            .iter()
            .any(|l| !l.starts_with(">>> Emerging binary") && l.contains("dev-libs/libgreet-1.0")),
        "compiled again in the new chain: {log}"
    );
    assert_eq!(
        std::fs::read(chain.join(&library)).unwrap(),
        before.iter().find(|(p, _)| *p == library).unwrap().1,
        "the first chain's cache is untouched"
    );
    let other = chains.iter().find(|c| **c != chain).unwrap();
    assert!(other.join(&library).is_file(), "{:?}", files(other));
}

/// The line phase 1 logs when it takes the index its image's last run made.
const INDEX_REUSED: &str = "gbb: binary package index: the one this image's last run made";

#[test]
fn an_image_reuses_its_last_index_only_while_the_cache_holds_still() {
    let stack = E2eStack::new();
    let cache = tempfile::tempdir().unwrap();
    let hello = stack.id("hello");
    let kept = stack.output_dir("hello");

    // The first build adds hello's package to the cache while it runs: its index is not
    // kept (it may or may not list what was added).
    gbb(&stack, cache.path(), &["build", &hello]);
    assert!(!stack.log("hello").contains(INDEX_REUSED));
    assert!(!kept.join("binpkg-index.stamp").exists());

    // A warm rebuild: the cache held still, so this run's index is kept with its stamp...
    gbb(&stack, cache.path(), &["build", "-F", &hello]);
    assert!(!stack.log("hello").contains(INDEX_REUSED));
    assert!(kept.join("binpkg-index").is_file());
    assert!(kept.join("binpkg-index.stamp").is_file());
    // ...and the next one takes it instead of making one, and installs the same.
    gbb(&stack, cache.path(), &["build", "-F", &hello]);
    let log = stack.log("hello");
    assert!(log.contains(INDEX_REUSED), "{log}");
    assert!(
        emerges(&log)
            .iter()
            .any(|l| l.starts_with(">>> Emerging binary") && l.contains("hello-static")),
        "{log}"
    );
    assert_eq!(
        crate::harness::docker(&["run", "--rm", &hello]).trim(),
        "Hello from a static gentoo-bb image"
    );

    // Another image of the chain adds a package: the kept index no longer fits.
    gbb(&stack, cache.path(), &["build", &stack.id("busybox")]);
    gbb(&stack, cache.path(), &["build", "-F", &hello]);
    assert!(!stack.log("hello").contains(INDEX_REUSED));
    gbb(&stack, cache.path(), &["build", "-F", &hello]);
    assert!(stack.log("hello").contains(INDEX_REUSED));

    // A stamp the image's container writes is never taken: gbb writes its own.
    let build_sh = std::fs::read_to_string(stack.image_dir("hello").join("build.sh")).unwrap();
    stack.write(
        "hello",
        "build.sh",
        &format!(
            "{build_sh}\nfinish_rootfs_build() {{ echo planted >/gbb-out/binpkg-index.stamp; }}\n"
        ),
    );
    gbb(&stack, cache.path(), &["build", &hello]);
    let stamp = std::fs::read_to_string(kept.join("binpkg-index.stamp")).unwrap();
    assert_ne!(stamp.trim(), "planted");
    assert_eq!(stamp.trim().len(), 64, "{stamp}");
}

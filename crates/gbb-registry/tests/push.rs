//! Pushes to a real registry (Debian's `docker-registry` on 127.0.0.1, see
//! `gbb_registry::local_registry`) of images written into a store with gbb-image: a parent
//! and a child that shares its layer.

use std::path::Path;

use gbb_image::{
    BlobStore, ImageInstructions, ImageRequest, LayerOptions, NewLayer, Platform, SourceDateEpoch,
    StoredImage, write_image, write_layer,
};
use gbb_registry::local_registry::{LocalRegistry, LocalRegistryOptions};
use gbb_registry::{
    BlobKind, BlobOutcome, ConnectOptions, Credentials, DockerConfig, Error, Login, RegistryClient,
};

/// A root tar of one file with `content`.
fn root_tar(dir: &Path, name: &str, content: &[u8]) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.tar"));
    let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(content.len() as u64);
    builder
        .append_data(&mut header, format!("etc/{name}"), content)
        .unwrap();
    builder.into_inner().unwrap();
    path
}

/// A store holding a parent image and a child image on top of it.
struct Images {
    _dir: tempfile::TempDir,
    store: BlobStore,
    parent: StoredImage,
    child: StoredImage,
}

fn image(store: &BlobStore, parent: Option<&StoredImage>, root: &Path) -> StoredImage {
    let layer = write_layer(store, root, &LayerOptions::default()).unwrap();
    write_image(
        store,
        &ImageRequest {
            parent,
            platform: Platform::host(),
            layers: vec![NewLayer {
                layer,
                created_by: "gbb: ADD rootfs.tar /".to_owned(),
            }],
            instructions: ImageInstructions::default(),
            epoch: SourceDateEpoch::DEFAULT,
        },
    )
    .unwrap()
}

fn images() -> Images {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("store")).unwrap();
    let parent = image(&store, None, &root_tar(dir.path(), "parent", b"parent\n"));
    let child = image(
        &store,
        Some(&parent),
        &root_tar(dir.path(), "child", &b"child ".repeat(100_000)),
    );
    Images {
        _dir: dir,
        store,
        parent,
        child,
    }
}

fn outcomes(report: &gbb_registry::PushReport) -> Vec<(BlobKind, BlobOutcome)> {
    report
        .blobs
        .iter()
        .map(|b| (b.kind, b.outcome.clone()))
        .collect()
}

#[test]
fn a_push_sends_only_missing_blobs_and_keeps_the_manifest_digest() {
    let registry = LocalRegistry::start(&LocalRegistryOptions::default());
    let images = images();
    let client = RegistryClient::new(&registry.connect_options(), Login::Anonymous).unwrap();
    let parent_ref = format!("{}/ns/parent:1.0", registry.address());
    let child_ref = format!("{}/ns/child:1.0", registry.address());

    let mut heard = Vec::new();
    let report = client
        .push(&images.store, &images.parent, &parent_ref, &mut |blob| {
            heard.push(blob.clone())
        })
        .unwrap();
    assert_eq!(
        outcomes(&report),
        [
            (BlobKind::Layer, BlobOutcome::Sent),
            (BlobKind::Config, BlobOutcome::Sent)
        ]
    );
    assert_eq!(heard, report.blobs, "each blob is told as it goes");
    assert_eq!(report.manifest_digest, images.parent.digest().to_string());
    assert_eq!(
        client.manifest_digest(&parent_ref).unwrap(),
        images.parent.digest().to_string(),
        "the registry serves the manifest gbb wrote"
    );

    // The child shares the parent's layer, which the registry has in another repository:
    // it is mounted from there, not sent.
    let report = client
        .push(&images.store, &images.child, &child_ref, &mut |_| {})
        .unwrap();
    assert_eq!(
        outcomes(&report),
        [
            (
                BlobKind::Layer,
                BlobOutcome::Mounted {
                    from: "ns/parent".to_owned()
                }
            ),
            (BlobKind::Layer, BlobOutcome::Sent),
            (BlobKind::Config, BlobOutcome::Sent)
        ]
    );
    let again = format!("{}/ns/child:latest", registry.address());
    let report = client
        .push(&images.store, &images.child, &again, &mut |_| {})
        .unwrap();
    assert_eq!(
        outcomes(&report),
        [
            (BlobKind::Layer, BlobOutcome::Present),
            (BlobKind::Layer, BlobOutcome::Present),
            (BlobKind::Config, BlobOutcome::Present)
        ],
        "a second push sends no blob"
    );
    assert_eq!(report.sent(), (0, 0));
    assert_eq!(
        client.manifest_digest(&again).unwrap(),
        images.child.digest().to_string()
    );
}

#[test]
fn basic_auth_takes_the_right_password_and_names_the_registry_for_a_wrong_one() {
    let user = Credentials {
        username: "alice".to_owned(),
        password: "right horse battery".to_owned(),
    };
    let registry = LocalRegistry::start(&LocalRegistryOptions {
        basic_auth: Some(user.clone()),
        tls: false,
    });
    let images = images();
    let target = format!("{}/ns/parent:1.0", registry.address());
    let client = |login| RegistryClient::new(&registry.connect_options(), login).unwrap();

    let wrong = Credentials {
        password: "wrong".to_owned(),
        ..user.clone()
    };
    let error = client(Login::Basic(wrong))
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "the registry `{}` refused access to `ns/parent` (wrong user name or password, or \
             no right to push there)",
            registry.address()
        )
    );
    let error = client(Login::Anonymous)
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap_err();
    assert!(
        error.to_string().contains("it wants credentials"),
        "{error}"
    );

    let right = client(Login::Basic(user.clone()));
    let report = right
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap();
    assert_eq!(report.sent().0, 2);
    assert_eq!(
        right.manifest_digest(&target).unwrap(),
        images.parent.digest().to_string()
    );

    // The same user from a docker config.json, as `docker login` writes it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"username": "alice", "password": "right horse battery"}}}}}}"#,
            registry.address()
        ),
    )
    .unwrap();
    let from_config = client(Login::DockerConfig(DockerConfig::read(&config).unwrap()));
    let report = from_config
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap();
    assert_eq!(report.sent(), (0, 0));
}

#[test]
fn tls_with_a_ca_of_ones_own() {
    let registry = LocalRegistry::start(&LocalRegistryOptions {
        basic_auth: None,
        tls: true,
    });
    let images = images();
    let target = format!("{}/ns/parent:1.0", registry.address());

    let client = RegistryClient::new(&registry.connect_options(), Login::Anonymous).unwrap();
    client
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap();
    assert_eq!(
        client.manifest_digest(&target).unwrap(),
        images.parent.digest().to_string()
    );

    // Without the CA, the certificate is refused: the error names the registry, its chain
    // the cause.
    let client = RegistryClient::new(&ConnectOptions::default(), Login::Anonymous).unwrap();
    let error = client
        .push(&images.store, &images.parent, &target, &mut |_| {})
        .unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error:?}");
    let chain = format!("{:?}", anyhow_chain(&error));
    assert!(chain.contains("certificate"), "{chain}");
}

#[test]
fn bad_ca_files_and_unreachable_registries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let error = RegistryClient::new(
        &ConnectOptions {
            insecure: false,
            ca_cert: Some(not_pem.clone()),
        },
        Login::Anonymous,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            not_pem.display()
        )
    );

    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let images = images();
    let client = RegistryClient::new(
        &ConnectOptions {
            insecure: true,
            ca_cert: None,
        },
        Login::Anonymous,
    )
    .unwrap();
    let error = client
        .push(
            &images.store,
            &images.parent,
            &format!("127.0.0.1:{port}/ns/parent:1.0"),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("cannot reach the registry `127.0.0.1:{port}`")
    );
}

#[test]
fn a_manifest_the_registry_rejects_is_reported_with_its_reason() {
    let registry = LocalRegistry::start(&LocalRegistryOptions::default());
    let images = images();
    let client = RegistryClient::new(&registry.connect_options(), Login::Anonymous).unwrap();
    // The manifest in the store lists the parent's layer, but the image as given does not
    // (so that layer is never sent): the registry refuses a manifest naming a blob it lacks.
    let mut image = images.child.clone();
    let mut manifest = image.manifest.clone();
    manifest.set_layers(manifest.layers()[1..].to_vec());
    image.manifest = manifest;
    let target = format!("{}/ns/child:1.0", registry.address());
    let error = client
        .push(&images.store, &image, &target, &mut |_| {})
        .unwrap_err();
    assert!(matches!(error, Error::ManifestRejected { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "the registry `{}` rejected the manifest of `{target}`: ",
            registry.address()
        )) && message.contains("blob unknown"),
        "{message}"
    );
}

/// The error and its sources, one per line.
fn anyhow_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(&format!("\n{e}"));
        source = e.source();
    }
    out
}

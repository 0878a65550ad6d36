//! `gbb push`: each image asked for goes to the registry under its final tags.
//!
//! An image gbb wrote into its own store (its build left a `manifest` file) is pushed straight
//! over the distribution API (`gbb_registry`), with no engine: only the blobs the registry
//! lacks are sent, and the registry ends up with the very manifest digest gbb built. An image
//! the store does not hold (built before gbb wrote images itself) is pushed by the engine as
//! before, with one line saying why.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use gbb_build::KEY_LABEL;
use gbb_build::image_store::stored_image;
use gbb_engine::Engine;
use gbb_image::{BlobStore, StoredImage};
use gbb_plan::{BuildPlan, Request, StepKind};
use gbb_registry::{
    BlobKind, BlobOutcome, BlobPush, ConnectOptions, Credentials, DockerConfig, Login,
    RegistryClient,
};
use gbb_stack::{ContainerEngine, Definition};

use crate::cli::PushArgs;
use crate::context::Context;
use crate::printer::Printer;
use crate::progress::megabytes;

/// How one image is pushed.
enum Route<'a> {
    /// From gbb's store, over the distribution API.
    Direct {
        definition: &'a Definition,
        store: BlobStore,
        image: Box<StoredImage>,
    },
    /// By the engine, because the store does not hold the image.
    Engine(&'a Definition),
}

pub(crate) fn run(
    context: &Context,
    args: &PushArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let PushArgs {
        ids,
        registry,
        username,
        password_stdin,
        ca_cert,
        insecure,
    } = args;
    let stack = context.load(printer)?;
    // The images named, not what they are built on: pushing a parent is a separate choice.
    let request = Request {
        ids: ids.clone(),
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request)?;
    let registry = registry.as_deref().map(|r| {
        r.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    });
    let paths = context.paths(&stack);
    // Not while a build of this stack runs: it may replace an image being sent, and its end
    // prunes the replaced image's blobs from the stack's store.
    let _lock = super::lock_stack(&paths.state, true, "a gbb build", printer)?;
    let routes: Vec<Route<'_>> = plan
        .steps
        .iter()
        .filter(|s| s.kind() == StepKind::Image)
        .filter_map(|s| s.definition().map(|i| &stack.definitions()[i]))
        .map(
            |definition| match stored_image(&paths, definition.id.as_str()) {
                Ok((store, image)) => Route::Direct {
                    definition,
                    store,
                    image: Box::new(image),
                },
                Err(reason) => {
                    printer.note(&format!(
                        "{}: {reason}; pushing the engine's image instead",
                        definition.id
                    ));
                    Route::Engine(definition)
                }
            },
        )
        .collect();

    // Everything must be built before anything is pushed; the engine is asked only when an
    // image needs it.
    let engine_images: Vec<&Definition> = routes
        .iter()
        .filter_map(|r| match r {
            Route::Engine(definition) => Some(*definition),
            Route::Direct { .. } => None,
        })
        .collect();
    // Each image on the engine its namespace builds on (a stack with namespaces on Docker and
    // on Podman reaches both); an engine is reached only when one of its images needs it.
    let mut engines: Vec<(ContainerEngine, gbb_engine::Docker)> = Vec::new();
    for definition in &engine_images {
        let kind = engine_of(context, definition);
        if !engines.iter().any(|(k, _)| *k == kind) {
            let engine = context.connect(&kind)?;
            engines.push((kind, engine));
        }
    }
    let engine_for = |definition: &Definition| {
        let kind = engine_of(context, definition);
        engines
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, engine)| engine)
            .expect("connected when an image needs it")
    };
    if !engines.is_empty() && (username.is_some() || ca_cert.is_some() || *insecure) {
        printer.note(
            "--username, --ca-cert and --insecure apply to pushes from gbb's store; the engine \
             pushes with its own login and TLS settings",
        );
    }
    for definition in &engine_images {
        let source = gbb_build::names::latest(&definition.id).to_string();
        match engine_for(definition).inspect_image(&source)? {
            Some(info) if info.labels.contains_key(KEY_LABEL) => {}
            _ => anyhow::bail!("`{source}` is not built; run: gbb build {}", definition.id),
        }
    }
    // Kept to name a credential helper when a registry refuses an anonymous push.
    let mut docker_config = None;
    let client = if routes.iter().any(|r| matches!(r, Route::Direct { .. })) {
        let login = match username {
            Some(username) => Login::Basic(Credentials {
                username: username.clone(),
                password: read_password(*password_stdin)?,
            }),
            None => match docker_login(context)? {
                Some(config) => {
                    docker_config = Some(config.clone());
                    Login::DockerConfig(config)
                }
                None => Login::Anonymous,
            },
        };
        let options = ConnectOptions {
            insecure: *insecure,
            ca_cert: ca_cert.clone(),
        };
        Some(RegistryClient::new(&options, login)?)
    } else {
        None
    };

    for route in &routes {
        match route {
            Route::Direct {
                definition,
                store,
                image,
            } => {
                let client = client
                    .as_ref()
                    .expect("made when an image is pushed directly");
                for reference in gbb_build::names::pushed(registry, definition) {
                    let report = client
                        .push(store, image, &reference.to_string(), &mut |blob| {
                            printer.verbose(&blob_line(&reference.to_string(), blob));
                        })
                        .inspect_err(|e| hint_for_helpers(e, docker_config.as_ref(), printer))?;
                    let (sent, bytes) = report.sent();
                    printer.note(&format!(
                        "pushed {reference} {} ({sent} of {} blobs sent, {})",
                        report.manifest_digest,
                        report.blobs.len(),
                        megabytes(bytes)
                    ));
                }
            }
            Route::Engine(definition) => {
                push_with_engine(engine_for(definition), registry, definition, printer)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine `definition`'s image is on: its namespace's (or `--engine`); Docker for a
/// namespace whose engine builds nothing (`dummy`), as for every command that asks an engine.
fn engine_of(context: &Context, definition: &Definition) -> ContainerEngine {
    let engine = context.definition_engine(definition);
    if engine.builds() {
        engine
    } else {
        ContainerEngine::Docker
    }
}

/// The engine's push of `definition`'s image, as before gbb wrote images itself.
fn push_with_engine(
    engine: &gbb_engine::Docker,
    registry: Option<&str>,
    definition: &Definition,
    printer: &Printer,
) -> anyhow::Result<()> {
    let source = gbb_build::names::latest(&definition.id).to_string();
    for reference in gbb_build::names::pushed(registry, definition) {
        if registry.is_some() {
            engine.tag_image(&source, &reference)?;
        }
        let result = engine.push_image(&reference, &mut |status| {
            printer.verbose(&format!("    {reference} | {status}"));
        });
        if registry.is_some() {
            // The registry's name was only a way to address the push.
            let _ = engine.remove_image(&reference.to_string());
        }
        result?;
        printer.note(&format!("pushed {reference}"));
    }
    Ok(())
}

/// The password of `--password-stdin`: standard input, without its final line break.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    anyhow::ensure!(from_stdin, "--username needs --password-stdin");
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|e| anyhow::anyhow!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "--password-stdin: standard input is empty"
    );
    Ok(password)
}

/// The logins `docker login` stored, from `$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`.
fn docker_login(context: &Context) -> anyhow::Result<Option<DockerConfig>> {
    let env = &context.options.env;
    let path = gbb_registry::docker_config_path(
        env.get("DOCKER_CONFIG").map(Path::new),
        env.get("HOME").map(Path::new),
    );
    Ok(match path {
        // Credential helpers are found in the user's `PATH`, as Docker finds them.
        Some(path) => Some(
            DockerConfig::read(&path)?
                .with_helper_search_path(env.get("PATH").map(std::ffi::OsString::from)),
        ),
        None => None,
    })
}

/// The `-v` line of one blob of a push.
fn blob_line(reference: &str, blob: &BlobPush) -> String {
    let kind = match blob.kind {
        BlobKind::Layer => "layer",
        BlobKind::Config => "config",
    };
    let outcome = match &blob.outcome {
        BlobOutcome::Sent => format!("sent ({})", megabytes(blob.size)),
        BlobOutcome::Present => "skipped (the registry has it)".to_owned(),
        BlobOutcome::Mounted { from } => format!("skipped (mounted from `{from}`)"),
    };
    format!("    {reference} | {kind} {} {outcome}", blob.digest)
}

/// When a registry wants credentials and docker's config names a credential helper that had
/// none (or is not installed), says so.
fn hint_for_helpers(
    error: &gbb_registry::Error,
    docker_config: Option<&DockerConfig>,
    printer: &Printer,
) {
    if let gbb_registry::Error::Unauthorized {
        registry,
        with_credentials: false,
        ..
    } = error
        && let Some(helper) = docker_config.and_then(|c| c.helper_for(registry))
    {
        printer.hint(&format!(
            "docker's config.json names the credential helper `docker-credential-{helper}`, \
             which has no login for `{registry}` or is not installed; run `docker login \
             {registry}`, or pass --username and --password-stdin"
        ));
    }
}

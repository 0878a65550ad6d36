//! The executor's decisions, on a recording fake engine: what runs, in which order, what is
//! skipped, and what is refused before anything runs. The real engine is tested end to end in
//! `crates/gbb/tests/e2e`; this is the fast check of the logic around it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use gbb_build::{
    Build, BuildError, BuildOptions, BuildSummary, ContainerRegistry, Force, GentooInputs, Outcome,
    Paths, Reporter, StepReport,
};
use gbb_config::Environment;
use gbb_engine::{
    BuildRequest, ChangeKind, ContainerInfo, ContainerSpec, Engine, EngineError, FileChange,
    ImageInfo, ImageRef, ListedImage,
};
use gbb_plan::{BuildPlan, Request};
use gbb_stack::{ContainerEngine, LoadOptions, Stack};

/// Keeps images (with labels) in memory and records every call.
#[derive(Default)]
struct FakeEngine {
    /// Phase 1 of this id fails.
    failing: Option<String>,
    /// Phase 1 of this id interrupts the build, as Ctrl-C while it runs would (and then
    /// succeeds).
    interrupting: Option<(String, ContainerRegistry)>,
    /// The tarballs imported.
    imported: Mutex<Vec<std::path::PathBuf>>,
    /// Where each container got its portage tree from.
    portage_mounts: Mutex<Vec<std::path::PathBuf>>,
    images: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
    containers: Mutex<BTreeMap<String, ContainerSpec>>,
    calls: Mutex<Vec<String>>,
    /// `GBB_KEEP_STATE=...` of each phase 1 container, in order.
    keep_state: Mutex<Vec<String>>,
    /// Tagging an image as this reference fails.
    refused_tag: Option<String>,
    /// Removing one of these images answers "in use" as many times as its count says (then
    /// works); `usize::MAX` is for good.
    busy: Mutex<BTreeMap<String, usize>>,
    /// Forced removals of this image fail.
    stuck: Option<String>,
}

impl FakeEngine {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    /// The calls since the last look, in the order a build made them, except for one pair
    /// that has no order: an image step keeps its phase-1 container as its state (a commit)
    /// while phase 2 loads the image (`steps/image.rs`), so the two reach the engine either
    /// way round. A commit that came right after loads is listed before them.
    fn calls(&self) -> Vec<String> {
        let mut calls = std::mem::take(&mut *self.calls.lock().unwrap());
        for i in 1..calls.len() {
            let mut at = i;
            while at > 0 && calls[at].starts_with("commit ") && calls[at - 1].starts_with("load ") {
                calls.swap(at - 1, at);
                at -= 1;
            }
        }
        calls
    }

    fn has(&self, reference: &str) -> bool {
        self.images.lock().unwrap().contains_key(reference)
    }
}

impl Engine for FakeEngine {
    fn describe(&self) -> String {
        "fake".to_owned()
    }

    fn inspect_image(&self, reference: &str) -> Result<Option<ImageInfo>, EngineError> {
        Ok(self
            .images
            .lock()
            .unwrap()
            .get(reference)
            .map(|labels| ImageInfo {
                id: format!("sha256:{reference}"),
                labels: labels.clone(),
                size: 1000,
            }))
    }

    fn import_image(&self, tarball: &Path, reference: &ImageRef) -> Result<(), EngineError> {
        let reference = reference.to_string();
        self.imported.lock().unwrap().push(tarball.to_owned());
        self.record(format!("import {reference}"));
        self.images
            .lock()
            .unwrap()
            .insert(reference.to_owned(), BTreeMap::new());
        Ok(())
    }

    fn build_image(
        &self,
        request: &BuildRequest,
        _log: &mut dyn FnMut(&str),
    ) -> Result<String, EngineError> {
        let tags: Vec<String> = request.tags.iter().map(ToString::to_string).collect();
        self.record(format!("build {}", tags.join(",")));
        for tag in &tags {
            self.images
                .lock()
                .unwrap()
                .insert(tag.clone(), request.labels.clone());
        }
        Ok(tags[0].clone())
    }

    fn load_image(&self, archive: &Path) -> Result<(), EngineError> {
        // The tags from `manifest.json`, the labels from the config it names.
        let mut files = BTreeMap::new();
        let mut reader = tar::Archive::new(std::fs::File::open(archive).unwrap());
        for entry in reader.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            files.insert(name, bytes);
        }
        let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        let image = &manifest[0];
        let config: serde_json::Value =
            serde_json::from_slice(&files[image["Config"].as_str().unwrap()]).unwrap();
        let labels: BTreeMap<String, String> =
            serde_json::from_value(config["config"]["Labels"].clone()).unwrap_or_default();
        let tags: Vec<String> = serde_json::from_value(image["RepoTags"].clone()).unwrap();
        self.record(format!("load {}", tags.join(",")));
        for tag in tags {
            self.images.lock().unwrap().insert(tag, labels.clone());
        }
        Ok(())
    }

    fn save_image(&self, reference: &str, _to: &Path) -> Result<(), EngineError> {
        self.record(format!("save {reference}"));
        Err(EngineError::Api {
            operation: format!("saving `{reference}`"),
            message: "the fake engine saves nothing".to_owned(),
        })
    }

    fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        let mut containers = self.containers.lock().unwrap();
        let id = format!("c{}", containers.len());
        self.record(format!("run {} {}", spec.image, spec.cmd.join(" ")));
        if let Some(keep) = spec.env.iter().find(|e| e.starts_with("GBB_KEEP_STATE=")) {
            self.keep_state.lock().unwrap().push(keep.clone());
        }
        if let Some(tree) = spec
            .mounts
            .iter()
            .find(|m| m.target == "/var/db/repos/gentoo")
        {
            self.portage_mounts
                .lock()
                .unwrap()
                .push(tree.source.clone());
        }
        containers.insert(id.clone(), spec.clone());
        Ok(id)
    }

    fn run_container(&self, id: &str, log: &mut dyn FnMut(&[u8])) -> Result<i64, EngineError> {
        // Phase 1 writes its root file system to the folder mounted at /gbb-out.
        let spec = self.containers.lock().unwrap()[id].clone();
        if spec.labels.get("org.gentoo-bb.id") == self.failing.as_ref() {
            log(b"::gbb:: step emerge\n!!! emerge failed\n::gbb:: failed step=emerge status=1\n");
            return Ok(1);
        }
        if let Some((target, registry)) = &self.interrupting
            && spec.labels.get("org.gentoo-bb.id") == Some(target)
        {
            registry.interrupt_by(2);
        }
        if let Some(out) = spec.mounts.iter().find(|m| m.target == "/gbb-out") {
            std::fs::write(out.source.join("rootfs.tar"), [0u8; 1024]).unwrap();
        }
        log(b"::gbb:: step emerge\n::gbb:: done\n");
        Ok(0)
    }

    fn run_interactive(
        &self,
        _id: &str,
        _input: Box<dyn std::io::Read + Send>,
        _output: &mut dyn std::io::Write,
        _size: Option<(u16, u16)>,
    ) -> Result<i64, EngineError> {
        Ok(0)
    }

    fn start_container(&self, _id: &str) -> Result<(), EngineError> {
        Ok(())
    }

    fn container_health(&self, _id: &str) -> Result<Option<String>, EngineError> {
        Ok(Some("healthy".to_owned()))
    }

    fn commit_container(
        &self,
        _id: &str,
        reference: &ImageRef,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, EngineError> {
        let reference = reference.to_string();
        self.record(format!("commit {reference}"));
        self.images
            .lock()
            .unwrap()
            .insert(reference.to_owned(), labels.clone());
        Ok(reference.to_owned())
    }

    /// As Docker reports them for an empty image: every mount point was added.
    fn container_changes(&self, id: &str) -> Result<Vec<FileChange>, EngineError> {
        let containers = self.containers.lock().unwrap();
        Ok(containers[id]
            .mounts
            .iter()
            .map(|m| FileChange {
                path: m.target.clone(),
                kind: ChangeKind::Added,
            })
            .collect())
    }

    fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        self.containers.lock().unwrap().remove(id);
        Ok(())
    }

    fn tag_image(&self, source: &str, reference: &ImageRef) -> Result<(), EngineError> {
        let reference = reference.to_string();
        if self.refused_tag.as_deref() == Some(reference.as_str()) {
            return Err(EngineError::Api {
                operation: format!("tagging `{source}` as `{reference}`"),
                message: "the fake engine refuses this tag".to_owned(),
            });
        }
        let labels = self
            .images
            .lock()
            .unwrap()
            .get(source)
            .cloned()
            .unwrap_or_default();
        self.images
            .lock()
            .unwrap()
            .insert(reference.to_owned(), labels);
        Ok(())
    }

    fn push_image(
        &self,
        reference: &ImageRef,
        _log: &mut dyn FnMut(&str),
    ) -> Result<(), EngineError> {
        self.record(format!("push {reference}"));
        Ok(())
    }

    fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        if let Some(left) = self.busy.lock().unwrap().get_mut(reference)
            && *left > 0
        {
            *left = left.saturating_sub(usize::from(*left != usize::MAX));
            return Err(EngineError::InUse {
                operation: format!("removing image `{reference}`"),
                message: "image is in use by a container".to_owned(),
            });
        }
        self.images.lock().unwrap().remove(reference);
        Ok(())
    }

    fn force_remove_image(&self, reference: &str) -> Result<(), EngineError> {
        self.record(format!("force-remove {reference}"));
        if self.stuck.as_deref() == Some(reference) {
            return Err(EngineError::Api {
                operation: format!("removing image `{reference}`"),
                message: "the fake engine keeps this image".to_owned(),
            });
        }
        self.images.lock().unwrap().remove(reference);
        Ok(())
    }

    fn containers_with_label(&self, label: &str) -> Result<Vec<ContainerInfo>, EngineError> {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        Ok(self
            .containers
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, spec)| {
                spec.labels
                    .get(key)
                    .is_some_and(|v| value.is_empty() || v == value)
            })
            .map(|(id, spec)| ContainerInfo {
                id: id.clone(),
                labels: spec.labels.clone(),
            })
            .collect())
    }

    fn images_with_label(&self, label: &str) -> Result<Vec<ListedImage>, EngineError> {
        let (key, value) = label.split_once('=').unwrap_or((label, ""));
        Ok(self
            .images
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, labels)| {
                labels
                    .get(key)
                    .is_some_and(|v| value.is_empty() || v == value)
            })
            .map(|(reference, labels)| ListedImage {
                id: format!("sha256:{reference}"),
                tags: vec![reference.clone()],
                labels: labels.clone(),
                created: 0,
                size: 1000,
            })
            .collect())
    }
}

struct Silent;

impl Reporter for Silent {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, _: &StepReport) {}
    fn log(&self, _: &str, _: &str, _: gbb_build::LogEvent<'_>) {}
}

fn write(root: &Path, path: &str, content: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// A seed stack: a builder on a local stage3, `base` on scratch and `app` on it.
fn stack(dir: &Path) -> Stack {
    write(dir, "stage3.tar", "not really a tar");
    write(dir, "portage/profiles/repo_name", "gentoo\n");
    write(
        dir,
        "stack/build.conf",
        "STAGE3_FILE=../stage3.tar\nPORTAGE_DIR=../portage\n",
    );
    write(dir, "stack/dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n");
    write(dir, "stack/dock/ns/builder/bob/build.conf", "");
    for (name, parent) in [("base", "scratch"), ("app", "ns/base")] {
        write(
            dir,
            &format!("stack/dock/ns/images/{name}/build.conf"),
            &format!("IMAGE_PARENT={parent}\n"),
        );
        write(
            dir,
            &format!("stack/dock/ns/images/{name}/Dockerfile.template"),
            "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n",
        );
    }
    Stack::discover(
        &dir.join("stack"),
        &LoadOptions {
            env: Environment::empty(),
            user_config: None,
        },
    )
    .unwrap()
}

/// The options these tests build with: one step at a time (so engine calls come in plan order),
/// the cache in `dir`, no keyring.
fn options(stack: &Stack, dir: &Path) -> BuildOptions {
    BuildOptions {
        force: Force::Nothing,
        jobs: 1,
        fail_fast: false,
        paths: Paths::new(&stack.root, &dir.join("cache")),
        source_date_epoch: 0,
        gentoo: GentooInputs::default(),
    }
}

/// `Build::prepare` as every test here makes it: silent, with a container registry of its
/// own.
fn prepare<'a>(
    stack: &'a Stack,
    plan: &'a BuildPlan,
    engine: &'a FakeEngine,
    options: &'a BuildOptions,
) -> Result<Build<'a>, BuildError> {
    Build::prepare(
        stack,
        plan,
        engine,
        options,
        &Silent,
        ContainerRegistry::new(),
    )
}

fn build(
    stack: &Stack,
    engine: &FakeEngine,
    dir: &Path,
    force: Force,
    ids: &[&str],
) -> Result<BuildSummary, BuildError> {
    let request = Request {
        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        ..Request::default()
    };
    let plan = BuildPlan::new(stack, &request).unwrap();
    let options = BuildOptions {
        force,
        ..options(stack, dir)
    };
    prepare(stack, &plan, engine, &options).and_then(|build| build.run())
}

#[test]
fn builds_in_order_then_skips_without_containers() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let engine = FakeEngine::default();
    let summary = build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    assert!(summary.succeeded());
    assert!(summary.reports.iter().all(|r| r.outcome == Outcome::Built));
    assert_eq!(
        engine.calls(),
        [
            "import gbb-stage3/stage3-tar:".to_owned() + &engine_stage3_tag(&engine),
            format!("build gbb-core/stage3-tar:{}", core_tag(&engine)),
            format!("run gbb-core/stage3-tar:{} builder", core_tag(&engine)),
            "commit ns/bob:gbb-candidate".to_owned(),
            "run ns/bob:latest image".to_owned(),
            "commit ns/bob-base:gbb-candidate".to_owned(),
            "load ns/base:gbb-candidate".to_owned(),
            "run ns/bob-base:latest image".to_owned(),
            // Nothing builds in ns/app's state (issue 14): its container is not kept.
            "load ns/app:gbb-candidate".to_owned(),
        ]
    );

    // Unchanged: nothing runs.
    let summary = build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    assert!(
        summary
            .reports
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Skipped(_)))
    );
    assert_eq!(engine.calls(), Vec::<String>::new());

    // -f: phase 2 only, for images.
    build(&stack, &engine, dir.path(), Force::Images, &["ns/app"]).unwrap();
    assert_eq!(engine.calls(), ["load ns/app:gbb-candidate"]);

    // An edit in base rebuilds base and app, not the builder.
    write(
        dir.path(),
        "stack/dock/ns/images/base/build.sh",
        "_packages=x\n",
    );
    let stack = Stack::discover(&dir.path().join("stack"), &LoadOptions::default()).unwrap();
    build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    let calls = engine.calls();
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("ns/bob:latest builder") && !c.starts_with("build gbb-core")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"load ns/base:gbb-candidate".to_owned()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"load ns/app:gbb-candidate".to_owned()),
        "{calls:?}"
    );
}

#[test]
fn a_candidate_in_use_is_removed_by_force_or_reported_with_the_failure() {
    // Tagging ns/app's result fails, after its candidate was loaded: the candidate is
    // removed, asked again while the engine says it is in use, then forced.
    let candidate = "ns/app:gbb-candidate";
    for (busy_for, stuck, forced, left) in [
        (2, false, false, false),
        (usize::MAX, false, true, false),
        (usize::MAX, true, true, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let stack = stack(dir.path());
        let engine = FakeEngine {
            refused_tag: Some("ns/app:latest".to_owned()),
            busy: Mutex::new(BTreeMap::from([(candidate.to_owned(), busy_for)])),
            stuck: stuck.then(|| candidate.to_owned()),
            ..FakeEngine::default()
        };
        let summary = build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
        assert_eq!(summary.failures.len(), 1);
        let failure = &summary.failures[0];
        let message = failure.to_string();
        assert!(
            message.starts_with("ns/app: tagging `ns/app:latest`"),
            "{message}"
        );
        assert!(matches!(failure.cause(), BuildError::Engine { .. }));
        assert_eq!(
            engine
                .calls()
                .contains(&format!("force-remove {candidate}")),
            forced
        );
        assert_eq!(engine.has(candidate), left);
        assert_eq!(
            message.contains(&format!(
                "and removing the candidate `{candidate}` failed too (`gbb clean` removes it): "
            )),
            left,
            "{message}"
        );
    }
}

/// Phase 2 writes the image from the template as preflight read it: an edit made while the
/// build runs (here, between preparing and running it) does not reach an image whose key was
/// made before it.
#[test]
fn phase_2_writes_the_template_preflight_read() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let template = dir
        .path()
        .join("stack/dock/ns/images/app/Dockerfile.template");
    let with_label =
        |said: &str| format!("FROM ${{IMAGE_PARENT}}\nADD rootfs.tar /\nLABEL said={said}\n");
    std::fs::write(&template, with_label("before")).unwrap();
    let plan = BuildPlan::new(&stack, &Request::default()).unwrap();
    let options = options(&stack, dir.path());
    let engine = FakeEngine::default();
    let build = prepare(&stack, &plan, &engine, &options).unwrap();
    std::fs::write(&template, with_label("after")).unwrap();
    let summary = build.run().unwrap();
    assert!(summary.succeeded(), "{:?}", summary.failures);
    let labels = engine
        .inspect_image("ns/app:latest")
        .unwrap()
        .unwrap()
        .labels;
    assert_eq!(labels.get("said").map(String::as_str), Some("before"));
}

/// The stage3 import's tag is a key of its own; read it back from the engine.
fn engine_stage3_tag(engine: &FakeEngine) -> String {
    engine
        .images
        .lock()
        .unwrap()
        .keys()
        .find_map(|k| k.strip_prefix("gbb-stage3/stage3-tar:").map(str::to_owned))
        .unwrap()
}

#[test]
fn refusals_come_before_any_engine_call() {
    let dir = tempfile::tempdir().unwrap();
    let stack_value = stack(dir.path());
    write(
        dir.path(),
        "stack/dock/ns/images/app/Dockerfile.template",
        "FROM ${IMAGE_PARENT}\n",
    );
    let stack_value = {
        drop(stack_value);
        Stack::discover(&dir.path().join("stack"), &LoadOptions::default()).unwrap()
    };
    let engine = FakeEngine::default();
    let error = build(&stack_value, &engine, dir.path(), Force::Nothing, &[]).unwrap_err();
    assert!(matches!(error, BuildError::NoRootfsAdd { .. }), "{error}");
    assert_eq!(engine.calls(), Vec::<String>::new());

    std::fs::remove_file(dir.path().join("stage3.tar")).unwrap();
    let error = build(
        &stack_value,
        &engine,
        dir.path(),
        Force::Nothing,
        &["ns/bob"],
    )
    .unwrap_err();
    assert!(matches!(error, BuildError::NoStage3File { .. }), "{error}");
    assert_eq!(engine.calls(), Vec::<String>::new());
}

/// Issue 9, item 13: a bad `PORTAGE_DIR` (or `STAGE3_FILE`) says what is wrong and which file
/// and line set it, before any engine call.
#[test]
fn local_inputs_name_where_they_were_set() {
    let dir = tempfile::tempdir().unwrap();
    let stack_value = stack(dir.path());
    let engine = FakeEngine::default();
    let message = |stack_value: &Stack| {
        build(
            stack_value,
            &engine,
            dir.path(),
            Force::Nothing,
            &["ns/bob"],
        )
        .unwrap_err()
        .to_string()
        .replace(&dir.path().display().to_string(), "[DIR]")
    };
    let portage = dir.path().join("portage");
    std::fs::remove_dir_all(portage.join("profiles")).unwrap();
    assert_eq!(
        message(&stack_value),
        "[DIR]/stack/build.conf:2:1: PORTAGE_DIR: `[DIR]/stack/../portage` is not a portage tree: it has no `profiles` folder"
    );
    std::fs::remove_dir_all(&portage).unwrap();
    assert_eq!(
        message(&stack_value),
        "[DIR]/stack/build.conf:2:1: PORTAGE_DIR: `[DIR]/stack/../portage` does not exist"
    );
    std::fs::write(&portage, "a file").unwrap();
    assert_eq!(
        message(&stack_value),
        "[DIR]/stack/build.conf:2:1: PORTAGE_DIR: `[DIR]/stack/../portage` is not a folder"
    );
    std::fs::remove_file(dir.path().join("stage3.tar")).unwrap();
    assert_eq!(
        message(&stack_value),
        "[DIR]/stack/build.conf:1:1: STAGE3_FILE: `[DIR]/stack/../stage3.tar` does not exist or is not a file"
    );
    assert_eq!(engine.calls(), Vec::<String>::new());
}

#[test]
fn only_given_ids_need_their_parents_built() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let engine = FakeEngine::default();
    let request = Request {
        ids: vec!["ns/app".to_owned()],
        only_given: true,
        exclude: Vec::new(),
    };
    let plan = BuildPlan::new(&stack, &request).unwrap();
    let options = options(&stack, dir.path());
    let error = prepare(&stack, &plan, &engine, &options)
        .and_then(|build| build.run())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`ns/base` is needed but not built, and -n keeps gbb from building it: build it first, or drop -n"
    );
}

/// The core's tag, its key.
fn core_tag(engine: &FakeEngine) -> String {
    engine
        .images
        .lock()
        .unwrap()
        .keys()
        .find_map(|k| k.strip_prefix("gbb-core/stage3-tar:").map(str::to_owned))
        .unwrap()
}

/// A stack with two branches under the builder: `base -> app` and `other`.
fn two_branches(dir: &Path) -> Stack {
    stack(dir);
    write(
        dir,
        "stack/dock/ns/images/other/build.conf",
        "IMAGE_PARENT=scratch\n",
    );
    write(
        dir,
        "stack/dock/ns/images/other/Dockerfile.template",
        "FROM scratch\nADD rootfs.tar /\n",
    );
    Stack::discover(&dir.join("stack"), &LoadOptions::default()).unwrap()
}

fn run_with(
    stack: &Stack,
    engine: &FakeEngine,
    dir: &Path,
    jobs: usize,
    fail_fast: bool,
) -> BuildSummary {
    let plan = BuildPlan::new(stack, &Request::default()).unwrap();
    let options = BuildOptions {
        jobs,
        fail_fast,
        ..options(stack, dir)
    };
    prepare(stack, &plan, engine, &options)
        .and_then(|build| build.run())
        .unwrap()
}

fn outcome<'s>(summary: &'s BuildSummary, id: &str) -> &'s Outcome {
    &summary.reports.iter().find(|r| r.id == id).unwrap().outcome
}

#[test]
fn a_failure_blocks_its_descendants_and_not_the_other_branch() {
    for jobs in [1, 2, 4] {
        let dir = tempfile::tempdir().unwrap();
        let stack = two_branches(dir.path());
        let engine = FakeEngine {
            failing: Some("ns/base".to_owned()),
            ..FakeEngine::default()
        };
        let summary = run_with(&stack, &engine, dir.path(), jobs, false);
        assert!(!summary.succeeded());
        assert_eq!(summary.failures.len(), 1);
        assert!(
            summary.failures[0]
                .to_string()
                .starts_with("ns/base: emerge failed with status 1"),
            "{}",
            summary.failures[0]
        );
        assert!(matches!(outcome(&summary, "ns/base"), Outcome::Failed(_)));
        assert_eq!(
            outcome(&summary, "ns/app"),
            &Outcome::NotStarted("needs ns/base, which was not built".to_owned())
        );
        assert_eq!(
            outcome(&summary, "ns/other"),
            &Outcome::Built,
            "jobs={jobs}"
        );
        assert_eq!(outcome(&summary, "ns/bob"), &Outcome::Built);
    }
}

#[test]
fn fail_fast_starts_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let stack = two_branches(dir.path());
    let engine = FakeEngine {
        failing: Some("ns/base".to_owned()),
        ..FakeEngine::default()
    };
    // One at a time, in plan order: core, bob, base (fails); then nothing else starts.
    let summary = run_with(&stack, &engine, dir.path(), 1, true);
    assert!(matches!(outcome(&summary, "ns/base"), Outcome::Failed(_)));
    assert_eq!(
        outcome(&summary, "ns/other"),
        &Outcome::NotStarted("stopped after a failure (--fail-fast)".to_owned())
    );
}

/// A stage3 release on a mirror (served by the test on 127.0.0.1), signed with a test key.
fn release_stack(dir: &Path, mirror: &str) -> Stack {
    write(dir, "portage/profiles/repo_name", "gentoo\n");
    write(
        dir,
        "stack/build.conf",
        &format!("STAGE3_BASE=stage3-amd64-openrc\nMIRROR=\"{mirror}\"\nPORTAGE_DIR=../portage\n"),
    );
    write(dir, "stack/dock/ns/build.conf", "DEFAULT_BUILDER=ns/bob\n");
    write(dir, "stack/dock/ns/builder/bob/build.conf", "");
    Stack::discover(&dir.join("stack"), &LoadOptions::default()).unwrap()
}

#[test]
fn stage3_releases_are_downloaded_verified_and_imported() {
    use gbb_gentoo::test_mirror::{Behaviour, Mirror};
    use gbb_gentoo::testing::{clearsign, detached, test_key};
    use sha2::Digest;

    let (key, public) = test_key("Test Release <releng@example.org>");
    let mirror = Mirror::start();
    let name = "stage3-amd64-openrc-20261101T000000Z.tar.xz";
    let tarball = b"a stage3, really".to_vec();
    let dir_path = "releases/amd64/autobuilds";
    mirror.put(
        &format!("{dir_path}/latest-stage3-amd64-openrc.txt"),
        Behaviour::Serve(clearsign(&key, &format!("20261101T000000Z/{name} 16\n")).into_bytes()),
    );
    let sha: String = sha2::Sha512::digest(&tarball)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    mirror.put(
        &format!("{dir_path}/20261101T000000Z/{name}.DIGESTS"),
        Behaviour::Serve(clearsign(&key, &format!("# SHA512 HASH\n{sha}  {name}\n")).into_bytes()),
    );
    mirror.put(
        &format!("{dir_path}/20261101T000000Z/{name}"),
        Behaviour::Serve(tarball.clone()),
    );
    mirror.put(
        &format!("{dir_path}/20261101T000000Z/{name}.asc"),
        Behaviour::Serve(detached(&key, &tarball).into_bytes()),
    );

    let dir = tempfile::tempdir().unwrap();
    let stack = release_stack(dir.path(), &mirror.url);
    let plan = BuildPlan::new(&stack, &Request::default()).unwrap();
    let engine = FakeEngine::default();
    let options = |gentoo| BuildOptions {
        gentoo,
        ..options(&stack, dir.path())
    };

    // Without a key (and without -s), nothing is fetched or run.
    let error = prepare(&stack, &plan, &engine, &options(GentooInputs::default()))
        .and_then(|build| build.run())
        .unwrap_err();
    assert!(matches!(error, BuildError::NoKeyring), "{error}");
    assert!(mirror.requests.lock().unwrap().is_empty());

    let gentoo = GentooInputs {
        keyring: Some(gbb_gentoo::Keyring::from_armor(&public).unwrap()),
        skip_signatures: false,
    };
    let summary = prepare(&stack, &plan, &engine, &options(gentoo.clone()))
        .and_then(|build| build.run())
        .unwrap();
    assert!(summary.succeeded());
    let imported = engine.imported.lock().unwrap().clone();
    assert_eq!(imported, [dir.path().join("cache/stage3").join(name)]);
    assert_eq!(std::fs::read(&imported[0]).unwrap(), tarball);

    // A second build finds everything up to date; the stage3 is not downloaded again.
    let summary = prepare(&stack, &plan, &engine, &options(gentoo))
        .and_then(|build| build.run())
        .unwrap();
    assert!(
        summary
            .reports
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Skipped(_)))
    );
    let tarball_requests = mirror.requests_for(&format!("{dir_path}/20261101T000000Z/{name}"));
    assert_eq!(tarball_requests.len(), 1);
}

#[test]
fn portage_snapshots_are_downloaded_verified_unpacked_and_mounted() {
    use std::io::Write;

    use gbb_gentoo::test_mirror::{Behaviour, Mirror};
    use gbb_gentoo::testing::{detached, test_key};

    let (key, public) = test_key("Snapshots <s@example.org>");
    let mirror = Mirror::start();
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(7);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "gentoo/profiles/repo_name", &b"gentoo\n"[..])
        .unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar.into_inner().unwrap()).unwrap();
    let snapshot = xz.finish().unwrap();
    mirror.put(
        "snapshots/gentoo-20261101.tar.xz",
        Behaviour::Serve(snapshot.clone()),
    );
    mirror.put(
        "snapshots/gentoo-20261101.tar.xz.gpgsig",
        Behaviour::Serve(detached(&key, &snapshot).into_bytes()),
    );

    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stage3.tar", "a stage3");
    write(
        dir.path(),
        "stack/build.conf",
        &format!(
            "STAGE3_FILE=../stage3.tar\nPORTAGE_URL=\"{}snapshots/\"\nPORTAGE_DATE=20261101\n",
            mirror.url
        ),
    );
    write(
        dir.path(),
        "stack/dock/ns/build.conf",
        "DEFAULT_BUILDER=ns/bob\n",
    );
    write(dir.path(), "stack/dock/ns/builder/bob/build.conf", "");
    let stack = Stack::discover(&dir.path().join("stack"), &LoadOptions::default()).unwrap();
    let plan = BuildPlan::new(&stack, &Request::default()).unwrap();
    let engine = FakeEngine::default();
    let options = BuildOptions {
        gentoo: GentooInputs {
            keyring: Some(gbb_gentoo::Keyring::from_armor(&public).unwrap()),
            skip_signatures: false,
        },
        ..options(&stack, dir.path())
    };
    let summary = prepare(&stack, &plan, &engine, &options)
        .and_then(|build| build.run())
        .unwrap();
    assert!(summary.succeeded());
    let tree = dir.path().join("cache/portage/gentoo-20261101");
    assert_eq!(
        std::fs::read_to_string(tree.join("profiles/repo_name")).unwrap(),
        "gentoo\n"
    );
    assert_eq!(
        engine.portage_mounts.lock().unwrap().clone(),
        [std::fs::canonicalize(&tree).unwrap()],
        "the builder's container mounts the unpacked tree"
    );
}

/// Mount points the engine added for a user's mount are taken out of the kept state: the
/// state is committed, cleaned by a container without mounts, and committed again; gbb's own
/// mount points and containers without user mounts cost nothing more.
#[test]
fn mount_points_of_user_mounts_are_removed_from_kept_states() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "host/tool", "#!/bin/sh\n");
    let stack = stack(dir.path());
    write(
        dir.path(),
        "stack/dock/ns/builder/bob/build.conf",
        "BUILDER_MOUNTS=( \"../../../../../host/tool:/usr/bin/make:ro\" )\n",
    );
    let stack = Stack::discover(&stack.root, &LoadOptions::default()).unwrap();
    let engine = FakeEngine::default();
    let summary = build(&stack, &engine, dir.path(), Force::Nothing, &["ns/base"]).unwrap();
    assert!(summary.succeeded(), "{:?}", summary.failures);
    let calls = engine.calls();
    let at = calls
        .iter()
        .position(|c| c == "commit ns/bob:gbb-candidate")
        .unwrap();
    assert_eq!(
        calls[at..],
        [
            "commit ns/bob:gbb-candidate",
            "run ns/bob:gbb-candidate /usr/bin/make",
            "commit ns/bob:gbb-candidate",
            "run ns/bob:latest image",
            "commit ns/bob-base:gbb-candidate",
            "load ns/base:gbb-candidate",
        ]
    );
    // The second commit carries the key: nothing runs again.
    build(&stack, &engine, dir.path(), Force::Nothing, &["ns/base"]).unwrap();
    assert_eq!(engine.calls(), Vec::<String>::new());
}

/// `stack()` in `dir` with `IMAGE_TAG` set in its global file.
fn stack_tagged(dir: &Path, tag: &str) -> Stack {
    stack(dir);
    write(
        dir,
        "stack/build.conf",
        &format!("STAGE3_FILE=../stage3.tar\nPORTAGE_DIR=../portage\nIMAGE_TAG={tag}\n"),
    );
    Stack::discover(&dir.join("stack"), &LoadOptions::default()).unwrap()
}

fn whole(stack: &Stack) -> BuildPlan {
    BuildPlan::new(
        stack,
        &Request {
            only_given: true,
            ..Request::default()
        },
    )
    .unwrap()
}

fn named(stack: &Stack, id: &str) -> BuildPlan {
    BuildPlan::new(
        stack,
        &Request {
            ids: vec![id.to_owned()],
            only_given: true,
            exclude: Vec::new(),
        },
    )
    .unwrap()
}

/// Issue 9, item 11: two stacks with one namespace name; each cleans only its own images.
#[test]
fn clean_takes_only_what_this_stack_made_with_every_tag() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engine = FakeEngine::default();
    let first = stack_tagged(one.path(), "1");
    build(&first, &engine, one.path(), Force::Nothing, &[]).unwrap();
    // A new IMAGE_TAG: everything is built again, and the old tags stay.
    let first = stack_tagged(one.path(), "2");
    build(&first, &engine, one.path(), Force::Nothing, &[]).unwrap();
    let first_id = gbb_build::stack_identity(&first.root);

    let found =
        gbb_build::images_to_clean(&engine, &first, &named(&first, "ns/base"), &first_id).unwrap();
    assert_eq!(
        found.remove,
        [
            "ns/base:1",
            "ns/base:2",
            "ns/base:latest",
            "ns/bob-base:latest"
        ],
        "every tag of the id and its state, nothing else"
    );
    assert!(found.foreign.is_empty(), "{:?}", found.foreign);

    // The other stack, same namespace name, builds over the names.
    let second = stack_tagged(two.path(), "2");
    build(&second, &engine, two.path(), Force::Nothing, &[]).unwrap();
    let found = gbb_build::images_to_clean(&engine, &first, &whole(&first), &first_id).unwrap();
    assert!(
        found.remove.iter().all(|n| n.ends_with(":1")),
        "only the first stack's old tags are still its own: {:?}",
        found.remove
    );
    assert!(
        found.foreign.contains(&"ns/bob:latest".to_owned()),
        "{:?}",
        found.foreign
    );
    let second_id = gbb_build::stack_identity(&second.root);
    let found = gbb_build::images_to_clean(&engine, &second, &whole(&second), &second_id).unwrap();
    assert!(found.remove.contains(&"ns/bob:latest".to_owned()));
    // Children before what they are built on: the images, then the builder.
    let position = |name: &str| found.remove.iter().position(|n| n == name).unwrap();
    assert!(position("ns/app:latest") < position("ns/bob:latest"));
    assert!(position("ns/bob-base:latest") < position("ns/bob:latest"));
    // Shared cores are nobody's to remove.
    assert!(
        found.remove.iter().all(|n| !n.starts_with("gbb-")),
        "{:?}",
        found.remove
    );
}

/// Issue 9, item 11: `--dangling` finds old builder tags and candidate tags, not releases.
#[test]
fn dangling_finds_old_builder_tags_and_candidates_only() {
    let dir = tempfile::tempdir().unwrap();
    let engine = FakeEngine::default();
    let stack = stack_tagged(dir.path(), "1");
    build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    let stack = stack_tagged(dir.path(), "2");
    build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    let identity = gbb_build::stack_identity(&stack.root);
    // A candidate a killed run left.
    let labels = engine.images.lock().unwrap()["ns/app:latest"].clone();
    engine
        .images
        .lock()
        .unwrap()
        .insert("ns/app:gbb-candidate".to_owned(), labels);
    let dangling = gbb_build::dangling_images(&engine, &stack, None, &identity).unwrap();
    let mut references: Vec<&str> = dangling.iter().map(|d| d.reference.as_str()).collect();
    references.sort_unstable();
    assert_eq!(references, ["ns/app:gbb-candidate", "ns/bob:1"]);
    let only_base =
        gbb_build::dangling_images(&engine, &stack, Some(&named(&stack, "ns/base")), &identity)
            .unwrap();
    assert!(only_base.is_empty(), "{only_base:?}");
}

/// Issue 9, item 12: `-C` builds this stack's own stage3 import and core, and leaves the
/// shared ones as they were; the stack then builds in its own core.
#[test]
fn clean_all_builds_the_stacks_own_core_and_leaves_the_shared_one() {
    let dir = tempfile::tempdir().unwrap();
    let stack = stack(dir.path());
    let engine = FakeEngine::default();
    build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    engine.calls();
    let shared: BTreeMap<String, BTreeMap<String, String>> = engine
        .images
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.starts_with("gbb-"))
        .map(|(n, l)| (n.clone(), l.clone()))
        .collect();
    let identity = gbb_build::stack_identity(&stack.root);

    build(&stack, &engine, dir.path(), Force::Everything, &[]).unwrap();
    let calls = engine.calls();
    assert_eq!(
        calls[..3],
        [
            format!("import gbb-stage3/stage3-tar:stack-{identity}"),
            format!("build gbb-core/stage3-tar:stack-{identity}"),
            format!("run gbb-core/stage3-tar:stack-{identity} builder"),
        ]
    );
    assert!(
        calls
            .iter()
            .all(|c| !c.contains(&format!(":{}", core_tag(&engine)))),
        "the shared core is not touched: {calls:?}"
    );
    for (name, labels) in &shared {
        assert_eq!(engine.images.lock().unwrap().get(name), Some(labels));
    }
    // Unchanged afterwards: its own core is current, nothing runs.
    build(&stack, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    assert_eq!(engine.calls(), Vec::<String>::new());
    // And `clean --images` removes its own core and stage3, the core first.
    let found = gbb_build::images_to_clean(&engine, &stack, &whole(&stack), &identity).unwrap();
    assert_eq!(
        found.remove[found.remove.len() - 2..],
        [
            format!("gbb-core/stage3-tar:stack-{identity}"),
            format!("gbb-stage3/stage3-tar:stack-{identity}"),
        ]
    );
}

/// Issue 9, item 7: this stack's containers of a process that is gone are removed; those of
/// this process, of another machine, of an older gbb and of another stack stay.
#[test]
fn orphans_of_gone_processes_are_removed_and_no_others() {
    let engine = FakeEngine::default();
    let here = gbb_build::Owner::current();
    let container = |id: &str, owner: String| {
        let stack = if id == "other/dead" {
            "another"
        } else {
            "this"
        };
        let mut labels = BTreeMap::new();
        labels.insert(gbb_build::STACK_LABEL.to_owned(), stack.to_owned());
        labels.insert(gbb_build::CONTAINER_LABEL.to_owned(), owner);
        labels.insert(gbb_build::ID_LABEL.to_owned(), id.to_owned());
        engine
            .create_container(&ContainerSpec {
                image: "x".to_owned(),
                labels,
                ..ContainerSpec::default()
            })
            .unwrap()
    };
    let dead = gbb_build::Owner {
        start: here.start + 1,
        ..here.clone()
    };
    let elsewhere = gbb_build::Owner {
        machine: "another-machine".to_owned(),
        start: here.start + 1,
        ..here.clone()
    };
    let gone = container("ns/dead", dead.label_value());
    let mine = container("ns/mine", here.label_value());
    let remote = container("ns/remote", elsewhere.label_value());
    let old = container("ns/old", "12345".to_owned());
    let other_stack = container("other/dead", dead.label_value());
    let orphans = gbb_build::remove_orphans(&engine, "this").unwrap();
    assert_eq!(orphans.removed, [(gone, "ns/dead".to_owned())]);
    assert_eq!(orphans.unknown, 2);
    let left: Vec<String> = engine.containers.lock().unwrap().keys().cloned().collect();
    let mut kept = vec![mine, old, remote, other_stack];
    kept.sort();
    assert_eq!(left, kept);
}

/// Issue 14: an image nothing builds in keeps no state; a child added later changes its
/// parent's key ("state now needed"), so the parent is built again and kept this time, and
/// the child then builds in that state.
#[test]
fn a_child_added_later_gives_its_parent_a_state() {
    let dir = tempfile::tempdir().unwrap();
    let stack_value = stack(dir.path());
    let engine = FakeEngine::default();
    build(&stack_value, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    let commits: Vec<String> = engine
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("commit"))
        .collect();
    assert_eq!(
        commits,
        [
            "commit ns/bob:gbb-candidate",
            "commit ns/bob-base:gbb-candidate"
        ],
        "ns/app is a leaf"
    );
    assert!(!engine.has("ns/bob-app:latest"));
    assert_eq!(
        std::mem::take(&mut *engine.keep_state.lock().unwrap()),
        ["GBB_KEEP_STATE=true", "GBB_KEEP_STATE=false"],
        "phase 1 of ns/base, then of ns/app, told whether they are kept"
    );

    write(
        dir.path(),
        "stack/dock/ns/images/child/build.conf",
        "IMAGE_PARENT=ns/app\n",
    );
    write(
        dir.path(),
        "stack/dock/ns/images/child/Dockerfile.template",
        "FROM ${IMAGE_PARENT}\nADD rootfs.tar /\n",
    );
    let stack_value = Stack::discover(
        &dir.path().join("stack"),
        &LoadOptions {
            env: Environment::empty(),
            user_config: None,
        },
    )
    .unwrap();
    let summary = build(&stack_value, &engine, dir.path(), Force::Nothing, &[]).unwrap();
    let app = summary.reports.iter().find(|r| r.id == "ns/app").unwrap();
    assert_eq!(
        app.why.as_ref().map(ToString::to_string).as_deref(),
        Some("state now needed")
    );
    assert_eq!(
        engine.calls(),
        [
            "run ns/bob-base:latest image",
            "commit ns/bob-app:gbb-candidate",
            "load ns/app:gbb-candidate",
            "run ns/bob-app:latest image",
            "load ns/child:gbb-candidate",
        ]
    );
    assert!(engine.has("ns/bob-app:latest"));
}

/// The two-branch stack plus a namespace `pod` on Podman: its own builder, and `own` on
/// scratch.
fn mixed_stack(dir: &Path) -> Stack {
    two_branches(dir);
    write(
        dir,
        "stack/dock/pod/build.conf",
        "DEFAULT_BUILDER=pod/bob\nCONTAINER_ENGINE=podman\n",
    );
    write(dir, "stack/dock/pod/builder/bob/build.conf", "");
    write(
        dir,
        "stack/dock/pod/images/own/build.conf",
        "IMAGE_PARENT=scratch\n",
    );
    write(
        dir,
        "stack/dock/pod/images/own/Dockerfile.template",
        "FROM scratch\nADD rootfs.tar /\n",
    );
    Stack::discover(&dir.join("stack"), &LoadOptions::default()).unwrap()
}

/// Records the id and outcome of each finished step, as the progress output shows them.
#[derive(Default)]
struct Finished(Mutex<Vec<String>>);

impl Reporter for Finished {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, report: &StepReport) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {:?}", report.id, report.outcome));
    }
    fn log(&self, _: &str, _: &str, _: gbb_build::LogEvent<'_>) {}
}

/// The whole of `stack` built as `gbb build` does: cut by engine, each part on its engine
/// (`docker` or `podman`) with `registry`, run in one pool. The progress goes to `progress`.
fn run_mixed(
    stack: &Stack,
    (docker, podman): (&FakeEngine, &FakeEngine),
    dir: &Path,
    (jobs, fail_fast): (usize, bool),
    registry: &ContainerRegistry,
    progress: &Finished,
) -> Result<BuildSummary, BuildError> {
    let plan = BuildPlan::new(stack, &Request::default()).unwrap();
    let split = gbb_build::split_by_engine(stack, &plan);
    assert!(split.refused.is_empty(), "{:?}", split.refused);
    let parts = gbb_build::by_engine(stack, &split.build, None);
    let options = BuildOptions {
        jobs,
        fail_fast,
        ..options(stack, dir)
    };
    let parts: Vec<gbb_build::EnginePart> = parts
        .iter()
        .map(|(kind, plan)| gbb_build::EnginePart {
            kind: kind.clone(),
            plan,
            engine: if *kind == ContainerEngine::Podman {
                podman
            } else {
                docker
            },
            registry: registry.clone(),
        })
        .collect();
    gbb_build::build_on_engines(stack, &split.build, &parts, &options, progress)
}

fn outcomes(summary: &BuildSummary) -> Vec<String> {
    summary
        .reports
        .iter()
        .map(|r| format!("{} {:?}", r.id, r.outcome))
        .collect()
}

/// Issue 13: a stack with a namespace on Docker and one on Podman is one build: one summary
/// in plan order, the core (made on each engine) named with its engine in the summary and in
/// the progress, each step on its own engine.
#[test]
fn namespaces_on_two_engines_build_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let stack = mixed_stack(dir.path());
    let (docker, podman) = (FakeEngine::default(), FakeEngine::default());
    let progress = Finished::default();
    let summary = run_mixed(
        &stack,
        (&docker, &podman),
        dir.path(),
        (2, false),
        &ContainerRegistry::new(),
        &progress,
    )
    .unwrap();
    assert!(summary.succeeded(), "{:?}", outcomes(&summary));
    let core = summary.reports[0].id.strip_suffix(" (docker)").unwrap();
    assert_eq!(
        outcomes(&summary),
        [
            format!("{core} (docker) Built"),
            format!("{core} (podman) Built"),
            "ns/bob Built".to_owned(),
            "pod/bob Built".to_owned(),
            "ns/base Built".to_owned(),
            "ns/app Built".to_owned(),
            "ns/other Built".to_owned(),
            "pod/own Built".to_owned(),
        ]
    );
    let mut seen = progress.0.lock().unwrap().clone();
    seen.sort();
    let mut expected = outcomes(&summary);
    expected.sort();
    assert_eq!(
        seen, expected,
        "the progress names the engine as the summary does"
    );
    let built = |engine: &FakeEngine| {
        engine
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("load ") || c.starts_with("commit "))
            .collect::<Vec<_>>()
    };
    let mut on_docker = built(&docker);
    on_docker.sort();
    assert_eq!(
        on_docker,
        [
            "commit ns/bob-base:gbb-candidate",
            "commit ns/bob:gbb-candidate",
            "load ns/app:gbb-candidate",
            "load ns/base:gbb-candidate",
            "load ns/other:gbb-candidate",
        ]
    );
    assert_eq!(
        built(&podman),
        ["commit pod/bob:gbb-candidate", "load pod/own:gbb-candidate"]
    );
    // Both cores were made at once: each wrote a log of its own.
    let mut core_logs: Vec<String> = std::fs::read_dir(dir.path().join("stack/.gbb/logs/core"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    core_logs.sort();
    assert_eq!(
        core_logs,
        ["stage3-tar.docker.log", "stage3-tar.podman.log"],
        "{core_logs:?}"
    );
}

/// Issue 13: a failure on one engine blocks what needs it; the other engine's work goes on
/// (and the same engine's other branch), and the summary has the one failure.
#[test]
fn a_failure_on_one_engine_lets_the_other_go_on() {
    for jobs in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let stack = mixed_stack(dir.path());
        let docker = FakeEngine {
            failing: Some("ns/base".to_owned()),
            ..FakeEngine::default()
        };
        let podman = FakeEngine::default();
        let summary = run_mixed(
            &stack,
            (&docker, &podman),
            dir.path(),
            (jobs, false),
            &ContainerRegistry::new(),
            &Finished::default(),
        )
        .unwrap();
        assert!(!summary.succeeded());
        assert_eq!(summary.failures.len(), 1, "jobs={jobs}");
        assert!(matches!(outcome(&summary, "ns/base"), Outcome::Failed(_)));
        assert_eq!(
            outcome(&summary, "ns/app"),
            &Outcome::NotStarted("needs ns/base, which was not built".to_owned())
        );
        assert_eq!(outcome(&summary, "ns/other"), &Outcome::Built);
        assert_eq!(outcome(&summary, "pod/own"), &Outcome::Built, "jobs={jobs}");
    }
}

/// Issue 13: with `--fail-fast`, a failure on Docker starts nothing new on Podman either.
#[test]
fn fail_fast_stops_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let stack = mixed_stack(dir.path());
    let docker = FakeEngine {
        failing: Some("ns/base".to_owned()),
        ..FakeEngine::default()
    };
    let podman = FakeEngine::default();
    // One at a time, the engines side by side: the cores, the builders, ns/base (fails);
    // pod/own would come next.
    let summary = run_mixed(
        &stack,
        (&docker, &podman),
        dir.path(),
        (1, true),
        &ContainerRegistry::new(),
        &Finished::default(),
    )
    .unwrap();
    assert!(matches!(outcome(&summary, "ns/base"), Outcome::Failed(_)));
    let stopped = Outcome::NotStarted("stopped after a failure (--fail-fast)".to_owned());
    assert_eq!(outcome(&summary, "pod/own"), &stopped);
    assert_eq!(outcome(&summary, "ns/other"), &stopped);
    assert!(
        !podman.calls().iter().any(|c| c.contains("pod/own")),
        "nothing of pod/own ran"
    );
}

/// Issue 13: Ctrl-C while Docker's part runs starts nothing new on Podman, and the build
/// ends as interrupted.
#[test]
fn ctrl_c_on_one_engine_stops_both() {
    let dir = tempfile::tempdir().unwrap();
    let stack = mixed_stack(dir.path());
    let registry = ContainerRegistry::new();
    let docker = FakeEngine {
        interrupting: Some(("ns/base".to_owned(), registry.clone())),
        ..FakeEngine::default()
    };
    let podman = FakeEngine::default();
    let error = run_mixed(
        &stack,
        (&docker, &podman),
        dir.path(),
        (1, false),
        &registry,
        &Finished::default(),
    )
    .unwrap_err();
    assert!(matches!(error, BuildError::Interrupted), "{error}");
    let calls = podman.calls();
    assert!(
        calls.contains(&"commit pod/bob:gbb-candidate".to_owned()),
        "pod/bob ran before: {calls:?}"
    );
    assert!(
        !calls.iter().any(|c| c.contains("pod/own")),
        "nothing of pod/own ran: {calls:?}"
    );
    assert!(!docker.calls().iter().any(|c| c.contains("ns/app")));
}

//! The inputs stage: everything a build takes from outside the stack, fetched, verified and
//! looked up before any key is computed.
//!
//! Two kinds of input: the cores' stage3 releases and portage snapshots (downloaded, checked
//! against Gentoo's keys and hashes, cached; see `gbb_gentoo`), which become local files; and
//! the keys of builders and images the plan builds on but does not build (`-n`, `-e`), read
//! from the labels of the images already there. [`ResolvedInputs`] holds both, so computing
//! keys afterwards is hashing only, and every step's container finds its portage tree here.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use gbb_engine::Engine;
use gbb_plan::{BuildPlan, BuilderBuildsIn, ImageBuildsIn, Step, StepId};
use gbb_stack::{CoreInput, ImageId, PortageTree, Stage3};

use super::existing_key;
use super::options::BuildOptions;
use super::report::Reporter;
use crate::{BuildError, ContentKey, names};

/// What the inputs stage found.
#[derive(Debug, Default)]
pub(crate) struct ResolvedInputs {
    /// Core inputs with their release and snapshot replaced by local files: a verified stage3
    /// file and an unpacked, verified portage tree.
    local: HashMap<CoreInput, CoreInput>,
    /// Keys of the builders and images outside the plan that its steps build on; `None` when
    /// that image is not built.
    built: HashMap<ImageId, Option<ContentKey>>,
}

impl ResolvedInputs {
    /// Fetches and verifies every core input `plan` needs (its cores, and the cores its
    /// builders' and images' chains start from, whose portage trees their containers mount),
    /// and reads the keys of what it builds on from outside.
    pub(crate) fn resolve(
        plan: &BuildPlan,
        engine: &dyn Engine,
        options: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<Self, BuildError> {
        let mut inputs = Self::default();
        let fetcher = Fetcher { options, reporter };
        let in_plan: HashSet<&StepId> = plan.steps.iter().map(Step::id).collect();
        let mut outside: Vec<&ImageId> = Vec::new();
        let needs_outside = |id: &'_ ImageId| !in_plan.contains(&StepId::Definition(id.clone()));
        for step in &plan.steps {
            let core = match step {
                Step::Core(core) => Some(&core.core),
                Step::Builder(builder) => {
                    if let BuilderBuildsIn::Builder(base) = &builder.builds_in
                        && needs_outside(base)
                    {
                        outside.push(base);
                    }
                    builder.core.as_ref()
                }
                Step::Image(image) => {
                    let builder = match &image.builds_in {
                        ImageBuildsIn::Builder(builder) => Some(builder),
                        ImageBuildsIn::ParentState { .. } => None,
                    };
                    for id in [image.parent.as_ref(), builder, image.root_builder.as_ref()]
                        .into_iter()
                        .flatten()
                    {
                        if needs_outside(id) {
                            outside.push(id);
                        }
                    }
                    image.core.as_ref()
                }
            };
            if let Some(core) = core
                && !inputs.local.contains_key(&core.input)
            {
                let local = fetcher.local(&core.input)?;
                inputs.local.insert(core.input.clone(), local);
            }
        }
        for id in outside {
            if !inputs.built.contains_key(id) {
                let key = existing_key(engine, &names::latest(id))?;
                inputs.built.insert(id.clone(), key);
            }
        }
        Ok(inputs)
    }

    /// `input` with local files in place of its release and snapshot.
    pub(crate) fn local(&self, input: &CoreInput) -> &CoreInput {
        self.local
            .get(input)
            .expect("the inputs stage resolved every core input of the plan")
    }

    /// The key of `id`, built before and not in this plan; `None` when it is not built (or
    /// was never looked up).
    pub(crate) fn built_key(&self, id: &ImageId) -> Option<&ContentKey> {
        self.built.get(id).and_then(Option::as_ref)
    }
}

/// Fetches Gentoo's inputs, reporting progress.
struct Fetcher<'a> {
    options: &'a BuildOptions,
    reporter: &'a dyn Reporter,
}

impl Fetcher<'_> {
    fn local(&self, input: &CoreInput) -> Result<CoreInput, BuildError> {
        let mut local = input.clone();
        if let Stage3::Release { .. } = &input.stage3 {
            local.stage3 = Stage3::File {
                path: self.fetch_release(input)?,
            };
        }
        if let PortageTree::Snapshot { url, date } = &input.portage {
            local.portage = PortageTree::Dir {
                path: self.fetch_snapshot(input, url.as_deref(), date)?,
            };
        }
        Ok(local)
    }

    fn keyring(&self) -> gbb_gentoo::Keyring {
        // Without -s, preflight made sure there is a keyring; with -s it is not used.
        self.options
            .gentoo
            .keyring
            .clone()
            .unwrap_or_else(gbb_gentoo::Keyring::empty)
    }

    /// Downloads, checks and unpacks the portage snapshot of a core, or finds it unpacked.
    fn fetch_snapshot(
        &self,
        input: &CoreInput,
        url: Option<&str>,
        date: &str,
    ) -> Result<PathBuf, BuildError> {
        let label = format!("core:{}", input.stage3.label());
        let mirrors = match &input.stage3 {
            Stage3::Release { mirrors, .. } => mirrors.clone(),
            Stage3::File { .. } => Vec::new(),
        };
        self.reporter
            .started(&label, &format!("fetching portage snapshot `{date}`"));
        let keyring = self.keyring();
        let today = today();
        let request = gbb_gentoo::SnapshotRequest {
            mirrors: &mirrors,
            url,
            date,
            today: &today,
            cache: &self.options.paths.cache.join("portage"),
            keyring: &keyring,
            skip_signatures: self.options.gentoo.skip_signatures,
        };
        gbb_gentoo::fetch_snapshot(
            &gbb_gentoo::Downloader::default(),
            &request,
            self.reporter.download(),
        )
        .map_err(|source| BuildError::Snapshot { id: label, source })
    }

    /// Downloads and verifies the stage3 release of a core, or finds it in the cache.
    fn fetch_release(&self, input: &CoreInput) -> Result<PathBuf, BuildError> {
        let core = format!("core:{}", input.stage3.label());
        let Stage3::Release {
            base,
            date,
            arch,
            mirrors,
        } = &input.stage3
        else {
            unreachable!("called for releases")
        };
        let keyring = self.keyring();
        self.reporter.started(
            &core,
            &format!("finding stage3 `{base}` on {}", mirrors.join(" ")),
        );
        let cache = self.options.paths.cache.join("stage3");
        let request = gbb_gentoo::Stage3Request {
            mirrors,
            arch,
            base,
            date: date.as_deref(),
            cache: &cache,
            keyring: &keyring,
            skip_signatures: self.options.gentoo.skip_signatures,
        };
        let stage3 = gbb_gentoo::fetch_stage3(
            &gbb_gentoo::Downloader::default(),
            &request,
            self.reporter.download(),
        )
        .map_err(|source| BuildError::Stage3 { id: core, source })?;
        Ok(stage3.path)
    }
}

/// Today as `YYYYMMDD` (UTC), for naming the daily `latest` snapshot.
fn today() -> String {
    jiff::Timestamp::now().strftime("%Y%m%d").to_string()
}

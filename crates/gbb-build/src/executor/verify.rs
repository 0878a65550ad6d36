//! `gbb verify`: each requested image built again from binary packages in a scratch place, its
//! manifest digest compared with the one its last build kept.
//!
//! The scratch place is the build's own [`Paths`] with another state folder (the caller's
//! `.gbb/verify/`): phase 1 runs in a fresh output folder there, in the same build container
//! a build would use (the image's builder, or its parent's kept state), with the same binary
//! package cache; phase 2 writes into a scratch store (`<scratch>/images`) on top of the
//! parent as it was kept. Nothing the user sees changes: no tag moves, no state is kept, the
//! phase 1 container is removed, no `manifest` file is written. An image whose inputs changed
//! since its last build is not rebuilt (its digest would differ for that reason alone).
//!
//! When the digests differ, [`gbb_image::first_difference`] names the first file (or config
//! field) that does: a hook that writes the date into the root shows up as that file.

use gbb_image::BlobStore;
use gbb_plan::{Reason, Step};

use super::Build;
use super::steps::image::run_image;
use super::steps::image_phase2::ImageTarget;
use crate::error::image_error;
use crate::image_store::kept_image;
use crate::{BuildError, Paths, names};

/// What `gbb verify` found for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// The rebuild has the kept manifest digest.
    Same { digest: String },
    /// It has another; `difference` is the first file or config field that differs.
    Different {
        kept: String,
        rebuilt: String,
        difference: String,
    },
    /// No kept image to compare with: never built, or built by a gbb before images were
    /// written by gbb.
    NotBuilt,
    /// Its inputs changed since its last build.
    Changed,
}

/// One image's verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub id: String,
    pub outcome: VerifyOutcome,
}

impl Build<'_> {
    /// Verifies the images the plan was asked for (see the module docs); this build's paths
    /// are the scratch place, `kept` the stack's own.
    pub fn verify(&self, kept: &Paths) -> Result<Vec<Verified>, BuildError> {
        crate::outputs::remove_leftover_runs(&self.options.paths)?;
        let store_error = image_error("gbb verify");
        let kept_store = BlobStore::open(kept.image_store()).map_err(&store_error)?;
        let scratch_store =
            BlobStore::open(self.options.paths.image_store()).map_err(&store_error)?;
        let mut results = Vec::new();
        for step in &self.plan.steps {
            let Step::Image(step) = step else { continue };
            if step.reason != Reason::Requested {
                continue;
            }
            if self.registry.interrupted() {
                return Err(BuildError::Interrupted);
            }
            let definition = self.definition(step.definition);
            let id = definition.id.to_string();
            let key = self.key_of_step(&step.id);
            if self.existing_key(&names::latest(&definition.id))?.as_ref() != Some(key) {
                let outcome = match kept_image(&kept_store, kept, &id)? {
                    None => VerifyOutcome::NotBuilt,
                    Some(_) => VerifyOutcome::Changed,
                };
                results.push(Verified { id, outcome });
                continue;
            }
            let Some(kept_image) = kept_image(&kept_store, kept, &id)? else {
                results.push(Verified {
                    id,
                    outcome: VerifyOutcome::NotBuilt,
                });
                continue;
            };

            // Phase 1, into a scratch folder, in the container a build would use.
            self.reporter.started(&id, "verify: phase 1");
            let phase1 = self.run_phase1(step, &run_image(step))?;
            self.remove(&id, &phase1.container, "the phase 1 container")?;

            // Phase 2, into the scratch store, on the parent as it was kept.
            self.reporter.started(&id, "verify: phase 2");
            let template = self.prepared.template(step.definition);
            let written = self.write_phase2_image(
                step,
                definition,
                template,
                &phase1.rootfs,
                &ImageTarget {
                    store: &scratch_store,
                    parents: (&kept_store, kept),
                    load_as: None,
                },
            )?;
            drop(phase1);
            let (kept_digest, rebuilt) = (
                kept_image.digest().to_string(),
                written.image.digest().to_string(),
            );
            let outcome = if kept_digest == rebuilt {
                VerifyOutcome::Same {
                    digest: kept_digest,
                }
            } else {
                let difference = gbb_image::first_difference(
                    &kept_store,
                    &kept_image,
                    &scratch_store,
                    &written.image,
                )
                .map_err(image_error(&id))?
                .map_or_else(|| "the manifests".to_owned(), |d| d.to_string());
                VerifyOutcome::Different {
                    kept: kept_digest,
                    rebuilt,
                    difference,
                }
            };
            results.push(Verified { id, outcome });
        }
        Ok(results)
    }
}

//! Every name gbb gives an image, made here and nowhere else.
//!
//! | what | name |
//! |---|---|
//! | an image or builder | `<id>:latest`, and `<id>:<IMAGE_TAG>` when that is not `latest` |
//! | an image's kept builder state | `<ns>/<root builder>-<name>:latest` ([`gbb_plan::state_repository`]) |
//! | a result under test | `<repository>:gbb-candidate` until the step succeeded |
//! | a shared core | `gbb-core/<label>:<key>`, its stage3 import `gbb-stage3/<label>:<key>` |
//! | a stack's own core (`-C`) | `gbb-core/<label>:stack-<identity>`, `gbb-stage3/<label>:stack-<identity>` |
//!
//! Shared cores are named by content key and made once: other stacks' builders start from
//! them, so they are never re-tagged. `-C` makes a stack's own instead (the identity of
//! [`crate::stack_identity`]); the stack then uses its own core for as long as its key is
//! current, and `gbb clean --images` removes it.

use gbb_engine::ImageRef;
use gbb_stack::{Definition, ImageId};

use crate::ContentKey;

/// The tag a new result gets until the whole step succeeded; the tags users see move to it
/// only then, so a failure leaves them where they were. `gbb-` tags are refused in stacks
/// (`gbb_stack::RESERVED_TAG_PREFIX`), so this cannot collide with a user's.
pub const CANDIDATE_TAG: &str = "gbb-candidate";

/// The tag every image, builder and state has.
const LATEST: &str = "latest";

/// `<id>:latest`: the name gbb builds on and looks an image or builder up by.
pub fn latest(id: &ImageId) -> ImageRef {
    ImageRef::new(id.as_str(), LATEST)
}

/// The tags a finished image or builder gets: `latest`, and its `IMAGE_TAG` too.
pub fn final_tags(definition: &Definition) -> Vec<ImageRef> {
    let mut tags = vec![latest(&definition.id)];
    if definition.tag != LATEST {
        tags.push(ImageRef::new(
            definition.id.as_str(),
            definition.tag.as_str(),
        ));
    }
    tags
}

/// The names `gbb push` pushes an image as: its final tags, under `<registry>/` when one is
/// given (`registry.example.org:5000/ns/app:1.0`).
pub fn pushed(registry: Option<&str>, definition: &Definition) -> Vec<ImageRef> {
    final_tags(definition)
        .into_iter()
        .map(|tag| match registry {
            Some(registry) => ImageRef::new(format!("{registry}/{}", tag.repository()), tag.tag()),
            None => tag,
        })
        .collect()
}

/// The kept builder state `state` (a repository from the plan).
pub fn state(state: &str) -> ImageRef {
    ImageRef::new(state, LATEST)
}

/// The name a new result of `repository` has while it is under test.
pub fn candidate(repository: &str) -> ImageRef {
    ImageRef::new(repository, CANDIDATE_TAG)
}

/// The core shared by every stack on the machine with this key.
pub fn shared_core(label: &str, key: &ContentKey) -> ImageRef {
    ImageRef::new(format!("gbb-core/{}", image_name_part(label)), key.short())
}

/// The stage3 import shared by every stack on the machine (keyed by the stage3 file alone).
pub fn shared_stage3(label: &str, key: &ContentKey) -> ImageRef {
    ImageRef::new(
        format!("gbb-stage3/{}", image_name_part(label)),
        key.short(),
    )
}

/// The core a stack made for itself with `-C`.
pub fn own_core(label: &str, stack_identity: &str) -> ImageRef {
    ImageRef::new(
        format!("gbb-core/{}", image_name_part(label)),
        format!("stack-{stack_identity}"),
    )
}

/// The stage3 import a stack made for itself with `-C`.
pub fn own_stage3(label: &str, stack_identity: &str) -> ImageRef {
    ImageRef::new(
        format!("gbb-stage3/{}", image_name_part(label)),
        format!("stack-{stack_identity}"),
    )
}

/// A name Docker accepts, made from a label (`stage3-amd64+nomultilib` becomes
/// `stage3-amd64-nomultilib`); also the name of a core's log file.
pub(crate) fn image_name_part(label: &str) -> String {
    let mapped: String = label
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = mapped.trim_matches('-');
    if trimmed.is_empty() {
        "core".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_from_labels() {
        assert_eq!(
            image_name_part("stage3-amd64-hardened+nomultilib-2026"),
            "stage3-amd64-hardened-nomultilib-2026"
        );
        assert_eq!(
            image_name_part("test-build-root.tar"),
            "test-build-root-tar"
        );
        assert_eq!(image_name_part("+++"), "core");
    }

    #[test]
    fn names_of_cores() {
        let key = ContentKey::from_label("sha256:0123456789abcdef0123456789");
        assert_eq!(
            shared_core("stage3-amd64", &key).to_string(),
            format!("gbb-core/stage3-amd64:{}", key.short())
        );
        assert_eq!(
            own_stage3("stage3-amd64", "abcd").to_string(),
            "gbb-stage3/stage3-amd64:stack-abcd"
        );
        assert_eq!(candidate("ns/app").to_string(), "ns/app:gbb-candidate");
    }

    #[test]
    fn the_candidate_tag_is_one_stacks_may_not_use() {
        assert!(CANDIDATE_TAG.starts_with(gbb_stack::RESERVED_TAG_PREFIX));
    }
}

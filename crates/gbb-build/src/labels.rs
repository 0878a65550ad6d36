//! The labels gbb puts on what it makes, and the stack identity they carry.
//!
//! Every image and container gbb makes for a stack carries [`STACK_LABEL`] with the stack's
//! identity, so that `gbb clean` removes only what this stack made: two stacks may well use
//! the same namespace name (`gentoobb/bob` in both), and their images must not be mistaken for
//! each other. A shared core carries the label of the stack that first made it; `gbb clean`
//! removes cores by name, and never the shared ones (see [`crate::names`]).

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::ContentKey;
use crate::key::{KEY_INPUTS_LABEL, KEY_LABEL, KeyInputs};

/// The label naming the stack id a result belongs to (`ns/app`, `core:<stage3>`).
pub const ID_LABEL: &str = "org.gentoo-bb.id";

/// The label carrying the identity of the stack that made an image or container.
pub const STACK_LABEL: &str = "org.gentoo-bb.stack";

/// A stack's identity: the first 16 hex digits of the SHA-256 of its canonical path. The path
/// is what tells two stacks apart on one machine; a moved stack is a new stack (its old images
/// are then another stack's, which `gbb clean` leaves alone).
pub fn stack_identity(root: &Path) -> String {
    // A stack found from inside it has a relative root, and the empty path for `.`.
    let root = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let path = std::fs::canonicalize(root)
        .or_else(|_| std::path::absolute(root))
        .unwrap_or_else(|_| root.to_owned());
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The labels of a result (an image or a kept state) of step `id` of the stack `stack`, with
/// its content key and what the key was made of.
pub(crate) fn result_labels(
    stack: &str,
    id: &str,
    key: &ContentKey,
    record: &KeyInputs,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(KEY_LABEL.to_owned(), key.to_string());
    labels.insert(KEY_INPUTS_LABEL.to_owned(), record.to_label());
    labels.insert(ID_LABEL.to_owned(), id.to_owned());
    labels.insert(STACK_LABEL.to_owned(), stack.to_owned());
    labels
}

/// The labels of a container gbb starts for step `id`: the stack, and this process as its
/// owner (see [`crate::owner`]).
pub(crate) fn container_labels(stack: &str, id: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(ID_LABEL.to_owned(), id.to_owned());
    labels.insert(STACK_LABEL.to_owned(), stack.to_owned());
    labels.insert(
        crate::owner::CONTAINER_LABEL.to_owned(),
        crate::owner::Owner::current().label_value(),
    );
    labels
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::stack_identity;

    #[test]
    fn identity_is_the_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::create_dir(&a).unwrap();
        assert_eq!(
            stack_identity(&a),
            stack_identity(&dir.path().join("a/../a"))
        );
        assert_ne!(stack_identity(&a), stack_identity(dir.path()));
        assert_eq!(stack_identity(&a).len(), 16);
        // The empty path is the working folder (a stack found from `.`).
        let here = std::env::current_dir().unwrap();
        assert_eq!(stack_identity(Path::new("")), stack_identity(&here));
        assert_ne!(stack_identity(Path::new("")), stack_identity(&a));
    }
}

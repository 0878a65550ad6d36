//! Unit tests' stacks: files written into a folder and read as a stack, with its paths (the
//! cache under the same folder). For tests only.

use std::path::Path;

use gbb_stack::Stack;

use crate::Paths;

/// Writes `files` (path in the stack, text) under `dir` and reads the stack there.
pub(crate) fn stack(dir: &Path, files: &[(&str, &str)]) -> (Stack, Paths) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let stack = Stack::discover(
        dir,
        &gbb_stack::LoadOptions {
            env: gbb_config::Environment::empty(),
            user_config: None,
        },
    )
    .unwrap();
    (stack, Paths::new(dir, &dir.join("cache")))
}

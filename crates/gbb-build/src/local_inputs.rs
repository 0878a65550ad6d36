//! The checks of a core's local inputs (`STAGE3_FILE`, `PORTAGE_DIR`) before any container
//! starts, with the file and line that set them.
//!
//! A path is resolved against the config file that names it, so the path alone does not tell
//! the user which of their files to open; the stack is asked where the variable was set to that
//! path (the first image or builder whose config gives it).

use std::path::Path;

use gbb_stack::{Stack, config_path};

use crate::BuildError;

fn origin_of(stack: &Stack, variable: &str, path: &Path) -> Option<gbb_config::Origin> {
    stack.definitions().iter().find_map(|definition| {
        config_path(&definition.config, variable)
            .filter(|(resolved, _)| resolved == path)
            .map(|(_, origin)| origin)
    })
}

/// `STAGE3_FILE` must be a file.
pub(crate) fn check_stage3_file(stack: &Stack, path: &Path) -> Result<(), BuildError> {
    if path.is_file() {
        return Ok(());
    }
    Err(BuildError::NoStage3File {
        path: path.to_owned(),
        origin: origin_of(stack, "STAGE3_FILE", path),
    })
}

/// `PORTAGE_DIR` must be a portage tree: a folder with a `profiles` folder (where a tree
/// names itself, `profiles/repo_name`, and keeps its profiles). Without it, emerge would fail
/// much later inside the container, with a message about repositories rather than this path.
pub(crate) fn check_portage_dir(stack: &Stack, path: &Path) -> Result<(), BuildError> {
    let problem = if !path.exists() {
        "does not exist"
    } else if !path.is_dir() {
        "is not a folder"
    } else if !path.join("profiles").is_dir() {
        "is not a portage tree: it has no `profiles` folder"
    } else {
        return Ok(());
    };
    Err(BuildError::NoPortageDir {
        path: path.to_owned(),
        origin: origin_of(stack, "PORTAGE_DIR", path),
        problem,
    })
}

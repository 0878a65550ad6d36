use std::path::{Path, PathBuf};

use crate::StackError;

/// How a stack is laid out on disk. Both are read the same way once their folders are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// gentoo-bb's original layout: `build.conf` at the top, namespaces in `dock/<ns>/` with
    /// their own `build.conf`.
    Seed,
    /// kubler, one namespace: `kubler.conf` with `images/` and `builder/` next to it. The
    /// namespace is named after the folder.
    KublerSingle,
    /// kubler, several namespaces: a top `kubler.conf` and one folder per namespace, each with
    /// its own `kubler.conf`.
    KublerMulti,
}

impl Layout {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seed => "seed",
            Self::KublerSingle => "kubler-single",
            Self::KublerMulti => "kubler-multi",
        }
    }

    /// The layout of `dir`, if it is the root of a stack.
    pub fn detect(dir: &Path) -> Option<Self> {
        if dir.join("kubler.conf").is_file() {
            if dir.join("images").is_dir() || dir.join("builder").is_dir() {
                Some(Self::KublerSingle)
            } else {
                Some(Self::KublerMulti)
            }
        } else if dir.join("build.conf").is_file() && dir.join("dock").is_dir() {
            Some(Self::Seed)
        } else {
            None
        }
    }

    /// Finds the stack that `start` is in: `start` itself or the nearest folder above it that
    /// is a stack root, so that `gbb` works from inside an image folder as git does from inside
    /// a repository. A kubler namespace folder inside a multi-namespace stack resolves to the
    /// stack above it. The returned path is `start` joined with as many `..` as needed, so that
    /// paths in messages stay relative to where the user is.
    pub fn find(start: &Path) -> Result<(PathBuf, Self), StackError> {
        let absolute = std::path::absolute(start).map_err(|source| StackError::Io {
            path: start.to_owned(),
            source,
        })?;
        // `.` itself is left out so that paths read `dock/ns/...`, not `./dock/ns/...`.
        let mut relative = if start == Path::new(".") {
            PathBuf::new()
        } else {
            start.to_owned()
        };
        let mut current: &Path = &absolute;
        loop {
            if let Some(layout) = Self::detect(current) {
                if layout == Self::KublerSingle
                    && let Some(parent) = current.parent()
                    && Self::detect(parent) == Some(Self::KublerMulti)
                {
                    return Ok((relative.join(".."), Self::KublerMulti));
                }
                return Ok((relative, layout));
            }
            match current.parent() {
                Some(parent) => {
                    current = parent;
                    relative = relative.join("..");
                }
                None => {
                    return Err(StackError::NotFound {
                        dir: start.to_owned(),
                    });
                }
            }
        }
    }
}

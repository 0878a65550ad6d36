//! A name an engine stores an image under: repository and tag.

use std::fmt;

/// `repository:tag`, kept apart so that nothing splits a joined name again (a registry port,
/// `localhost:5000/ns/app`, holds a colon too). gbb makes every `ImageRef` it uses in one
/// module (`gbb_build::names`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageRef {
    repository: String,
    tag: String,
}

impl ImageRef {
    pub fn new(repository: impl Into<String>, tag: impl Into<String>) -> Self {
        Self {
            repository: repository.into(),
            tag: tag.into(),
        }
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

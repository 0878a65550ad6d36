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

    /// A name as the engine lists it (`repo_tags`): `repository:tag`, the tag `latest` when
    /// there is none; a registry's port is not a tag (`localhost:5000/ns/app`).
    pub fn parse(name: &str) -> Self {
        match name.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => Self::new(repository, tag),
            _ => Self::new(name, "latest"),
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

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn names_the_engine_lists() {
        assert_eq!(
            ImageRef::parse("ns/app:1.0"),
            ImageRef::new("ns/app", "1.0")
        );
        assert_eq!(ImageRef::parse("ns/app"), ImageRef::new("ns/app", "latest"));
        assert_eq!(
            ImageRef::parse("localhost:5000/ns/app"),
            ImageRef::new("localhost:5000/ns/app", "latest")
        );
    }
}

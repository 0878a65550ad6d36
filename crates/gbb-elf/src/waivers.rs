//! `_allow_missing_libs`: files whose unmet needs a user accepts.
//!
//! Some images hold programs that only run with libraries mounted at run time (a GPU driver,
//! a plugin host's plugins), or ELF files for another machine. Their paths are waived: a waived
//! program is not checked at all, and a waived library's unmet needs are not reported (the
//! programs loading it are still checked for their other needs).
//!
//! Each word of the value is an absolute path in the image (a leading `/` may be left out) or a
//! glob pattern: `*`, `?` and `[...]` match within one path component, `**` as a whole
//! component matches any number of folders (`/opt/cuda/**`). Paths are matched as they are
//! reported: the program's path, and for a library both the path it was found at and the real
//! file behind its links.

use glob::{MatchOptions, Pattern};

use crate::path::normalize;

const WAIVER_RULES: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Paths and patterns whose unmet needs pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waivers {
    patterns: Vec<Pattern>,
}

/// A waiver that is not a valid pattern.
#[derive(Debug, thiserror::Error)]
#[error("`{pattern}` in `_allow_missing_libs` is not a valid path pattern: {message}")]
pub struct WaiverError {
    pub pattern: String,
    pub message: String,
}

impl Waivers {
    /// No waivers: every file is checked.
    pub fn none() -> Waivers {
        Waivers::default()
    }

    /// Waivers from `_allow_missing_libs`'s value: words separated by blanks.
    pub fn parse(value: &str) -> Result<Waivers, WaiverError> {
        Waivers::new(value.split_whitespace())
    }

    /// Waivers from single paths or patterns (for a bash array, one word per element).
    pub fn new<S: AsRef<str>>(
        patterns: impl IntoIterator<Item = S>,
    ) -> Result<Waivers, WaiverError> {
        let patterns = patterns
            .into_iter()
            .map(|word| {
                let word = word.as_ref();
                Pattern::new(&normalize(word)).map_err(|e| WaiverError {
                    pattern: word.to_owned(),
                    message: e.msg.to_owned(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Waivers { patterns })
    }

    /// Whether the image path `path` is waived.
    pub fn covers(&self, path: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| pattern.matches_with(path, WAIVER_RULES))
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Adds `other`'s paths and patterns (an image's waivers come from `build.conf` and from
    /// `build.sh`; a file either names passes).
    pub fn extend(&mut self, other: &Waivers) {
        self.patterns.extend(other.patterns.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_globs() {
        let waivers = Waivers::parse(
            "/usr/bin/nvidia-smi  opt/app/bin/*\n/opt/cuda/** /usr/lib64/libfoo.so.[0-9]",
        )
        .unwrap();
        assert!(waivers.covers("/usr/bin/nvidia-smi"));
        assert!(waivers.covers("/opt/app/bin/tool"));
        assert!(
            !waivers.covers("/opt/app/bin/sub/tool"),
            "`*` stays in one folder"
        );
        assert!(waivers.covers("/opt/cuda/lib64/stubs/libcuda.so"));
        assert!(waivers.covers("/usr/lib64/libfoo.so.1"));
        assert!(!waivers.covers("/usr/bin/nvidia-smi2"));
        assert!(!Waivers::none().covers("/usr/bin/x"));

        let mut both = Waivers::parse("/usr/bin/a").unwrap();
        both.extend(&Waivers::parse("/usr/bin/b").unwrap());
        assert!(both.covers("/usr/bin/a") && both.covers("/usr/bin/b"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let error = Waivers::parse("/ok /usr/lib/[libx").unwrap_err();
        assert_eq!(error.pattern, "/usr/lib/[libx");
    }
}

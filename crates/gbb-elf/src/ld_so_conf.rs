//! The library folders `/etc/ld.so.conf` adds, read from the merged view as `ldconfig` reads
//! them.
//!
//! The loader itself never reads ld.so.conf: it reads `/etc/ld.so.cache`, which `ldconfig`
//! makes from it. Phase 1 deletes the cache (it describes the build container, not the image),
//! so at run time these folders are searched only when the image runs `ldconfig` (kubler's
//! glibc image does, in its Dockerfile, and children inherit the cache). We search them as if
//! the cache were current: a check that refused every library in an ld.so.conf folder would
//! refuse images that run, and the cache being stale is a different mistake.
//!
//! The syntax is ldconfig's: `#` starts a comment; `include PATTERN...` reads the files the
//! glob patterns match (relative patterns from the including file's folder, sorted, a leading
//! dot matched only explicitly, as glob(3) does); `hwcap` lines are ignored; any other line
//! lists folders separated by blanks, colons or commas (an old `DIR=TYPE` suffix is dropped).

use std::collections::HashSet;

use glob::{MatchOptions, Pattern};

use crate::index::Entry;
use crate::path::{join, normalize, parent};
use crate::view::MergedView;

/// The main file.
const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// How deep `include`s nest before the rest is ignored (ldconfig has no limit; a file that
/// includes itself would loop).
const MAX_DEPTH: usize = 16;

/// glob(3)'s rules: `*` stops at `/` and does not match a leading dot.
const GLOB_RULES: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// The folders ld.so.conf lists in the merged view, in order, each once.
pub(crate) fn library_dirs(view: &MergedView<'_>) -> Vec<String> {
    let mut reader = ConfReader {
        view,
        dirs: Vec::new(),
        seen_dirs: HashSet::new(),
        open: Vec::new(),
    };
    reader.read(LD_SO_CONF);
    reader.dirs
}

struct ConfReader<'v, 'a> {
    view: &'v MergedView<'a>,
    dirs: Vec<String>,
    seen_dirs: HashSet<String>,
    /// The files being read (the include chain), to stop loops.
    open: Vec<String>,
}

impl ConfReader<'_, '_> {
    fn read(&mut self, file: &str) {
        if self.open.len() >= MAX_DEPTH || self.open.iter().any(|f| f == file) {
            return;
        }
        let Some(text) = self.view.resolve_conf(file) else {
            return;
        };
        self.open.push(file.to_owned());
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(patterns) = keyword(line, "include") {
                for pattern in patterns.split_whitespace() {
                    for included in self.matching(file, pattern) {
                        self.read(&included);
                    }
                }
            } else if keyword(line, "hwcap").is_some() {
                continue;
            } else {
                for dir in line.split([' ', '\t', ':', ',']).filter(|d| !d.is_empty()) {
                    let dir = dir.split('=').next().unwrap_or_default();
                    if dir.starts_with('/') {
                        let dir = normalize(dir);
                        if self.seen_dirs.insert(dir.clone()) {
                            self.dirs.push(dir);
                        }
                    }
                }
            }
        }
        self.open.pop();
    }

    /// The files of the merged view that `pattern` (from an `include` in `file`) matches,
    /// sorted as glob(3) returns them. Only files kept in indexes can match: configuration
    /// files (those under `/etc/ld.so.conf.d/`) and links.
    fn matching(&self, file: &str, pattern: &str) -> Vec<String> {
        let pattern = if pattern.starts_with('/') {
            normalize(pattern)
        } else {
            normalize(&join(parent(file), pattern))
        };
        let Ok(glob) = Pattern::new(&pattern) else {
            return Vec::new();
        };
        let mut found: Vec<String> = self
            .view
            .layers()
            .iter()
            .flat_map(|layer| layer.entries())
            .filter(|(_, entry)| matches!(entry, Entry::Conf(_) | Entry::Symlink(_)))
            .map(|(path, _)| path)
            .filter(|path| glob.matches_with(path, GLOB_RULES))
            .map(str::to_owned)
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// The rest of `line` when it starts with `word` and a blank.
fn keyword<'l>(line: &'l str, word: &str) -> Option<&'l str> {
    let rest = line.strip_prefix(word)?;
    rest.starts_with([' ', '\t']).then(|| rest.trim_start())
}

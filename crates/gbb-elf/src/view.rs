//! The merged view of an image: its own layer over its parents', as a container sees it.
//!
//! A path is looked up in the image's own index first, then in each parent's, nearest first;
//! the first layer that has the path decides what it is (the child's `libz.so.1` hides the
//! parent's). Folders are not kept in indexes, so a path no layer knows is taken as a folder
//! when it is walked through and as absent when it is the last component.
//!
//! [`MergedView::resolve`] walks a path one component at a time as the kernel does, following
//! every symlink on the way (absolute targets from the image's root, relative ones from the
//! link's folder, `..` after a link from where the link led), with the kernel's limit of 40
//! links, so a loop ends as "not found". Results are memoized: a check resolves the same few
//! library folders thousands of times.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::elf::ElfInfo;
use crate::index::{Entry, FileIndex};

/// How many symlinks one resolution follows before giving up (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A file found by [`MergedView::resolve`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resolved<'a> {
    Elf(&'a ElfInfo),
    Conf(&'a str),
}

/// An image's layers, its own first.
pub(crate) struct MergedView<'a> {
    layers: Vec<&'a FileIndex>,
    /// Resolution results by the path asked for: the real path and what is there.
    cache: RefCell<HashMap<String, Option<(String, Resolved<'a>)>>>,
}

impl<'a> MergedView<'a> {
    pub(crate) fn new(image: &'a FileIndex, parents: &[&'a FileIndex]) -> MergedView<'a> {
        let mut layers = vec![image];
        layers.extend_from_slice(parents);
        MergedView {
            layers,
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub(crate) fn layers(&self) -> &[&'a FileIndex] {
        &self.layers
    }

    /// The top-most layer's entry at `path` (already free of links), with the layer it is in.
    fn lookup(&self, path: &str) -> Option<(&'a FileIndex, &'a Entry)> {
        self.layers
            .iter()
            .find_map(|layer| layer.get(path).map(|entry| (*layer, entry)))
    }

    /// Follows `path` through every symlink to the ELF file or ld.so.conf text it names, with
    /// the real path it was found at; `None` when it leads nowhere (missing, a broken link, a
    /// loop, a folder).
    pub(crate) fn resolve(&self, path: &str) -> Option<(String, Resolved<'a>)> {
        if let Some(found) = self.cache.borrow().get(path) {
            return found.clone();
        }
        let found = self.walk(path);
        self.cache
            .borrow_mut()
            .insert(path.to_owned(), found.clone());
        found
    }

    fn walk(&self, path: &str) -> Option<(String, Resolved<'a>)> {
        // Components still to walk, the next one last; `current` is the real path so far.
        let mut pending: Vec<String> = components(path).rev().map(str::to_owned).collect();
        let mut current = String::new();
        let mut links = 0;
        while let Some(component) = pending.pop() {
            match component.as_str() {
                "." => continue,
                ".." => {
                    let at = current.rfind('/').unwrap_or(0);
                    current.truncate(at);
                    continue;
                }
                _ => {}
            }
            let candidate = format!("{current}/{component}");
            if let Some((_, Entry::Symlink(target))) = self.lookup(&candidate) {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                if target.starts_with('/') {
                    current.clear();
                }
                pending.extend(components(target).rev().map(str::to_owned));
            } else {
                current = candidate;
            }
        }
        match self.lookup(&current)? {
            (_, Entry::Elf(info)) => Some((current, Resolved::Elf(info))),
            (_, Entry::Conf(text)) => Some((current, Resolved::Conf(text))),
            // A hard link is the same file as its first name in the same layer.
            (layer, Entry::HardLink(target)) => match layer.get(target)? {
                Entry::Elf(info) => Some((current, Resolved::Elf(info))),
                Entry::Conf(text) => Some((current, Resolved::Conf(text))),
                _ => None,
            },
            (_, Entry::Symlink(_)) => None,
        }
    }

    /// The ELF file at `path`, after links.
    pub(crate) fn resolve_elf(&self, path: &str) -> Option<(String, &'a ElfInfo)> {
        match self.resolve(path)? {
            (real, Resolved::Elf(info)) => Some((real, info)),
            _ => None,
        }
    }

    /// The ld.so.conf text at `path`, after links.
    pub(crate) fn resolve_conf(&self, path: &str) -> Option<&'a str> {
        match self.resolve(path)? {
            (_, Resolved::Conf(text)) => Some(text),
            _ => None,
        }
    }
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

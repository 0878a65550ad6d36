//! [`check`]: can every program of an image be loaded?
//!
//! The programs are the image's own ELF files with a `PT_INTERP` (dynamically linked
//! executables, position-dependent or not), except libraries that can also be run (a soname
//! and a `PT_INTERP`, as glibc's `libc.so.6`); a hard link is the same file as its first name
//! and is checked once, under that name. Static programs have none and pass; scripts and
//! data are not ELF and are not in the index; a shared library is checked only when a program
//! loads it, so a library nothing in the image loads passes whatever it needs (it may be meant
//! for a child image, or for `dlopen` with something the image does not have).
//!
//! For each program the loader's work is replayed: the `PT_INTERP` loader must exist (after
//! links) and be of the program's ABI; then, breadth first as glibc's `_dl_map_object_deps`
//! goes, each `DT_NEEDED` name not loaded yet is searched along the path of `search.rs` for the
//! object that names it, and a library found is searched for its own needs in turn. A library
//! of another class, byte order or machine is skipped and the search goes on, as glibc does.
//! A name is searched once per program (the loader maps a name once); a name not found is
//! reported at the file that named it first, so a library every program loads is reported once
//! with the programs that load it, and a library needed only by a missing library is never
//! reported (nothing knows what a missing file would need).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::OnceLock;

use crate::elf::ElfInfo;
use crate::finding::{Finding, Hint, Missing, Needed};
use crate::index::{Entry, FileIndex};
use crate::ld_so_conf::library_dirs;
use crate::path::{file_name, parent};
use crate::search::{Rules, default_dirs, expand, musl_dirs, musl_provides, path_list};
use crate::view::MergedView;
use crate::waivers::Waivers;

/// gcc's run-time libraries that `copy_gcc_libs` copies.
const GCC_LIBS: &[&str] = &["libgcc_s.so.1", "libstdc++.so.6", "libgomp.so.1"];

/// An image the caller knows by name, asked "do you have this?" for hints: typically every
/// image of the stack that is built and is not an ancestor of the one checked.
#[derive(Debug, Clone, Copy)]
pub struct KnownImage<'a> {
    /// The image id as a user writes it in `IMAGE_PARENT` (`ns/glibc`).
    pub name: &'a str,
    /// Its own files.
    pub index: &'a FileIndex,
}

/// Checks the programs of `image` (its own layer's index) against the merged view of `image`
/// over `parents` (nearest first: parent, grandparent, ...). Returns one finding per file with
/// unmet needs, sorted by path; empty when everything can be loaded. `known_images` only feeds
/// hints; `waivers` exempts files.
pub fn check(
    image: &FileIndex,
    parents: &[&FileIndex],
    known_images: &[KnownImage<'_>],
    waivers: &Waivers,
) -> Vec<Finding> {
    let view = MergedView::new(image, parents);
    let conf_dirs = library_dirs(&view);
    let checker = Checker {
        view: &view,
        conf_dirs: &conf_dirs,
    };
    let mut unmet: BTreeMap<String, Unmet<'_>> = BTreeMap::new();
    for (path, info) in image.elf_files() {
        if info.is_program() && !waivers.covers(path) {
            checker.load_program(path, info, waivers, &mut unmet);
        }
    }
    let hints = Hints {
        view: &view,
        known_images,
        by_name: OnceLock::new(),
    };
    unmet
        .into_iter()
        .map(|(path, unmet)| Finding {
            path,
            loaded_by: unmet.loaded_by.into_iter().collect(),
            missing: unmet
                .missing
                .into_iter()
                .map(|(needed, requester)| Missing {
                    hint: hints.for_needed(&needed, requester),
                    needed,
                })
                .collect(),
        })
        .collect()
}

/// What is missing for one file, gathered over every program.
#[derive(Default)]
struct Unmet<'a> {
    loaded_by: BTreeSet<String>,
    /// Each missing file once, with the object that needs it (for the ABI hints must match).
    missing: Vec<(Needed, &'a ElfInfo)>,
}

impl<'a> Unmet<'a> {
    fn add(&mut self, needed: Needed, requester: &'a ElfInfo) {
        if !self.missing.iter().any(|(n, _)| *n == needed) {
            self.missing.push((needed, requester));
        }
    }
}

struct Checker<'v, 'a> {
    view: &'v MergedView<'a>,
    conf_dirs: &'v [String],
}

/// An object mapped into the program: the program itself (`loader: None`) or a library.
struct Loaded<'a> {
    /// The path it was found at (its `$ORIGIN` is this path's folder).
    path: String,
    /// The real file behind `path`'s links, where its findings are reported.
    real_path: String,
    info: &'a ElfInfo,
    /// The object whose need loaded it.
    loader: Option<usize>,
}

/// How one program's libraries are searched: its loader's rules and the system folders they
/// give (glibc: ld.so.conf's, before the default folders of each object's ABI; musl: its path
/// file's or its defaults).
struct Program {
    musl: bool,
    system_dirs: Vec<String>,
}

/// The answer to one search.
enum Search<'a> {
    Found {
        path: String,
        real_path: String,
        info: &'a ElfInfo,
    },
    Missing,
    /// musl's loader is the library (see `search::musl_provides`).
    Loader,
    /// A relative name with a slash: the loader opens it from the current folder, which is not
    /// known at build time, so it is not judged.
    Unknowable,
}

impl<'a> Checker<'_, 'a> {
    fn load_program(
        &self,
        path: &str,
        info: &'a ElfInfo,
        waivers: &Waivers,
        unmet: &mut BTreeMap<String, Unmet<'a>>,
    ) {
        let mut report = |file: &Loaded<'a>, needed: Needed, requester: &'a ElfInfo| {
            if waivers.covers(&file.path) || waivers.covers(&file.real_path) {
                return;
            }
            let entry = unmet.entry(file.real_path.clone()).or_default();
            if file.loader.is_some() {
                entry.loaded_by.insert(path.to_owned());
            }
            entry.add(needed, requester);
        };
        let mut objects = vec![Loaded {
            path: path.to_owned(),
            real_path: path.to_owned(),
            info,
            loader: None,
        }];
        // Names already mapped (or already missing), and the real files mapped.
        let mut names: HashSet<&str> = HashSet::new();
        let mut files: HashSet<String> = HashSet::from([path.to_owned()]);

        if let Some(interpreter) = &info.interpreter {
            // The loader is mapped first, under its soname (its file name, on every glibc and
            // musl), so libc's own need for it is met by it. When it is missing that is
            // reported once, here, and not again for libc.
            names.insert(file_name(interpreter));
            match self.view.resolve_elf(interpreter) {
                Some((real, loader)) if info.same_abi(loader) => {
                    if let Some(soname) = &loader.soname {
                        names.insert(soname);
                    }
                    files.insert(real);
                }
                _ => report(&objects[0], Needed::Loader(interpreter.clone()), info),
            }
        }

        let program = match info.interpreter.as_deref().map(Rules::of) {
            Some(Rules::Musl { arch }) => Program {
                musl: true,
                system_dirs: musl_dirs(
                    self.view.resolve_conf(&format!("/etc/ld-musl-{arch}.path")),
                ),
            },
            _ => Program {
                musl: false,
                system_dirs: self.conf_dirs.to_vec(),
            },
        };

        let mut queue = VecDeque::from([0]);
        while let Some(at) = queue.pop_front() {
            let requester = objects[at].info;
            for name in &requester.needed {
                if !names.insert(name.as_str()) {
                    continue;
                }
                match self.search(name, at, &objects, &program) {
                    Search::Found {
                        path,
                        real_path,
                        info,
                    } => {
                        if files.insert(real_path.clone()) {
                            // Later needs match a loaded library by its soname too.
                            if let Some(soname) = &info.soname {
                                names.insert(soname);
                            }
                            objects.push(Loaded {
                                path,
                                real_path,
                                info,
                                loader: Some(at),
                            });
                            queue.push_back(objects.len() - 1);
                        }
                    }
                    Search::Missing => {
                        report(&objects[at], Needed::Library(name.clone()), requester);
                    }
                    Search::Loader | Search::Unknowable => {}
                }
            }
        }
    }

    /// Searches `name`, needed by `objects[at]`, as the loader would.
    fn search(
        &self,
        name: &str,
        at: usize,
        objects: &[Loaded<'a>],
        program: &Program,
    ) -> Search<'a> {
        let requester = &objects[at];
        if program.musl && musl_provides(name) {
            return Search::Loader;
        }
        let origin = parent(&requester.path);
        let Some(name) = expand(name, origin, requester.info) else {
            return Search::Missing;
        };
        if name.contains('/') {
            if !name.starts_with('/') {
                return Search::Unknowable;
            }
            return self
                .try_path(&name, requester.info)
                .unwrap_or(Search::Missing);
        }
        for dir in search_dirs(at, objects, program) {
            let candidate = crate::path::join(&dir, &name);
            if let Some(found) = self.try_path(&candidate, requester.info) {
                return found;
            }
        }
        Search::Missing
    }

    /// The file at `path` if it is a library `requester` can load.
    fn try_path(&self, path: &str, requester: &ElfInfo) -> Option<Search<'a>> {
        let (real_path, info) = self.view.resolve_elf(path)?;
        requester.same_abi(info).then(|| Search::Found {
            path: path.to_owned(),
            real_path,
            info,
        })
    }
}

/// The folders searched for a need of `objects[at]`, in order (see `search.rs`).
fn search_dirs(at: usize, objects: &[Loaded<'_>], program: &Program) -> Vec<String> {
    let requester = &objects[at];
    let mut dirs = Vec::new();
    // The objects up the chain from the needing one: their own folders, for `$ORIGIN`.
    let chain = std::iter::successors(Some(requester), |object| {
        object.loader.map(|loader| &objects[loader])
    });
    if program.musl {
        // musl: each object's DT_RUNPATH (or DT_RPATH), up the chain.
        for object in chain {
            if let Some(path) = object.info.runpath.as_ref().or(object.info.rpath.as_ref()) {
                dirs.extend(path_list(path, parent(&object.path), object.info));
            }
        }
        dirs.extend(program.system_dirs.iter().cloned());
    } else {
        if requester.info.runpath.is_none() {
            for object in chain {
                // An object's DT_RPATH counts only when it has no DT_RUNPATH.
                if let (Some(rpath), None) = (&object.info.rpath, &object.info.runpath) {
                    dirs.extend(path_list(rpath, parent(&object.path), object.info));
                }
            }
        }
        if let Some(runpath) = &requester.info.runpath {
            dirs.extend(path_list(runpath, parent(&requester.path), requester.info));
        }
        dirs.extend(program.system_dirs.iter().cloned());
        dirs.extend(default_dirs(requester.info));
    }
    let mut seen = HashSet::new();
    dirs.retain(|dir| seen.insert(dir.clone()));
    dirs
}

/// Finds what to tell the user about a missing file.
struct Hints<'v, 'a> {
    view: &'v MergedView<'a>,
    known_images: &'v [KnownImage<'v>],
    /// Every path of the merged view that may lead to an ELF file, by file name, made on the
    /// first hint.
    by_name: OnceLock<HashMap<&'a str, Vec<&'a str>>>,
}

impl Hints<'_, '_> {
    fn for_needed(&self, needed: &Needed, requester: &ElfInfo) -> Option<Hint> {
        let name = match needed {
            Needed::Loader(path) => file_name(path),
            Needed::Library(name) => {
                if GCC_LIBS.contains(&name.as_str()) {
                    return Some(Hint::CopyGccLibs);
                }
                if name.starts_with("libgfortran") || name.starts_with("libquadmath") {
                    return Some(Hint::CopyGfortranLibs);
                }
                name.as_str()
            }
        };
        if let Some(path) = self.elsewhere_in_image(name, requester) {
            return Some(Hint::ElsewhereInImage(path));
        }
        let providers: Vec<String> = self
            .known_images
            .iter()
            .filter(|image| {
                image
                    .index
                    .entries()
                    .any(|(path, entry)| file_name(path) == name && provides(entry, requester))
            })
            .map(|image| image.name.to_owned())
            .collect();
        (!providers.is_empty()).then_some(Hint::ProvidedBy(providers))
    }

    /// The first path of the merged view (by layer, then path) named `name` that leads to a
    /// file `requester` could load. Paths are resolved through the view, so a parent's file
    /// the image hides (with its own link or file) is not offered.
    fn elsewhere_in_image(&self, name: &str, requester: &ElfInfo) -> Option<String> {
        let by_name = self.by_name.get_or_init(|| {
            let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
            for layer in self.view.layers() {
                for (path, entry) in layer.entries() {
                    if !matches!(entry, Entry::Conf(_)) {
                        map.entry(file_name(path)).or_default().push(path);
                    }
                }
            }
            map
        });
        by_name
            .get(name)?
            .iter()
            .find(|path| {
                self.view
                    .resolve_elf(path)
                    .is_some_and(|(_, info)| requester.same_abi(info))
            })
            .map(|path| (*path).to_owned())
    }
}

/// Whether `entry` could stand for a file `requester` needs: an ELF file of its ABI, or a link
/// (which another image's layer alone cannot resolve; its name is taken at its word).
fn provides(entry: &Entry, requester: &ElfInfo) -> bool {
    match entry {
        Entry::Elf(info) => requester.same_abi(info),
        Entry::Symlink(_) | Entry::HardLink(_) => true,
        Entry::Conf(_) => false,
    }
}

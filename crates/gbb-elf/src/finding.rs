//! [`Finding`]: one file that cannot be loaded, and the line a user reads about it.

use std::fmt;

/// A file whose needs are not met: a program (its own loader or libraries are missing) or a
/// library that programs of the image load (one of *its* libraries is missing). A missing
/// library is reported at the file that names it in `DT_NEEDED`, once, however many programs
/// load that file; the programs are listed in `loaded_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file's absolute path in the image (for a library, the real file behind its links).
    pub path: String,
    /// The programs of the image that load this library, sorted; empty when `path` is a
    /// program and the needs are its own.
    pub loaded_by: Vec<String>,
    /// What is missing, the loader first, then libraries in `DT_NEEDED` order.
    pub missing: Vec<Missing>,
}

/// One missing file and what may provide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub needed: Needed,
    pub hint: Option<Hint>,
}

/// What a file needs and the image lacks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Needed {
    /// The loader a program names in `PT_INTERP` (an absolute path).
    Loader(String),
    /// A library a file names in `DT_NEEDED` (a file name, searched along the library path).
    Library(String),
}

/// How the user may provide a missing file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hint {
    /// gcc's run-time libraries (`libgcc_s.so.1`, `libstdc++.so.6`, `libgomp.so.1`) are in the
    /// builder, not in any package: the `copy_gcc_libs` helper copies them into the image.
    CopyGccLibs,
    /// gfortran's (`libgfortran`, `libquadmath`): `copy_gfortran_libs`.
    CopyGfortranLibs,
    /// The image has the file, but where the loader does not look (a library outside the
    /// library path, a loader at another path than the program names).
    ElsewhereInImage(String),
    /// Other images the caller knows have the file in their own files: making one of them the
    /// parent (or an ancestor) provides it. Their names, in the caller's order.
    ProvidedBy(Vec<String>),
}

impl Missing {
    fn describe(&self) -> String {
        match &self.needed {
            Needed::Loader(path) => format!("loader `{path}`"),
            Needed::Library(name) => format!("`{name}`"),
        }
    }
}

impl Hint {
    /// The hint's text, for one missing file or several (`plural`).
    fn describe(&self, plural: bool) -> String {
        let it = if plural { "them" } else { "it" };
        match self {
            Hint::CopyGccLibs => "call `copy_gcc_libs` in `finish_rootfs_build`".to_owned(),
            Hint::CopyGfortranLibs => {
                "call `copy_gfortran_libs` in `finish_rootfs_build`".to_owned()
            }
            Hint::ElsewhereInImage(path) => {
                format!("the image has `{path}`, where the loader does not look")
            }
            Hint::ProvidedBy(images) => {
                let (first, others) = images
                    .split_first()
                    .map_or(("", &[][..]), |(f, o)| (f.as_str(), o));
                if others.is_empty() {
                    format!("`IMAGE_PARENT={first}` provides {it}")
                } else {
                    let others = others.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>();
                    format!(
                        "`IMAGE_PARENT={first}` (or {}) provides {it}",
                        others.join(", ")
                    )
                }
            }
        }
    }
}

/// How many loading programs a line names; past that it names two and counts the rest.
const LOADERS_SHOWN: usize = 3;

/// The user-facing line: the file, the programs that load it when it is a library, and what is
/// missing, grouped by hint, e.g.
///
/// ```text
/// `/usr/bin/figlet`: loader `/lib64/ld-linux-x86-64.so.2` and `libc.so.6` not found (`IMAGE_PARENT=ns/glibc` provides them)
/// ```
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.path)?;
        if !self.loaded_by.is_empty() {
            let count = if self.loaded_by.len() > LOADERS_SHOWN {
                2
            } else {
                LOADERS_SHOWN
            };
            let shown: Vec<String> = self
                .loaded_by
                .iter()
                .take(count)
                .map(|p| format!("`{p}`"))
                .collect();
            let rest = self.loaded_by.len() - shown.len();
            let shown = if rest > 0 {
                format!("{} and {rest} more", shown.join(", "))
            } else {
                and_list(&shown)
            };
            write!(f, " (loaded by {shown})")?;
        }
        f.write_str(": ")?;
        // Groups of missing files with the same hint, in the order their first member appears.
        let mut groups: Vec<(Option<&Hint>, Vec<String>)> = Vec::new();
        for missing in &self.missing {
            let hint = missing.hint.as_ref();
            match groups.iter_mut().find(|(h, _)| *h == hint) {
                Some((_, items)) => items.push(missing.describe()),
                None => groups.push((hint, vec![missing.describe()])),
            }
        }
        for (i, (hint, items)) in groups.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} not found", and_list(items))?;
            if let Some(hint) = hint {
                write!(f, " ({})", hint.describe(items.len() > 1))?;
            }
        }
        Ok(())
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(name: &str, hint: Option<Hint>) -> Missing {
        Missing {
            needed: Needed::Library(name.to_owned()),
            hint,
        }
    }

    fn line(loaded_by: &[&str], missing: Vec<Missing>) -> String {
        Finding {
            path: "/usr/bin/x".to_owned(),
            loaded_by: loaded_by.iter().map(|p| (*p).to_owned()).collect(),
            missing,
        }
        .to_string()
    }

    #[test]
    fn lines() {
        let glibc = Some(Hint::ProvidedBy(vec!["ns/glibc".to_owned()]));
        let lines = [
            line(
                &[],
                vec![
                    Missing {
                        needed: Needed::Loader("/lib64/ld-linux-x86-64.so.2".to_owned()),
                        hint: glibc.clone(),
                    },
                    library("libc.so.6", glibc.clone()),
                    library("libstdc++.so.6", Some(Hint::CopyGccLibs)),
                    library("libz.so.1", None),
                    library("libgcc_s.so.1", Some(Hint::CopyGccLibs)),
                    library("libfoo.so.2", None),
                ],
            ),
            line(
                &[],
                vec![library("libgfortran.so.5", Some(Hint::CopyGfortranLibs))],
            ),
            line(
                &[],
                vec![library(
                    "libssl.so.3",
                    Some(Hint::ProvidedBy(vec![
                        "ns/openssl".to_owned(),
                        "ns/nginx".to_owned(),
                    ])),
                )],
            ),
            line(
                &["/usr/bin/a"],
                vec![library(
                    "libfoo.so.1",
                    Some(Hint::ElsewhereInImage(
                        "/opt/foo/lib/libfoo.so.1".to_owned(),
                    )),
                )],
            ),
            line(
                &["/usr/bin/a", "/usr/bin/b"],
                vec![library("libz.so.1", None)],
            ),
            line(
                &["/usr/bin/a", "/usr/bin/b", "/usr/bin/c"],
                vec![library("libz.so.1", None)],
            ),
            line(
                &["/usr/bin/a", "/usr/bin/b", "/usr/bin/c", "/usr/bin/d"],
                vec![library("libz.so.1", None)],
            ),
        ];
        insta::assert_snapshot!(lines.join("\n"));
    }
}

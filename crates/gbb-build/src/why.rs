//! Why a step runs, as a value: the difference between what its result was made of last time
//! (the [`KeyInputs`] kept on the image) and what it would be made of now.
//!
//! `gbb build` shows it in its summary, and `gbb plan --status` for every step without
//! building. A content key alone says only "something changed"; the record beside it says
//! what: a file of the folder, a config variable, the parent, the builder, the core's inputs.

use std::fmt;

use crate::key::KeyInputs;

/// Why a step is built, or that it need not be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its result exists with the key it would get now.
    UpToDate,
    /// Its result does not exist yet.
    NotBuilt,
    /// Asked for again (`-f`, `-F`, `-c`, `-C`), though up to date.
    Forced(&'static str),
    /// Its key changed, because of these inputs.
    Changed(Vec<Change>),
}

/// One input that differs from the one the existing result was made of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// A file of the image's or builder's folder, added, removed or edited.
    File { path: String, how: FileChange },
    /// A config variable, set, unset or given another value.
    Config(String),
    /// The parent image (images) or base builder or core (builders) was rebuilt.
    Parent,
    /// The builder an image runs in was rebuilt.
    Builder,
    /// One of a core's inputs: its stage3, its portage tree or gbb's scripts.
    Core(String),
    /// An image's kept builder state became needed (a child that builds in it was added) or
    /// no longer is (its last such child went, or names a `BUILDER` now).
    State { needed: bool },
    /// The existing result has no record to compare with (made by an older gbb, or not by
    /// gbb): the key differs, the cause is not known.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileChange {
    Added,
    Removed,
    Edited,
}

impl Why {
    /// Compares the record on the existing result (`before`, `None` when it has none) with
    /// the inputs of the key the step gives now.
    pub fn changed(before: Option<&KeyInputs>, now: &KeyInputs) -> Self {
        let Some(before) = before else {
            return Self::Changed(vec![Change::Unknown]);
        };
        let mut changes = Vec::new();
        for (path, digest) in &now.files {
            match before.files.get(path) {
                None => changes.push(Change::File {
                    path: path.clone(),
                    how: FileChange::Added,
                }),
                Some(old) if old != digest => changes.push(Change::File {
                    path: path.clone(),
                    how: FileChange::Edited,
                }),
                Some(_) => {}
            }
        }
        for path in before.files.keys() {
            if !now.files.contains_key(path) {
                changes.push(Change::File {
                    path: path.clone(),
                    how: FileChange::Removed,
                });
            }
        }
        let names = before.config.keys().chain(now.config.keys());
        let mut config: Vec<&String> = names
            .filter(|name| before.config.get(*name) != now.config.get(*name))
            .collect();
        config.sort();
        config.dedup();
        changes.extend(config.into_iter().map(|name| Change::Config(name.clone())));
        if before.parent != now.parent {
            changes.push(Change::Parent);
        }
        if before.builder != now.builder {
            changes.push(Change::Builder);
        }
        // A record without the field comes from a gbb that kept every state: no cause to name.
        if let (Some(before), Some(now)) = (before.keeps_state, now.keeps_state)
            && before != now
        {
            changes.push(Change::State { needed: now });
        }
        for (part, digest) in &now.core {
            if before.core.get(part) != Some(digest) {
                changes.push(Change::Core(part.clone()));
            }
        }
        if changes.is_empty() {
            // Same record, different key: an input the record does not cover (gbb itself).
            changes.push(Change::Unknown);
        }
        changes.sort();
        Self::Changed(changes)
    }

    /// Whether the step needs to run.
    pub fn runs(&self) -> bool {
        !matches!(self, Self::UpToDate)
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UpToDate => f.write_str("up to date"),
            Self::NotBuilt => f.write_str("not built yet"),
            Self::Forced(flag) => write!(f, "forced ({flag})"),
            Self::Changed(changes) => {
                for (i, change) in changes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{change}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, how } => {
                let how = match how {
                    FileChange::Added => "added",
                    FileChange::Removed => "removed",
                    FileChange::Edited => "changed",
                };
                write!(f, "{path} {how}")
            }
            Self::Config(name) => write!(f, "{name} changed"),
            Self::Parent => f.write_str("parent rebuilt"),
            Self::Builder => f.write_str("builder rebuilt"),
            Self::Core(part) => write!(f, "{part} changed"),
            Self::State { needed: true } => f.write_str("state now needed"),
            Self::State { needed: false } => f.write_str("state no longer needed"),
            Self::Unknown => f.write_str("key changed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(files: &[(&str, &str)], config: &[(&str, &str)], parent: &str) -> KeyInputs {
        KeyInputs {
            files: files
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            parent: Some(parent.to_owned()),
            ..KeyInputs::default()
        }
    }

    #[test]
    fn each_changed_input_is_named() {
        let before = record(
            &[("build.sh", "a"), ("old.txt", "b")],
            &[("BOB_X", "1")],
            "p1",
        );
        let now = record(
            &[("build.sh", "c"), ("new.txt", "d")],
            &[("BOB_X", "2"), ("BOB_Y", "1")],
            "p2",
        );
        let why = Why::changed(Some(&before), &now);
        assert_eq!(
            why.to_string(),
            "build.sh changed, new.txt added, old.txt removed, BOB_X changed, BOB_Y changed, parent rebuilt"
        );
        assert_eq!(Why::changed(None, &now).to_string(), "key changed");
        assert_eq!(
            Why::changed(Some(&now), &now).to_string(),
            "key changed",
            "a differing key with the same record is still a change"
        );
    }

    /// Issue 14: a child added (or gone) changes the parent's key, and says so.
    #[test]
    fn a_state_needed_or_no_longer_needed_is_named() {
        let mut before = record(&[("build.sh", "a")], &[], "p1");
        let mut now = before.clone();
        before.keeps_state = Some(false);
        now.keeps_state = Some(true);
        assert_eq!(
            Why::changed(Some(&before), &now).to_string(),
            "state now needed"
        );
        assert_eq!(
            Why::changed(Some(&now), &before).to_string(),
            "state no longer needed"
        );
        before.keeps_state = None;
        assert_eq!(
            Why::changed(Some(&before), &now).to_string(),
            "key changed",
            "a record of a gbb that kept every state names no cause"
        );
    }

    #[test]
    fn records_survive_their_label() {
        let now = record(&[("build.sh", "c")], &[("BOB_X", "2")], "p2");
        assert_eq!(KeyInputs::from_label(&now.to_label()), Some(now));
        assert_eq!(KeyInputs::from_label("not json"), None);
    }
}

//! `PACKAGES.md`, made from the same layers as the SBOM, so the two cannot disagree.
//!
//! The layout is the one `gbb-build` writes from `packages.tsv` (title, tag and size, the
//! installed table, the inherited lists per ancestor, the purged paths). Two columns now come
//! from the typed record instead of the raw files: USE lists the flags the package declares
//! and had enabled (the raw `USE` file also holds the profile's implicit flags, `amd64
//! elibc_glibc kernel_linux ...`), and the licence is `LICENSE` with its USE conditionals
//! resolved. Hand-installed rows keep kubler's form: `*GROUP*: NAME`, then INFO where packages
//! show their USE flags.

use std::fmt::Write;

use crate::image::ImageSbom;
use crate::model::Layer;

/// One row of the installed table: name, USE column, licence column.
fn rows(layer: &Layer) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = layer
        .packages
        .iter()
        .map(|p| (p.cpv(), p.use_enabled.join(" "), p.licence.clone()))
        .chain(layer.hand_installed.iter().map(|r| {
            (
                format!("*{}*: {}", r.group, r.name),
                r.info.clone(),
                String::new(),
            )
        }))
        .collect();
    rows.sort();
    rows
}

impl ImageSbom {
    /// The text of the image's `PACKAGES.md`. `size`: the image's size in bytes with its
    /// parents; `purged`: what the cleanup removed (phase 1's `purged.txt`).
    pub fn packages_md(&self, size: u64, purged: &[String]) -> String {
        let image = self.image();
        let inherited: Vec<(String, Vec<String>)> = self
            .ancestors
            .iter()
            .map(|layer| {
                let names = rows(layer).into_iter().map(|(name, _, _)| name).collect();
                (layer.image.id.clone(), names)
            })
            .collect();
        render_packages_md(
            &image.id,
            &image.tag,
            size,
            &rows(&self.own),
            &inherited,
            purged,
        )
    }
}

/// The layout of `PACKAGES.md`, the one place it is written: the title with the tag and size,
/// the installed table (name, USE column, licence column), what each ancestor installed
/// (nearest first), and the purged paths. gbb-build also calls it for outputs of a gbb that
/// kept no SBOM data (rows from `packages.tsv`).
pub fn render_packages_md(
    id: &str,
    tag: &str,
    size: u64,
    installed: &[(String, String, String)],
    inherited: &[(String, Vec<String>)],
    purged: &[String],
) -> String {
    let mut out = format!("# {id}\n\nBuilt by gentoo-bb. Tag `{tag}`, ");
    let _ = writeln!(
        out,
        "{:.1} MB with its parents.\n",
        size as f64 / 1_000_000.0
    );
    out.push_str("## Installed\n\n");
    if installed.is_empty() {
        out.push_str("Nothing: this image adds no packages.\n");
    } else {
        out.push_str("| package | USE | licence |\n|---|---|---|\n");
        for (name, use_flags, licence) in installed {
            let _ = writeln!(out, "| {name} | {use_flags} | {licence} |");
        }
    }
    if !inherited.is_empty() {
        out.push_str("\n## Inherited\n");
        for (ancestor, names) in inherited {
            let _ = writeln!(out, "\n### from {ancestor}\n");
            if names.is_empty() {
                out.push_str("Nothing.\n");
            }
            for name in names {
                let _ = writeln!(out, "- {name}");
            }
        }
    }
    if !purged.is_empty() {
        out.push_str("\n## Purged\n\nRemoved from the root after the packages were installed:\n\n");
        for path in purged {
            let _ = writeln!(out, "- `{path}`");
        }
    }
    out
}

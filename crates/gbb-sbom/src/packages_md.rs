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
        let mut out = format!(
            "# {}\n\nBuilt by gentoo-bb. Tag `{}`, ",
            image.id, image.tag
        );
        let _ = writeln!(
            out,
            "{:.1} MB with its parents.\n",
            size as f64 / 1_000_000.0
        );
        out.push_str("## Installed\n\n");
        let installed = rows(&self.own);
        if installed.is_empty() {
            out.push_str("Nothing: this image adds no packages.\n");
        } else {
            out.push_str("| package | USE | licence |\n|---|---|---|\n");
            for (name, use_flags, licence) in &installed {
                let _ = writeln!(out, "| {name} | {use_flags} | {licence} |");
            }
        }
        if !self.ancestors.is_empty() {
            out.push_str("\n## Inherited\n");
            for layer in &self.ancestors {
                let _ = writeln!(out, "\n### from {}\n", layer.image.id);
                let rows = rows(layer);
                if rows.is_empty() {
                    out.push_str("Nothing.\n");
                }
                for (name, _, _) in rows {
                    let _ = writeln!(out, "- {name}");
                }
            }
        }
        if !purged.is_empty() {
            out.push_str(
                "\n## Purged\n\nRemoved from the root after the packages were installed:\n\n",
            );
            for path in purged {
                let _ = writeln!(out, "- `{path}`");
            }
        }
        out
    }
}

//! `PACKAGES.md`: what an image holds, written next to its `build.sh`.

use std::fmt::Write;
use std::path::Path;

use crate::BuildError;
use crate::outputs::{TEXT_LIMIT, read_text};

/// One installed package as phase 1 records it (`packages.tsv`: cpv, USE, licence).
pub(crate) struct Installed {
    pub cpv: String,
    pub use_flags: String,
    pub license: String,
}

/// The packages in `path` (none when there is no such file). Read as untrusted text: a link
/// or an oversized file is an error (see `outputs.rs`).
pub(crate) fn read_packages(path: &Path) -> Result<Vec<Installed>, BuildError> {
    Ok(read_text(path, TEXT_LIMIT)?
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut fields = line.split('\t');
            Installed {
                cpv: fields.next().unwrap_or_default().to_owned(),
                use_flags: fields.next().unwrap_or_default().to_owned(),
                license: fields.next().unwrap_or_default().to_owned(),
            }
        })
        .collect())
}

/// The document. `ancestors` are the parent chain, nearest first, with what each installed.
pub(crate) fn render(
    id: &str,
    tag: &str,
    size: u64,
    installed: &[Installed],
    ancestors: &[(String, Vec<Installed>)],
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
        for p in installed {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                p.cpv,
                p.use_flags.trim(),
                p.license.trim()
            );
        }
    }
    if !ancestors.is_empty() {
        out.push_str("\n## Inherited\n");
        for (ancestor, packages) in ancestors {
            let _ = writeln!(out, "\n### from {ancestor}\n");
            if packages.is_empty() {
                out.push_str("Nothing.\n");
            }
            for p in packages {
                let _ = writeln!(out, "- {}", p.cpv);
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

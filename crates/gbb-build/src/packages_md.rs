//! `packages.tsv`, phase 1's list of what an image installed: read for `PACKAGES.md` when an
//! image's outputs (or an ancestor's) come from a gbb that kept no SBOM data. The layout
//! itself is `gbb_sbom::render_packages_md`.

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

//! What `gbb build` and `gbb clean` say about containers of gbb runs that are gone.

use crate::printer::Printer;

/// Says which containers of gbb runs that are gone were removed (see `gbb_build::owner`).
pub(crate) fn report(orphans: &gbb_build::Orphans, printer: &Printer) {
    for (container, id) in &orphans.removed {
        let short = &container[..container.len().min(12)];
        printer.note(&format!(
            "removed container {short} ({id}) of a gbb run that is gone"
        ));
    }
    if orphans.unknown > 0 {
        printer.verbose(&format!(
            "{} containers of other gbb runs (another machine, pid namespace or an older gbb) left alone",
            orphans.unknown
        ));
    }
}

use std::path::PathBuf;
use std::process::ExitCode;

use comfy_table::{Table, presets};
use gbb_gentoo::{Downloader, Keyring, Stage3Request, resolve_release, set_stage3_date};
use gbb_stack::{BuilderBase, Kind, Stage3};

use super::display_path;
use crate::cli::UpdateArgs;
use crate::context::Context;
use crate::exit::FAILED;
use crate::printer::Printer;

pub(crate) fn run(
    context: &Context,
    args: &UpdateArgs,
    printer: &Printer,
) -> anyhow::Result<ExitCode> {
    let stack = context.load(printer)?;
    // Release indexes are signed: a key is needed unless -s, when a builder starts from one.
    let releases = stack.definitions().iter().any(|d| {
        matches!(&d.base, BuilderBase::Core { input, .. } if matches!(input.stage3, Stage3::Release { .. }))
    });
    let keyring = context
        .keyring(&stack, printer, releases && !args.skip_signatures)?
        .unwrap_or_else(Keyring::empty);
    if args.skip_signatures {
        printer.note("warning: -s: signatures of release indexes are not checked");
    }
    let downloader = Downloader::default();
    let cache = context.cache_dir().join("stage3");
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_header(["BUILDER", "STAGE3", "PINNED", "NEWEST", ""]);
    let mut newer = 0;
    for definition in stack
        .definitions()
        .iter()
        .filter(|d| d.kind == Kind::Builder)
    {
        let BuilderBase::Core { input, .. } = &definition.base else {
            continue;
        };
        let Stage3::Release {
            base,
            date,
            arch,
            mirrors,
        } = &input.stage3
        else {
            continue;
        };
        let request = Stage3Request {
            mirrors,
            arch,
            base,
            date: None,
            cache: &cache,
            keyring: &keyring,
            skip_signatures: args.skip_signatures,
        };
        let newest = resolve_release(&downloader, &request)
            .map_err(|e| anyhow::anyhow!("{}: {e}", definition.id))?;
        let pinned = date.clone().unwrap_or_default();
        let status = if pinned == newest.date {
            "up to date".to_owned()
        } else if args.check {
            newer += 1;
            "newer available".to_owned()
        } else {
            newer += 1;
            // The file that sets STAGE3_DATE when it is the stack's; else the builder's own.
            let root = std::fs::canonicalize(if stack.root.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                &stack.root
            })?;
            let file = definition
                .config
                .get("STAGE3_DATE")
                .map(|var| var.origin.path.to_path_buf())
                .filter(|p| std::fs::canonicalize(p).is_ok_and(|p| p.starts_with(&root)))
                .unwrap_or_else(|| PathBuf::from(&definition.dir).join("build.conf"));
            let text = std::fs::read_to_string(&file)?;
            let updated = set_stage3_date(&text, &newest.date)
                .map_err(|e| anyhow::anyhow!("{}: {e}", display_path(&file)))?;
            // Through a new file renamed over the old: never half written.
            gbb_build::write_file(&file, updated.as_bytes())?;
            format!("updated {}", display_path(&file))
        };
        table.add_row([
            definition.id.to_string(),
            base.clone(),
            if pinned.is_empty() {
                "-".to_owned()
            } else {
                pinned
            },
            newest.date.clone(),
            status,
        ]);
        // The portage snapshot it uses, when it downloads one: reported, not rewritten.
        if let gbb_stack::PortageTree::Snapshot { url, date } = &input.portage {
            let bases: Vec<String> = match url {
                Some(url) => vec![url.clone()],
                None => mirrors
                    .iter()
                    .map(|m| format!("{}/snapshots/", m.trim_end_matches('/')))
                    .collect(),
            };
            let newest = gbb_gentoo::newest_snapshot(&downloader, &bases)
                .map_err(|e| anyhow::anyhow!("{}: {e}", definition.id))?;
            let status = if date == "latest" {
                "follows the newest".to_owned()
            } else if *date < newest {
                newer += 1;
                "newer available (PORTAGE_DATE)".to_owned()
            } else {
                "up to date".to_owned()
            };
            table.add_row([
                definition.id.to_string(),
                "portage snapshot".to_owned(),
                date.clone(),
                newest,
                status,
            ]);
        }
    }
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    printer.data(&out);
    Ok(if args.check && newer > 0 {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

//! Build contexts: the tar an image build reads its files from.

use std::path::Path;

use crate::BuildError;

/// Writes a context tar at `out`: the files of `dir` (without its own `Dockerfile`, which
/// would clash with the rendered one), `extra` host files under the given names, and
/// `dockerfile` as `Dockerfile`. Entries are sorted and their times cleared, so the same
/// inputs give the same context.
pub(crate) fn write_context(
    out: &Path,
    dir: Option<&Path>,
    extra: &[(&str, &Path)],
    generated: &[(&str, &[u8], u32)],
) -> Result<(), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    if let Some(dir) = dir {
        let mut entries = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current).map_err(io(&current))? {
                let entry = entry.map_err(io(&current))?;
                let path = entry.path();
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_owned();
                let name = relative.to_string_lossy().into_owned();
                if name == "Dockerfile" || name == "rootfs.tar" || name == ".git" {
                    continue;
                }
                if entry.file_type().map_err(io(&path))?.is_dir() {
                    stack.push(path);
                } else {
                    entries.push((name, path));
                }
            }
        }
        entries.sort();
        for (name, path) in entries {
            tar.append_path_with_name(&path, &name).map_err(io(&path))?;
        }
    }
    for (name, path) in extra {
        tar.append_path_with_name(path, name).map_err(io(path))?;
    }
    for (name, bytes, mode) in generated {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, *bytes)
            .map_err(io(out))?;
    }
    tar.into_inner()
        .and_then(|mut w| std::io::Write::flush(&mut w))
        .map_err(io(out))?;
    Ok(())
}

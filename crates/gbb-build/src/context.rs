//! Build contexts: the tar an image build reads its files from.

use std::path::Path;

use crate::BuildError;
use crate::outputs::{open_regular, write_error};

/// Writes a context tar into a new file of a random name in `temp_dir` (created exclusively,
/// so nothing planted there is followed; removed when the returned path is dropped): the files
/// of `dir` (without its own `Dockerfile`, which would clash with the rendered one), `extra`
/// host files under the given names (regular files only), and `generated` files. Entries are
/// sorted and their times cleared, so the same inputs give the same context. A full disk is
/// reported as such, naming the context file.
pub(crate) fn write_context(
    temp_dir: &Path,
    dir: Option<&Path>,
    extra: &[(&str, &Path)],
    generated: &[(&str, &[u8], u32)],
) -> Result<tempfile::TempPath, BuildError> {
    std::fs::create_dir_all(temp_dir).map_err(write_error(temp_dir))?;
    let (file, temp_path) = tempfile::Builder::new()
        .prefix("context-")
        .suffix(".tar")
        .tempfile_in(temp_dir)
        .map_err(write_error(temp_dir))?
        .into_parts();
    let out = temp_path.to_path_buf();
    let out = out.as_path();
    // Reading `path` or writing the context failed: a full disk names the context, anything
    // else the file at hand.
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source: std::io::Error| {
            if crate::outputs::is_no_space(&source) {
                BuildError::NoSpace {
                    path: out.to_owned(),
                }
            } else {
                BuildError::Io { path, source }
            }
        }
    };
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    tar.mode(tar::HeaderMode::Deterministic);
    if let Some(dir) = dir {
        // The same files the key hashes (`key::folder_inputs`), read through links as the key
        // reads them; the folder's own `Dockerfile` gives way to the rendered one.
        for (name, path) in crate::key::folder_inputs(dir)? {
            if name == "Dockerfile" {
                continue;
            }
            let mut file = std::fs::File::open(&path).map_err(io(&path))?;
            tar.append_file(&name, &mut file).map_err(io(&path))?;
        }
    }
    for (name, path) in extra {
        let Some((mut file, _)) = open_regular(path)? else {
            return Err(io(path)(std::io::ErrorKind::NotFound.into()));
        };
        tar.append_file(name, &mut file).map_err(io(path))?;
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
    let writer = tar.into_inner().map_err(io(out))?;
    writer
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)
        .map_err(io(out))?;
    Ok(temp_path)
}

//! Portage's `CONTENTS` file: one line per installed path.
//!
//! ```text
//! dir /usr/bin
//! obj /usr/bin/greet 0f343b0931126a20f133d67c2b018a3b 1700000000
//! sym /usr/lib/libgreet.so -> libgreet.so.1 1700000000
//! ```
//!
//! Paths may contain spaces, so an `obj` line is read from the right (mtime, then MD5) and a
//! `sym` line splits at its first ` -> ` (as Portage's own reader does).

use crate::model::{FileKind, InstalledFile};

/// The entries of a `CONTENTS` file; the error is the 1-based line and what is wrong.
pub(crate) fn parse(text: &str) -> Result<Vec<InstalledFile>, (usize, String)> {
    let mut files = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let (kind, rest) = line
            .split_once(' ')
            .ok_or_else(|| (number, format!("`{line}` has no path")))?;
        let (path, kind) = match kind {
            "dir" => (rest.to_owned(), FileKind::Dir),
            "fif" => (rest.to_owned(), FileKind::Fif),
            "dev" => (rest.to_owned(), FileKind::Dev),
            "obj" => {
                let (rest, mtime) = split_last(rest, number)?;
                let (path, md5) = split_last(rest, number)?;
                if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err((number, format!("`{md5}` is not an MD5 digest")));
                }
                (
                    path.to_owned(),
                    FileKind::Obj {
                        md5: md5.to_ascii_lowercase(),
                        mtime: mtime_of(mtime, number)?,
                    },
                )
            }
            "sym" => {
                let (rest, mtime) = split_last(rest, number)?;
                let (path, target) = rest
                    .split_once(" -> ")
                    .ok_or_else(|| (number, "a `sym` line without ` -> `".to_owned()))?;
                (
                    path.to_owned(),
                    FileKind::Sym {
                        target: target.to_owned(),
                        mtime: mtime_of(mtime, number)?,
                    },
                )
            }
            other => return Err((number, format!("unknown entry type `{other}`"))),
        };
        if !path.starts_with('/') {
            return Err((number, format!("`{path}` is not an absolute path")));
        }
        files.push(InstalledFile {
            path,
            kind,
            image: None,
        });
    }
    Ok(files)
}

fn split_last(text: &str, line: usize) -> Result<(&str, &str), (usize, String)> {
    text.rsplit_once(' ')
        .ok_or_else(|| (line, "a field is missing".to_owned()))
}

fn mtime_of(text: &str, line: usize) -> Result<u64, (usize, String)> {
    text.parse()
        .map_err(|_| (line, format!("`{text}` is not a modification time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_and_paths_with_spaces() {
        let files = parse(
            "dir /usr\n\
             obj /usr/share/a file.txt D41D8CD98F00B204E9800998ECF8427E 17\n\
             sym /usr/lib/x y.so -> x.so.1 18\n\
             fif /run/pipe\n",
        )
        .unwrap();
        assert_eq!(files.len(), 4);
        assert_eq!(files[1].path, "/usr/share/a file.txt");
        assert_eq!(
            files[1].kind,
            FileKind::Obj {
                md5: "d41d8cd98f00b204e9800998ecf8427e".to_owned(),
                mtime: 17
            }
        );
        assert_eq!(files[2].path, "/usr/lib/x y.so");
        assert_eq!(
            files[2].kind,
            FileKind::Sym {
                target: "x.so.1".to_owned(),
                mtime: 18
            }
        );
    }

    #[test]
    fn refuses_malformed_lines_with_their_number() {
        assert_eq!(parse("dir /a\nobj /b nothex 1\n").unwrap_err().0, 2);
        assert!(parse("obj relative d41d8cd98f00b204e9800998ecf8427e 1").is_err());
        assert!(parse("sym /a b 1").unwrap_err().1.contains("->"));
        assert!(
            parse("pipe /a")
                .unwrap_err()
                .1
                .contains("unknown entry type")
        );
    }
}

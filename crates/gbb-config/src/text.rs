//! A config file's bytes as text.
//!
//! bash reads any bytes, but gbb passes config values into Dockerfiles, labels and container
//! environments, which are UTF-8; a byte that is not (a file saved in Latin-1, a stray binary)
//! is refused where it is, like any other config error, instead of the reader's generic "stream
//! did not contain valid UTF-8" without a place.

use std::path::Path;

use crate::{ConfigError, ErrorKind, Position};

/// `bytes` (read from `path`) as a string, or an error at the first byte that is not UTF-8.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ConfigError> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let valid = &bytes[..e.utf8_error().valid_up_to()];
            // Everything before the bad byte is valid UTF-8.
            let before = std::str::from_utf8(valid).expect("valid up to here");
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let position = Position {
                line: before.matches('\n').count() as u32 + 1,
                column: before[line_start..].chars().count() as u32 + 1,
            };
            let shown = String::from_utf8_lossy(bytes);
            Err(ConfigError::new(
                path,
                &shown,
                position,
                ErrorKind::NotUtf8 {
                    byte: bytes[valid.len()],
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_byte_is_named_with_its_line_and_column() {
        let path = Path::new("build.conf");
        assert_eq!(decode(path, b"A=\xc3\xa9\n".to_vec()).unwrap(), "A=é\n");
        let error = decode(path, b"A=1\nAUTHOR=\"Ren\xe9\"\n".to_vec()).unwrap_err();
        assert_eq!(
            error.position,
            Position {
                line: 2,
                column: 12
            }
        );
        assert_eq!(error.kind, ErrorKind::NotUtf8 { byte: 0xe9 });
        assert_eq!(
            error.to_string(),
            "build.conf:2:12: byte 0xE9 is not UTF-8; config files must be UTF-8 text \
             (convert it, e.g. with `iconv -f latin1 -t utf-8`)\n  |\n2 | AUTHOR=\"Ren\u{fffd}\"\n  |            ^"
        );
    }
}

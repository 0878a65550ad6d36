//! `.DIGESTS` files: the hashes a stage3 is checked against before anything uses it.
//!
//! The file (cleartext-signed on current mirrors) groups hashes under headers:
//!
//! ```text
//! # BLAKE2B HASH
//! 0f3a...  stage3-amd64-openrc-20251123T170307Z.tar.xz
//! # SHA512 HASH
//! 9c1b...  stage3-amd64-openrc-20251123T170307Z.tar.xz
//! ```
//!
//! Older files also carry WHIRLPOOL hashes, which are ignored. A file is accepted only when it
//! has a SHA512 hash and every SHA512 and BLAKE2B hash listed for it matches.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use blake2::Blake2b512;
use sha2::{Digest, Sha512};

use crate::cleartext_body;

/// The hash algorithms gbb checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Sha512,
    Blake2b,
}

impl Algorithm {
    fn from_header(header: &str) -> Option<Self> {
        match header.trim().to_ascii_uppercase().as_str() {
            "SHA512" => Some(Self::Sha512),
            "BLAKE2B" => Some(Self::Blake2b),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha512 => "SHA512",
            Self::Blake2b => "BLAKE2B",
        }
    }
}

/// The hashes of a DIGESTS file, by file name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Digests {
    hashes: BTreeMap<String, BTreeMap<Algorithm, String>>,
}

/// Why a file does not match its DIGESTS, or the DIGESTS cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DigestsError {
    #[error("the DIGESTS file has no SHA512 hash for `{file}`")]
    NoHash { file: String },
    #[error("{algorithm} of `{}` is {actual}, but the DIGESTS file says {expected}", path.display())]
    Mismatch {
        path: std::path::PathBuf,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error("line {line} of the DIGESTS file is not `<hash>  <file>`: `{text}`")]
    Malformed { line: usize, text: String },
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Digests {
    /// Reads a DIGESTS file's text (signed or not; the signature is checked elsewhere).
    pub fn parse(text: &str) -> Result<Self, DigestsError> {
        let body = cleartext_body(text);
        let mut digests = Self::default();
        // `None` under a header gbb does not check (WHIRLPOOL, MD5).
        let mut current: Option<Algorithm> = None;
        let mut in_section = false;
        for (number, line) in body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix('#') {
                if let Some(name) = header.trim().strip_suffix("HASH") {
                    current = Algorithm::from_header(name);
                    in_section = true;
                }
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(hash), Some(file)) = (words.next(), words.next()) else {
                return Err(DigestsError::Malformed {
                    line: number + 1,
                    text: line.to_owned(),
                });
            };
            if !in_section || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DigestsError::Malformed {
                    line: number + 1,
                    text: line.to_owned(),
                });
            }
            if let Some(algorithm) = current {
                // sha512sum's binary-mode marker.
                let file = file.trim_start_matches('*');
                digests
                    .hashes
                    .entry(file.to_owned())
                    .or_default()
                    .insert(algorithm, hash.to_ascii_lowercase());
            }
        }
        Ok(digests)
    }

    /// The hashes listed for `file`.
    pub fn of(&self, file: &str) -> Option<&BTreeMap<Algorithm, String>> {
        self.hashes.get(file)
    }

    /// Checks `path` against the hashes listed under `name`: a SHA512 hash must be there, and
    /// every SHA512 and BLAKE2B hash must match. Reads the file once.
    pub fn verify(&self, name: &str, path: &Path) -> Result<(), DigestsError> {
        let expected = self
            .of(name)
            .filter(|h| h.contains_key(&Algorithm::Sha512))
            .ok_or_else(|| DigestsError::NoHash {
                file: name.to_owned(),
            })?;
        let io = |source| DigestsError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut sha512 = Sha512::new();
        let mut blake2b = Blake2b512::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            sha512.update(&buffer[..n]);
            blake2b.update(&buffer[..n]);
        }
        let actual: BTreeMap<Algorithm, String> = [
            (Algorithm::Sha512, hex(&sha512.finalize())),
            (Algorithm::Blake2b, hex(&blake2b.finalize())),
        ]
        .into_iter()
        .collect();
        for (algorithm, hash) in expected {
            if &actual[algorithm] != hash {
                return Err(DigestsError::Mismatch {
                    path: path.to_owned(),
                    algorithm: algorithm.name(),
                    expected: hash.clone(),
                    actual: actual[algorithm].clone(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(content: &[u8]) -> (String, String) {
        (
            hex(&Sha512::digest(content)),
            hex(&Blake2b512::digest(content)),
        )
    }

    fn digests_for(name: &str, content: &[u8]) -> String {
        let (sha, blake) = sums(content);
        format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# BLAKE2B HASH\n{blake}  {name}\n\
             # SHA512 HASH\n{sha}  {name}\n# WHIRLPOOL HASH\nabcdef  {name}\n\
             # SHA512 HASH\n{sha}  {name}.CONTENTS.gz\n-----BEGIN PGP SIGNATURE-----\n\nx\n-----END PGP SIGNATURE-----\n"
        )
    }

    #[test]
    fn a_good_file_passes_and_a_tampered_one_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stage3.tar.xz");
        std::fs::write(&path, b"the stage3").unwrap();
        let digests = Digests::parse(&digests_for("stage3.tar.xz", b"the stage3")).unwrap();
        assert_eq!(digests.of("stage3.tar.xz").unwrap().len(), 2);
        digests.verify("stage3.tar.xz", &path).unwrap();

        std::fs::write(&path, b"the stage3, tampered").unwrap();
        let error = digests.verify("stage3.tar.xz", &path).unwrap_err();
        assert!(
            matches!(
                error,
                DigestsError::Mismatch {
                    algorithm: "SHA512",
                    ..
                }
            ),
            "{error}"
        );
        let error = digests.verify("other.tar.xz", &path).unwrap_err();
        assert!(matches!(error, DigestsError::NoHash { .. }), "{error}");
    }

    #[test]
    fn sha512_alone_is_enough_and_blake2b_alone_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let (sha, blake) = sums(b"x");
        Digests::parse(&format!("# SHA512 HASH\n{sha} *f\n"))
            .unwrap()
            .verify("f", &path)
            .unwrap();
        let only_blake = Digests::parse(&format!("# BLAKE2B HASH\n{blake}  f\n")).unwrap();
        assert!(matches!(
            only_blake.verify("f", &path),
            Err(DigestsError::NoHash { .. })
        ));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(matches!(
            Digests::parse("# SHA512 HASH\nnothex  f\n"),
            Err(DigestsError::Malformed { line: 2, .. })
        ));
        assert!(matches!(
            Digests::parse("abc  f\n"),
            Err(DigestsError::Malformed { line: 1, .. })
        ));
    }
}

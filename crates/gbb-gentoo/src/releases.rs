//! `releases/<arch>/autobuilds/latest-<STAGE3_BASE>.txt`: which stage3 is the newest.
//!
//! The file (cleartext-signed on current mirrors) lists one release per line as
//! `<dated folder>/<file name> <size>`, with `#` comments, for example
//! `20251123T170307Z/stage3-amd64-openrc-20251123T170307Z.tar.xz 283234816`.

use crate::cleartext_body;

/// One stage3 release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    /// The path below the autobuilds folder: `20251123T170307Z/stage3-...tar.xz`.
    pub path: String,
    /// The date stamp, `20251123T170307Z` (what `STAGE3_DATE` holds).
    pub date: String,
    /// The tarball's size in bytes, when the index gives it.
    pub size: Option<u64>,
}

impl Release {
    /// The tarball's file name.
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// The releases an index lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseIndex {
    pub releases: Vec<Release>,
}

/// Why an index could not be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseIndexError {
    #[error("line {line} of the release index is not `<date>/<file> <size>`: `{text}`")]
    Malformed { line: usize, text: String },
    #[error("the release index lists no stage3 of `{base}`")]
    Empty { base: String },
    #[error("the release index has no stage3 of `{base}` dated `{date}`; it has: {available}")]
    NoSuchDate {
        base: String,
        date: String,
        available: String,
    },
}

impl ReleaseIndex {
    /// Reads an index (signed or not; the signature is checked elsewhere).
    pub fn parse(text: &str) -> Result<Self, ReleaseIndexError> {
        let body = cleartext_body(text);
        let mut releases = Vec::new();
        for (number, line) in body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let path = words.next().unwrap_or_default();
            let size = words.next().map(str::parse::<u64>);
            let malformed = || ReleaseIndexError::Malformed {
                line: number + 1,
                text: line.to_owned(),
            };
            let Some((date, file)) = path.split_once('/') else {
                return Err(malformed());
            };
            if date.is_empty() || file.is_empty() || !date.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(malformed());
            }
            let size = match size {
                Some(Ok(size)) => Some(size),
                Some(Err(_)) => return Err(malformed()),
                None => None,
            };
            releases.push(Release {
                path: path.to_owned(),
                date: date.to_owned(),
                size,
            });
        }
        Ok(Self { releases })
    }

    /// The release of `base` to use: the one dated `date` when given, else the newest (dates
    /// are `YYYYMMDD` or `YYYYMMDDTHHMMSSZ`, which sort as text).
    pub fn pick(&self, base: &str, date: Option<&str>) -> Result<&Release, ReleaseIndexError> {
        let of_base: Vec<&Release> = self
            .releases
            .iter()
            .filter(|r| r.file_name().starts_with(&format!("{base}-")))
            .collect();
        if of_base.is_empty() {
            return Err(ReleaseIndexError::Empty {
                base: base.to_owned(),
            });
        }
        match date {
            Some(date) => of_base
                .iter()
                .copied()
                .find(|r| r.date == date)
                .ok_or_else(|| ReleaseIndexError::NoSuchDate {
                    base: base.to_owned(),
                    date: date.to_owned(),
                    available: of_base
                        .iter()
                        .map(|r| r.date.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            None => Ok(of_base
                .iter()
                .copied()
                .max_by(|a, b| a.date.cmp(&b.date))
                .expect("not empty")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a current mirror's index (cleartext-signed; signature shortened).
    const INDEX: &str = "-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Latest as of Sun, 23 Nov 2025 17:03:07 +0000
# ts=1763917387
20251123T170307Z/stage3-amd64-openrc-20251123T170307Z.tar.xz 283234816
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE...
-----END PGP SIGNATURE-----
";

    #[test]
    fn signed_index() {
        let index = ReleaseIndex::parse(INDEX).unwrap();
        let release = index.pick("stage3-amd64-openrc", None).unwrap();
        assert_eq!(release.date, "20251123T170307Z");
        assert_eq!(
            release.file_name(),
            "stage3-amd64-openrc-20251123T170307Z.tar.xz"
        );
        assert_eq!(release.size, Some(283_234_816));
    }

    #[test]
    fn newest_or_the_date_asked_for() {
        let index = ReleaseIndex::parse(
            "# old style, several entries\n\
             20240101T000000Z/stage3-amd64-openrc-20240101T000000Z.tar.xz 1\n\
             20250601T000000Z/stage3-amd64-openrc-20250601T000000Z.tar.xz 2\n\
             20250101T000000Z/stage3-amd64-openrc-20250101T000000Z.tar.xz 3\n\
             20250701T000000Z/stage3-amd64-musl-20250701T000000Z.tar.xz 4\n",
        )
        .unwrap();
        assert_eq!(
            index.pick("stage3-amd64-openrc", None).unwrap().date,
            "20250601T000000Z"
        );
        assert_eq!(
            index
                .pick("stage3-amd64-openrc", Some("20240101T000000Z"))
                .unwrap()
                .size,
            Some(1)
        );
        assert_eq!(index.pick("stage3-amd64-musl", None).unwrap().size, Some(4));
        assert_eq!(
            index
                .pick("stage3-amd64-openrc", Some("2023"))
                .unwrap_err()
                .to_string(),
            "the release index has no stage3 of `stage3-amd64-openrc` dated `2023`; it has: \
             20240101T000000Z, 20250601T000000Z, 20250101T000000Z"
        );
        assert!(matches!(
            index.pick("stage3-arm64", None),
            Err(ReleaseIndexError::Empty { .. })
        ));
    }

    #[test]
    fn malformed_lines_are_refused() {
        let error = ReleaseIndex::parse("# x\nnot-a-release\n").unwrap_err();
        assert_eq!(
            error,
            ReleaseIndexError::Malformed {
                line: 2,
                text: "not-a-release".into()
            }
        );
        assert!(ReleaseIndex::parse("2025/stage3.tar.xz big\n").is_err());
    }
}

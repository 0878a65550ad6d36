//! `SOURCE_DATE_EPOCH`: the one time an image may contain.

use crate::{Error, Result};

/// The time written into an image: file times newer than it are clamped to it, and the
/// config's and history's `created` are it. A reproducible-builds.org convention
/// (<https://reproducible-builds.org/specs/source-date-epoch/>), in whole seconds since 1970.
///
/// The default is `0` (1970-01-01T00:00:00Z), as ko and apko use: a fixed value needs no
/// input, and it makes plain that the date says nothing about when an image was built. A
/// caller that wants a meaningful date passes one (the user's `SOURCE_DATE_EPOCH`, or the
/// newest build time among the image's packages, which changes only when a package does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceDateEpoch(u64);

/// The last second that RFC 3339 (four-digit years) can write: 9999-12-31T23:59:59Z.
const MAX_SECONDS: u64 = 253_402_300_799;

impl SourceDateEpoch {
    /// 1970-01-01T00:00:00Z; see the type's documentation for why.
    pub const DEFAULT: Self = Self(0);

    /// The epoch at `seconds` since 1970, refused past the year 9999.
    pub fn new(seconds: u64) -> Result<Self> {
        if seconds > MAX_SECONDS {
            return Err(Error::Epoch(seconds.to_string()));
        }
        Ok(Self(seconds))
    }

    /// The value of a `SOURCE_DATE_EPOCH` variable: decimal digits only, as the specification
    /// says (no sign, no fraction, no spaces).
    pub fn parse(value: &str) -> Result<Self> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Epoch(value.to_owned()));
        }
        let seconds = value
            .parse::<u64>()
            .map_err(|_| Error::Epoch(value.to_owned()))?;
        Self::new(seconds).map_err(|_| Error::Epoch(value.to_owned()))
    }

    /// Seconds since 1970.
    pub fn seconds(self) -> u64 {
        self.0
    }

    /// The epoch as RFC 3339 in UTC with no fraction (`2026-01-01T00:00:00Z`), the form of
    /// `created` in image configs.
    pub fn rfc3339(self) -> String {
        // In range by construction (`new` refuses anything past year 9999).
        let seconds = i64::try_from(self.0).unwrap_or(i64::MAX);
        match jiff::Timestamp::from_second(seconds) {
            Ok(time) => time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Err(_) => "9999-12-31T23:59:59Z".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_digits_only() {
        assert_eq!(
            SourceDateEpoch::parse("0").unwrap(),
            SourceDateEpoch::DEFAULT
        );
        assert_eq!(
            SourceDateEpoch::parse("1767225600").unwrap().seconds(),
            1_767_225_600
        );
        for bad in [
            "",
            "-1",
            "1.5",
            " 1",
            "1e9",
            "253402300800",
            "99999999999999999999",
        ] {
            assert!(SourceDateEpoch::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn formats_as_rfc3339() {
        assert_eq!(SourceDateEpoch::DEFAULT.rfc3339(), "1970-01-01T00:00:00Z");
        let epoch = SourceDateEpoch::new(1_767_225_600).unwrap();
        assert_eq!(epoch.rfc3339(), "2026-01-01T00:00:00Z");
        let last = SourceDateEpoch::new(MAX_SECONDS).unwrap();
        assert_eq!(last.rfc3339(), "9999-12-31T23:59:59Z");
    }
}

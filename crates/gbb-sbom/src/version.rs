//! Splitting a Portage package-and-version (`PF`, `libgreet-1.0-r1`) into name and version.
//!
//! `var/db/pkg/<category>/<PF>` has no file with the name alone, and `PF` is split where the
//! version starts: the first `-` after which the rest is a valid Gentoo version (PMS,
//! "Version Specifications": `1.2.3b_alpha4_p1-r2`). Package names may contain `-` and digits
//! but never a `-` followed by something that is a version, so the first such split is the
//! only one. Hand-written: it is a dozen lines, and a regex crate for one pattern is more.

/// `(name, version)`, or `None` when no valid version ends `pf`.
pub(crate) fn split_pf(pf: &str) -> Option<(&str, &str)> {
    pf.match_indices('-')
        .map(|(i, _)| (&pf[..i], &pf[i + 1..]))
        .find(|(name, version)| !name.is_empty() && is_version(version))
}

/// Whether `text` is a Gentoo version with an optional revision.
pub(crate) fn is_version(text: &str) -> bool {
    let main = match text.rsplit_once("-r") {
        Some((main, revision)) if is_number(revision) => main,
        _ => text,
    };
    let (numbers, suffixes) = match main.find('_') {
        Some(i) => (&main[..i], &main[i..]),
        None => (main, ""),
    };
    // 1.2.3 with an optional letter at the end.
    let numbers = numbers
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .unwrap_or(numbers);
    if !numbers.split('.').all(is_number) {
        return false;
    }
    suffixes.is_empty()
        || suffixes[1..].split('_').all(|suffix| {
            ["alpha", "beta", "pre", "rc", "p"].iter().any(|kind| {
                suffix
                    .strip_prefix(kind)
                    .is_some_and(|n| n.is_empty() || is_number(n))
            })
        })
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_where_the_version_starts() {
        assert_eq!(split_pf("libgreet-1.0"), Some(("libgreet", "1.0")));
        assert_eq!(
            split_pf("greet-tools-2.1-r3"),
            Some(("greet-tools", "2.1-r3"))
        );
        assert_eq!(split_pf("gtk+-3.24.41"), Some(("gtk+", "3.24.41")));
        assert_eq!(
            split_pf("foo-2bar-1.0b_rc2_p3"),
            Some(("foo-2bar", "1.0b_rc2_p3"))
        );
        assert_eq!(split_pf("baselayout-2.14"), Some(("baselayout", "2.14")));
        assert_eq!(split_pf("noversion"), None);
        assert_eq!(split_pf("x-1.0_gamma"), None);
        assert_eq!(split_pf("-1.0"), None);
    }
}

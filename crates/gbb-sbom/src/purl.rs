//! Package URLs (purl) for Gentoo packages.
//!
//! The purl specification's registered types (`purl-types-index.json` in
//! package-url/purl-spec: alpm, apk, deb, rpm, generic, ...) have none for Gentoo. syft and
//! some other scanners write `pkg:ebuild/...`, a type proposed but never registered, which
//! validating readers reject or treat as unknown. gbb therefore writes the registered
//! `generic` type, with the category as namespace and the ebuild repository as a
//! `repository_url` qualifier:
//!
//! ```text
//! pkg:generic/dev-libs/libgreet@1.0-r1?repository_url=https://gitweb.gentoo.org/repo/gentoo.git
//! ```
//!
//! The repository URL of the `gentoo` repository is its canonical git address. For any
//! other repository gbb knows no address (an overlay may be a local folder), and a made-up
//! URL would mislead, so its name goes into a qualifier of gbb's own, `gentoo_repository`
//! (the spec allows further qualifiers), which still tells packages of the same name from
//! different repositories apart.
//!
//! Hand-written percent-encoding: the spec's rule (encode all but `A-Za-z0-9.-_~`, and `:` in
//! qualifier values may stay) is a few lines, where a URL crate would encode `:` and `/` in
//! its own way.

use crate::model::Package;

/// Where the `gentoo` repository lives.
pub const GENTOO_REPOSITORY_URL: &str = "https://gitweb.gentoo.org/repo/gentoo.git";

/// The purl of a package.
pub fn purl(package: &Package) -> String {
    let mut out = format!(
        "pkg:generic/{}/{}@{}",
        encode(&package.category, false),
        encode(&package.name, false),
        encode(&package.version, false)
    );
    match package.repository.as_str() {
        "" => {}
        "gentoo" => {
            out.push_str("?repository_url=");
            out.push_str(&encode(GENTOO_REPOSITORY_URL, true));
        }
        other => {
            out.push_str("?gentoo_repository=");
            out.push_str(&encode(other, true));
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters (and `:`/`/` in a qualifier value,
/// which the spec leaves readable).
fn encode(text: &str, qualifier: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                out.push(byte as char)
            }
            b':' | b'/' if qualifier => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(category: &str, name: &str, version: &str, repository: &str) -> Package {
        Package {
            category: category.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            slot: "0".to_owned(),
            subslot: None,
            repository: repository.to_owned(),
            iuse: Vec::new(),
            use_enabled: Vec::new(),
            licence_raw: String::new(),
            licence: String::new(),
            homepage: Vec::new(),
            description: String::new(),
            distfiles: Vec::new(),
            build_time: None,
            files: Vec::new(),
        }
    }

    #[test]
    fn generic_with_category_namespace_and_repository() {
        assert_eq!(
            purl(&package("dev-libs", "libgreet", "1.0-r1", "gentoo")),
            "pkg:generic/dev-libs/libgreet@1.0-r1?repository_url=https://gitweb.gentoo.org/repo/gentoo.git"
        );
        assert_eq!(
            purl(&package("x11-libs", "gtk+", "3.24", "my overlay")),
            "pkg:generic/x11-libs/gtk%2B@3.24?gentoo_repository=my%20overlay"
        );
        assert_eq!(purl(&package("a", "b", "1", "")), "pkg:generic/a/b@1");
    }
}

//! Gentoo licence names as SPDX licence expressions.
//!
//! Gentoo names licences after the files in the repository's `licenses/` folder (`GPL-2`,
//! `GPL-2+`, `BSD`, `ZLIB`, `openssl`), which are not SPDX identifiers (`GPL-2.0-only`,
//! `GPL-2.0-or-later`, `BSD-3-Clause`, `Zlib`, `OpenSSL`). [`GENTOO_TO_SPDX`] maps the ones
//! with an SPDX equivalent; it is the reverse of Gentoo's own SPDX-to-Gentoo table
//! (`metadata/license-mapping.conf` in the gentoo repository, used by its Rust and Python
//! eclasses), taking SPDX's current `-only`/`-or-later` names where Gentoo lists both. A name
//! without an equivalent becomes `LicenseRef-Gentoo-<name>` (with the characters SPDX does not
//! allow in an id replaced), which SPDX documents must declare: [`SpdxLicence::refs`] lists
//! them for the writer.
//!
//! Groups become operators: `|| ( a b )` is `a OR b`, a plain list `a b` is `a AND b`; nested
//! groups are parenthesised. The USE conditionals are resolved before (see `depend.rs`).

use crate::depend::Node;

/// Gentoo licence name → SPDX licence expression (an id, or an id `WITH` an exception).
/// Sorted by the Gentoo name, so a lookup is a binary search. Every value is checked against
/// SPDX's licence list in this file's tests (with the `spdx` crate).
pub(crate) const GENTOO_TO_SPDX: &[(&str, &str)] = &[
    ("0BSD", "0BSD"),
    ("AFL-2.1", "AFL-2.1"),
    ("AFL-3.0", "AFL-3.0"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("AMPAS", "AMPAS"),
    ("APL-1.0", "APL-1.0"),
    ("APSL-2", "APSL-2.0"),
    ("Aladdin", "Aladdin"),
    ("Apache-1.0", "Apache-1.0"),
    ("Apache-1.1", "Apache-1.1"),
    ("Apache-2.0", "Apache-2.0"),
    (
        "Apache-2.0-with-LLVM-exceptions",
        "Apache-2.0 WITH LLVM-exception",
    ),
    // Gentoo lists three SPDX ids for its `Artistic`; Perl's variant is the one its packages carry.
    ("Artistic", "Artistic-1.0-Perl"),
    ("Artistic-2", "Artistic-2.0"),
    ("BEER-WARE", "Beerware"),
    ("BSD", "BSD-3-Clause"),
    ("BSD-1", "BSD-1-Clause"),
    ("BSD-2", "BSD-2-Clause"),
    ("BSD-4", "BSD-4-Clause"),
    ("BUSL-1.1", "BUSL-1.1"),
    ("BZIP2", "bzip2-1.0.6"),
    ("Boost-1.0", "BSL-1.0"),
    ("CC-BY-2.0", "CC-BY-2.0"),
    ("CC-BY-2.5", "CC-BY-2.5"),
    ("CC-BY-3.0", "CC-BY-3.0"),
    ("CC-BY-4.0", "CC-BY-4.0"),
    ("CC-BY-NC-4.0", "CC-BY-NC-4.0"),
    ("CC-BY-NC-ND-4.0", "CC-BY-NC-ND-4.0"),
    ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0"),
    ("CC-BY-ND-4.0", "CC-BY-ND-4.0"),
    ("CC-BY-SA-2.0", "CC-BY-SA-2.0"),
    ("CC-BY-SA-2.5", "CC-BY-SA-2.5"),
    ("CC-BY-SA-3.0", "CC-BY-SA-3.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("CC-PD", "CC-PDDC"),
    ("CC0-1.0", "CC0-1.0"),
    ("CDDL", "CDDL-1.0"),
    ("CDDL-1.1", "CDDL-1.1"),
    ("CPAL-1.0", "CPAL-1.0"),
    ("CPL-1.0", "CPL-1.0"),
    ("CPOL", "CPOL-1.02"),
    ("CeCILL-2", "CECILL-2.0"),
    ("CeCILL-B", "CECILL-B"),
    ("CeCILL-C", "CECILL-C"),
    ("ECL-2.0", "ECL-2.0"),
    ("EPL-1.0", "EPL-1.0"),
    ("EPL-2.0", "EPL-2.0"),
    ("EUPL-1.1", "EUPL-1.1"),
    ("EUPL-1.2", "EUPL-1.2"),
    ("ErlPL-1.1", "ErlPL-1.1"),
    ("FDL-1.1", "GFDL-1.1-only"),
    ("FDL-1.1+", "GFDL-1.1-or-later"),
    ("FDL-1.2", "GFDL-1.2-only"),
    ("FDL-1.2+", "GFDL-1.2-or-later"),
    ("FDL-1.3", "GFDL-1.3-only"),
    ("FDL-1.3+", "GFDL-1.3-or-later"),
    ("FSFAP", "FSFAP"),
    ("FTL", "FTL"),
    ("GPL-1", "GPL-1.0-only"),
    ("GPL-1+", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    (
        "GPL-2-with-classpath-exception",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    ),
    (
        "GPL-2-with-font-exception",
        "GPL-2.0-only WITH Font-exception-2.0",
    ),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("Glulxe", "Glulxe"),
    ("HPND", "HPND"),
    ("IBM", "IPL-1.0"),
    ("IJG", "IJG"),
    ("IPAfont", "IPA"),
    ("ISC", "ISC"),
    ("Info-ZIP", "Info-ZIP"),
    ("Interbase-1.0", "Interbase-1.0"),
    ("JSON", "JSON"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("LPL-1.02", "LPL-1.02"),
    ("LPPL-1.2", "LPPL-1.2"),
    ("LPPL-1.3c", "LPPL-1.3c"),
    ("MIT", "MIT"),
    ("MIT-0", "MIT-0"),
    ("MIT-with-advertising", "MIT-advertising"),
    ("MPL-1.0", "MPL-1.0"),
    ("MPL-1.1", "MPL-1.1"),
    ("MPL-2.0", "MPL-2.0"),
    ("MirOS", "MirOS"),
    ("NPL-1.1", "NPL-1.1"),
    ("OFL", "OFL-1.0"),
    ("OFL-1.1", "OFL-1.1"),
    ("OPENLDAP", "OLDAP-2.7"),
    ("OPL", "OPUBL-1.0"),
    ("OSL-1.1", "OSL-1.1"),
    ("OSL-2.0", "OSL-2.0"),
    ("OSL-2.1", "OSL-2.1"),
    ("PHP-3", "PHP-3.0"),
    ("PHP-3.01", "PHP-3.01"),
    ("POSTGRESQL", "PostgreSQL"),
    ("PSF-2", "PSF-2.0"),
    ("PYTHON", "Python-2.0"),
    ("QPL-1.0", "QPL-1.0"),
    ("RSA", "RSA-MD"),
    ("Ruby", "Ruby"),
    ("SGI-B-2.0", "SGI-B-2.0"),
    ("SSPL-1", "SSPL-1.0"),
    ("Sendmail", "Sendmail"),
    ("Sleepycat", "Sleepycat"),
    ("Unicode-DFS-2016", "Unicode-DFS-2016"),
    ("Unlicense", "Unlicense"),
    ("VOSTROM", "VOSTROM"),
    ("W3C", "W3C"),
    ("WTFPL-2", "WTFPL"),
    ("Watcom-1.0", "Watcom-1.0"),
    ("ZLIB", "Zlib"),
    ("ZPL", "ZPL-2.1"),
    ("Zend-2.0", "Zend-2.0"),
    ("curl", "curl"),
    ("gd", "GD"),
    ("gnuplot", "gnuplot"),
    ("icu", "ICU"),
    ("imagemagick", "ImageMagick"),
    ("libpng", "Libpng"),
    ("libpng2", "libpng-2.0"),
    ("libtiff", "libtiff"),
    ("mpich2", "mpich2"),
    ("openssl", "OpenSSL"),
    ("psutils", "psutils"),
    ("rdisc", "Rdisc"),
    ("tcltk", "TCL"),
    ("tcp_wrappers_license", "TCP-wrappers"),
    ("vim", "Vim"),
];

/// The SPDX expression of one Gentoo licence name, and the `LicenseRef-` it needed, if any.
pub(crate) fn spdx_of(gentoo: &str) -> (String, Option<String>) {
    match GENTOO_TO_SPDX.binary_search_by(|(name, _)| name.cmp(&gentoo)) {
        Ok(i) => (GENTOO_TO_SPDX[i].1.to_owned(), None),
        Err(_) => {
            let id = licence_ref(gentoo);
            (id.clone(), Some(id))
        }
    }
}

/// `LicenseRef-Gentoo-<name>` with SPDX's id characters (`[A-Za-z0-9.-]`): `+` becomes
/// `-plus` (so `Foo` and `Foo+` stay apart) and every other character `-`.
pub(crate) fn licence_ref(gentoo: &str) -> String {
    let mut id = String::from("LicenseRef-Gentoo-");
    for c in gentoo.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' => id.push(c),
            '+' => id.push_str("-plus"),
            _ => id.push('-'),
        }
    }
    id
}

/// A package's licence as SPDX sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpdxLicence {
    /// The expression: `GPL-2.0-only AND (MIT OR LicenseRef-Gentoo-foo)`, or `NONE` for a
    /// package that declares no licence (virtuals, accounts).
    pub expression: String,
    /// `(LicenseRef id, Gentoo name)` for every name without an SPDX id, in order of use.
    pub refs: Vec<(String, String)>,
}

/// The SPDX form of a resolved licence tree (no conditionals left; see `depend.rs`).
pub(crate) fn spdx_expression(resolved: &Node) -> SpdxLicence {
    let mut refs = Vec::new();
    let expression = render(resolved, &mut refs, true).unwrap_or_else(|| "NONE".to_owned());
    SpdxLicence { expression, refs }
}

/// `None` for an empty group. `top`: no parentheses around the whole.
fn render(node: &Node, refs: &mut Vec<(String, String)>, top: bool) -> Option<String> {
    let (children, operator) = match node {
        Node::Word(name) => {
            let (expression, reference) = spdx_of(name);
            if let Some(id) = reference
                && !refs.iter().any(|(known, _)| *known == id)
            {
                refs.push((id, name.clone()));
            }
            return Some(expression);
        }
        Node::AllOf(children) => (children, " AND "),
        Node::AnyOf(children) => (children, " OR "),
        // Resolved trees have none; a conditional left here is treated as its elements.
        Node::Conditional { children, .. } => (children, " AND "),
    };
    // A group of one is that one, at this group's level (no parentheses of its own).
    let kept: Vec<&Node> = children.iter().filter(|c| !is_empty(c)).collect();
    if let [only] = kept.as_slice() {
        return render(only, refs, top);
    }
    let parts: Vec<String> = kept
        .iter()
        .filter_map(|child| render(child, refs, false))
        .collect();
    match parts.len() {
        0 => None,
        _ if top => Some(parts.join(operator)),
        _ => Some(format!("({})", parts.join(operator))),
    }
}

fn is_empty(node: &Node) -> bool {
    match node {
        Node::Word(_) => false,
        Node::AllOf(c) | Node::AnyOf(c) | Node::Conditional { children: c, .. } => {
            c.iter().all(is_empty)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depend::parse;

    #[test]
    fn table_is_sorted_and_every_value_is_an_spdx_expression() {
        for pair in GENTOO_TO_SPDX.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{pair:?} out of order");
        }
        for (gentoo, spdx_id) in GENTOO_TO_SPDX {
            let parsed = spdx::Expression::parse(spdx_id)
                .unwrap_or_else(|e| panic!("{gentoo} → {spdx_id}: {e}"));
            for requirement in parsed.requirements() {
                assert!(
                    matches!(requirement.req.license, spdx::LicenseItem::Spdx { .. }),
                    "{gentoo} → {spdx_id} is not on SPDX's list"
                );
            }
        }
    }

    #[track_caller]
    fn case(gentoo: &str, expected: &str) {
        let licence = spdx_expression(&parse(gentoo).unwrap());
        assert_eq!(licence.expression, expected, "{gentoo}");
    }

    #[test]
    fn groups_become_operators() {
        case("GPL-2", "GPL-2.0-only");
        case("GPL-2+ LGPL-2.1+", "GPL-2.0-or-later AND LGPL-2.1-or-later");
        case("|| ( GPL-2 BSD-2 )", "GPL-2.0-only OR BSD-2-Clause");
        case(
            "MIT || ( GPL-2 ( BSD ZLIB ) )",
            "MIT AND (GPL-2.0-only OR (BSD-3-Clause AND Zlib))",
        );
        case("", "NONE");
        case("Boost-1.0 openssl ISC", "BSL-1.0 AND OpenSSL AND ISC");
    }

    #[test]
    fn unknown_names_become_declared_licence_refs() {
        let licence = spdx_expression(
            &parse("public-domain MIT tcp_wrappers_license Foo+_x public-domain").unwrap(),
        );
        assert_eq!(
            licence.expression,
            "LicenseRef-Gentoo-public-domain AND MIT AND TCP-wrappers AND \
             LicenseRef-Gentoo-Foo-plus-x AND LicenseRef-Gentoo-public-domain"
        );
        assert_eq!(
            licence.refs,
            [
                (
                    "LicenseRef-Gentoo-public-domain".to_owned(),
                    "public-domain".to_owned()
                ),
                (
                    "LicenseRef-Gentoo-Foo-plus-x".to_owned(),
                    "Foo+_x".to_owned()
                ),
            ]
        );
        let parsed = spdx::Expression::parse(&licence.expression).unwrap();
        assert_eq!(parsed.requirements().count(), 5);
    }
}

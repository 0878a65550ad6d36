//! Gentoo's dependency-specification syntax, as `LICENSE` and `SRC_URI` use it (PMS, section
//! "Dependency Specification Format"): whitespace-separated words, all-of groups `( ... )`,
//! any-of groups `|| ( ... )` and USE-conditional groups `flag? ( ... )` / `!flag? ( ... )`.
//!
//! Portage stores these strings in `var/db/pkg` exactly as the ebuild wrote them, with the
//! conditionals unresolved; which branch applied depends on the package's `USE`, which is
//! stored next to them. [`parse`] reads the string into a tree and [`Node::resolve`] keeps the
//! branches the USE in effect selected, so a `ssl? ( openssl )` licence is listed only for
//! packages built with `ssl`. Hand-written: the grammar is five rules, and no crate parses
//! it (the Python side has Portage's `use_reduce`, which the host does not run).

use std::collections::BTreeSet;
use std::fmt;

/// One element of a dependency specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A plain word: a licence name, a URI, or the `->` of a `SRC_URI` rename.
    Word(String),
    /// `( a b )`, and the top level: every element applies.
    AllOf(Vec<Node>),
    /// `|| ( a b )`: one of the elements applies (for licences: the user's choice).
    AnyOf(Vec<Node>),
    /// `flag? ( ... )` (or `!flag? ( ... )` when `negated`): the elements apply when the flag
    /// is enabled (disabled).
    Conditional {
        flag: String,
        negated: bool,
        children: Vec<Node>,
    },
}

/// Reads `text` into a tree; the top level is an [`Node::AllOf`]. The error says what is
/// wrong in words (the caller adds the file).
pub(crate) fn parse(text: &str) -> Result<Node, String> {
    let mut words = text.split_whitespace().peekable();
    let children = parse_group(&mut words, false)?;
    Ok(Node::AllOf(children))
}

fn parse_group<'a>(
    words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    nested: bool,
) -> Result<Vec<Node>, String> {
    let mut children = Vec::new();
    while let Some(word) = words.next() {
        match word {
            ")" if nested => return Ok(children),
            ")" => return Err("`)` without a matching `(`".to_owned()),
            "(" => children.push(Node::AllOf(parse_group(words, true)?)),
            "||" => {
                expect_open(words, "||")?;
                children.push(Node::AnyOf(parse_group(words, true)?));
            }
            _ if word.ends_with('?') => {
                let name = &word[..word.len() - 1];
                let (negated, flag) = match name.strip_prefix('!') {
                    Some(flag) => (true, flag),
                    None => (false, name),
                };
                if flag.is_empty() {
                    return Err(format!("`{word}` names no USE flag"));
                }
                expect_open(words, word)?;
                children.push(Node::Conditional {
                    flag: flag.to_owned(),
                    negated,
                    children: parse_group(words, true)?,
                });
            }
            _ => children.push(Node::Word(word.to_owned())),
        }
    }
    if nested {
        Err("`(` without a matching `)`".to_owned())
    } else {
        Ok(children)
    }
}

fn expect_open<'a>(words: &mut impl Iterator<Item = &'a str>, after: &str) -> Result<(), String> {
    match words.next() {
        Some("(") => Ok(()),
        _ => Err(format!("`{after}` is not followed by `(`")),
    }
}

impl Node {
    /// The tree with every USE-conditional group replaced by its elements (flag enabled, or
    /// disabled for `!flag?`) or dropped, and groups left empty by that dropped too.
    pub(crate) fn resolve(&self, use_enabled: &BTreeSet<String>) -> Node {
        match self {
            Node::Word(word) => Node::Word(word.clone()),
            Node::AllOf(children) => Node::AllOf(resolve_all(children, use_enabled, true)),
            Node::AnyOf(children) => Node::AnyOf(resolve_all(children, use_enabled, false)),
            Node::Conditional {
                flag,
                negated,
                children,
            } => {
                if use_enabled.contains(flag) != *negated {
                    Node::AllOf(resolve_all(children, use_enabled, true))
                } else {
                    Node::AllOf(Vec::new())
                }
            }
        }
    }

    /// The words in order, groups flattened (for `SRC_URI`, which has no real alternatives).
    pub(crate) fn words(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_words(&mut out);
        out
    }

    fn collect_words<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Word(word) => out.push(word),
            Node::AllOf(children) | Node::AnyOf(children) | Node::Conditional { children, .. } => {
                for child in children {
                    child.collect_words(out);
                }
            }
        }
    }

    fn is_empty_group(&self) -> bool {
        match self {
            Node::Word(_) => false,
            Node::AllOf(c) | Node::AnyOf(c) | Node::Conditional { children: c, .. } => c.is_empty(),
        }
    }
}

/// Resolves each child; empty groups vanish, and an all-of child is spliced in when the
/// parent is an all-of too (`a ( b c )` is `a b c`) or when it holds one element (`|| ( a? (
/// b ) c )` is `|| ( b c )`).
fn resolve_all(children: &[Node], use_enabled: &BTreeSet<String>, all_of: bool) -> Vec<Node> {
    let mut out = Vec::new();
    for child in children {
        let resolved = child.resolve(use_enabled);
        if resolved.is_empty_group() {
            continue;
        }
        match resolved {
            Node::AllOf(inner) if all_of || inner.len() == 1 => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

/// Gentoo's own syntax again (resolved trees print without conditionals), so PACKAGES.md and
/// the SBOM's comment show what Portage shows. The top level prints without parentheses.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::AllOf(children) => list(f, children),
            other => other.fmt_nested(f),
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, children: &[Node]) -> fmt::Result {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        child.fmt_nested(f)?;
    }
    Ok(())
}

impl Node {
    fn fmt_nested(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Word(word) => f.write_str(word),
            Node::AllOf(children) => {
                f.write_str("( ")?;
                list(f, children)?;
                f.write_str(" )")
            }
            Node::AnyOf(children) => {
                f.write_str("|| ( ")?;
                list(f, children)?;
                f.write_str(" )")
            }
            Node::Conditional {
                flag,
                negated,
                children,
            } => {
                write!(f, "{}{flag}? ( ", if *negated { "!" } else { "" })?;
                list(f, children)?;
                f.write_str(" )")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(text: &str, flags: &[&str], expected: &str) {
        let flags = flags.iter().map(|f| (*f).to_owned()).collect();
        let resolved = parse(text).unwrap().resolve(&flags);
        assert_eq!(resolved.to_string(), expected, "{text} with {flags:?}");
    }

    #[test]
    fn resolves_use_conditionals() {
        case("MIT", &[], "MIT");
        case("GPL-2 ssl? ( openssl )", &["ssl"], "GPL-2 openssl");
        case("GPL-2 ssl? ( openssl )", &[], "GPL-2");
        case("GPL-2 !ssl? ( ZLIB )", &[], "GPL-2 ZLIB");
        case("GPL-2 !ssl? ( ZLIB )", &["ssl"], "GPL-2");
        case("|| ( GPL-2 MIT ) doc? ( FDL-1.3 )", &[], "|| ( GPL-2 MIT )");
        case(
            "|| ( a? ( GPL-2 ) BSD ) ( MIT ZLIB )",
            &["a"],
            "|| ( GPL-2 BSD ) MIT ZLIB",
        );
        case("a? ( b? ( MIT ) )", &["a", "b"], "MIT");
        case("a? ( b? ( MIT ) )", &["a"], "");
        case(
            "|| ( a? ( MIT ZLIB ) BSD )",
            &["a"],
            "|| ( ( MIT ZLIB ) BSD )",
        );
    }

    #[test]
    fn refuses_unbalanced_groups() {
        assert!(
            parse("( MIT")
                .unwrap_err()
                .contains("without a matching `)`")
        );
        assert!(
            parse("MIT )")
                .unwrap_err()
                .contains("without a matching `(`")
        );
        assert!(parse("|| MIT").unwrap_err().contains("not followed by `(`"));
        assert!(
            parse("ssl? MIT")
                .unwrap_err()
                .contains("not followed by `(`")
        );
        assert!(
            parse("? ( MIT )")
                .unwrap_err()
                .contains("names no USE flag")
        );
    }
}

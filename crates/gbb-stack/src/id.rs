use std::fmt;
use std::str::FromStr;

/// `namespace/name`: the id of an image or a builder, also its image repository name.
///
/// Both parts follow Docker's rules for a repository path component (lowercase letters and
/// digits, separated by `.`, `_`, `__` or runs of `-`), because the id becomes the image name:
/// a name Docker would refuse is refused when the stack is read, not halfway through a build.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageId {
    full: String,
    slash: usize,
}

impl ImageId {
    /// Builds an id from parts that are already valid.
    pub fn new(namespace: &str, name: &str) -> Result<Self, InvalidName> {
        validate_name(namespace)?;
        validate_name(name)?;
        Ok(Self {
            full: format!("{namespace}/{name}"),
            slash: namespace.len(),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.full[..self.slash]
    }

    pub fn name(&self) -> &str {
        &self.full[self.slash + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl FromStr for ImageId {
    type Err = InvalidName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((namespace, name)) = s.split_once('/') else {
            return Err(InvalidName {
                name: s.to_owned(),
                reason: "an id has the form `namespace/name`",
            });
        };
        if name.contains('/') {
            return Err(InvalidName {
                name: s.to_owned(),
                reason: "an id has exactly one `/`",
            });
        }
        Self::new(namespace, name).map_err(|e| InvalidName {
            name: s.to_owned(),
            reason: e.reason,
        })
    }
}

/// A namespace or image name that Docker would not accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a valid name: {reason}")]
pub struct InvalidName {
    pub name: String,
    pub reason: &'static str,
}

/// Checks one path component of an image name.
///
/// Written by hand: the rule is one line of Docker's reference grammar
/// (`[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`), and a regex engine would cost more start-up
/// time than the whole check.
pub fn validate_name(name: &str) -> Result<(), InvalidName> {
    let fail = |reason| {
        Err(InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > 128 {
        return fail("it is longer than 128 characters");
    }
    let bytes = name.as_bytes();
    if !bytes[0].is_ascii_lowercase() && !bytes[0].is_ascii_digit() {
        return fail("it must start with a lowercase letter or a digit");
    }
    if !bytes[bytes.len() - 1].is_ascii_lowercase() && !bytes[bytes.len() - 1].is_ascii_digit() {
        return fail("it must end with a lowercase letter or a digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        let run = &name[run_start..i];
        let ok = run == "." || run == "_" || run == "__" || run.bytes().all(|b| b == b'-');
        if !ok {
            return if run.bytes().all(|b| matches!(b, b'.' | b'_' | b'-')) {
                fail("separators `.`, `_`, `__` and `-` cannot be combined like that")
            } else {
                fail("only lowercase letters, digits, `.`, `_` and `-` are allowed")
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(name: &str, valid: bool) {
        assert_eq!(validate_name(name).is_ok(), valid, "{name}");
    }

    #[test]
    fn names() {
        case("nginx", true);
        case("bob-musl", true);
        case("jdk-openjdk", true);
        case("a.b", true);
        case("a__b", true);
        case("a---b", true);
        case("python3.11", true);
        case("", false);
        case("Nginx", false);
        case("-a", false);
        case("a-", false);
        case("a..b", false);
        case("a___b", false);
        case("a._b", false);
        case("a b", false);
        case("a+b", false);
        case("ünï", false);
    }

    #[test]
    fn ids() {
        let id: ImageId = "gentoobb/glibc".parse().unwrap();
        assert_eq!((id.namespace(), id.name()), ("gentoobb", "glibc"));
        assert!("glibc".parse::<ImageId>().is_err());
        assert!("a/b/c".parse::<ImageId>().is_err());
        assert!("A/b".parse::<ImageId>().is_err());
    }
}

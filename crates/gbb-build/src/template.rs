//! `Dockerfile.template` rendering.
//!
//! kubler ran `sed` over templates, which breaks on values holding `/`, `&` or `|`. gbb
//! substitutes in one pass over the text: `${NAME}` and `$NAME` are replaced when `NAME` is one
//! of the variables given (IMAGE_PARENT, NAMESPACE, TAG, MAINTAINER, BOB_*, ...), and every
//! other `$` is left alone, so a template's own `ARG`/`ENV` references still reach Docker.
//! Values are inserted as they are and never re-scanned.

use std::collections::BTreeMap;
use std::path::Path;

use crate::BuildError;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Renders `template` with `vars`.
pub fn render_template(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
            && let Some(value) = vars.get(&inner[..end])
        {
            out.push_str(value);
            rest = &inner[end + 1..];
            continue;
        }
        let len = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        if len > 0
            && let Some(value) = vars.get(&after[..len])
        {
            out.push_str(value);
            rest = &after[len..];
            continue;
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Checks, before any container starts, that an image folder has a template that adds the
/// root file system. Returns the template's text.
pub fn check_template(dir: &Path) -> Result<String, BuildError> {
    let path = dir.join("Dockerfile.template");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BuildError::MissingTemplate { path });
        }
        Err(source) => return Err(BuildError::Io { path, source }),
    };
    let adds_rootfs = text.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        matches!(words.first(), Some(w) if w.eq_ignore_ascii_case("ADD") || w.eq_ignore_ascii_case("COPY"))
            && words.iter().skip(1).any(|w| *w == "rootfs.tar")
    });
    if !adds_rootfs {
        return Err(BuildError::NoRootfsAdd { path });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [
            ("IMAGE_PARENT", "ns/glibc:2026"),
            ("MAINTAINER", "A & B <a|b@x/y>"),
            ("BOB_X", "$IMAGE_PARENT \\1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[track_caller]
    fn case(template: &str, expected: &str) {
        assert_eq!(render_template(template, &vars()), expected);
    }

    #[test]
    fn substitutes_known_names_only() {
        case("FROM ${IMAGE_PARENT}\n", "FROM ns/glibc:2026\n");
        case("FROM $IMAGE_PARENT\n", "FROM ns/glibc:2026\n");
        case(
            "LABEL maintainer=\"${MAINTAINER}\"",
            "LABEL maintainer=\"A & B <a|b@x/y>\"",
        );
        case("ENV X=${BOB_X}", "ENV X=$IMAGE_PARENT \\1");
        case(
            "ENV P=${PATH} Q=$HOME $ $$ ${",
            "ENV P=${PATH} Q=$HOME $ $$ ${",
        );
        case(
            "RUN echo ${IMAGE_PARENT}x$IMAGE_PARENTx",
            "RUN echo ns/glibc:2026x$IMAGE_PARENTx",
        );
        case("ünï ${MAINTAINER}", "ünï A & B <a|b@x/y>");
    }

    #[test]
    fn templates_must_add_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            check_template(dir.path()),
            Err(BuildError::MissingTemplate { .. })
        ));
        std::fs::write(
            dir.path().join("Dockerfile.template"),
            "FROM scratch\nADD other.tar /\n",
        )
        .unwrap();
        assert!(matches!(
            check_template(dir.path()),
            Err(BuildError::NoRootfsAdd { .. })
        ));
        std::fs::write(
            dir.path().join("Dockerfile.template"),
            "FROM scratch\nadd  rootfs.tar  /\n",
        )
        .unwrap();
        assert!(check_template(dir.path()).is_ok());
    }
}

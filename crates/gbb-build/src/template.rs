//! `Dockerfile.template` rendering.
//!
//! kubler ran `sed` over templates, which breaks on values holding `/`, `&` or `|`. gbb
//! substitutes in one pass over the text: `${NAME}` and `$NAME` are replaced when `NAME` is one
//! of the variables given (IMAGE_PARENT, NAMESPACE, TAG, MAINTAINER, BOB_*, ...), and every
//! other `$` is left alone, so a template's own `ARG`/`ENV` references still reach Docker.
//! Values are inserted as they are and never re-scanned.
//!
//! **Values cannot rewrite the Dockerfile.** A value comes from a config file or from the
//! environment, and a Dockerfile is a program: a value holding a quote and a line break could
//! end the string it is put into and add a `RUN` that executes in the build. So every value
//! is checked against the place it lands in, before any container starts, and refused with
//! its origin (the variable, file and line, and the environment variable it was read from)
//! rather than escaped:
//!
//! - anywhere: no line break and no other control character (a new line is a new
//!   instruction);
//! - inside a double-quoted string (`LABEL maintainer="${MAINTAINER}"`): no `"` (it would end
//!   the string), no `\` (it would escape the closing quote or continue the line), no `$` or
//!   backquote (Docker and the shell of a `RUN` would expand them);
//! - inside a single-quoted string: no `'`;
//! - outside quotes (`MAINTAINER ${MAINTAINER}`): no `\` at the end of a value that ends its
//!   line (it would join the template's next line onto this one).
//!
//! Escaping was the other choice. It was not taken because the right escape depends on what
//! reads the string (Docker's own word parser for `LABEL`/`ENV`, JSON for an exec-form `CMD`,
//! a shell for a shell-form `RUN`), and a wrong guess changes the value silently; a refusal
//! is always right and names what to change. Outside quotes a value is the template author's
//! choice: `RUN echo ${BOB_X}` hands the value to a shell on purpose, and spaces, `<mail>` and
//! quotes in a `MAINTAINER` line are as the user wrote them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gbb_config::Origin;
use gbb_stack::Definition;

use crate::BuildError;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Where in a Dockerfile line a substituted value lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    Bare,
    Double,
    Single,
}

/// One substitution, for the check: the name, the value, where it lands.
struct Slot<'a> {
    name: &'a str,
    value: &'a str,
    quoting: Quoting,
    /// 1-based line of the template.
    line: usize,
    /// Only blanks follow it on its line.
    ends_line: bool,
}

/// Substitutes `vars` into `template`, calling `check` for each substitution.
fn substitute<E>(
    template: &str,
    vars: &BTreeMap<String, String>,
    mut check: impl FnMut(&Slot<'_>) -> Result<(), E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(template.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut line = 1;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '$' {
            let after = &rest[1..];
            let found = if let Some(inner) = after.strip_prefix('{')
                && let Some(end) = inner.find('}')
                && let Some((name, value)) = vars.get_key_value(&inner[..end])
            {
                Some((name, value, &inner[end + 1..]))
            } else {
                let len = after
                    .find(|c: char| !is_name_char(c))
                    .unwrap_or(after.len());
                vars.get_key_value(&after[..len])
                    .filter(|_| len > 0)
                    .map(|(name, value)| (name, value, &after[len..]))
            };
            if let Some((name, value, next)) = found {
                let line_rest = next.split('\n').next().unwrap_or_default();
                check(&Slot {
                    name,
                    value,
                    quoting: match quote {
                        Some('"') => Quoting::Double,
                        Some(_) => Quoting::Single,
                        None => Quoting::Bare,
                    },
                    line,
                    ends_line: line_rest.trim().is_empty(),
                })?;
                out.push_str(value);
                rest = next;
                escaped = false;
                continue;
            }
        }
        let was_escaped = std::mem::take(&mut escaped);
        match c {
            // A backslash before the end of the line continues the instruction, quotes and all
            // (Docker joins such lines before it reads words).
            '\\' if rest[1..].starts_with('\n') => escaped = true,
            '\n' => {
                line += 1;
                if !was_escaped {
                    quote = None;
                }
            }
            _ if was_escaped => {}
            '\\' if quote != Some('\'') => escaped = true,
            '"' | '\'' if quote.is_none() => quote = Some(c),
            _ if quote == Some(c) => quote = None,
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// Renders `template` with `vars`, trusted values (gbb's own, such as a core's Dockerfile).
/// Values from a stack go through `render_checked`.
pub fn render_template(template: &str, vars: &BTreeMap<String, String>) -> String {
    match substitute(template, vars, |_| Ok::<(), std::convert::Infallible>(())) {
        Ok(text) => text,
        Err(never) => match never {},
    }
}

/// Why a value cannot go where the template puts it, if it cannot.
fn problem(slot: &Slot<'_>) -> Option<String> {
    if slot.value.contains(['\n', '\r']) {
        return Some("it holds a line break, which would start a new instruction".to_owned());
    }
    if let Some(c) = slot.value.chars().find(|c| c.is_control()) {
        return Some(format!(
            "it holds the control character {c:?}, which has no place in a Dockerfile"
        ));
    }
    match slot.quoting {
        Quoting::Double => slot.value.chars().find_map(|c| match c {
            '"' => Some("it holds `\"`, which would end the double-quoted string it goes into"),
            '\\' => Some("it holds `\\`, which would escape the end of the double-quoted string it goes into"),
            '$' | '`' => Some("it holds `$` or a backquote, which would be expanded inside the double-quoted string it goes into"),
            _ => None,
        }).map(str::to_owned),
        Quoting::Single => slot.value.contains('\'').then(|| {
            "it holds `'`, which would end the single-quoted string it goes into".to_owned()
        }),
        Quoting::Bare => (slot.ends_line && slot.value.trim_end().ends_with('\\')).then(|| {
            "it ends in `\\`, which would join the template's next line onto this one".to_owned()
        }),
    }
}

/// A template value and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct TemplateValue {
    pub(crate) value: String,
    /// `AUTHOR at dock/ns/build.conf:2:1`, or what gbb made it from.
    pub(crate) origin: String,
}

impl TemplateValue {
    fn from_config(name: &str, value: String, origin: &Origin) -> Self {
        let mut text = format!("{name} at {origin}");
        if let Some(variable) = &origin.environment {
            text.push_str(&format!(" (from the environment variable `{variable}`)"));
        }
        Self {
            value,
            origin: text,
        }
    }
}

/// The names phase 2 fills into every image template besides the `BOB_*` variables of the
/// image's config: what `image_values` inserts, and what `gbb check` accepts as known.
pub const FIXED_TEMPLATE_VARIABLES: [&str; 6] = [
    "IMAGE_PARENT",
    "NAMESPACE",
    "TAG",
    "IMAGE_TAG",
    "MAINTAINER",
    "AUTHOR",
];

/// The values a stack's image template sees: every `BOB_*` and the
/// [`FIXED_TEMPLATE_VARIABLES`] (`IMAGE_PARENT`, `NAMESPACE`, `TAG`/`IMAGE_TAG`,
/// `MAINTAINER`/`AUTHOR`), from the definition's settings as read with the stack.
pub(crate) fn image_values(
    definition: &Definition,
    parent_image: &str,
) -> BTreeMap<String, TemplateValue> {
    let settings = &definition.settings;
    let mut values: BTreeMap<String, TemplateValue> = settings
        .bob_vars
        .iter()
        .map(|var| {
            let value = TemplateValue::from_config(&var.name, var.value.clone(), &var.origin);
            (var.name.clone(), value)
        })
        .collect();
    let made = |value: &str, origin: &str| TemplateValue {
        value: value.to_owned(),
        origin: origin.to_owned(),
    };
    values.insert(
        "IMAGE_PARENT".to_owned(),
        made(parent_image, "the parent image's id"),
    );
    values.insert(
        "NAMESPACE".to_owned(),
        made(definition.id.namespace(), "the namespace's folder name"),
    );
    let tag = match &settings.tag_origin {
        Some(origin) => TemplateValue::from_config("IMAGE_TAG", definition.tag.clone(), origin),
        None => made(&definition.tag, "gbb's default tag"),
    };
    values.insert("TAG".to_owned(), tag.clone());
    values.insert("IMAGE_TAG".to_owned(), tag);
    let author = match &settings.author {
        Some(author) => TemplateValue::from_config(
            author.set_by.variable,
            author.value.clone(),
            &author.set_by.origin,
        ),
        None => made("", "no AUTHOR set"),
    };
    values.insert("MAINTAINER".to_owned(), author.clone());
    values.insert("AUTHOR".to_owned(), author);
    debug_assert!(
        FIXED_TEMPLATE_VARIABLES
            .iter()
            .all(|name| values.contains_key(*name)),
        "FIXED_TEMPLATE_VARIABLES names a value image_values does not fill"
    );
    values
}

/// Renders a stack's template with checked values: a value that cannot be represented safely
/// where the template puts it is refused with its origin (see the module docs).
pub(crate) fn render_checked(
    template: &str,
    path: &Path,
    values: &BTreeMap<String, TemplateValue>,
) -> Result<String, BuildError> {
    let vars: BTreeMap<String, String> = values
        .iter()
        .map(|(name, v)| (name.clone(), v.value.clone()))
        .collect();
    substitute(template, &vars, |slot| match problem(slot) {
        None => Ok(()),
        Some(problem) => Err(BuildError::UnsafeTemplateValue {
            name: slot.name.to_owned(),
            origin: values[slot.name].origin.clone(),
            template: PathBuf::from(path),
            line: slot.line,
            problem,
        }),
    })
}

/// An image's `Dockerfile.template` as phase 2 carries it out: read, rendered and checked
/// once, in preflight, and kept with the prepared build. Phase 2 and `gbb verify` take it from
/// there and never read the file again, so an image is written from the template its content
/// key was made from, even when the file is edited while the build runs.
#[derive(Clone, Debug)]
pub(crate) struct PreparedTemplate {
    /// The rendered text. Phase 2 parses it once more, with the parent image's environment
    /// (`$NAME` expansion), which is known only once the parent is built.
    pub(crate) text: String,
    /// Whether it builds on the image's parent (`FROM ${IMAGE_PARENT}`), not on `scratch`.
    pub(crate) on_parent: bool,
}

/// Reads, checks and renders an image's template: what preflight turns into a
/// [`PreparedTemplate`] before anything runs.
pub(crate) fn render_image(
    definition: &Definition,
    parent_image: &str,
) -> Result<String, BuildError> {
    let template = check_template(&definition.dir)?;
    let values = image_values(definition, parent_image);
    render_checked(
        &template,
        &definition.dir.join("Dockerfile.template"),
        &values,
    )
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

    fn values(name: &str, value: &str) -> BTreeMap<String, TemplateValue> {
        let mut values = BTreeMap::new();
        values.insert(
            name.to_owned(),
            TemplateValue {
                value: value.to_owned(),
                origin: format!("{name} at ns/build.conf:2:1"),
            },
        );
        values
    }

    /// The problem `value` has in `template`, or the rendered text.
    #[track_caller]
    fn checked(template: &str, value: &str) -> Result<String, String> {
        render_checked(template, Path::new("T"), &values("V", value)).map_err(|e| e.to_string())
    }

    #[test]
    fn values_that_would_add_instructions_are_refused() {
        let attack = "x\"\nRUN touch /pwned\nLABEL y=\"z";
        let error = checked("FROM scratch\nLABEL maintainer=\"${V}\"\n", attack).unwrap_err();
        assert_eq!(
            error,
            "V (V at ns/build.conf:2:1) cannot go into `T` line 2: it holds a line break, which would start a new instruction"
        );
        // The seed's unquoted form, and a line break alone.
        for template in [
            "MAINTAINER ${V}\n",
            "ENV A=$V\n",
            "# ${V}\n",
            "LABEL a='${V}'",
        ] {
            assert!(checked(template, attack).is_err(), "{template}");
            assert!(checked(template, "a\nRUN b").is_err(), "{template}");
            assert!(checked(template, "a\rb").is_err(), "{template}");
            assert!(checked(template, "a\u{1b}[2Jb").is_err(), "{template}");
        }
    }

    #[test]
    fn double_quoted_values_cannot_end_their_string() {
        let template = "FROM scratch\nLABEL maintainer=\"${V}\" other=\"x\"\n";
        for value in ["a\" RUN=\"b", "a\\", "$(id)", "`id`", "${HOME}"] {
            let error = checked(template, value).unwrap_err();
            assert!(error.contains("line 2"), "{error}");
            assert!(error.contains("double-quoted"), "{value}: {error}");
        }
        // Single quotes inside double quotes are fine, and so is a normal author.
        assert_eq!(
            checked(template, "Jane O'Doe <jane@example.org>").unwrap(),
            "FROM scratch\nLABEL maintainer=\"Jane O'Doe <jane@example.org>\" other=\"x\"\n"
        );
        // An escaped quote does not end the string.
        assert!(checked("LABEL a=\"\\\"${V}\"", "b\"").is_err());
        // A string continued on the next line is still a string.
        assert!(checked("RUN echo \"a \\\n  ${V}\"", "b\"").is_err());
    }

    #[test]
    fn single_quoted_and_bare_values() {
        assert!(checked("RUN echo '${V}'", "it's").is_err());
        assert_eq!(
            checked("RUN echo '${V}'", "say \"hi\"").unwrap(),
            "RUN echo 'say \"hi\"'"
        );
        // Outside quotes: as written, but no line continuation.
        assert_eq!(
            checked("MAINTAINER ${V}\n", "Jane \"JD\" Doe <jd@x>").unwrap(),
            "MAINTAINER Jane \"JD\" Doe <jd@x>\n"
        );
        let error = checked("MAINTAINER ${V}\nRUN true\n", "x \\").unwrap_err();
        assert!(error.contains("join the template's next line"), "{error}");
        assert!(checked("ENV A=${V}B\n", "x\\").is_ok());
        // After a quoted string on the same line, back outside quotes.
        assert!(checked("LABEL a=\"b\" c=${V}", "d\"").is_ok());
        // A quote on an earlier line does not leak into the next.
        assert!(checked("# it's\nLABEL c='${V}'", "d\"").is_ok());
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

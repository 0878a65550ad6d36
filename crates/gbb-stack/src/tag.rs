//! `IMAGE_TAG`, checked when the stack is read.
//!
//! The tag goes into `docker tag`, into the rendered Dockerfile (`${TAG}`) and into labels. A
//! value Docker refuses used to fail only at tagging time, after the builder state had been
//! kept, and a value such as `gbb-candidate` would collide with the tags gbb uses for its own
//! work (an image under test is tagged `<id>:gbb-candidate` and removed afterwards). So the tag
//! is checked against Docker's grammar (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`) and against gbb's
//! own prefix at load time, with the file and line that set it.

use gbb_config::{Config, Environment};

use crate::StackError;

/// Tags gbb makes for itself start with this; a stack may not use them.
pub const RESERVED_TAG_PREFIX: &str = "gbb-";

/// The most characters Docker allows in a tag.
const MAX_TAG_LENGTH: usize = 128;

/// The image tag of a definition's `config`: `IMAGE_TAG`, or `latest` when unset.
///
/// gbb's defaults layer (`IMAGE_TAG="${IMAGE_TAG:-latest}"`) is evaluated last, so the final
/// value's origin is always that line; the error names instead the stack's own line that set
/// it (`own` is the config before the defaults), or the environment when no file did.
pub(crate) fn image_tag(
    config: &Config,
    own: &Config,
    env: &Environment,
) -> Result<String, StackError> {
    let Some(var) = config.get("IMAGE_TAG") else {
        return Ok("latest".to_owned());
    };
    let value = var.value.as_str();
    let Some(reason) = tag_problem(value) else {
        return Ok(value.to_owned());
    };
    let origin = match own.get("IMAGE_TAG") {
        Some(own) => Some(own.origin.clone()),
        None if env.get("IMAGE_TAG").is_some() => None,
        None => Some(var.origin.clone()),
    };
    Err(StackError::InvalidTag {
        origin,
        value: value.escape_debug().to_string(),
        reason,
    })
}

/// Why `tag` cannot be an image tag, or `None` when it can.
fn tag_problem(tag: &str) -> Option<String> {
    let Some(first) = tag.chars().next() else {
        return Some("a tag cannot be empty".to_owned());
    };
    if tag.chars().count() > MAX_TAG_LENGTH {
        return Some(format!("a tag has at most {MAX_TAG_LENGTH} characters"));
    }
    if first == '.' || first == '-' {
        return Some("a tag must start with a letter, a digit or `_`".to_owned());
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Some(format!(
            "`{}` cannot appear in a tag (letters, digits, `_`, `.` and `-` only)",
            bad.escape_debug()
        ));
    }
    if tag.starts_with(RESERVED_TAG_PREFIX) {
        return Some(format!(
            "tags starting with `{RESERVED_TAG_PREFIX}` are gbb's own (it tags images under test `gbb-candidate`)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(tag: &str, problem: Option<&str>) {
        assert_eq!(tag_problem(tag).as_deref(), problem, "tag {tag:?}");
    }

    #[test]
    fn docker_tags_and_gbb_own() {
        case("latest", None);
        case("2026.11", None);
        case("_x-1.2", None);
        case(&"a".repeat(128), None);
        case("", Some("a tag cannot be empty"));
        case(&"a".repeat(129), Some("a tag has at most 128 characters"));
        case(".x", Some("a tag must start with a letter, a digit or `_`"));
        case("-x", Some("a tag must start with a letter, a digit or `_`"));
        case(
            "a:b",
            Some("`:` cannot appear in a tag (letters, digits, `_`, `.` and `-` only)"),
        );
        case(
            "a\nRUN x",
            Some("`\\n` cannot appear in a tag (letters, digits, `_`, `.` and `-` only)"),
        );
        case(
            "gbb-candidate",
            Some(
                "tags starting with `gbb-` are gbb's own (it tags images under test `gbb-candidate`)",
            ),
        );
        case("gbb-x", tag_problem("gbb-candidate").as_deref());
        case("gbb", None);
    }
}

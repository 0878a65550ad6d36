//! `gbb update`'s edit: set `STAGE3_DATE` in a builder's `build.conf`, keeping every other byte
//! of the file (comments, blank lines, quoting style, other assignments) as it was.

use gbb_config::parser::parse_leading_assignment_span;
use gbb_config::{AssignValue, Part};

/// Why the date cannot be written.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    #[error(
        "line {line}: STAGE3_DATE is computed (`{text}`), so gbb update will not rewrite it; set the date there by hand"
    )]
    Computed { line: usize, text: String },
    #[error("`{date}` is not a stage3 date (YYYYMMDD or YYYYMMDDTHHMMSSZ)")]
    BadDate { date: String },
}

/// `text` with its last top-level `STAGE3_DATE=` assignment set to `date`, in the quotes the
/// old value used; or with `STAGE3_DATE='date'` appended when the file has none.
pub fn set_stage3_date(text: &str, date: &str) -> Result<String, UpdateError> {
    if date.is_empty() || !date.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(UpdateError::BadDate {
            date: date.to_owned(),
        });
    }
    let mut found = None;
    let mut offset = 0;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let statement = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        if !statement.starts_with("STAGE3_DATE=") {
            continue;
        }
        let skipped = trimmed.len() - statement.len();
        let at = start + indent + skipped;
        if let Some((assignment, span)) = parse_leading_assignment_span(&text[at..]) {
            found = Some((number + 1, assignment, (at + span.start)..(at + span.end)));
        }
    }
    let Some((line, assignment, span)) = found else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("STAGE3_DATE='{date}'\n"));
        return Ok(out);
    };
    let old = &text[span.clone()];
    let literal = match &assignment.value {
        AssignValue::Scalar(word) => word.parts.iter().all(|p| matches!(p, Part::Literal { .. })),
        AssignValue::Array(_) => false,
    };
    if !literal {
        return Err(UpdateError::Computed {
            line,
            text: old.to_owned(),
        });
    }
    let new = if old.starts_with('\'') {
        format!("'{date}'")
    } else if old.starts_with('"') {
        format!("\"{date}\"")
    } else {
        date.to_owned()
    };
    Ok(format!("{}{new}{}", &text[..span.start], &text[span.end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(before: &str, after: &str) {
        assert_eq!(set_stage3_date(before, "20261124T000000Z").unwrap(), after);
    }

    #[test]
    fn only_the_date_changes() {
        case(
            "# bootstrap from a stage3\nSTAGE3_BASE='stage3-amd64-openrc'\nSTAGE3_DATE='20250101T000000Z' # pinned\n\n#ARCH='amd64'\n",
            "# bootstrap from a stage3\nSTAGE3_BASE='stage3-amd64-openrc'\nSTAGE3_DATE='20261124T000000Z' # pinned\n\n#ARCH='amd64'\n",
        );
        case(
            "STAGE3_DATE=\"2025\"\n",
            "STAGE3_DATE=\"20261124T000000Z\"\n",
        );
        case(
            "  export STAGE3_DATE=2025;A=1\n",
            "  export STAGE3_DATE=20261124T000000Z;A=1\n",
        );
        case("STAGE3_DATE=\n", "STAGE3_DATE=20261124T000000Z\n");
        case(
            "#STAGE3_DATE='1'\nSTAGE3_DATE='1'\nSTAGE3_DATE='2'\n",
            "#STAGE3_DATE='1'\nSTAGE3_DATE='1'\nSTAGE3_DATE='20261124T000000Z'\n",
        );
        case(
            "STAGE3_BASE=x",
            "STAGE3_BASE=x\nSTAGE3_DATE='20261124T000000Z'\n",
        );
        case(
            "crlf=1\r\nSTAGE3_DATE='1'\r\n",
            "crlf=1\r\nSTAGE3_DATE='20261124T000000Z'\r\n",
        );
    }

    #[test]
    fn computed_dates_are_left_to_people() {
        assert_eq!(
            set_stage3_date("A=1\nSTAGE3_DATE=\"${STAGE3_DATE:-2025}\"\n", "2026"),
            Err(UpdateError::Computed {
                line: 2,
                text: "\"${STAGE3_DATE:-2025}\"".to_owned()
            })
        );
        assert!(matches!(
            set_stage3_date("", "2026; rm"),
            Err(UpdateError::BadDate { .. })
        ));
    }
}

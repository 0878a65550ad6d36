use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a config file: 1-based line and column (columns count characters, not bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What is wrong with a config file.
///
/// The variants carry data, not sentences: the wording lives in one place, the `Display` impl.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A line that runs something instead of assigning: `echo hi`, `source x`, `A=1 cmd`.
    Command { word: String },
    /// `name() { ... }` or `function name`.
    Function { name: String },
    /// `if`, `for`, `while`, `case`, `[[`, ...
    ControlFlow { keyword: String },
    /// `$(...)` or a backtick.
    CommandSubstitution,
    /// `$((...))`.
    Arithmetic,
    /// `|`, `&&`, `>`, `<`, `&`, ...
    Operator { operator: String },
    /// `$1`, `$@`, `$?`, `$$`, ...
    SpecialParameter { parameter: String },
    /// `${#X}`, `${!X}`, `${X%pat}`, `${X/a/b}`, `${X^^}`, ...
    UnsupportedExpansion { text: String },
    /// `${X:?message}` on an unset variable.
    ParameterError { name: String, message: String },
    /// `A[1]=x`.
    ElementAssignment { name: String },
    /// An opening quote, brace or parenthesis that is never closed.
    Unterminated { what: &'static str },
    /// A character that cannot appear where it was found.
    Unexpected {
        found: String,
        expected: &'static str,
    },
    /// `local` outside a function, `declare -f`, ...
    UnsupportedBuiltin { text: String },
    /// `${X:offset}` whose offset is not a number or a variable.
    BadSubstring { text: String },
    /// A byte that is not UTF-8.
    NotUtf8 { byte: u8 },
    /// An expanded value larger than the limit (`A="$A$A"` repeated).
    ValueTooLarge { name: String, limit: usize },
    /// A value that cannot be used the way it is used: `A+=( x )` on ... (reserved).
    InvalidValue { message: String },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command { word } => write!(
                f,
                "`{word}` is a command; config files may only assign variables (KEY=value)"
            ),
            Self::Function { name } => write!(
                f,
                "function `{name}` cannot be defined in a config file; hooks belong in build.sh"
            ),
            Self::ControlFlow { keyword } => write!(
                f,
                "`{keyword}` is not supported; config files may only assign variables"
            ),
            Self::CommandSubstitution => write!(
                f,
                "command substitution (`$(...)` or backticks) is not supported in config files"
            ),
            Self::Arithmetic => write!(f, "arithmetic expansion `$((...))` is not supported"),
            Self::Operator { operator } => write!(
                f,
                "operator `{operator}` is not supported; config files may only assign variables"
            ),
            Self::SpecialParameter { parameter } => {
                write!(
                    f,
                    "special parameter `${parameter}` has no meaning in a config file"
                )
            }
            Self::UnsupportedExpansion { text } => write!(
                f,
                "expansion `{text}` is not supported; use $VAR, ${{VAR}}, ${{VAR:-default}}, \
                 ${{VAR:+alt}}, ${{VAR:=default}}, ${{VAR:?msg}} or ${{VAR:offset:length}}"
            ),
            Self::ParameterError { name, message } => {
                if message.is_empty() {
                    write!(f, "`{name}` is not set")
                } else {
                    write!(f, "`{name}` is not set: {message}")
                }
            }
            Self::ElementAssignment { name } => write!(
                f,
                "assigning one element of `{name}` is not supported; assign the whole array: {name}=( ... )"
            ),
            Self::Unterminated { what } => write!(f, "unterminated {what}"),
            Self::Unexpected { found, expected } => {
                write!(f, "unexpected `{found}`, expected {expected}")
            }
            Self::UnsupportedBuiltin { text } => write!(f, "`{text}` is not supported here"),
            Self::BadSubstring { text } => write!(
                f,
                "substring offset `{text}` must be a whole number or a variable name"
            ),
            Self::NotUtf8 { byte } => write!(
                f,
                "byte 0x{byte:02X} is not UTF-8; config files must be UTF-8 text \
                 (convert it, e.g. with `iconv -f latin1 -t utf-8`)"
            ),
            Self::ValueTooLarge { name, limit } => write!(
                f,
                "the value of `{name}` grows past {} MiB, the most a config value may hold",
                limit >> 20
            ),
            Self::InvalidValue { message } => f.write_str(message),
        }
    }
}

/// A config file that could not be read, parsed or evaluated, with where and why.
///
/// `Display` gives one line, `path:line:column: message`, followed by the offending source line
/// and a caret under the column, so that the user sees the mistake without opening the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub position: Position,
    pub kind: ErrorKind,
    /// The text of the line the error is on, for the excerpt (empty when unknown).
    pub source_line: String,
}

impl ConfigError {
    pub(crate) fn new(path: &Path, source: &str, position: Position, kind: ErrorKind) -> Self {
        let source_line = source
            .lines()
            .nth(position.line.saturating_sub(1) as usize)
            .unwrap_or_default()
            .to_owned();
        Self {
            path: path.to_owned(),
            position,
            kind,
            source_line,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}",
            self.path.display(),
            self.position,
            self.kind
        )?;
        if !self.source_line.is_empty() {
            let number = self.position.line.to_string();
            let pad = " ".repeat(number.len());
            // The caret goes under the column; tabs are kept so that it lines up in a terminal.
            let lead: String = self
                .source_line
                .chars()
                .take(self.position.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{pad} |\n{number} | {}\n{pad} | {lead}^",
                self.source_line
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

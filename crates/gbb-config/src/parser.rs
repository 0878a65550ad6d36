//! The grammar of config files, and its parser.
//!
//! Config files are the assignment subset of bash. The parser is written by hand rather than with
//! a parser crate because nearly all of its work is shell quoting (which no general grammar crate
//! models) and because every refusal has to point at an exact line and column with a message
//! that says what bash construct was found. The grammar, informally:
//!
//! ```text
//! file        = { blank | NEWLINE | ";" | comment | statement }
//! statement   = [ ("export" | "readonly" | "declare" | "typeset") { option } ]
//!               assignment { blank assignment }
//! assignment  = NAME ("=" | "+=") ( array | word? )
//! array       = "(" { blank | NEWLINE | comment | word } ")"
//! word        = { plain | "\" CHAR | "'" ... "'" | "$'" ... "'" | dquoted | expansion | "~" }
//! dquoted     = '"' { CHAR | "\" ("$" | "`" | '"' | "\" | NEWLINE) | expansion } '"'
//! expansion   = "$" NAME | "${" NAME [ "[" ("@" | "*" | DIGITS) "]" ] [ operator ] "}"
//! operator    = (":-" | "-" | ":=" | "=" | ":+" | "+" | ":?" | "?") word-in-braces
//!             | ":" operand [ ":" operand ]
//! comment     = "#" { CHAR } (only where a word could start)
//! ```
//!
//! A backslash before a newline joins lines everywhere except inside single quotes. Everything
//! else bash would run (commands, functions, `$(...)`, backticks, redirections, control flow,
//! pattern expansions such as `${X%y}`) is an [`ErrorKind`] pointing at where it starts.

use std::path::Path;

use crate::syntax::{AssignValue, Assignment, Index, Operand, Operator, Param, Part, Script, Word};
use crate::{ConfigError, ErrorKind, Position};

/// Parses `source`, read from `path` (used only in error messages).
pub fn parse(path: &Path, source: &str) -> Result<Script, ConfigError> {
    let mut parser = Parser {
        src: source.as_bytes(),
        text: source,
        path,
        offset: 0,
        line: 1,
        column: 1,
    };
    parser
        .file()
        .map_err(|(position, kind)| ConfigError::new(path, source, position, kind))
}

type PResult<T> = Result<T, (Position, ErrorKind)>;

/// Where a word ends and how quotes behave inside it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// A value or an array element: ends at a blank, newline, `;` or an operator character.
    Unquoted,
    /// The word after `${X:-`: ends at `}`, blanks are part of it. `quoted` tells whether the
    /// whole expansion sits inside double quotes, where single quotes are plain characters.
    Brace { quoted: bool, open: Position },
}

struct Parser<'a> {
    src: &'a [u8],
    text: &'a str,
    #[allow(dead_code)]
    path: &'a Path,
    offset: usize,
    line: u32,
    column: u32,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Characters that end an unquoted word (besides blanks and newlines).
fn is_word_end(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.offset).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.src.get(self.offset + n).copied()
    }

    fn here(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            // Count characters, not bytes: continuation bytes of UTF-8 do not move the column.
            self.column += 1;
        }
        Some(b)
    }

    /// Consumes bytes while `f` holds and returns them as text. Only ever stops on ASCII
    /// bytes, so the slice is valid UTF-8.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.offset;
        while self.peek().is_some_and(&f) {
            self.bump();
        }
        &self.text[start..self.offset]
    }

    /// The name starting at the current offset, without consuming it.
    fn name_ahead(&self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_name_start) {
            return None;
        }
        let len = self.src[self.offset..]
            .iter()
            .take_while(|&&b| is_name_char(b))
            .count();
        Some(&self.text[self.offset..self.offset + len])
    }

    /// Skips blanks and line continuations.
    fn skip_blank(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => {
                    self.bump();
                }
                Some(b'\\') if self.peek_at(1) == Some(b'\n') => {
                    self.bump();
                    self.bump();
                }
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|b| b != b'\n') {
            self.bump();
        }
    }

    /// The text of the word starting here, for messages (up to a blank or end of line).
    fn word_text_ahead(&self) -> String {
        let rest = &self.text[self.offset..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == ';')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if word.is_empty() {
            rest.chars().next().map(String::from).unwrap_or_default()
        } else {
            word.to_owned()
        }
    }

    fn file(&mut self) -> PResult<Script> {
        let mut script = Script::default();
        loop {
            self.skip_blank();
            match self.peek() {
                None => return Ok(script),
                Some(b'\n' | b';') => {
                    self.bump();
                }
                Some(b'#') => self.skip_comment(),
                Some(_) => self.statement(&mut script)?,
            }
        }
    }

    fn statement(&mut self, script: &mut Script) -> PResult<()> {
        let start = self.here();
        let Some(name) = self.name_ahead() else {
            return Err(self.not_an_assignment());
        };
        let after = self.peek_at(name.len());
        let is_assignment = after == Some(b'=')
            || (after == Some(b'+') && self.peek_at(name.len() + 1) == Some(b'='));
        if is_assignment {
            script.assignments.push(self.assignment()?);
        } else if after == Some(b'[') {
            return Err((
                start,
                ErrorKind::ElementAssignment {
                    name: name.to_owned(),
                },
            ));
        } else {
            match name {
                "export" | "readonly" | "declare" | "typeset" => {
                    self.take_while(is_name_char);
                    return self.declaration(name, script);
                }
                _ => return Err(self.not_an_assignment()),
            }
        }
        self.assignments_after(script)
    }

    /// After one assignment: more assignments on the same line, or the end of the statement.
    fn assignments_after(&mut self, script: &mut Script) -> PResult<()> {
        loop {
            self.skip_blank();
            match self.peek() {
                None | Some(b'\n' | b';' | b'#') => return Ok(()),
                Some(_) => {
                    let is_assignment = self.name_ahead().is_some_and(|name| {
                        let after = self.peek_at(name.len());
                        after == Some(b'=')
                            || (after == Some(b'+') && self.peek_at(name.len() + 1) == Some(b'='))
                    });
                    if !is_assignment {
                        return Err(self.not_an_assignment());
                    }
                    script.assignments.push(self.assignment()?);
                }
            }
        }
    }

    /// `export A=1 B`, `declare -x A=1`, `readonly A=1`: the assignments count, the attributes
    /// do not change values and are ignored. Bare names (`export A`) are accepted and ignored.
    fn declaration(&mut self, keyword: &str, script: &mut Script) -> PResult<()> {
        loop {
            self.skip_blank();
            match self.peek() {
                None | Some(b'\n' | b';' | b'#') => return Ok(()),
                Some(b'-' | b'+') => {
                    let position = self.here();
                    let option = self.take_while(|b| !is_word_end(b));
                    // -f/-F name functions and -A makes an associative array: neither is config.
                    if option.contains(['f', 'F', 'A', 'n']) {
                        return Err((
                            position,
                            ErrorKind::UnsupportedBuiltin {
                                text: format!("{keyword} {option}"),
                            },
                        ));
                    }
                }
                Some(_) => {
                    let Some(name) = self.name_ahead() else {
                        return Err(self.not_an_assignment());
                    };
                    let after = self.peek_at(name.len());
                    if after == Some(b'=') || after == Some(b'+') {
                        script.assignments.push(self.assignment()?);
                    } else if after.is_none_or(|b| is_word_end(b) || b == b'#') {
                        self.take_while(is_name_char);
                    } else {
                        return Err(self.not_an_assignment());
                    }
                }
            }
        }
    }

    /// The error for a statement that is not an assignment, chosen by what it starts with.
    fn not_an_assignment(&self) -> (Position, ErrorKind) {
        let position = self.here();
        let kind = match self.peek() {
            Some(b'|' | b'&' | b'<' | b'>') => {
                let op = self.take_operator_text();
                ErrorKind::Operator { operator: op }
            }
            Some(b'(' | b'{' | b'[') => ErrorKind::ControlFlow {
                keyword: self
                    .word_text_ahead()
                    .chars()
                    .take(2)
                    .filter(|c| "({[".contains(*c))
                    .collect(),
            },
            Some(b')' | b'}') => ErrorKind::Unexpected {
                found: (self.peek().unwrap_or(b'?') as char).to_string(),
                expected: "an assignment",
            },
            Some(b'`') => ErrorKind::CommandSubstitution,
            Some(b'$') if self.peek_at(1) == Some(b'(') => {
                if self.peek_at(2) == Some(b'(') {
                    ErrorKind::Arithmetic
                } else {
                    ErrorKind::CommandSubstitution
                }
            }
            _ => {
                let word = self.word_text_ahead();
                let name = self.name_ahead().unwrap_or_default();
                let rest = self.text[self.offset + name.len()..].trim_start_matches([' ', '\t']);
                match name {
                    "if" | "then" | "else" | "elif" | "fi" | "for" | "while" | "until" | "do"
                    | "done" | "case" | "esac" | "select" => ErrorKind::ControlFlow {
                        keyword: name.to_owned(),
                    },
                    "function" => ErrorKind::Function {
                        name: rest
                            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    },
                    "local" => ErrorKind::UnsupportedBuiltin {
                        text: "local".to_owned(),
                    },
                    _ if !name.is_empty() && rest.starts_with("()") => ErrorKind::Function {
                        name: name.to_owned(),
                    },
                    _ => ErrorKind::Command { word },
                }
            }
        };
        (position, kind)
    }

    fn take_operator_text(&self) -> String {
        self.text[self.offset..]
            .chars()
            .take_while(|c| "|&<>".contains(*c))
            .take(2)
            .collect()
    }

    fn assignment(&mut self) -> PResult<Assignment> {
        let position = self.here();
        let name = self.take_while(is_name_char).to_owned();
        let append = self.peek() == Some(b'+');
        if append {
            self.bump();
        }
        self.bump(); // '='
        let value_position = self.here();
        let value = if self.peek() == Some(b'(') {
            self.bump();
            AssignValue::Array(self.array_elements(value_position)?)
        } else {
            let word = self.word(Context::Unquoted)?;
            match self.peek() {
                Some(b'(' | b')') => {
                    return Err((
                        self.here(),
                        ErrorKind::Unexpected {
                            found: (self.peek().unwrap_or(b'?') as char).to_string(),
                            expected: "the end of the value (quote it)",
                        },
                    ));
                }
                Some(b'|' | b'&' | b'<' | b'>') => {
                    return Err((
                        self.here(),
                        ErrorKind::Operator {
                            operator: self.take_operator_text(),
                        },
                    ));
                }
                _ => {}
            }
            AssignValue::Scalar(word)
        };
        Ok(Assignment {
            name,
            append,
            value,
            position,
            value_position,
        })
    }

    fn array_elements(&mut self, open: Position) -> PResult<Vec<Word>> {
        let mut elements = Vec::new();
        loop {
            self.skip_blank();
            match self.peek() {
                None => {
                    return Err((
                        open,
                        ErrorKind::Unterminated {
                            what: "array (missing `)`)",
                        },
                    ));
                }
                Some(b'\n') => {
                    self.bump();
                }
                Some(b'#') => self.skip_comment(),
                Some(b')') => {
                    self.bump();
                    return Ok(elements);
                }
                Some(b'(' | b';' | b'|' | b'&' | b'<' | b'>') => {
                    return Err((
                        self.here(),
                        ErrorKind::Unexpected {
                            found: (self.peek().unwrap_or(b'?') as char).to_string(),
                            expected: "an array element or `)`",
                        },
                    ));
                }
                Some(_) => {
                    if let Some(name) = self.name_ahead()
                        && self.peek_at(name.len()) == Some(b'[')
                        && self.text[self.offset..].contains("]=")
                    {
                        return Err((
                            self.here(),
                            ErrorKind::UnsupportedExpansion {
                                text: format!("{name}[...]=... (indexed array elements)"),
                            },
                        ));
                    }
                    elements.push(self.word(Context::Unquoted)?);
                }
            }
        }
    }

    /// Parses one word in `context`. In [`Context::Unquoted`] the word may be empty.
    fn word(&mut self, context: Context) -> PResult<Word> {
        let mut parts: Vec<Part> = Vec::new();
        let mut plain = String::new();
        let mut first = true;
        fn flush(parts: &mut Vec<Part>, plain: &mut String, quoted: bool) {
            if !plain.is_empty() {
                parts.push(Part::Literal {
                    text: std::mem::take(plain),
                    quoted,
                });
            }
        }
        loop {
            let Some(b) = self.peek() else {
                if let Context::Brace { open, .. } = context {
                    return Err((
                        open,
                        ErrorKind::Unterminated {
                            what: "parameter expansion (missing `}`)",
                        },
                    ));
                }
                break;
            };
            match context {
                Context::Unquoted if is_word_end(b) => break,
                Context::Brace { .. } if b == b'}' => break,
                _ => {}
            }
            let at_start = first;
            first = false;
            match b {
                b'\\' => {
                    self.bump();
                    match self.peek() {
                        Some(b'\n') => {
                            self.bump();
                        }
                        None => plain.push('\\'),
                        Some(_) => {
                            flush(&mut parts, &mut plain, false);
                            let c = self.next_char();
                            parts.push(Part::Literal {
                                text: c.to_string(),
                                quoted: true,
                            });
                        }
                    }
                }
                b'\'' if !matches!(context, Context::Brace { quoted: true, .. }) => {
                    flush(&mut parts, &mut plain, false);
                    let text = self.single_quoted()?;
                    parts.push(Part::Literal { text, quoted: true });
                }
                b'"' => {
                    flush(&mut parts, &mut plain, false);
                    self.double_quoted(&mut parts)?;
                }
                b'$' => {
                    flush(&mut parts, &mut plain, false);
                    let quoted = matches!(context, Context::Brace { quoted: true, .. });
                    self.dollar(&mut parts, quoted)?;
                }
                b'`' => return Err((self.here(), ErrorKind::CommandSubstitution)),
                b'~' if at_start
                    && context == Context::Unquoted
                    && self
                        .peek_at(1)
                        .is_none_or(|n| n == b'/' || n == b':' || is_word_end(n)) =>
                {
                    self.bump();
                    parts.push(Part::Tilde);
                }
                _ => {
                    let c = self.next_char();
                    plain.push(c);
                }
            }
        }
        flush(&mut parts, &mut plain, false);
        Ok(Word { parts })
    }

    /// Consumes one whole UTF-8 character.
    fn next_char(&mut self) -> char {
        let c = self.text[self.offset..].chars().next().unwrap_or('\0');
        for _ in 0..c.len_utf8() {
            self.bump();
        }
        c
    }

    fn single_quoted(&mut self) -> PResult<String> {
        let open = self.here();
        self.bump();
        let start = self.offset;
        while self.peek().is_some_and(|b| b != b'\'') {
            self.bump();
        }
        if self.peek().is_none() {
            return Err((
                open,
                ErrorKind::Unterminated {
                    what: "single quote",
                },
            ));
        }
        let text = self.text[start..self.offset].to_owned();
        self.bump();
        Ok(text)
    }

    /// `$'...'`: bash's ANSI-C quoting, with the common escapes.
    fn ansi_c_quoted(&mut self, open: Position) -> PResult<String> {
        self.bump(); // '\''
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err((
                        open,
                        ErrorKind::Unterminated {
                            what: "$'...' quote",
                        },
                    ));
                }
                Some(b'\'') => {
                    self.bump();
                    return Ok(text);
                }
                Some(b'\\') => {
                    self.bump();
                    let Some(_) = self.peek() else { continue };
                    let c = self.next_char();
                    match c {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        'a' => text.push('\x07'),
                        'e' | 'E' => text.push('\x1b'),
                        '\\' | '\'' | '"' | '?' => text.push(c),
                        other => {
                            text.push('\\');
                            text.push(other);
                        }
                    }
                }
                Some(_) => text.push(self.next_char()),
            }
        }
    }

    fn double_quoted(&mut self, parts: &mut Vec<Part>) -> PResult<()> {
        let open = self.here();
        self.bump();
        let mut plain = String::new();
        // `""` is an empty but present field: an array element `""` is one empty element.
        let mut produced = false;
        loop {
            match self.peek() {
                None => {
                    return Err((
                        open,
                        ErrorKind::Unterminated {
                            what: "double quote",
                        },
                    ));
                }
                Some(b'"') => {
                    self.bump();
                    break;
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        Some(b'\n') => {
                            self.bump();
                        }
                        Some(b'$' | b'`' | b'"' | b'\\') => plain.push(self.next_char()),
                        _ => plain.push('\\'),
                    }
                }
                Some(b'$') => {
                    if !plain.is_empty() {
                        parts.push(Part::Literal {
                            text: std::mem::take(&mut plain),
                            quoted: true,
                        });
                    }
                    produced = true;
                    self.dollar(parts, true)?;
                }
                Some(b'`') => return Err((self.here(), ErrorKind::CommandSubstitution)),
                Some(_) => plain.push(self.next_char()),
            }
        }
        if !plain.is_empty() || !produced {
            parts.push(Part::Literal {
                text: plain,
                quoted: true,
            });
        }
        Ok(())
    }

    /// After a `$`: an expansion, a refusal, or a plain dollar sign.
    fn dollar(&mut self, parts: &mut Vec<Part>, quoted: bool) -> PResult<()> {
        let position = self.here();
        self.bump(); // '$'
        match self.peek() {
            Some(b'{') => {
                self.bump();
                let param = self.brace_param(position, quoted)?;
                parts.push(Part::Param { param, quoted });
            }
            Some(b'(') => {
                let kind = if self.peek_at(1) == Some(b'(') {
                    ErrorKind::Arithmetic
                } else {
                    ErrorKind::CommandSubstitution
                };
                return Err((position, kind));
            }
            Some(b'\'') if !quoted => {
                let text = self.ansi_c_quoted(position)?;
                parts.push(Part::Literal { text, quoted: true });
            }
            Some(b'"') if !quoted => self.double_quoted(parts)?,
            Some(b) if is_name_start(b) => {
                let name = self.take_while(is_name_char).to_owned();
                parts.push(Part::Param {
                    param: Param {
                        name,
                        index: Index::None,
                        operator: None,
                        position,
                    },
                    quoted,
                });
            }
            Some(b) if b.is_ascii_digit() || b"@*#?$!-".contains(&b) => {
                return Err((
                    position,
                    ErrorKind::SpecialParameter {
                        parameter: (b as char).to_string(),
                    },
                ));
            }
            _ => parts.push(Part::Literal {
                text: "$".to_owned(),
                quoted,
            }),
        }
        Ok(())
    }

    /// The text from `${` to the next `}` (for messages about unsupported forms).
    fn brace_text(&self, start: Position) -> String {
        let rest = &self.text[self.offset..];
        let end = rest.find(['}', '\n']).map_or(rest.len(), |i| i + 1);
        let _ = start;
        format!("${{{}", &rest[..end])
            .trim_end_matches('\n')
            .to_owned()
    }

    fn brace_param(&mut self, position: Position, quoted: bool) -> PResult<Param> {
        match self.peek() {
            None => {
                return Err((
                    position,
                    ErrorKind::Unterminated {
                        what: "parameter expansion (missing `}`)",
                    },
                ));
            }
            Some(b'#' | b'!') if self.peek_at(1).is_some_and(is_name_start) => {
                return Err((
                    position,
                    ErrorKind::UnsupportedExpansion {
                        text: self.brace_text(position),
                    },
                ));
            }
            Some(b) if b.is_ascii_digit() || b"@*#?$!-".contains(&b) => {
                return Err((
                    position,
                    ErrorKind::SpecialParameter {
                        parameter: format!("{{{}}}", b as char),
                    },
                ));
            }
            Some(b) if !is_name_start(b) => {
                return Err((
                    position,
                    ErrorKind::UnsupportedExpansion {
                        text: self.brace_text(position),
                    },
                ));
            }
            Some(_) => {}
        }
        let name = self.take_while(is_name_char).to_owned();
        let mut index = Index::None;
        if self.peek() == Some(b'[') {
            let open = self.here();
            self.bump();
            index = match self.peek() {
                Some(b'@') => {
                    self.bump();
                    Index::All
                }
                Some(b'*') => {
                    self.bump();
                    Index::Star
                }
                Some(b) if b.is_ascii_digit() => {
                    let digits = self.take_while(|b| b.is_ascii_digit());
                    Index::Element(digits.parse().map_err(|_| {
                        (
                            open,
                            ErrorKind::UnsupportedExpansion {
                                text: format!("${{{name}[{digits}]}}"),
                            },
                        )
                    })?)
                }
                _ => {
                    return Err((
                        open,
                        ErrorKind::UnsupportedExpansion {
                            text: format!(
                                "${{{name}[{}",
                                self.brace_text(open).trim_start_matches("${")
                            ),
                        },
                    ));
                }
            };
            if self.peek() != Some(b']') {
                return Err((
                    self.here(),
                    ErrorKind::Unexpected {
                        found: self.word_text_ahead(),
                        expected: "`]`",
                    },
                ));
            }
            self.bump();
        }
        let operator = match self.peek() {
            Some(b'}') => None,
            Some(b':') => {
                self.bump();
                match self.peek() {
                    Some(b'-' | b'=' | b'+' | b'?') => {
                        Some(self.operator_word(true, quoted, position)?)
                    }
                    _ => Some(self.substring(position, &name)?),
                }
            }
            Some(b'-' | b'=' | b'+' | b'?') => Some(self.operator_word(false, quoted, position)?),
            None => {
                return Err((
                    position,
                    ErrorKind::Unterminated {
                        what: "parameter expansion (missing `}`)",
                    },
                ));
            }
            Some(_) => {
                let text = format!(
                    "${{{name}{}",
                    self.brace_text(position).trim_start_matches("${")
                );
                return Err((position, ErrorKind::UnsupportedExpansion { text }));
            }
        };
        if self.peek() != Some(b'}') {
            return Err((
                position,
                ErrorKind::Unterminated {
                    what: "parameter expansion (missing `}`)",
                },
            ));
        }
        self.bump();
        Ok(Param {
            name,
            index,
            operator,
            position,
        })
    }

    fn operator_word(&mut self, colon: bool, quoted: bool, open: Position) -> PResult<Operator> {
        let op = self.bump().unwrap_or(b'-');
        let word = self.word(Context::Brace { quoted, open })?;
        Ok(match op {
            b'-' => Operator::Default { colon, word },
            b'=' => Operator::Assign { colon, word },
            b'+' => Operator::Alternative { colon, word },
            _ => Operator::Error { colon, word },
        })
    }

    fn substring(&mut self, position: Position, name: &str) -> PResult<Operator> {
        let start = self.offset;
        let offset = self.operand();
        let length = if offset.is_some() && self.peek() == Some(b':') {
            self.bump();
            Some(self.operand())
        } else {
            None
        };
        match (offset, length) {
            (Some(offset), None) if self.peek() == Some(b'}') => Ok(Operator::Substring {
                offset,
                length: None,
            }),
            (Some(offset), Some(Some(length))) if self.peek() == Some(b'}') => {
                Ok(Operator::Substring {
                    offset,
                    length: Some(length),
                })
            }
            _ => {
                let rest = &self.text[start..];
                let end = rest.find(['}', '\n']).unwrap_or(rest.len());
                let text = &rest[..end];
                let _ = (position, name);
                Err((
                    position,
                    ErrorKind::BadSubstring {
                        text: text.trim().to_owned(),
                    },
                ))
            }
        }
    }

    fn operand(&mut self) -> Option<Operand> {
        self.take_while(|b| b == b' ');
        let negative = if self.peek() == Some(b'-') {
            self.bump();
            true
        } else {
            false
        };
        let operand = match self.peek() {
            Some(b) if b.is_ascii_digit() => {
                let digits = self.take_while(|b| b.is_ascii_digit());
                let n: i64 = digits.parse().ok()?;
                Some(Operand::Number(if negative { -n } else { n }))
            }
            Some(b) if is_name_start(b) && !negative => {
                Some(Operand::Variable(self.take_while(is_name_char).to_owned()))
            }
            _ => None,
        };
        self.take_while(|b| b == b' ');
        operand
    }
}

/// Parses the one assignment statement at the start of `text` (which may continue over several
/// lines, inside quotes or an array), ignoring whatever follows it. `None` when `text` does not
/// start with an assignment this grammar accepts.
///
/// This is how gbb reads `_packages="..."` out of a `build.sh`: that file is real bash with
/// functions, so it is never parsed whole; only its top-level package assignment is.
pub fn parse_leading_assignment(text: &str) -> Option<Assignment> {
    parse_leading_assignment_span(text).map(|(assignment, _)| assignment)
}

/// Like [`parse_leading_assignment`], and also the byte range of the value's text in `text`
/// (from just after `=` to the end of the value), so a tool can replace the value and keep
/// every other byte of the file.
pub fn parse_leading_assignment_span(text: &str) -> Option<(Assignment, std::ops::Range<usize>)> {
    let mut parser = Parser {
        src: text.as_bytes(),
        text,
        path: Path::new(""),
        offset: 0,
        line: 1,
        column: 1,
    };
    parser.skip_blank();
    let name = parser.name_ahead()?;
    let after = parser.peek_at(name.len());
    if after != Some(b'=') && !(after == Some(b'+') && parser.peek_at(name.len() + 1) == Some(b'='))
    {
        return None;
    }
    let name_len = parser.name_ahead()?.len() + usize::from(after == Some(b'+'));
    let value_start = parser.offset + name_len + 1;
    let assignment = parser.assignment().ok()?;
    let value_end = parser.offset;
    parser.skip_blank();
    match parser.peek() {
        None | Some(b'\n' | b';' | b'#') => Some((assignment, value_start..value_end)),
        _ => None,
    }
}

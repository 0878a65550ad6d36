//! What a bash script calls and defines, read with a real bash parser.
//!
//! Finding command words by hand (split lines, skip quotes, here-documents, `case` patterns,
//! `$(...)`, line continuations) is how linters end up reporting `esac` or a here-document's
//! text as commands. brush-parser is a maintained parser of bash's grammar (the one the brush
//! shell runs on), and it parsed every `build.sh` of kubler, kubler-images and gentoo-bb
//! without a failure. It gives the syntax tree with line numbers; this module walks it for
//! the first word of every simple command (including those in `$(...)`, backquotes and process
//! substitutions, which brush keeps as text and this module parses again) and for the names of
//! the functions the script defines.
//!
//! brush-parser does not decide whether a script is valid bash: [`syntax_error`] asks bash
//! itself (`bash -n`), so gbb check and the build container agree on what is a syntax error.

use std::path::Path;

use brush_parser::ast::{
    self, Command, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, IoFileRedirectTarget,
    IoRedirect, SimpleCommand,
};
use brush_parser::word::{self, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

/// A command word: what is called, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommandUse {
    pub(crate) name: String,
    pub(crate) line: usize,
}

/// What a script calls, defines and assigns.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScriptFacts {
    /// Literal command words, in file order. Words bash computes (`"$emerge_bin"`, paths)
    /// are left out: what they run is not known before they run.
    pub(crate) commands: Vec<CommandUse>,
    /// Functions it defines, anywhere in the file.
    pub(crate) functions: Vec<String>,
    /// Variables it assigns (`NAME=...` as a command or before one), with their line.
    pub(crate) assignments: Vec<CommandUse>,
}

/// Words after which the next word is the command that runs.
const WRAPPERS: [&str; 6] = ["command", "exec", "builtin", "nohup", "time", "nice"];

/// Parses `text` and collects its facts. An error is brush-parser's message.
pub(crate) fn read(text: &str) -> Result<ScriptFacts, String> {
    let mut facts = ScriptFacts::default();
    read_into(text, 0, &mut facts)?;
    Ok(facts)
}

fn options() -> ParserOptions {
    ParserOptions::default()
}

/// Parses `text`, whose first line is line `offset + 1` of the file, into `facts`.
fn read_into(text: &str, offset: usize, facts: &mut ScriptFacts) -> Result<(), String> {
    let mut parser = Parser::new(std::io::BufReader::new(text.as_bytes()), &options());
    let program = parser.parse_program().map_err(|e| e.to_string())?;
    let mut walker = Walker { offset, facts };
    for list in &program.complete_commands {
        walker.list(list, offset + 1);
    }
    Ok(())
}

struct Walker<'f> {
    offset: usize,
    facts: &'f mut ScriptFacts,
}

fn line_of(location: Option<brush_parser::SourceSpan>) -> Option<usize> {
    location.map(|span| span.start.line)
}

impl Walker<'_> {
    fn line(&self, location: Option<brush_parser::SourceSpan>, fallback: usize) -> usize {
        line_of(location).map_or(fallback, |line| line + self.offset)
    }

    fn list(&mut self, list: &CompoundList, line: usize) {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            for pipeline in
                std::iter::once(&and_or.first).chain(and_or.additional.iter().map(|a| match a {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => p,
                }))
            {
                for command in &pipeline.seq {
                    self.command(command, line);
                }
            }
        }
    }

    fn command(&mut self, command: &Command, fallback: usize) {
        use ast::SourceLocation;
        let line = self.line(command.location(), fallback);
        match command {
            Command::Simple(simple) => self.simple(simple, line),
            Command::Compound(compound, redirects) => {
                self.compound(compound, line);
                if let Some(redirects) = redirects {
                    for redirect in &redirects.0 {
                        self.redirect(redirect, line);
                    }
                }
            }
            Command::Function(function) => {
                self.facts.functions.push(function.fname.value.clone());
                self.compound(&function.body.0, line);
            }
            // `[[ ... ]]`: its words may hold `$(...)`, which is rare enough in build.sh
            // files to be left unchecked.
            Command::ExtendedTest(..) => {}
        }
    }

    fn compound(&mut self, compound: &CompoundCommand, line: usize) {
        match compound {
            CompoundCommand::Arithmetic(_) => {}
            CompoundCommand::ArithmeticForClause(c) => self.list(&c.body.list, line),
            CompoundCommand::BraceGroup(c) => self.list(&c.list, line),
            CompoundCommand::Subshell(c) => self.list(&c.list, line),
            CompoundCommand::ForClause(c) => {
                for word in c.values.iter().flatten() {
                    self.word(word, line);
                }
                self.list(&c.body.list, line);
            }
            CompoundCommand::CaseClause(c) => {
                self.word(&c.value, line);
                for item in &c.cases {
                    if let Some(list) = &item.cmd {
                        self.list(list, line);
                    }
                }
            }
            CompoundCommand::IfClause(c) => {
                self.list(&c.condition, line);
                self.list(&c.then, line);
                for clause in c.elses.iter().flatten() {
                    if let Some(condition) = &clause.condition {
                        self.list(condition, line);
                    }
                    self.list(&clause.body, line);
                }
            }
            CompoundCommand::WhileClause(c) | CompoundCommand::UntilClause(c) => {
                self.list(&c.0, line);
                self.list(&c.1.list, line);
            }
            CompoundCommand::Coprocess(c) => self.command(&c.body, line),
        }
    }

    fn simple(&mut self, simple: &SimpleCommand, line: usize) {
        let items = simple
            .prefix
            .iter()
            .flat_map(|p| p.0.iter())
            .chain(simple.suffix.iter().flat_map(|s| s.0.iter()));
        for item in items {
            match item {
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => self.redirect(redirect, line),
                CommandPrefixOrSuffixItem::Word(word) => self.word(word, line),
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                    if let ast::AssignmentName::VariableName(name) = &assignment.name {
                        self.facts.assignments.push(CommandUse {
                            name: name.clone(),
                            line: self.line(Some(assignment.loc.clone()), line),
                        });
                    }
                    self.word(word, line);
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list, line)
                }
            }
        }
        let Some(name) = &simple.word_or_name else {
            return;
        };
        self.word(name, line);
        let mut command = literal(&name.value);
        let mut at = self.line(name.loc.clone(), line);
        // `command emerge ...`, `exec foo`: the wrapped word is the command that runs.
        if command.as_deref().is_some_and(|c| WRAPPERS.contains(&c)) {
            let next = simple
                .suffix
                .iter()
                .flat_map(|s| s.0.iter())
                .find_map(|item| match item {
                    CommandPrefixOrSuffixItem::Word(w) if !w.value.starts_with('-') => Some(w),
                    _ => None,
                });
            if let Some(next) = next {
                command = literal(&next.value);
                at = self.line(next.loc.clone(), at);
            }
        }
        if let Some(command) = command {
            self.facts.commands.push(CommandUse {
                name: command,
                line: at,
            });
        }
    }

    fn redirect(&mut self, redirect: &IoRedirect, line: usize) {
        match redirect {
            IoRedirect::File(_, _, target) => match target {
                IoFileRedirectTarget::Filename(word) | IoFileRedirectTarget::Duplicate(word) => {
                    self.word(word, line)
                }
                IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list, line)
                }
                IoFileRedirectTarget::Fd(_) => {}
            },
            IoRedirect::HereString(_, word) | IoRedirect::OutputAndError(word, _) => {
                self.word(word, line)
            }
            IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion
                    && let Ok(pieces) = word::parse_heredoc(&doc.doc.value, &options())
                {
                    // The body starts on the line after the redirection.
                    let start = self.line(doc.doc.loc.clone(), line + 1);
                    self.pieces(&pieces, &doc.doc.value, start);
                }
            }
        }
    }

    /// The commands inside a word's `$(...)` and backquotes.
    fn word(&mut self, word: &ast::Word, line: usize) {
        if !word.value.contains('$') && !word.value.contains('`') {
            return;
        }
        let line = self.line(word.loc.clone(), line);
        if let Ok(pieces) = word::parse(&word.value, &options()) {
            self.pieces(&pieces, &word.value, line);
        }
    }

    /// `pieces` of `source`, whose first character is on `line`.
    fn pieces(&mut self, pieces: &[WordPieceWithSource], source: &str, line: usize) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => self.pieces(inner, source, line),
                WordPiece::CommandSubstitution(text)
                | WordPiece::BackquotedCommandSubstitution(text) => {
                    let before = source.get(..piece.start_index).unwrap_or_default();
                    let at = line + before.matches('\n').count();
                    // Parse errors inside were bash's to report (`bash -n`).
                    let _ = read_into(text, at - 1, self.facts);
                }
                _ => {}
            }
        }
    }
}

/// The word as bash would pass it, when it has no expansion: `emerge`, `'emerge'`,
/// `"emerge"`. Words with a `/` are paths, not names looked up on `PATH` or among functions.
fn literal(word: &str) -> Option<String> {
    let pieces = word::parse(word, &options()).ok()?;
    let mut out = String::new();
    for piece in pieces {
        match piece.piece {
            WordPiece::Text(text) | WordPiece::SingleQuotedText(text) => out.push_str(&text),
            WordPiece::DoubleQuotedSequence(inner) => {
                for piece in inner {
                    let WordPiece::Text(text) = piece.piece else {
                        return None;
                    };
                    out.push_str(&text);
                }
            }
            _ => return None,
        }
    }
    (!out.is_empty() && !out.contains('/')).then_some(out)
}

/// A syntax error bash finds in `path` (`bash -n`): the line and bash's message. `Ok(None)`
/// when bash accepts the file; an error when bash cannot be run.
pub(crate) fn syntax_error(path: &Path) -> std::io::Result<Option<(Option<usize>, String)>> {
    let output = std::process::Command::new("bash")
        .arg("-n")
        .arg(path)
        .env("LC_ALL", "C")
        .output()?;
    if output.status.success() {
        return Ok(None);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or("bash -n failed").to_owned();
    // `PATH: line N: message`
    let prefix = format!("{}: ", path.display());
    let rest = first.strip_prefix(&prefix).unwrap_or(&first);
    if let Some(after) = rest.strip_prefix("line ")
        && let Some((number, message)) = after.split_once(": ")
        && let Ok(line) = number.parse()
    {
        return Ok(Some((Some(line), message.to_owned())));
    }
    Ok(Some((None, rest.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &str) -> Vec<(String, usize)> {
        read(text)
            .unwrap()
            .commands
            .into_iter()
            .map(|c| (c.name, c.line))
            .collect()
    }

    #[test]
    fn command_words_with_their_lines() {
        let text = r#"
_packages="sys-apps/busybox"
configure_rootfs_build() {
    update_use 'sys-apps/busybox' +static
    if [ -f /x ] && grep -q y /x; then
        "${_emerge_bin}" --sync
    fi
    case $x in
        a) echo "$(uname -r) `date`" ;;
    esac
    local v=$(sed-or-die a b /f)
    cat <<EOF > /etc/x
$(hostname)
EOF
    command emerge -q foo | tee /log
    /usr/bin/env true
    while read -r l; do :; done < <(find / -name x)
}
"#;
        assert_eq!(
            commands(text),
            [
                ("update_use", 4),
                ("[", 5),
                ("grep", 5),
                ("uname", 9),
                ("date", 9),
                ("echo", 9),
                ("sed-or-die", 11),
                ("local", 11),
                ("hostname", 13),
                ("cat", 12),
                ("emerge", 15),
                ("tee", 15),
                ("read", 17),
                (":", 17),
                ("find", 17),
            ]
            .map(|(n, l)| (n.to_owned(), l))
        );
    }

    #[test]
    fn functions_and_assignments() {
        let facts = read("a() { :; }\nfunction b {\n c() { :; }\n}\nX=1 Y=2 foo\n").unwrap();
        assert_eq!(facts.functions, ["a", "b", "c"]);
        let names: Vec<_> = facts
            .assignments
            .iter()
            .map(|a| (&*a.name, a.line))
            .collect();
        assert_eq!(names, [("X", 5), ("Y", 5)]);
    }

    #[test]
    fn bash_finds_syntax_errors_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.sh");
        std::fs::write(&path, "a() {\n  echo ok\n}\nif true; then\n  echo\nfi\n").unwrap();
        assert_eq!(syntax_error(&path).unwrap(), None);
        std::fs::write(&path, "a() {\n  echo ok\n\nb() { :; }\n").unwrap();
        let (line, message) = syntax_error(&path).unwrap().unwrap();
        assert_eq!(line, Some(5), "{message}");
        assert!(message.contains("syntax error"), "{message}");
    }
}

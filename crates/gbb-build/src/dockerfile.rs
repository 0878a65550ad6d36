//! A rendered `Dockerfile.template`, read the way Docker reads a Dockerfile, into typed
//! instructions that phase 2 carries out itself (`executor/steps/image_phase2.rs`).
//!
//! Hand-written rather than taken from a crate: the one Dockerfile parser on crates.io,
//! `dockerfile-parser` (0.9, a pest grammar), types only `FROM`, `ARG`, `LABEL`, `RUN`,
//! `ENTRYPOINT`, `CMD`, `COPY` and `ENV` and leaves `USER`, `WORKDIR`, `EXPOSE`,
//! `HEALTHCHECK`, `VOLUME`, `STOPSIGNAL`, `ONBUILD` and `MAINTAINER` as raw text, and it does
//! no `$VAR` expansion; those are most of what this file does. What it reads:
//!
//! - **Lines**: comments (`#` first on a line, also between continued lines), blank lines,
//!   and `\` at the end of a line continuing the instruction on the next; an instruction is
//!   named by the line it starts on. Parser directives (`# escape=`) are comments here: gbb's
//!   templates use the default escape character.
//! - **Forms**: `CMD`, `ENTRYPOINT`, `RUN`, `VOLUME`, `ADD`/`COPY` and `HEALTHCHECK ... CMD`
//!   take a JSON array (exec form) when their arguments are one; otherwise the shell form,
//!   which for `CMD`, `ENTRYPOINT` and `RUN` becomes `["/bin/sh", "-c", text]`, as in Docker.
//! - **Expansion**: `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` from the `ARG`s and
//!   `ENV`s before the instruction (and the parent image's environment) in exactly the
//!   instructions Docker expands them in: `ADD`, `COPY`, `ENV`, `EXPOSE`, `FROM`, `LABEL`,
//!   `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR` (and `ARG` defaults). Quotes are removed; single
//!   quotes and `\$` keep a `$` literal. `RUN`, `CMD` and `ENTRYPOINT` are left to the shell.
//!
//! Anything else (another instruction, `SHELL`, a second `FROM`, `ADD` of a URL, a flag gbb
//! does not know) is refused with the template's line, never guessed at.

use std::collections::BTreeMap;
use std::time::Duration;

use gbb_image::Healthcheck;

/// An instruction of a template, with what it asks for already parsed and expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Instruction {
    From(String),
    Arg(String, String),
    /// `ADD` (with `add` true) or `COPY`.
    Copy(CopyArgs),
    /// The command as the container runs it (a shell form is already `/bin/sh -c`).
    Run(Vec<String>),
    Label(Vec<(String, String)>),
    Maintainer(String),
    Env(Vec<(String, String)>),
    Expose(Vec<String>),
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    User(String),
    Workdir(String),
    Volume(Vec<String>),
    Healthcheck(Healthcheck),
    StopSignal(String),
    OnBuild(String),
}

/// The arguments of an `ADD` or `COPY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CopyArgs {
    pub(crate) add: bool,
    pub(crate) sources: Vec<String>,
    pub(crate) dest: String,
    /// `--chown=uid[:gid]`.
    pub(crate) chown: Option<String>,
    /// `--chmod=mode` (octal).
    pub(crate) chmod: Option<u32>,
}

/// An instruction and the template line it starts on (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Located {
    pub(crate) line: usize,
    pub(crate) instruction: Instruction,
}

/// Why a line of a template cannot be carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) line: usize,
    pub(crate) problem: String,
}

/// One logical line: the keyword (upper case), the rest, the line it starts on.
struct LogicalLine {
    number: usize,
    keyword: String,
    rest: String,
}

/// Joins continued lines and drops comments and blank lines.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let body = raw.trim_end();
        let (piece, continues) = match body.strip_suffix('\\') {
            Some(before) => (before, true),
            None => (body, false),
        };
        let (number, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        joined.push_str(piece);
        if continues {
            current = Some((number, joined));
        } else if !joined.trim().is_empty() {
            lines.push(split_keyword(number, &joined));
        }
    }
    if let Some((number, joined)) = current
        && !joined.trim().is_empty()
    {
        lines.push(split_keyword(number, &joined));
    }
    lines
}

fn split_keyword(number: usize, text: &str) -> LogicalLine {
    let text = text.trim_start();
    let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    LogicalLine {
        number,
        keyword: keyword.to_ascii_uppercase(),
        rest: rest.trim().to_owned(),
    }
}

/// Reads a rendered template. `parent_env` is the parent image's environment (`NAME=value`
/// lines), which `$NAME` sees as Docker's does.
pub(crate) fn parse(text: &str, parent_env: &[String]) -> Result<Vec<Located>, TemplateError> {
    let mut parser = Parser {
        vars: parent_env
            .iter()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        env_names: Default::default(),
        seen_from: false,
    };
    let mut instructions = Vec::new();
    for line in logical_lines(text) {
        let instruction = parser.instruction(&line).map_err(|problem| TemplateError {
            line: line.number,
            problem,
        })?;
        instructions.push(Located {
            line: line.number,
            instruction,
        });
    }
    if !parser.seen_from {
        return Err(TemplateError {
            line: 1,
            problem: "the template has no `FROM` line".to_owned(),
        });
    }
    Ok(instructions)
}

struct Parser {
    /// What `$NAME` expands to: the parent's environment, then `ARG`s and `ENV`s so far.
    vars: BTreeMap<String, String>,
    /// Names set by `ENV` (an `ARG` does not override them, as in Docker).
    env_names: std::collections::BTreeSet<String>,
    seen_from: bool,
}

impl Parser {
    fn instruction(&mut self, line: &LogicalLine) -> Result<Instruction, String> {
        let rest = line.rest.as_str();
        let keyword = line.keyword.as_str();
        if !self.seen_from && !matches!(keyword, "FROM" | "ARG") {
            return Err(format!("`{keyword}` comes before `FROM`; only `ARG` may"));
        }
        if rest.is_empty() {
            return Err(format!("`{keyword}` needs arguments"));
        }
        Ok(match keyword {
            "FROM" => {
                if self.seen_from {
                    return Err("a second `FROM`: gbb builds one image per template (no multi-stage builds)".to_owned());
                }
                self.seen_from = true;
                let words = self.words(rest)?;
                match words.as_slice() {
                    [image] => Instruction::From(image.clone()),
                    _ => {
                        return Err(format!(
                            "`FROM {rest}`: gbb takes `FROM <image>` only (no `--platform`, no `AS`)"
                        ));
                    }
                }
            }
            "ARG" => {
                let words = raw_words(rest);
                let [word] = words.as_slice() else {
                    return Err("`ARG` takes one `NAME[=default]`".to_owned());
                };
                let (name, default) = match word.split_once('=') {
                    Some((name, default)) => (name.to_owned(), self.process(default)?),
                    None => (word.clone(), String::new()),
                };
                check_name(&name)?;
                if !self.env_names.contains(&name) {
                    self.vars.insert(name.clone(), default.clone());
                }
                Instruction::Arg(name, default)
            }
            "ADD" | "COPY" => Instruction::Copy(self.copy(keyword == "ADD", rest)?),
            "RUN" => {
                if rest.starts_with("--") {
                    return Err(format!("`RUN {rest}`: gbb takes no flags on `RUN`"));
                }
                command(rest)
            }
            "LABEL" => Instruction::Label(self.pairs(rest, true)?),
            "MAINTAINER" => Instruction::Maintainer(rest.to_owned()),
            "ENV" => {
                let pairs = self.pairs(rest, false)?;
                for (name, value) in &pairs {
                    check_name(name)?;
                    self.vars.insert(name.clone(), value.clone());
                    self.env_names.insert(name.clone());
                }
                Instruction::Env(pairs)
            }
            "EXPOSE" => {
                let mut ports = Vec::new();
                for word in self.words(rest)? {
                    ports.extend(expose(&word)?);
                }
                Instruction::Expose(ports)
            }
            "CMD" => Instruction::Cmd(match command(rest) {
                Instruction::Run(argv) => argv,
                _ => unreachable!("command() makes a Run"),
            }),
            "ENTRYPOINT" => Instruction::Entrypoint(match command(rest) {
                Instruction::Run(argv) => argv,
                _ => unreachable!("command() makes a Run"),
            }),
            "USER" => Instruction::User(self.one_word("USER", rest)?),
            "WORKDIR" => Instruction::Workdir(self.one_word("WORKDIR", rest)?),
            "STOPSIGNAL" => Instruction::StopSignal(self.one_word("STOPSIGNAL", rest)?),
            "VOLUME" => Instruction::Volume(match json_array(rest) {
                Some(paths) => paths
                    .iter()
                    .map(|p| self.process(p))
                    .collect::<Result<_, _>>()?,
                None => self.words(rest)?,
            }),
            "HEALTHCHECK" => Instruction::Healthcheck(healthcheck(rest)?),
            "ONBUILD" => {
                let trigger = rest.split_whitespace().next().unwrap_or_default();
                if matches!(
                    trigger.to_ascii_uppercase().as_str(),
                    "ONBUILD" | "FROM" | "MAINTAINER"
                ) {
                    return Err(format!(
                        "`ONBUILD {trigger}` is not allowed (Docker refuses it too)"
                    ));
                }
                Instruction::OnBuild(rest.to_owned())
            }
            other => {
                return Err(format!(
                    "unknown instruction `{other}`: gbb writes images itself and knows FROM, ARG, ADD, COPY, RUN, LABEL, MAINTAINER, ENV, EXPOSE, CMD, ENTRYPOINT, USER, WORKDIR, VOLUME, HEALTHCHECK, STOPSIGNAL and ONBUILD"
                ));
            }
        })
    }

    /// Words with quotes removed and variables expanded.
    fn words(&self, text: &str) -> Result<Vec<String>, String> {
        raw_words(text).iter().map(|w| self.process(w)).collect()
    }

    fn one_word(&self, keyword: &str, text: &str) -> Result<String, String> {
        let words = self.words(text)?;
        match words.as_slice() {
            [word] => Ok(word.clone()),
            _ => Err(format!("`{keyword}` takes one value, not `{text}`")),
        }
    }

    /// `key=value ...` pairs (`LABEL`, `ENV`), or the old one-pair form `key value...`.
    fn pairs(&self, text: &str, process_keys: bool) -> Result<Vec<(String, String)>, String> {
        let words = raw_words(text);
        let first_has_equals = words.first().is_some_and(|w| w.contains('='));
        if !first_has_equals {
            let (key, value) = text
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("`{text}` has no value (write `NAME=value`)"))?;
            let key = if process_keys {
                self.process(key)?
            } else {
                key.to_owned()
            };
            return Ok(vec![(key, self.process(value.trim())?)]);
        }
        words
            .iter()
            .map(|word| {
                let (key, value) = word
                    .split_once('=')
                    .ok_or_else(|| format!("`{word}` is not `NAME=value`"))?;
                let key = if process_keys {
                    self.process(key)?
                } else {
                    key.to_owned()
                };
                if key.is_empty() {
                    return Err(format!("`{word}` has an empty name"));
                }
                Ok((key, self.process(value)?))
            })
            .collect()
    }

    fn copy(&self, add: bool, text: &str) -> Result<CopyArgs, String> {
        let keyword = if add { "ADD" } else { "COPY" };
        let mut rest = text;
        let mut chown = None;
        let mut chmod = None;
        while let Some(flagged) = rest.strip_prefix("--") {
            let (flag, after) = flagged
                .split_once(char::is_whitespace)
                .unwrap_or((flagged, ""));
            let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
            match name {
                "chown" => chown = Some(self.process(value)?),
                "chmod" => {
                    chmod = Some(
                        u32::from_str_radix(value, 8)
                            .ok()
                            .filter(|m| *m <= 0o7777)
                            .ok_or_else(|| {
                                format!(
                                    "`--chmod={value}`: gbb takes an octal mode (such as `0755`)"
                                )
                            })?,
                    );
                }
                _ => {
                    return Err(format!(
                        "`{keyword} --{flag}`: gbb knows `--chown` and `--chmod` only"
                    ));
                }
            }
            rest = after.trim_start();
        }
        let mut words = match json_array(rest) {
            Some(words) => words
                .iter()
                .map(|w| self.process(w))
                .collect::<Result<Vec<_>, _>>()?,
            None => self.words(rest)?,
        };
        if words.len() < 2 {
            return Err(format!("`{keyword}` needs a source and a destination"));
        }
        let dest = words.pop().unwrap_or_default();
        if let Some(url) = words.iter().find(|s| s.contains("://")) {
            return Err(format!(
                "`{keyword} {url}`: gbb adds files of the image folder only, not downloads"
            ));
        }
        if let Some(owner) = &chown
            && !owner
                .split(':')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "`--chown={owner}`: gbb takes numeric ids (`1000:1000`), since it writes the layer without the image's /etc/passwd"
            ));
        }
        Ok(CopyArgs {
            add,
            sources: words,
            dest,
            chown,
            chmod,
        })
    }

    /// Removes quotes and expands variables in one word, as Docker's shell lexer does.
    fn process(&self, word: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                '\'' => {
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        out.push(c);
                    }
                }
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' if matches!(chars.peek(), Some('"' | '\\' | '$')) => {
                                out.push(chars.next().unwrap_or('\\'));
                            }
                            '$' => out.push_str(&self.expand(&mut chars)?),
                            c => out.push(c),
                        }
                    }
                }
                '$' => out.push_str(&self.expand(&mut chars)?),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// What follows a `$`: `{NAME}`, `{NAME:-word}`, `{NAME:+word}` or `NAME`; a `$` before
    /// anything else stays a `$`.
    fn expand(
        &self,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    ) -> Result<String, String> {
        if chars.peek() == Some(&'{') {
            chars.next();
            let mut inner = String::new();
            let mut depth = 0;
            loop {
                match chars.next() {
                    None => return Err("`${` has no closing `}`".to_owned()),
                    Some('}') if depth == 0 => break,
                    Some(c) => {
                        if c == '{' {
                            depth += 1;
                        } else if c == '}' {
                            depth -= 1;
                        }
                        inner.push(c);
                    }
                }
            }
            let (name, operation) = match inner.find(|c: char| !is_name_char(c)) {
                Some(at) => (&inner[..at], &inner[at..]),
                None => (inner.as_str(), ""),
            };
            check_name(name)?;
            let value = self.vars.get(name);
            return match operation {
                "" => Ok(value.cloned().unwrap_or_default()),
                _ if operation.starts_with(":-") => match value.filter(|v| !v.is_empty()) {
                    Some(value) => Ok(value.clone()),
                    None => self.process(&operation[2..]),
                },
                _ if operation.starts_with(":+") => match value.filter(|v| !v.is_empty()) {
                    Some(_) => self.process(&operation[2..]),
                    None => Ok(String::new()),
                },
                _ => Err(format!(
                    "`${{{inner}}}`: gbb expands `${{NAME}}`, `${{NAME:-default}}` and `${{NAME:+value}}`"
                )),
            };
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if !is_name_char(c) || (name.is_empty() && c.is_ascii_digit()) {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            return Ok("$".to_owned());
        }
        Ok(self.vars.get(&name).cloned().unwrap_or_default())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(is_name_char);
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a variable name"))
    }
}

/// Splits at blanks outside quotes, keeping quotes and backslashes for [`Parser::process`].
fn raw_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', q) if q != Some('\'') => {
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                word.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                word.push(c);
            }
            (c, None) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (c, _) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A JSON array of strings, if `text` is one (exec form).
fn json_array(text: &str) -> Option<Vec<String>> {
    if !text.starts_with('[') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// `RUN`, `CMD` and `ENTRYPOINT`: exec form as is, shell form through `/bin/sh -c`.
fn command(text: &str) -> Instruction {
    Instruction::Run(match json_array(text) {
        Some(argv) => argv,
        None => vec!["/bin/sh".to_owned(), "-c".to_owned(), text.to_owned()],
    })
}

/// One `EXPOSE` word: `80`, `53/udp`, `8000-8002/tcp` (a range is each of its ports).
fn expose(word: &str) -> Result<Vec<String>, String> {
    let (ports, protocol) = word.split_once('/').unwrap_or((word, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("`EXPOSE {word}`: the protocol is tcp, udp or sctp"));
    }
    let port = |text: &str| {
        text.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`EXPOSE {word}`: `{text}` is not a port"))
    };
    let (first, last) = match ports.split_once('-') {
        Some((first, last)) => (port(first)?, port(last)?),
        None => (port(ports)?, port(ports)?),
    };
    if last < first {
        return Err(format!("`EXPOSE {word}`: the range ends before it starts"));
    }
    Ok((first..=last).map(|p| format!("{p}/{protocol}")).collect())
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=D ...] CMD command`.
fn healthcheck(text: &str) -> Result<Healthcheck, String> {
    let mut check = Healthcheck::default();
    let mut rest = text;
    while let Some(flagged) = rest.strip_prefix("--") {
        let (flag, after) = flagged
            .split_once(char::is_whitespace)
            .unwrap_or((flagged, ""));
        let (name, value) = flag
            .split_once('=')
            .ok_or_else(|| format!("`--{flag}` needs a value"))?;
        match name {
            "interval" => check.interval = Some(duration(value)?),
            "timeout" => check.timeout = Some(duration(value)?),
            "start-period" => check.start_period = Some(duration(value)?),
            "start-interval" => check.start_interval = Some(duration(value)?),
            "retries" => {
                check.retries = Some(
                    value
                        .parse()
                        .map_err(|_| format!("`--retries={value}` is not a whole number"))?,
                );
            }
            _ => {
                return Err(format!(
                    "`HEALTHCHECK --{name}` is not a health check option"
                ));
            }
        }
        rest = after.trim_start();
    }
    let (word, command_text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match word.to_ascii_uppercase().as_str() {
        "NONE" if command_text.trim().is_empty() && check == Healthcheck::default() => {
            check.test = vec!["NONE".to_owned()];
        }
        "NONE" => return Err("`HEALTHCHECK NONE` takes no options or command".to_owned()),
        "CMD" if !command_text.trim().is_empty() => {
            let command_text = command_text.trim();
            check.test = match json_array(command_text) {
                Some(argv) => std::iter::once("CMD".to_owned()).chain(argv).collect(),
                None => vec!["CMD-SHELL".to_owned(), command_text.to_owned()],
            };
        }
        _ => {
            return Err(format!(
                "`HEALTHCHECK {text}`: write `HEALTHCHECK [options] CMD command` or `HEALTHCHECK NONE`"
            ));
        }
    }
    Ok(check)
}

/// A Go duration (`30s`, `1m30s`, `500ms`, `1.5h`), as Docker takes it.
fn duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (such as `30s`, `1m30s`, `500ms`)");
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_nanos((total * 1e9).round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<Instruction> {
        parse(text, &["PATH=/bin".to_owned()])
            .unwrap()
            .into_iter()
            .map(|l| l.instruction)
            .collect()
    }

    #[track_caller]
    fn case(line: &str, expected: Instruction) {
        let text = format!("FROM scratch\n{line}\n");
        assert_eq!(parse_ok(&text)[1], expected, "{line}");
    }

    #[track_caller]
    fn refused(text: &str, line: usize, part: &str) {
        let error = parse(text, &[]).unwrap_err();
        assert_eq!(error.line, line, "{error:?}");
        assert!(error.problem.contains(part), "{error:?}");
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_instruction() {
        case(
            "LABEL a=1 \"b c\"=\"d e\"",
            Instruction::Label(pairs(&[("a", "1"), ("b c", "d e")])),
        );
        case(
            "LABEL maintainer=\"A <a@b>\"",
            Instruction::Label(pairs(&[("maintainer", "A <a@b>")])),
        );
        case(
            "MAINTAINER A <a@b>",
            Instruction::Maintainer("A <a@b>".into()),
        );
        case(
            "ENV A=1 B=\"x y\"",
            Instruction::Env(pairs(&[("A", "1"), ("B", "x y")])),
        );
        case(
            "ENV LANG C.UTF-8 x",
            Instruction::Env(pairs(&[("LANG", "C.UTF-8 x")])),
        );
        case(
            "ENV P=$PATH:/usr/bin",
            Instruction::Env(pairs(&[("P", "/bin:/usr/bin")])),
        );
        case(
            "EXPOSE 80 53/udp 8000-8001",
            Instruction::Expose(strings(&["80/tcp", "53/udp", "8000/tcp", "8001/tcp"])),
        );
        case("CMD [\"/bin/sh\"]", Instruction::Cmd(strings(&["/bin/sh"])));
        case(
            "CMD nginx -g 'daemon off;'",
            Instruction::Cmd(strings(&["/bin/sh", "-c", "nginx -g 'daemon off;'"])),
        );
        case(
            "ENTRYPOINT [\"/init\", \"-v\"]",
            Instruction::Entrypoint(strings(&["/init", "-v"])),
        );
        case("USER 1000:1000", Instruction::User("1000:1000".into()));
        case("WORKDIR ${PATH}/x", Instruction::Workdir("/bin/x".into()));
        case(
            "VOLUME [\"/data\", \"/logs\"]",
            Instruction::Volume(strings(&["/data", "/logs"])),
        );
        case(
            "VOLUME /data /logs",
            Instruction::Volume(strings(&["/data", "/logs"])),
        );
        case(
            "STOPSIGNAL SIGQUIT",
            Instruction::StopSignal("SIGQUIT".into()),
        );
        case(
            "ONBUILD RUN echo hi",
            Instruction::OnBuild("RUN echo hi".into()),
        );
        case("ARG V=1", Instruction::Arg("V".into(), "1".into()));
        case(
            "RUN ldconfig",
            Instruction::Run(strings(&["/bin/sh", "-c", "ldconfig"])),
        );
        case(
            "RUN [\"/sbin/ldconfig\"]",
            Instruction::Run(strings(&["/sbin/ldconfig"])),
        );
        case(
            "HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD curl -f http://x/",
            Instruction::Healthcheck(Healthcheck {
                test: strings(&["CMD-SHELL", "curl -f http://x/"]),
                interval: Some(Duration::from_secs(30)),
                timeout: Some(Duration::from_secs(90)),
                retries: Some(3),
                ..Default::default()
            }),
        );
        case(
            "HEALTHCHECK CMD [\"/bin/check\", \"-q\"]",
            Instruction::Healthcheck(Healthcheck {
                test: strings(&["CMD", "/bin/check", "-q"]),
                ..Default::default()
            }),
        );
        case(
            "HEALTHCHECK NONE",
            Instruction::Healthcheck(Healthcheck {
                test: strings(&["NONE"]),
                ..Default::default()
            }),
        );
        case(
            "COPY --chown=1000:100 --chmod=0640 a.conf b /etc/x/",
            Instruction::Copy(CopyArgs {
                add: false,
                sources: strings(&["a.conf", "b"]),
                dest: "/etc/x/".into(),
                chown: Some("1000:100".into()),
                chmod: Some(0o640),
            }),
        );
        case(
            "ADD rootfs.tar /",
            Instruction::Copy(CopyArgs {
                add: true,
                sources: strings(&["rootfs.tar"]),
                dest: "/".into(),
                chown: None,
                chmod: None,
            }),
        );
    }

    #[test]
    fn expansion_follows_docker() {
        let got = parse_ok(
            "ARG V=1\nFROM scratch\nENV A=x B=$A\nENV C=${A}y D='$A' E=\\$A F=${NOPE:-d} G=${A:+set} H=${NOPE:+set}\nLABEL l=\"$A\"\nRUN echo $A\n",
        );
        assert_eq!(
            got[2],
            Instruction::Env(pairs(&[("A", "x"), ("B", "")])),
            "B sees the env before the line"
        );
        assert_eq!(
            got[3],
            Instruction::Env(pairs(&[
                ("C", "xy"),
                ("D", "$A"),
                ("E", "$A"),
                ("F", "d"),
                ("G", "set"),
                ("H", "")
            ]))
        );
        assert_eq!(got[4], Instruction::Label(pairs(&[("l", "x")])));
        assert_eq!(
            got[5],
            Instruction::Run(strings(&["/bin/sh", "-c", "echo $A"])),
            "RUN is the shell's"
        );
    }

    #[test]
    fn continuations_and_comments() {
        let got = parse(
            "# a comment\nFROM scratch\n\nRUN a \\\n  # inside\n  && b\nLABEL x=1 \\\n      y=2\n",
            &[],
        )
        .unwrap();
        assert_eq!(got[1].line, 4);
        assert_eq!(
            got[1].instruction,
            Instruction::Run(strings(&["/bin/sh", "-c", "a   && b"]))
        );
        assert_eq!(got[2].line, 7);
        assert_eq!(
            got[2].instruction,
            Instruction::Label(pairs(&[("x", "1"), ("y", "2")]))
        );
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(
            parse_ok("from scratch\nuser 1\n")[1],
            Instruction::User("1".into())
        );
    }

    #[test]
    fn bad_lines_name_their_line() {
        refused(
            "FROM scratch\n\nSHELL [\"/bin/bash\"]\n",
            3,
            "unknown instruction `SHELL`",
        );
        refused("FROM scratch\nFOO bar\n", 2, "unknown instruction `FOO`");
        refused("FROM a\nFROM b\n", 2, "second `FROM`");
        refused("LABEL a=1\nFROM scratch\n", 1, "before `FROM`");
        refused("FROM scratch\nADD https://x/y.tar /\n", 2, "downloads");
        refused("FROM scratch\nCOPY --from=x a /\n", 2, "--chown");
        refused("FROM scratch\nCOPY --chown=user a /\n", 2, "numeric");
        refused("FROM scratch\nCOPY a\n", 2, "source and a destination");
        refused("FROM scratch\nEXPOSE http\n", 2, "not a port");
        refused(
            "FROM scratch\nHEALTHCHECK --interval=5x CMD true\n",
            2,
            "not a duration",
        );
        refused(
            "FROM scratch\nHEALTHCHECK true\n",
            2,
            "HEALTHCHECK [options] CMD",
        );
        refused("FROM scratch\nENV A=${B\n", 2, "no closing");
        refused("FROM scratch\nRUN --mount=type=cache x\n", 2, "no flags");
        refused("FROM scratch\nUSER\n", 2, "needs arguments");
        refused("FROM scratch\nONBUILD FROM x\n", 2, "not allowed");
        refused("# only a comment\n", 1, "no `FROM`");
    }

    #[test]
    fn durations() {
        assert_eq!(duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert!(duration("").is_err());
        assert!(duration("10").is_err());
    }
}

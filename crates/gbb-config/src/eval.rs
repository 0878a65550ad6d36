//! Evaluation of parsed config files into layered, immutable configs.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::syntax::{AssignValue, Index, Operand, Operator, Param, Part, Script, Word};
use crate::{ConfigError, Environment, ErrorKind, Position};

/// A variable's value: bash has strings and indexed arrays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Scalar(String),
    Array(Vec<String>),
}

impl Value {
    /// The value as `$NAME` gives it: the string, or an array's first element.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Scalar(s) => s,
            Self::Array(items) => items.first().map_or("", String::as_str),
        }
    }

    /// The elements: an array's items, or a string as a one-element list.
    pub fn items(&self) -> Vec<&str> {
        match self {
            Self::Scalar(s) => vec![s.as_str()],
            Self::Array(items) => items.iter().map(String::as_str).collect(),
        }
    }

    /// The value as `"${NAME[*]}"` gives it: elements joined with a space.
    pub fn joined(&self) -> String {
        match self {
            Self::Scalar(s) => s.clone(),
            Self::Array(items) => items.join(" "),
        }
    }
}

/// Where a variable got its value: the file and position of the assignment, and its order among
/// all assignments of a config (layer first, then statement), so that "which of these two names
/// was set last" has an answer (used for old and new names of one setting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub path: Arc<Path>,
    pub position: Position,
    pub order: (u32, u32),
    /// The process environment variable the value was read from, when the assignment used
    /// one (`BOB_X="${BOB_X:-default}"` with `BOB_X` in the environment), so that a refused
    /// value can be traced to the environment rather than to a line that only names it.
    pub environment: Option<Arc<str>>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.position)
    }
}

/// A variable: its value and where it was assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    pub value: Value,
    pub origin: Origin,
}

#[derive(Debug, Default)]
struct Layer {
    parent: Option<Arc<Layer>>,
    vars: HashMap<String, Var>,
    depth: u32,
}

impl Layer {
    fn lookup(&self, name: &str) -> Option<&Var> {
        let mut layer = self;
        loop {
            if let Some(var) = layer.vars.get(name) {
                return Some(var);
            }
            layer = layer.parent.as_deref()?;
        }
    }
}

/// A resolved configuration: a chain of layers (defaults, global file, user file, namespace
/// file, image file), each holding only its own assignments.
///
/// Cloning is cheap (an `Arc`), and the layers before an image's own file are shared by every
/// image of a namespace, which keeps a 10,000-image stack to one small map per image.
#[derive(Clone, Debug, Default)]
pub struct Config {
    layer: Arc<Layer>,
}

impl Config {
    /// An empty config.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new layer with `name` set to `value`, as if assigned at the start of `path`. Used for
    /// values gbb presets, such as `NAMESPACE`.
    #[must_use]
    pub fn with_preset(&self, name: &str, value: &str, path: &Path) -> Self {
        let depth = self.layer.depth + 1;
        let mut vars = HashMap::default();
        vars.insert(
            name.to_owned(),
            Var {
                value: Value::Scalar(value.to_owned()),
                origin: Origin {
                    path: Arc::from(path),
                    position: Position { line: 0, column: 0 },
                    order: (depth, 0),
                    environment: None,
                },
            },
        );
        Self {
            layer: Arc::new(Layer {
                parent: Some(self.layer.clone()),
                vars,
                depth,
            }),
        }
    }

    /// Evaluates `script` (parsed from `source` at `path`) on top of this config, giving the
    /// config with one more layer. `source` is used only for error excerpts.
    pub fn eval(
        &self,
        path: &Path,
        source: &str,
        script: &Script,
        env: &Environment,
    ) -> Result<Self, ConfigError> {
        let depth = self.layer.depth + 1;
        let mut evaluator = Evaluator {
            parent: &self.layer,
            vars: HashMap::default(),
            env,
            path: Arc::from(path),
            depth,
            index: 0,
            current: (String::new(), Position::default()),
            environment_read: std::cell::RefCell::new(None),
        };
        for assignment in &script.assignments {
            evaluator.index += 1;
            evaluator
                .assign(
                    &assignment.name,
                    assignment.append,
                    &assignment.value,
                    assignment.position,
                )
                .map_err(|(position, kind)| ConfigError::new(path, source, position, kind))?;
        }
        Ok(Self {
            layer: Arc::new(Layer {
                parent: Some(self.layer.clone()),
                vars: evaluator.vars,
                depth,
            }),
        })
    }

    /// The variable as resolved through every layer.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.layer.lookup(name)
    }

    /// `$NAME`, or `None` when unset.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|var| var.value.as_str())
    }

    /// `$NAME` when set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&Var> {
        self.get(name).filter(|var| !var.value.as_str().is_empty())
    }

    /// Of several names for one setting (old and new spellings), the one assigned last and not
    /// empty, with its name.
    pub fn latest_of<'n>(&self, names: &[&'n str]) -> Option<(&'n str, &Var)> {
        names
            .iter()
            .filter_map(|&name| Some((name, self.non_empty(name)?)))
            .max_by_key(|(_, var)| var.origin.order)
    }

    /// Whether `name` was assigned by the last layer (the file evaluated last).
    pub fn assigned_in_last_layer(&self, name: &str) -> bool {
        self.layer.vars.contains_key(name)
    }

    /// Every variable, resolved, in name order.
    pub fn vars(&self) -> BTreeMap<&str, &Var> {
        let mut chain = Vec::new();
        let mut layer = Some(&*self.layer);
        while let Some(l) = layer {
            chain.push(l);
            layer = l.parent.as_deref();
        }
        let mut out = BTreeMap::new();
        for l in chain.into_iter().rev() {
            for (name, var) in &l.vars {
                out.insert(name.as_str(), var);
            }
        }
        out
    }
}

/// The most bytes one expanded value may hold (a scalar, or an array's elements together).
///
/// Without a limit, a config of a few dozen lines such as `A="$A$A"` doubles a value on each
/// line until the process runs out of memory. Real values (flags, package lists, paths) are a
/// few kilobytes; a mebibyte leaves room for any of them.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// What an expansion produced: one string, or several fields (`"${A[@]}"`).
enum Expanded {
    One(String),
    Many(Vec<String>),
}

impl Expanded {
    fn into_string(self) -> String {
        match self {
            Self::One(s) => s,
            Self::Many(items) => items.join(" "),
        }
    }
}

type EResult<T> = Result<T, (Position, ErrorKind)>;

struct Evaluator<'a> {
    parent: &'a Arc<Layer>,
    vars: HashMap<String, Var>,
    env: &'a Environment,
    path: Arc<Path>,
    depth: u32,
    index: u32,
    /// The assignment being evaluated: its name and where it starts, for the size error.
    current: (String, Position),
    /// The first environment variable the current assignment read.
    environment_read: std::cell::RefCell<Option<Arc<str>>>,
}

impl Evaluator<'_> {
    /// Refuses a value that grew past [`MAX_VALUE_BYTES`], naming the assignment that made it.
    fn check_size(&self, bytes: usize) -> EResult<()> {
        if bytes > MAX_VALUE_BYTES {
            let (name, position) = &self.current;
            return Err((
                *position,
                ErrorKind::ValueTooLarge {
                    name: name.clone(),
                    limit: MAX_VALUE_BYTES,
                },
            ));
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(var) = self.vars.get(name) {
            return Some(var.value.clone());
        }
        if let Some(var) = self.parent.lookup(name) {
            return Some(var.value.clone());
        }
        let value = self.env.get(name)?;
        self.environment_read
            .borrow_mut()
            .get_or_insert_with(|| Arc::from(name));
        Some(Value::Scalar(value.to_owned()))
    }

    fn origin(&self, position: Position) -> Origin {
        Origin {
            path: self.path.clone(),
            position,
            order: (self.depth, self.index),
            environment: self.environment_read.borrow().clone(),
        }
    }

    fn assign(
        &mut self,
        name: &str,
        append: bool,
        value: &AssignValue,
        position: Position,
    ) -> EResult<()> {
        self.current = (name.to_owned(), position);
        // What an earlier line read is not this line's.
        self.environment_read.borrow_mut().take();
        let existing = self.lookup(name);
        if !append {
            // The old value is kept only by `+=`; reading it is no use of the environment.
            self.environment_read.borrow_mut().take();
        }
        let new = match value {
            AssignValue::Scalar(word) => {
                let text = self.scalar(word)?;
                match (existing, append) {
                    // Bash: assigning a string to an array sets (or appends to) element 0.
                    (Some(Value::Array(mut items)), _) => {
                        if items.is_empty() {
                            items.push(String::new());
                        }
                        if append {
                            items[0].push_str(&text);
                        } else {
                            items[0] = text;
                        }
                        Value::Array(items)
                    }
                    (Some(Value::Scalar(mut old)), true) => {
                        old.push_str(&text);
                        Value::Scalar(old)
                    }
                    _ => Value::Scalar(text),
                }
            }
            AssignValue::Array(words) => {
                let mut items = Vec::new();
                for word in words {
                    self.fields(word, &mut items)?;
                }
                match (existing, append) {
                    (Some(Value::Array(mut old)), true) => {
                        old.extend(items);
                        Value::Array(old)
                    }
                    (Some(Value::Scalar(old)), true) => {
                        let mut all = vec![old];
                        all.extend(items);
                        Value::Array(all)
                    }
                    _ => Value::Array(items),
                }
            }
        };
        // Appending can make a value too large without any expansion doing so.
        self.check_size(match &new {
            Value::Scalar(text) => text.len(),
            Value::Array(items) => items.iter().map(String::len).sum(),
        })?;
        let origin = self.origin(position);
        self.vars
            .insert(name.to_owned(), Var { value: new, origin });
        Ok(())
    }

    /// A word in a scalar context: no field splitting.
    fn scalar(&mut self, word: &Word) -> EResult<String> {
        let mut out = String::new();
        for part in &word.parts {
            match part {
                Part::Literal { text, .. } => out.push_str(text),
                Part::Tilde => out.push_str(self.env.get("HOME").unwrap_or("~")),
                Part::Param { param, .. } => out.push_str(&self.param(param)?.into_string()),
            }
            self.check_size(out.len())?;
        }
        Ok(out)
    }

    /// A word in an array literal: unquoted expansions are split on blanks, `"${A[@]}"` gives
    /// one field per element, and a word that produces nothing (an unquoted empty expansion)
    /// gives no field, as in bash.
    fn fields(&mut self, word: &Word, out: &mut Vec<String>) -> EResult<()> {
        let mut current = String::new();
        let mut active = false;
        for part in &word.parts {
            match part {
                Part::Literal { text, quoted } => {
                    current.push_str(text);
                    active |= *quoted || !text.is_empty();
                }
                Part::Tilde => {
                    current.push_str(self.env.get("HOME").unwrap_or("~"));
                    active = true;
                }
                Part::Param { param, quoted } => {
                    let so_far = out.iter().map(String::len).sum::<usize>() + current.len();
                    self.check_size(so_far)?;
                    let expanded = self.param(param)?;
                    let pieces = match expanded {
                        Expanded::One(s) => vec![s],
                        Expanded::Many(items) => items,
                    };
                    for (i, piece) in pieces.into_iter().enumerate() {
                        if i > 0 && active {
                            out.push(std::mem::take(&mut current));
                            active = false;
                        }
                        if *quoted {
                            current.push_str(&piece);
                            active = true;
                        } else {
                            for c in piece.chars() {
                                if matches!(c, ' ' | '\t' | '\n') {
                                    if active {
                                        out.push(std::mem::take(&mut current));
                                        active = false;
                                    }
                                } else {
                                    current.push(c);
                                    active = true;
                                }
                            }
                        }
                    }
                }
            }
        }
        if active {
            out.push(current);
        }
        Ok(())
    }

    /// The value a parameter refers to, if set (an element, or all elements).
    fn selected(&self, param: &Param) -> Option<Expanded> {
        let value = self.lookup(&param.name)?;
        match param.index {
            Index::None => match value {
                Value::Scalar(s) => Some(Expanded::One(s)),
                Value::Array(items) => items.into_iter().next().map(Expanded::One),
            },
            Index::Element(n) => match value {
                Value::Scalar(s) if n == 0 => Some(Expanded::One(s)),
                Value::Scalar(_) => None,
                Value::Array(items) => items.into_iter().nth(n).map(Expanded::One),
            },
            Index::All | Index::Star => {
                let items = match value {
                    Value::Scalar(s) => vec![s],
                    Value::Array(items) => items,
                };
                if items.is_empty() {
                    None
                } else if param.index == Index::All {
                    Some(Expanded::Many(items))
                } else {
                    Some(Expanded::One(items.join(" ")))
                }
            }
        }
    }

    fn param(&mut self, param: &Param) -> EResult<Expanded> {
        let selected = self.selected(param);
        let is_null = |e: &Option<Expanded>| match e {
            None => true,
            Some(Expanded::One(s)) => s.is_empty(),
            Some(Expanded::Many(items)) => items.iter().all(String::is_empty),
        };
        let missing = |colon: bool, e: &Option<Expanded>| {
            if colon { is_null(e) } else { e.is_none() }
        };
        let Some(operator) = &param.operator else {
            return Ok(selected.unwrap_or(Expanded::One(String::new())));
        };
        match operator {
            Operator::Default { colon, word } => {
                if missing(*colon, &selected) {
                    Ok(Expanded::One(self.scalar(word)?))
                } else {
                    Ok(selected.unwrap_or(Expanded::One(String::new())))
                }
            }
            Operator::Assign { colon, word } => {
                if missing(*colon, &selected) {
                    let text = self.scalar(word)?;
                    let origin = self.origin(param.position);
                    self.vars.insert(
                        param.name.clone(),
                        Var {
                            value: Value::Scalar(text.clone()),
                            origin,
                        },
                    );
                    Ok(Expanded::One(text))
                } else {
                    Ok(selected.unwrap_or(Expanded::One(String::new())))
                }
            }
            Operator::Alternative { colon, word } => {
                if missing(*colon, &selected) {
                    Ok(Expanded::One(String::new()))
                } else {
                    Ok(Expanded::One(self.scalar(word)?))
                }
            }
            Operator::Error { colon, word } => {
                if missing(*colon, &selected) {
                    let message = self.scalar(word)?;
                    Err((
                        param.position,
                        ErrorKind::ParameterError {
                            name: param.name.clone(),
                            message,
                        },
                    ))
                } else {
                    Ok(selected.unwrap_or(Expanded::One(String::new())))
                }
            }
            Operator::Substring { offset, length } => {
                let text = selected.map(Expanded::into_string).unwrap_or_default();
                let chars: Vec<char> = text.chars().collect();
                let len = chars.len() as i64;
                let offset = self.operand(offset);
                let start = if offset < 0 {
                    (len + offset).max(0)
                } else {
                    offset.min(len)
                };
                let end = match length {
                    None => len,
                    Some(length) => {
                        let length = self.operand(length);
                        if length < 0 {
                            (len + length).max(start)
                        } else {
                            (start + length).min(len)
                        }
                    }
                };
                Ok(Expanded::One(
                    chars[start as usize..end.max(start) as usize]
                        .iter()
                        .collect(),
                ))
            }
        }
    }

    /// A substring operand's value; like bash arithmetic, an unset or non-numeric variable is 0.
    fn operand(&self, operand: &Operand) -> i64 {
        match operand {
            Operand::Number(n) => *n,
            Operand::Variable(name) => self
                .lookup(name)
                .and_then(|v| v.as_str().trim().parse().ok())
                .unwrap_or(0),
        }
    }
}

//! The syntax tree of a config file: what [`crate::parse`] produces and [`crate::Config::eval`]
//! consumes.

use crate::Position;

/// A parsed config file: its assignments, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub assignments: Vec<Assignment>,
}

/// `NAME=value`, `NAME+=value`, `NAME=( ... )`, possibly behind `export`/`declare`/`readonly`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    /// `+=` appends to a string or an array, as in bash.
    pub append: bool,
    pub value: AssignValue,
    /// Where the name starts.
    pub position: Position,
    /// Where the value starts (just after `=`).
    pub value_position: Position,
}

/// The right-hand side of an assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignValue {
    /// `NAME=word` (an empty word for `NAME=`).
    Scalar(Word),
    /// `NAME=( word word ... )`.
    Array(Vec<Word>),
}

/// A shell word: parts that are concatenated. Quoting matters only for field splitting inside
/// array literals, so each part remembers whether it was quoted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Word {
    pub parts: Vec<Part>,
}

impl Word {
    /// A word that is one literal string.
    pub fn literal(text: &str) -> Self {
        Self {
            parts: vec![Part::Literal {
                text: text.to_owned(),
                quoted: true,
            }],
        }
    }
}

/// One piece of a [`Word`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text taken as is. `quoted` is false for unquoted text (after escapes were applied);
    /// unquoted text is never split, only unquoted expansions are.
    Literal { text: String, quoted: bool },
    /// `~` or `~/...` at the start of an unquoted word: the home directory.
    Tilde,
    /// `$NAME` or `${...}`.
    Param { param: Param, quoted: bool },
}

/// A parameter expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub index: Index,
    pub operator: Option<Operator>,
    pub position: Position,
}

/// `${NAME}`, `${NAME[@]}`, `${NAME[*]}`, `${NAME[2]}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// No subscript: the scalar value, or element 0 of an array.
    None,
    /// `[@]`: every element; as separate fields when quoted in an array literal.
    All,
    /// `[*]`: every element joined with a space.
    Star,
    /// `[n]`.
    Element(usize),
}

/// What follows the name inside `${...}`. `colon` is true for the `:`-forms, which also treat an
/// empty value as unset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `${X:-word}`, `${X-word}`.
    Default { colon: bool, word: Word },
    /// `${X:=word}`, `${X=word}`: like `Default`, and also assigns.
    Assign { colon: bool, word: Word },
    /// `${X:+word}`, `${X+word}`.
    Alternative { colon: bool, word: Word },
    /// `${X:?word}`, `${X?word}`: an error naming the file and line when unset.
    Error { colon: bool, word: Word },
    /// `${X:offset}`, `${X:offset:length}`.
    Substring {
        offset: Operand,
        length: Option<Operand>,
    },
}

/// A substring offset or length: a number, or a variable holding one (bash evaluates them as
/// arithmetic; a plain number or name is the only arithmetic a config file needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    Number(i64),
    Variable(String),
}

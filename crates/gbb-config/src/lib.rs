//! Reads gentoo-bb and kubler config files (`build.conf`, `kubler.conf`) without running bash.
//!
//! Those files are bash scripts by convention, but in practice they only ever assign variables:
//! `KEY=value`, `KEY="${OTHER:-default}"`, `KEY=( a "b c" )`. kubler simply `source`s them, which
//! means that a typo can run arbitrary commands on the host and that nothing can tell which line
//! set which value. gbb instead reads them against a small grammar (see [`parser`]) that accepts
//! the assignment subset of bash and refuses everything else with the file, line and column.
//!
//! Reading is split in two steps so that a file is parsed once and evaluated many times (a global
//! file is evaluated once per namespace, with `NAMESPACE` preset differently each time):
//!
//! 1. [`parse`] turns text into a [`Script`]: assignments whose values are [`Word`]s made of
//!    literal and expansion parts, every one with its position.
//! 2. [`Config::eval`] evaluates a script on top of a parent [`Config`] (the layers before it)
//!    and the process [`Environment`], giving a new layer. Lookups see the layers' assignments
//!    first, then the environment, as bash would.

mod environment;
mod error;
mod eval;
pub mod parser;
mod syntax;
mod text;

pub use environment::Environment;
pub use error::{ConfigError, ErrorKind, Position};
pub use eval::{Config, MAX_VALUE_BYTES, Origin, Value, Var};
pub use parser::parse;
pub use syntax::{AssignValue, Assignment, Index, Operand, Operator, Param, Part, Script, Word};
pub use text::decode;

use std::collections::HashMap;

/// The process environment as seen by config expansions, captured once.
///
/// Capturing it into a value (instead of calling `std::env::var` during evaluation) keeps the
/// evaluation pure: tests pass an environment of their own, and a build cannot see a variable
/// change halfway through.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// The current process environment. Variables whose name or value is not UTF-8 are left out:
    /// config values are text.
    pub fn capture() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An empty environment, for tests and for reading a stack hermetically.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Looks a variable up.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Sets a variable (builder style, for tests).
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }
}

impl FromIterator<(String, String)> for Environment {
    fn from_iter<T: IntoIterator<Item = (String, String)>>(iter: T) -> Self {
        Self {
            vars: iter.into_iter().collect(),
        }
    }
}

/// What the user asked to build or plan.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `ns/name` ids and namespace names; empty means the whole stack.
    pub ids: Vec<String>,
    /// `-n`: only the ids given, not the parents and builders they need (those are taken as
    /// already built).
    pub only_given: bool,
    /// `-e`: ids or namespaces to leave out.
    pub exclude: Vec<String>,
}

//! Paths inside an image, as plain strings.
//!
//! Every path gbb-elf keeps is absolute inside the image (`/usr/lib64/libc.so.6`), with single
//! slashes and no `.` component, whatever the tar wrote (`./usr/lib64/`, `usr//lib64`). They
//! are strings, not `std::path::Path`s, because they are never host paths: joining one onto the
//! host's `/` would be a bug, and strings keep the index's JSON plain.

/// `name` as an absolute image path: `./usr/lib/` and `usr//lib` give `/usr/lib`, the root
/// gives `/`. `..` is kept (only a walk through the merged view can resolve it, because a
/// symlink before it changes what it means).
pub(crate) fn normalize(name: &str) -> String {
    let mut path = String::with_capacity(name.len() + 1);
    for component in name.split('/').filter(|c| !c.is_empty() && *c != ".") {
        path.push('/');
        path.push_str(component);
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

/// The folder holding `path` (`/usr/bin/x` gives `/usr/bin`, `/x` gives `/`).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

/// The last component of `path`.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir` and `name` joined with one slash.
pub(crate) fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    let name = name.trim_start_matches('/');
    format!("{dir}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn case(name: &str, expected: &str) {
        assert_eq!(normalize(name), expected, "normalize({name:?})");
    }

    #[test]
    fn normalizes_tar_names() {
        case("./usr/lib64/", "/usr/lib64");
        case("usr//lib64/libc.so.6", "/usr/lib64/libc.so.6");
        case("/etc/./ld.so.conf", "/etc/ld.so.conf");
        case("./", "/");
        case("", "/");
        case("usr/lib/../lib64", "/usr/lib/../lib64");
    }

    #[test]
    fn splits_and_joins() {
        assert_eq!(parent("/usr/bin/x"), "/usr/bin");
        assert_eq!(parent("/x"), "/");
        assert_eq!(file_name("/usr/bin/x"), "x");
        assert_eq!(join("/usr/lib64/", "/libc.so.6"), "/usr/lib64/libc.so.6");
        assert_eq!(join("/", "lib"), "/lib");
    }
}

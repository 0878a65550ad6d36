//! kubler and gentoo-bb (seed) features that gbb does not support, or that behave
//! differently, so that `gbb check` says so before a build does.
//!
//! A small table kept by hand: each entry is a helper a `build.sh` may call, or a variable a
//! config file or `build.sh` may set, with how serious the difference is and what to do. The
//! helpers gbb does have come from its own scripts (see `names.rs`), never from here.

use crate::Severity;

/// What an entry matches.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Feature {
    /// A command a `build.sh` calls.
    Command(&'static str),
    /// A variable set to a non-empty value other than `false`.
    Variable(&'static str),
}

/// One difference.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Difference {
    pub(crate) feature: Feature,
    pub(crate) severity: Severity,
    pub(crate) message: &'static str,
}

pub(crate) const DIFFERENCES: &[Difference] = &[
    Difference {
        feature: Feature::Command("download_from_oracle"),
        severity: Severity::Error,
        message: "kubler's download_from_oracle accepts Oracle's licence for you with a cookie; gbb does not: download the file yourself and fetch it with `download_file file:///path`",
    },
    Difference {
        feature: Feature::Command("install_gosu"),
        severity: Severity::Error,
        message: "gentoo-bb's install_gosu (a prebuilt binary from GitHub) is not a gbb helper: emerge a package (app-admin/su-exec) or use download_file",
    },
    Difference {
        feature: Feature::Command("install_suexec"),
        severity: Severity::Error,
        message: "gentoo-bb's install_suexec (a git clone built by hand) is not a gbb helper: emerge app-admin/su-exec",
    },
    Difference {
        feature: Feature::Command("install_docker_gen"),
        severity: Severity::Error,
        message: "gentoo-bb's install_docker_gen (a prebuilt binary from GitHub) is not a gbb helper: use download_file and tar",
    },
    Difference {
        feature: Feature::Command("install_git_postsync_hooks"),
        severity: Severity::Error,
        message: "gbb mounts the portage tree read-only into build containers, so it has no sync hooks: the tree is updated on the host (PORTAGE_DIR or a snapshot)",
    },
    Difference {
        feature: Feature::Command("generate_doc_package_installed"),
        severity: Severity::Warning,
        message: "one of kubler's internal documentation functions; gbb writes PACKAGES.md itself from what phase 1 installed: drop the call",
    },
    Difference {
        feature: Feature::Command("write_checkbox_line"),
        severity: Severity::Warning,
        message: "one of kubler's internal documentation functions; gbb writes PACKAGES.md itself from what phase 1 installed: drop the call",
    },
    Difference {
        feature: Feature::Command("layman"),
        severity: Severity::Warning,
        message: "layman is gone from Gentoo; add overlays with `add_overlay NAME URL|PATH`",
    },
    Difference {
        feature: Feature::Command("emerge-webrsync"),
        severity: Severity::Warning,
        message: "the portage tree is mounted read-only in gbb's build containers, so syncing it there fails: it is updated on the host",
    },
    Difference {
        feature: Feature::Variable("BOB_KEEP_BUILD_LOG"),
        severity: Severity::Warning,
        message: "Portage's build logs go to .gbb/build/<ns>/<name>/portage-logs/, not into the image folder (it is read-only in the build container)",
    },
    Difference {
        feature: Feature::Variable("BOB_PACKAGE_CONFIG_DIFF"),
        severity: Severity::Warning,
        message: "ignored: kubler passed it to flaggie; gbb writes package.use and package.accept_keywords lines itself",
    },
    Difference {
        feature: Feature::Variable("BOB_PACKAGE_CONFIG_STRICT"),
        severity: Severity::Warning,
        message: "ignored: kubler passed it to flaggie; gbb writes package.use and package.accept_keywords lines itself",
    },
    Difference {
        feature: Feature::Variable("BUILD_PRIVILEGED"),
        severity: Severity::Warning,
        message: "ignored: gbb never runs build containers privileged; give single capabilities with BUILDER_CAPS_SYS_PTRACE or BUILDER_DOCKER_ARGS=\"--cap-add ...\"",
    },
];

/// The difference for command `name`, if there is one.
pub(crate) fn command(name: &str) -> Option<&'static Difference> {
    DIFFERENCES
        .iter()
        .find(|d| matches!(d.feature, Feature::Command(c) if c == name))
}

/// The variables with a difference.
pub(crate) fn variables() -> impl Iterator<Item = (&'static str, &'static Difference)> {
    DIFFERENCES.iter().filter_map(|d| match d.feature {
        Feature::Variable(name) => Some((name, d)),
        Feature::Command(_) => None,
    })
}

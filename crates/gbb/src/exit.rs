//! Exit codes, decided in one place.
//!
//! - 0: success.
//! - 1: the work failed: a build step, an engine call, a registry that rejected a manifest.
//! - 2: gbb refused the input: a malformed config, an unknown id, a cycle, a bad argument
//!   (clap uses 2 for usage errors too).
//! - 3: the environment failed gbb: a file it could not read or write, a full disk.
//! - 128 + signal: interrupted, after stopping what ran and removing the containers gbb
//!   started: 130 for Ctrl-C (SIGINT), 129 for SIGHUP, 143 for SIGTERM.

use std::process::ExitCode;

use gbb_build::BuildError;
use gbb_engine::EngineError;
use gbb_plan::PlanError;
use gbb_stack::StackError;
use gbb_stack::scaffold::ScaffoldError;

pub(crate) const REFUSED: u8 = 2;
pub(crate) const IO: u8 = 3;
pub(crate) const FAILED: u8 = 1;
pub(crate) const INTERRUPTED: u8 = 130;

/// The exit code of a build whose steps failed: 3 when the environment failed one of them (a
/// file that could not be written, a full disk), 1 otherwise.
pub(crate) fn code_for_failures(failures: &[BuildError]) -> ExitCode {
    ExitCode::from(if failures.iter().any(BuildError::is_environment) {
        IO
    } else {
        FAILED
    })
}

/// A build stopped by a signal; exits with 128 + the signal, as a shell reports it.
#[derive(Debug)]
pub(crate) struct Interrupted {
    signal: i32,
}

impl Interrupted {
    /// By `signal`, or by Ctrl-C when the build was stopped otherwise.
    pub(crate) fn by(signal: Option<i32>) -> Self {
        Self {
            signal: signal.unwrap_or(signal_hook::consts::SIGINT),
        }
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.signal == signal_hook::consts::SIGINT {
            f.write_str("interrupted")
        } else {
            write!(f, "interrupted by {}", signal_name(self.signal))
        }
    }
}

impl std::error::Error for Interrupted {}

/// How messages name a signal.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    match signal {
        SIGINT => "Ctrl-C",
        SIGHUP => "SIGHUP",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

pub(crate) fn code_for(error: &anyhow::Error) -> ExitCode {
    if let Some(e) = error.downcast_ref::<Interrupted>() {
        return ExitCode::from(u8::try_from(128 + e.signal).unwrap_or(INTERRUPTED));
    }
    if let Some(e) = error.downcast_ref::<StackError>() {
        return ExitCode::from(match e {
            StackError::Io { .. } => IO,
            _ => REFUSED,
        });
    }
    if error.downcast_ref::<PlanError>().is_some() {
        return ExitCode::from(REFUSED);
    }
    if let Some(e) = error.downcast_ref::<ScaffoldError>() {
        return ExitCode::from(match e {
            ScaffoldError::Io { .. } => IO,
            _ => REFUSED,
        });
    }
    if let Some(e) = error.downcast_ref::<BuildError>() {
        return ExitCode::from(match e.cause() {
            BuildError::MissingTemplate { .. }
            | BuildError::NoRootfsAdd { .. }
            | BuildError::NoStage3File { .. }
            | BuildError::NoPortageDir { .. }
            | BuildError::BadLink { .. }
            | BuildError::BadSetting { .. }
            | BuildError::UnsafeTemplateValue { .. }
            | BuildError::TemplateInstruction { .. }
            | BuildError::ParentNotStored { .. }
            | BuildError::NotBuilt { .. }
            | BuildError::NoSbom { .. }
            | BuildError::Locked { .. }
            | BuildError::NoKeyring => REFUSED,
            BuildError::Interrupted => INTERRUPTED,
            BuildError::Io { .. } | BuildError::NoSpace { .. } => IO,
            _ => FAILED,
        });
    }
    if let Some(e) = error.downcast_ref::<gbb_gentoo::ReleaseKeyError>() {
        return ExitCode::from(match e {
            gbb_gentoo::ReleaseKeyError::Io { .. } => IO,
            _ => REFUSED,
        });
    }
    if let Some(e) = error.downcast_ref::<gbb_registry::Error>() {
        use gbb_registry::Error as R;
        return ExitCode::from(match e {
            // What the user gave or keeps: a reference, a password, a CA or config file.
            R::Reference { .. }
            | R::Unauthorized { .. }
            | R::CaCert { .. }
            | R::NoCertificate(..)
            | R::DockerConfig { .. } => REFUSED,
            // The environment: a registry that does not answer, a store that cannot be read.
            R::Unreachable { .. } | R::Runtime(..) | R::Image(..) => IO,
            _ => FAILED,
        });
    }
    if error.downcast_ref::<EngineError>().is_some() {
        return ExitCode::from(FAILED);
    }
    if error.downcast_ref::<std::io::Error>().is_some() {
        return ExitCode::from(IO);
    }
    ExitCode::from(REFUSED)
}

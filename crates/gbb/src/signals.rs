//! Signals during `gbb build`: what the user sees. The work (marking the build interrupted,
//! stopping the engine's operations, removing containers) is the container registry's
//! (`gbb_build::ContainerRegistry::interrupt_now`, `gbb_build::remove_own_containers`); this
//! module hears the signals and says what happened.

use std::sync::Arc;
use std::time::Duration;

use gbb_build::{ContainerRegistry, Interruption};
use gbb_engine::Engine;

use crate::printer::Printer;

/// On SIGINT, SIGHUP (the terminal closed) or SIGTERM: stop starting work, stop the image
/// builds and imports that run, remove every container the build started, and say what was
/// stopped. The build then ends with 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).
///
/// On a second signal, exit at once without waiting for the removals: whatever is left
/// carries this process as its owner, and the next `gbb build` or `gbb clean` removes it.
///
/// `engines` pairs each engine of the build (Docker, Podman) with the registry of the
/// containers started on it; a signal interrupts them all.
pub(crate) fn handle(engines: Vec<(Arc<dyn Engine>, ContainerRegistry)>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGHUP, SIGTERM])?;
    std::thread::spawn(move || {
        // The handler's own printer: messages only, never verbose.
        let printer = Printer::new(false);
        for signal in signals.forever() {
            let name = crate::exit::signal_name(signal);
            if engines.iter().any(|(_, registry)| registry.interrupted()) {
                printer.note(&format!(
                    "{name} again: exiting now; containers of this build still there are removed by the next `gbb build` or `gbb clean`"
                ));
                std::process::exit(128 + signal);
            }
            let mut interruption = Interruption {
                stopped: Vec::new(),
                containers: 0,
            };
            for (engine, registry) in &engines {
                let one = registry.interrupt_now(engine.clone(), signal);
                interruption.stopped.extend(one.stopped);
                interruption.containers += one.containers;
            }
            printer.note(&interrupt_note(name, signal, &interruption));
        }
    });
    Ok(())
}

/// What the first signal stops, in one line.
fn interrupt_note(name: &str, signal: i32, interruption: &Interruption) -> String {
    let mut parts: Vec<String> = interruption
        .stopped
        .iter()
        .map(|s| format!("stopped {s}"))
        .collect();
    match interruption.containers {
        0 => {}
        1 => parts.push("removing 1 build container".to_owned()),
        n => parts.push(format!("removing {n} build containers")),
    }
    if parts.is_empty() {
        parts.push("starting nothing new".to_owned());
    }
    let again = if signal == signal_hook::consts::SIGINT {
        "; Ctrl-C again exits at once"
    } else {
        ""
    };
    format!("interrupted ({name}): {}{again}", parts.join(", "))
}

/// After a failure or an interruption: removes the containers this process started that are
/// still there, waiting at most ten seconds, and warns about any left.
pub(crate) fn sweep(engine: &dyn Engine, printer: &Printer) {
    if let Err(e) = gbb_build::remove_own_containers(engine, Duration::from_secs(10)) {
        printer.note(&format!("warning: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::interrupt_note;
    use gbb_build::Interruption;
    use signal_hook::consts::{SIGINT, SIGTERM};

    #[test]
    fn the_first_signal_says_what_it_stops() {
        assert_eq!(
            interrupt_note(
                "Ctrl-C",
                SIGINT,
                &Interruption {
                    stopped: vec!["building `ns/app:gbb-candidate`".to_owned()],
                    containers: 2
                }
            ),
            "interrupted (Ctrl-C): stopped building `ns/app:gbb-candidate`, removing 2 build containers; Ctrl-C again exits at once"
        );
        assert_eq!(
            interrupt_note(
                "SIGTERM",
                SIGTERM,
                &Interruption {
                    stopped: Vec::new(),
                    containers: 0
                }
            ),
            "interrupted (SIGTERM): starting nothing new"
        );
    }
}

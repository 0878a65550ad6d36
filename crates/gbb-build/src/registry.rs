use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gbb_engine::Engine;

use crate::owner::Owner;

/// The containers a build has running, and whether it was told to stop.
///
/// A signal handler (in the command line) marks the build interrupted and removes every
/// container listed here; the build itself checks [`Self::interrupted`] before each step and
/// unlists a container once it has removed or committed it. Shared by `Arc`, so that the
/// handler thread and the build see the same list.
#[derive(Clone, Debug, Default)]
pub struct ContainerRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    containers: Mutex<BTreeSet<String>>,
    interrupted: AtomicBool,
    /// The first signal that interrupted the build (0: none, or not a signal).
    signal: AtomicI32,
}

impl ContainerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&self, id: &str) {
        self.lock().insert(id.to_owned());
    }

    /// Unlists a container; `false` when it was not listed (the signal handler took it).
    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id)
    }

    /// Every listed container, and the list emptied.
    pub fn take_all(&self) -> Vec<String> {
        std::mem::take(&mut *self.lock()).into_iter().collect()
    }

    pub fn interrupt(&self) {
        self.inner.interrupted.store(true, Ordering::SeqCst);
    }

    /// Marks the build interrupted by `signal` (SIGINT, SIGTERM, ...); the first one is kept,
    /// for the exit code (128 + signal).
    pub fn interrupt_by(&self, signal: i32) {
        let _ = self
            .inner
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        self.interrupt();
    }

    /// The signal that interrupted the build, if one did.
    pub fn signal(&self) -> Option<i32> {
        Some(self.inner.signal.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    pub fn interrupted(&self) -> bool {
        self.inner.interrupted.load(Ordering::SeqCst)
    }

    /// The first signal of a build (SIGINT, SIGHUP, SIGTERM): marks it interrupted, stops the
    /// engine's running image builds and imports ([`Engine::cancel`]) and removes every
    /// listed container on a thread of its own. Never blocks, so that a second signal is heard
    /// at once; the build then ends with [`crate::BuildError::Interrupted`].
    pub fn interrupt_now(&self, engine: Arc<dyn Engine>, signal: i32) -> Interruption {
        self.interrupt_by(signal);
        let stopped = engine.cancel();
        let containers = self.take_all();
        let count = containers.len();
        std::thread::spawn(move || {
            for container in containers {
                let _ = engine.remove_container(&container);
            }
        });
        Interruption {
            stopped,
            containers: count,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A panic while holding the lock leaves a list that is still right.
        self.inner
            .containers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the first signal stopped: the engine's operations, as named in errors ("building
/// `ns/app:gbb-candidate`"), and how many build containers are being removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interruption {
    pub stopped: Vec<String>,
    pub containers: usize,
}

/// After a failure or an interruption: removes every container this process started that is
/// still there (found by the owner label, `owner.rs`), and waits until they are gone, for at
/// most `within`. The signal handler may have started removing some (the engine then answers
/// "removal already in progress"), so this lists again until the list is empty. Returns the
/// ids still there at the deadline; an engine that cannot list is an error.
pub fn remove_own_containers(engine: &dyn Engine, within: Duration) -> Result<(), SweepError> {
    let label = format!(
        "{}={}",
        crate::CONTAINER_LABEL,
        Owner::current().label_value()
    );
    let deadline = Instant::now() + within;
    loop {
        let containers = engine
            .containers_with_label(&label)
            .map_err(SweepError::Listing)?;
        if containers.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(SweepError::Left(
                containers.into_iter().map(|c| c.id).collect(),
            ));
        }
        for container in containers {
            // Errors are expected while a removal is in progress; the next listing tells.
            let _ = engine.remove_container(&container.id);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Why [`remove_own_containers`] could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("could not list this build's containers: {0}")]
    Listing(gbb_engine::EngineError),
    #[error("containers of this build are still there: {}", .0.join(", "))]
    Left(Vec<String>),
}

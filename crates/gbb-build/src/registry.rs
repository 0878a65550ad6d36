use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A panic while holding the lock leaves a list that is still right.
        self.inner
            .containers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

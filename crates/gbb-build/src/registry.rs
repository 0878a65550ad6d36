use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
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

//! A value built from files and rebuilt when their contents change: certificates and
//! credential files rotate (a Kubernetes secret update, certbot) without a restart.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::AccessError;

type Loader<T> = Box<dyn Fn() -> Result<T, AccessError> + Send + Sync>;

pub(crate) struct Watched<T> {
    /// The config section the files belong to, for the logs.
    what: String,
    files: Vec<PathBuf>,
    interval: Duration,
    load: Loader<T>,
    current: RwLock<Arc<T>>,
    /// The files' contents when `current` was built (unreadable files as `None`).
    seen: Mutex<Vec<Option<Vec<u8>>>>,
}

impl<T: Send + Sync + 'static> Watched<T> {
    /// Builds the first value now; an error here stops the start-up.
    pub(crate) fn new(
        what: String,
        files: Vec<PathBuf>,
        interval: Duration,
        load: Loader<T>,
    ) -> Result<Watched<T>, AccessError> {
        let seen = read_all(&files);
        let first = load()?;
        Ok(Watched {
            what,
            files,
            interval,
            load,
            current: RwLock::new(Arc::new(first)),
            seen: Mutex::new(seen),
        })
    }

    pub(crate) fn current(&self) -> Arc<T> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the value if a file changed; a failed rebuild keeps the previous value
    /// and is retried at the next change. Returns whether the value was replaced.
    pub(crate) fn reload_if_changed(&self) -> bool {
        let now = read_all(&self.files);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *seen == now {
            return false;
        }
        *seen = now;
        match (self.load)() {
            Ok(value) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(value);
                tracing::info!(section = %self.what, "files changed; reloaded");
                true
            }
            Err(error) => {
                tracing::error!(%error, "reload failed; the previous files stay in use");
                false
            }
        }
    }

    /// Checks the files every interval until `shutdown`.
    pub(crate) async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
            let watched = self.clone();
            if tokio::task::spawn_blocking(move || watched.reload_if_changed())
                .await
                .is_err()
            {
                tracing::error!(section = %self.what, "reloading panicked");
            }
        }
    }
}

fn read_all(files: &[PathBuf]) -> Vec<Option<Vec<u8>>> {
    files.iter().map(|file| std::fs::read(file).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_one_keeps_the_previous_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n");
        std::fs::write(&file, "1").unwrap();
        let path = file.clone();
        let watched = Watched::new(
            "test".to_owned(),
            vec![file.clone()],
            Duration::from_secs(1),
            Box::new(move || {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| AccessError::new("n", e.to_string()))?;
                text.trim()
                    .parse::<u32>()
                    .map_err(|e| AccessError::new("n", e.to_string()))
            }),
        )
        .unwrap();
        assert_eq!(*watched.current(), 1);
        assert!(!watched.reload_if_changed(), "nothing changed");
        std::fs::write(&file, "2").unwrap();
        assert!(watched.reload_if_changed());
        assert_eq!(*watched.current(), 2);
        std::fs::write(&file, "not a number").unwrap();
        assert!(!watched.reload_if_changed());
        assert_eq!(
            *watched.current(),
            2,
            "a broken file keeps the previous value"
        );
        std::fs::write(&file, "3").unwrap();
        assert!(watched.reload_if_changed());
        assert_eq!(*watched.current(), 3);
    }
}

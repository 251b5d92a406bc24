//! Group commit for SQLite: many requests' commits made durable by one fsync.
//!
//! The connection runs WAL with `synchronous = NORMAL`, so a commit is written to the WAL but
//! not flushed. Before a request that wrote is answered, [`WalSync::sync`] flushes the WAL file:
//! one fsync covers every commit made before it started, and requests arriving while it runs
//! share the next one. Nothing is acknowledged before it is on disk — the guarantee of
//! `synchronous = FULL` — at the cost of one fsync per batch instead of one per commit. A crash
//! may lose commits nobody was told about; WAL checksums keep the file consistent either way.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The WAL file of one SQLite database and the fsyncs done on it.
#[derive(Debug)]
pub struct WalSync {
    wal: PathBuf,
    /// The number of the last fsync started and of the last one finished.
    started: AtomicU64,
    finished: AtomicU64,
    /// One fsync at a time; who waits behind it is covered by the next.
    turn: tokio::sync::Mutex<()>,
}

impl WalSync {
    pub fn new(database: PathBuf) -> Self {
        let mut wal = database.into_os_string();
        wal.push("-wal");
        Self {
            wal: wal.into(),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Returns once every commit made before the call is on disk.
    pub async fn sync(&self) -> std::io::Result<()> {
        // Any fsync numbered past the current one starts after now, so it covers our commits.
        let needed = self.started.load(Ordering::SeqCst) + 1;
        let _turn = self.turn.lock().await;
        if self.finished.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let wal = self.wal.clone();
        // Opened each time: SQLite deletes the WAL when its last connection closes (after a
        // checkpoint, which syncs the database file itself) and makes a new one later.
        let flushed = tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            Ok(file) => file.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(std::io::Error::other)?;
        flushed?;
        self.finished.store(number, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn callers_waiting_behind_an_fsync_share_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let sync = std::sync::Arc::new(WalSync::new(dir.path().join("x.db")));
        // No WAL yet: nothing to flush, and still an fsync counted.
        sync.sync().await.unwrap();
        assert_eq!(sync.finished.load(Ordering::SeqCst), 1);
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        // An fsync under way: ten requests arrive behind it.
        let busy = sync.turn.lock().await;
        let callers: Vec<_> = (0..10)
            .map(|_| {
                let s = sync.clone();
                tokio::spawn(async move { s.sync().await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(busy);
        for c in callers {
            c.await.unwrap().unwrap();
        }
        assert_eq!(sync.finished.load(Ordering::SeqCst), 2, "one fsync covered all ten");
        // A request after that one needs a new fsync.
        sync.sync().await.unwrap();
        assert_eq!(sync.finished.load(Ordering::SeqCst), 3);
    }
}

//! Rendered prompts on disk, one `<hash>.wav` per (engine, voice, rate, text), bounded in size:
//! when it grows past the limit the least recently used files go first (a hit refreshes a
//! file's modification time). Files are written to a temporary name and renamed, so a reader
//! never sees half a file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::SpeechRate;

pub struct PromptCache {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes written since the last size check; a full scan runs when this passes a tenth of
    /// the limit.
    written: AtomicU64,
}

/// The cache key: 32 hex characters.
pub fn cache_key(source: &str, rate: SpeechRate, text: &str) -> String {
    let mut h = Sha256::new();
    for part in [source, rate.as_str(), text] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

pub fn is_key(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PromptCache {
    pub fn new(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            max_bytes,
            written: AtomicU64::new(0),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.wav"))
    }

    pub fn contains(&self, key: &str) -> bool {
        is_key(key) && self.path(key).is_file()
    }

    /// The cached bytes, marking the file as recently used.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        if !is_key(key) {
            return None;
        }
        let path = self.path(key);
        let bytes = tokio::fs::read(&path).await.ok()?;
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        Some(bytes)
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.dir.join(format!(".{key}.{}.tmp", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, self.path(key)).await?;
        let written = self.written.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64;
        if written > self.max_bytes / 10 {
            self.written.store(0, Ordering::Relaxed);
            let (dir, max) = (self.dir.clone(), self.max_bytes);
            tokio::task::spawn_blocking(move || evict(&dir, max)).await??;
        }
        Ok(())
    }
}

/// Removes the least recently used files until the folder is under 90% of `max_bytes`.
fn evict(dir: &Path, max_bytes: u64) -> std::io::Result<()> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() && entry.path().extension().is_some_and(|e| e == "wav") {
            files.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
                entry.path(),
            ));
        }
    }
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if total <= max_bytes {
        return Ok(());
    }
    files.sort();
    for (_, len, path) in files {
        if total <= max_bytes / 10 * 9 {
            break;
        }
        std::fs::remove_file(&path)?;
        total -= len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_everything() {
        let a = cache_key("espeak", SpeechRate::Normal, "你好");
        assert!(is_key(&a));
        assert_ne!(a, cache_key("espeak", SpeechRate::Slower, "你好"));
        assert_ne!(a, cache_key("http", SpeechRate::Normal, "你好"));
        assert_ne!(a, cache_key("espeak", SpeechRate::Normal, "您好"));
        assert!(!is_key("../../etc/passwd"));
    }

    #[tokio::test]
    async fn hits_return_identical_bytes_and_old_files_are_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PromptCache::new(dir.path(), 10_000).unwrap();
        let first = cache_key("t", SpeechRate::Normal, "first");
        cache.put(&first, &[1u8; 3000]).await.unwrap();
        assert_eq!(cache.get(&first).await.unwrap(), vec![1u8; 3000]);
        // Make `first` the oldest, then overflow the cache.
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .append(true)
            .open(cache.path(&first))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut others = Vec::new();
        for i in 0..4 {
            let key = cache_key("t", SpeechRate::Normal, &format!("other {i}"));
            cache.put(&key, &[2u8; 3000]).await.unwrap();
            others.push(key);
        }
        assert!(!cache.contains(&first), "least recently used went first");
        assert!(cache.contains(others.last().unwrap()), "newest kept");
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 10_000, "{total}");
    }
}

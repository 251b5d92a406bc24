//! Recorded prompts (`<dir>/<key>.<rate>.wav`, then `<key>.wav`), found without touching the
//! disk on every turn.
//!
//! A turn speaks several prompts; looking each one up on disk (two file reads off the request
//! thread, and a hash of the whole file) cost more than the rest of the turn. The folder's
//! names are listed once and again only when the folder changes (its modification time); a
//! file's audio is hashed once and again only when its size or modification time changes. A
//! file added, replaced or removed is therefore taken into account at the next turn.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::SpeechRate;

/// A recorded prompt: where its audio is and the hash of that audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes.
    pub digest: String,
}

/// What a file looked like when it was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct Listing {
    /// The folder's modification time when listed; None: not listed yet, or no such folder.
    modified: Option<SystemTime>,
    names: HashSet<String>,
    digests: HashMap<String, (Stamp, String)>,
}

#[derive(Debug)]
pub struct Recordings {
    dir: PathBuf,
    listing: Mutex<Listing>,
}

impl Recordings {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            listing: Mutex::new(Listing::default()),
        }
    }

    /// The recording for a prompt at a rate, if the folder has one.
    pub async fn find(&self, key: &str, rate: SpeechRate) -> Option<Recording> {
        let name = self.name_of(key, rate)?;
        let path = self.dir.join(&name);
        let stamp = stamp(&std::fs::metadata(&path).ok()?);
        if let Some(digest) = self.known_digest(&name, stamp) {
            return Some(Recording { path, digest });
        }
        let bytes = tokio::fs::read(&path).await.ok()?;
        let digest = hex::encode(Sha256::digest(&bytes));
        self.lock().digests.insert(name, (stamp, digest.clone()));
        Some(Recording { path, digest })
    }

    /// The first of `<key>.<rate>.wav` and `<key>.wav` the folder holds.
    fn name_of(&self, key: &str, rate: SpeechRate) -> Option<String> {
        let modified = std::fs::metadata(&self.dir).and_then(|m| m.modified()).ok();
        let mut listing = self.lock();
        if modified.is_none() {
            *listing = Listing::default();
            return None;
        }
        if listing.modified != modified {
            let names = list(&self.dir);
            listing.digests.retain(|name, _| names.contains(name));
            listing.names = names;
            listing.modified = modified;
        }
        [format!("{key}.{}.wav", rate.as_str()), format!("{key}.wav")]
            .into_iter()
            .find(|name| listing.names.contains(name))
    }

    fn known_digest(&self, name: &str, stamp: Stamp) -> Option<String> {
        match self.lock().digests.get(name) {
            Some((known, digest)) if *known == stamp => Some(digest.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Listing> {
        // A panic while listing leaves nothing half-done that matters: the next change relists.
        self.listing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn stamp(meta: &std::fs::Metadata) -> Stamp {
    Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    }
}

fn list(dir: &Path) -> HashSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recording_added_replaced_or_removed_counts_at_the_next_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let recordings = Recordings::new(dir.path());
        assert_eq!(recordings.find("welcome", SpeechRate::Normal).await, None);

        std::fs::write(dir.path().join("welcome.wav"), b"first").unwrap();
        // Some file systems keep whole-second times: make the folder's change visible.
        touch_later(dir.path());
        let first = recordings.find("welcome", SpeechRate::Normal).await.unwrap();
        assert_eq!(first.digest, hex::encode(Sha256::digest(b"first")));
        assert_eq!(first.path, dir.path().join("welcome.wav"));

        // A rate-specific recording wins over the general one.
        std::fs::write(dir.path().join("welcome.slower.wav"), b"slow").unwrap();
        touch_later(dir.path());
        let slow = recordings.find("welcome", SpeechRate::Slower).await.unwrap();
        assert_eq!(slow.digest, hex::encode(Sha256::digest(b"slow")));
        assert_eq!(recordings.find("welcome", SpeechRate::Normal).await, Some(first));

        // Replaced in place (a different size): hashed again.
        std::fs::write(dir.path().join("welcome.wav"), b"second take").unwrap();
        let second = recordings.find("welcome", SpeechRate::Normal).await.unwrap();
        assert_eq!(second.digest, hex::encode(Sha256::digest(b"second take")));

        std::fs::remove_file(dir.path().join("welcome.wav")).unwrap();
        touch_later(dir.path());
        assert_eq!(recordings.find("welcome", SpeechRate::Normal).await, None);
    }

    #[tokio::test]
    async fn no_folder_means_no_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let recordings = Recordings::new(&dir.path().join("missing"));
        assert_eq!(recordings.find("welcome", SpeechRate::Normal).await, None);
        std::fs::create_dir(dir.path().join("missing")).unwrap();
        std::fs::write(dir.path().join("missing/welcome.wav"), b"x").unwrap();
        assert!(recordings.find("welcome", SpeechRate::Normal).await.is_some());
    }

    fn touch_later(dir: &Path) {
        let later = std::fs::metadata(dir).unwrap().modified().unwrap() + std::time::Duration::from_secs(2);
        std::fs::File::open(dir).unwrap().set_modified(later).unwrap();
    }
}

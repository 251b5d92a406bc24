//! Personal data at rest: phone numbers, ID numbers and raw provider payloads.
//!
//! Two sub-keys are derived from `HOTLINE_DATA_KEY` with HKDF-SHA256: one encrypts values with
//! AES-256-GCM (random 96-bit nonce, stored as `version || nonce || ciphertext+tag`), the other
//! keys an HMAC-SHA256 "look-up hash" stored beside the ciphertext, so a caller can be found by
//! number without the number being readable in the database. The version byte leaves room for
//! key rotation.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the data key must be 64 hex characters (32 bytes)")]
    BadKey,
    #[error("stored ciphertext is damaged or was written with another key")]
    Decrypt,
    #[error("could not keep the development data key at {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
}

/// The keys for personal data. Cheap to clone; never printed.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
    lookup: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        let hk = Hkdf::<Sha256>::new(Some(b"hotline-data-key"), &master);
        let mut enc = [0u8; 32];
        let mut lookup = [0u8; 32];
        hk.expand(b"encrypt v1", &mut enc)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"lookup v1", &mut lookup)
            .expect("32 bytes is a valid HKDF length");
        Ok(Self {
            cipher: Aes256Gcm::new(&enc.into()),
            lookup,
        })
    }

    /// Development only: reads the key kept in `path`, or makes one and keeps it there (0600).
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let keep_err = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        if let Ok(existing) = std::fs::read_to_string(path) {
            return Self::from_hex(&existing);
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(keep_err)?;
        }
        write_private(path, &hex::encode(key)).map_err(keep_err)?;
        Self::from_hex(&hex::encode(key))
    }

    pub fn encrypt(&self, plain: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plain)
            .expect("AES-GCM encryption cannot fail for in-memory data");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, stored: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if stored.len() < 1 + NONCE_LEN || stored[0] != VERSION {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, sealed) = stored[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| CryptoError::Decrypt)
    }

    pub fn decrypt_string(&self, stored: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt(stored)?).map_err(|_| CryptoError::Decrypt)
    }

    /// Keyed hash for equality look-ups (hex). The same value always gives the same hash.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.lookup).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn round_trip_and_fresh_nonce() {
        let key = DataKey::from_hex(KEY).unwrap();
        let a = key.encrypt("+8613800138000".as_bytes());
        let b = key.encrypt("+8613800138000".as_bytes());
        assert_ne!(a, b, "each encryption uses a new nonce");
        assert!(!String::from_utf8_lossy(&a).contains("13800138000"));
        assert_eq!(key.decrypt_string(&a).unwrap(), "+8613800138000");
    }

    #[test]
    fn tampering_and_wrong_key_are_detected() {
        let key = DataKey::from_hex(KEY).unwrap();
        let mut sealed = key.encrypt(b"secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.decrypt(&sealed).is_err());
        let other = DataKey::from_hex(&KEY.replace("1f", "ff")).unwrap();
        assert!(other.decrypt(&key.encrypt(b"secret")).is_err());
    }

    #[test]
    fn lookup_hash_is_stable_and_keyed() {
        let key = DataKey::from_hex(KEY).unwrap();
        let other = DataKey::from_hex(&KEY.replace("00", "aa")).unwrap();
        assert_eq!(key.lookup_hash("x"), key.lookup_hash("x"));
        assert_ne!(key.lookup_hash("x"), key.lookup_hash("y"));
        assert_ne!(key.lookup_hash("x"), other.lookup_hash("x"));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(DataKey::from_hex("abc").is_err());
        assert!(DataKey::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn development_key_is_kept_between_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/dev-data-key");
        let first = DataKey::load_or_create(&path).unwrap();
        let second = DataKey::load_or_create(&path).unwrap();
        assert_eq!(first.lookup_hash("a"), second.lookup_hash("a"));
    }
}

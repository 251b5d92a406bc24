//! The optional second factor (RFC 6238 TOTP, the codes of any authenticator app: SHA-1, six
//! digits, 30-second steps), meant for supervisors and admins, who see a prefecture's or every
//! case. The secret is stored encrypted with the data key; a code is accepted for one step
//! either side of now, and never twice (the step accepted is remembered).

use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use crate::crypto::DataKey;

const STEP_SECS: u64 = 30;

/// A new secret for an account: what to store, and what the person enters in their app.
pub struct Enrolment {
    pub stored: Vec<u8>,
    /// The secret in base32, to type in.
    pub secret: String,
    /// `otpauth://totp/…`, for an app that reads a link or a QR code made from it.
    pub url: String,
}

fn totp(secret: Vec<u8>, username: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        secret,
        Some("12348".into()),
        username.into(),
    )
}

pub fn enrol(key: &DataKey, username: &str) -> Enrolment {
    let mut secret = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let t = totp(secret.to_vec(), username);
    Enrolment {
        stored: key.encrypt(&secret),
        secret: t.get_secret_base32(),
        url: t.get_url(),
    }
}

/// The time step of `now` (seconds since the epoch) a code belongs to, within one step either
/// side, if it is the account's code; None for a wrong or malformed code or a secret that
/// cannot be read.
pub fn step_of(key: &DataKey, stored: &[u8], username: &str, code: &str, now: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secret = key.decrypt(stored).ok()?;
    let t = totp(secret, username);
    let origin = now / STEP_SECS;
    (origin.saturating_sub(1)..=origin + 1).find(|&step| {
        let expected = t.generate(step * STEP_SECS);
        subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_hex(&"11".repeat(32)).unwrap()
    }

    #[test]
    fn a_code_is_accepted_for_its_step_and_the_ones_beside_it_only() {
        let key = key();
        let e = enrol(&key, "admin");
        assert!(e.url.starts_with("otpauth://totp/12348:admin?"), "{}", e.url);
        assert!(e.url.contains(&format!("secret={}", e.secret)), "{}", e.url);
        let secret = key.decrypt(&e.stored).unwrap();
        let now = 1_800_000_000;
        let code = totp(secret, "admin").generate(now);
        let step = now / STEP_SECS;
        assert_eq!(step_of(&key, &e.stored, "admin", &code, now), Some(step));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(step_of(&key, &e.stored, "admin", &spaced, now + 30), Some(step));
        let padded = format!(" {code}\t");
        assert_eq!(
            step_of(&key, &e.stored, "admin", &padded, now),
            Some(step),
            "spaces around it"
        );
        assert_eq!(step_of(&key, &e.stored, "admin", &code, now + 90), None, "too late");
        assert_eq!(step_of(&key, &e.stored, "admin", "12345", now), None);
        assert_eq!(step_of(&key, &e.stored, "admin", "abcdef", now), None);
        let other = enrol(&key, "admin");
        assert_eq!(
            step_of(&key, &other.stored, "admin", &code, now),
            None,
            "another secret"
        );
    }
}

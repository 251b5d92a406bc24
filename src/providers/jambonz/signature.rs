//! The `Jambonz-Signature` header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each `v1` is
//! HMAC-SHA256 of `<t>.<raw body>` under the application's webhook secret (as
//! `@jambonz/node-client`'s `WebhookResponse.verifyJambonzSignature` checks it). A signature
//! more than five minutes old, or from the future, is refused: it could only be a replay.
//!
//! jambonz signs the body alone, so the query of every hook URL the service gives out is sealed
//! too ([`Seal`]): a signed body posted to another turn's URL is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "Jambonz-Signature";
/// How old a signature may be (node-client's DEFAULT_TOLERANCE).
pub const TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Whether `header` signs `body` under `secret` at `now` (unix seconds).
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.extend(hex::decode(sig).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > TOLERANCE_SECS {
        return false;
    }
    signatures.iter().any(|sig| {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}

/// Seals the URLs the service hands out: `…&k=<tag>` over the whole URL before it.
#[derive(Clone)]
pub struct Seal {
    key: Vec<u8>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(<redacted>)")
    }
}

const TAG: &str = "k=";

impl Seal {
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"hotline url seal");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    fn tag(&self, url: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(url.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// `url` (which has a query) with its seal as the last parameter.
    pub fn seal(&self, url: &str) -> String {
        format!("{url}&{TAG}{}", self.tag(url))
    }

    /// Whether the URL ends with the seal of everything before it.
    pub fn holds(&self, url: &str) -> bool {
        url.rsplit_once(&format!("&{TAG}")).is_some_and(|(sealed, tag)| {
            let expected = self.tag(sealed);
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), tag.as_bytes()).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, body: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_holds_for_its_body_secret_and_time_only() {
        let body = r#"{"call_sid":"a"}"#;
        let header = sign("s3cret", 1_000, body);
        assert!(verify(b"s3cret", &header, body.as_bytes(), 1_000 + TOLERANCE_SECS));
        assert!(!verify(b"s3cret", &header, body.as_bytes(), 1_000 + TOLERANCE_SECS + 1));
        assert!(!verify(b"s3cret", &header, body.as_bytes(), 1_000 - TOLERANCE_SECS - 1));
        assert!(!verify(b"other", &header, body.as_bytes(), 1_000));
        assert!(!verify(b"s3cret", &header, br#"{"call_sid":"b"}"#, 1_000));
        assert!(!verify(b"s3cret", "v1=00", body.as_bytes(), 1_000));
        // A rotated secret: any of several signatures may match.
        let both = format!("{},v1=00ff", sign("s3cret", 1_000, body));
        assert!(verify(b"s3cret", &both, body.as_bytes(), 1_000));
    }

    #[test]
    fn a_seal_holds_for_its_url_only() {
        let seal = Seal::new(b"s3cret");
        let url = seal.seal("https://h.example/jambonz/voice/menu?turn=3");
        assert!(seal.holds(&url));
        assert!(!seal.holds(&url.replace("turn=3", "turn=4")));
        assert!(!Seal::new(b"other").holds(&url));
        assert!(!seal.holds("https://h.example/jambonz/voice/menu?turn=3"));
    }
}

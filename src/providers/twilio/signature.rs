//! `X-Twilio-Signature` checking.
//!
//! The signature is base64(HMAC(auth token, URL + each form parameter's name and value, names
//! sorted)). Repeated names contribute each distinct value, values sorted. JSON bodies are not
//! signed themselves: the URL carries `bodySHA256=<hex sha256(body)>` and only the URL is signed.
//! Accounts may sign with HMAC-SHA1 (20-byte signature) or HMAC-SHA256 (32 bytes); the decoded
//! length tells which. Like Twilio's own validators we also try the URL with the default port
//! added or removed, since proxies differ on whether they keep it.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Checks signatures with one account's auth token.
#[derive(Clone)]
pub struct Validator {
    token: Vec<u8>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validator(<token redacted>)")
    }
}

impl Validator {
    pub fn new(auth_token: &str) -> Self {
        Self {
            token: auth_token.as_bytes().to_vec(),
        }
    }

    /// A form-encoded webhook: `params` as decoded from the body, in any order.
    pub fn validate_form(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        if self.token.is_empty() {
            return false;
        }
        url_variants(url)
            .iter()
            .any(|u| self.matches(&signing_string(u, params), signature))
    }

    /// A JSON webhook: the URL must carry the body's SHA-256 and the URL alone is signed.
    pub fn validate_json(&self, url: &str, body: &[u8], signature: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        let Some(claimed) = parsed.query_pairs().find(|(k, _)| k == "bodySHA256").map(|(_, v)| v) else {
            return false;
        };
        let actual = hex::encode(Sha256::digest(body));
        if !bool::from(actual.as_bytes().ct_eq(claimed.to_ascii_lowercase().as_bytes())) {
            return false;
        }
        self.validate_form(url, &[], signature)
    }

    fn matches(&self, data: &str, signature: &str) -> bool {
        let Ok(given) = BASE64.decode(signature.trim()) else {
            return false;
        };
        let expected = match given.len() {
            20 => hmac_sha1(&self.token, data),
            32 => hmac_sha256(&self.token, data),
            _ => return false,
        };
        bool::from(expected.as_slice().ct_eq(&given))
    }

    /// The signature a provider would send; used by tools and the test harness.
    pub fn sign_form(&self, url: &str, params: &[(String, String)]) -> String {
        BASE64.encode(hmac_sha1(&self.token, &signing_string(url, params)))
    }
}

fn hmac_sha1(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn signing_string(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.sort_unstable();
    pairs.dedup();
    let mut out = String::from(url);
    for (k, v) in pairs {
        out.push_str(k);
        out.push_str(v);
    }
    out
}

/// The URL as given, and with its scheme's default port added or removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return variants,
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if let Some(bare) = authority.strip_suffix(default_port) {
        variants.push(format!("{scheme}://{bare}{tail}"));
    } else if !has_port {
        variants.push(format!("{scheme}://{authority}{default_port}{tail}"));
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn golden_params() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA123"),
            ("From", "+15551230000"),
            ("To", "+15559870000"),
            ("Digits", "1"),
            ("SpeechResult", "我需要律师"),
        ])
    }

    const GOLDEN_URL: &str = "https://hotline.example.org/voice/gather?lang=zh";
    const GOLDEN_SIG: &str = "wrwYVTJ5EuSXlqW+MAm+IsiEyGc=";

    #[test]
    fn golden_vector_from_the_official_library_is_accepted() {
        let v = Validator::new("12345");
        assert!(v.validate_form(GOLDEN_URL, &golden_params(), GOLDEN_SIG));
        assert_eq!(v.sign_form(GOLDEN_URL, &golden_params()), GOLDEN_SIG);
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let v = Validator::new("12345");
        let mut params = golden_params();
        params[3].1 = "2".into();
        assert!(!v.validate_form(GOLDEN_URL, &params, GOLDEN_SIG));
        assert!(!v.validate_form(
            "https://hotline.example.org/voice/gather?lang=en",
            &golden_params(),
            GOLDEN_SIG
        ));
        assert!(!Validator::new("54321").validate_form(GOLDEN_URL, &golden_params(), GOLDEN_SIG));
        assert!(!Validator::new("").validate_form(GOLDEN_URL, &golden_params(), GOLDEN_SIG));
        assert!(!v.validate_form(GOLDEN_URL, &golden_params(), "not base64!"));
    }

    #[test]
    fn default_port_is_optional_either_way() {
        let v = Validator::new("12345");
        let with_port = "https://hotline.example.org:443/voice/gather?lang=zh";
        let sig_with_port = v.sign_form(with_port, &golden_params());
        assert!(v.validate_form(GOLDEN_URL, &golden_params(), &sig_with_port));
        assert!(v.validate_form(with_port, &golden_params(), GOLDEN_SIG));
        let other_port = "https://hotline.example.org:8443/voice/gather?lang=zh";
        assert!(!v.validate_form(other_port, &golden_params(), GOLDEN_SIG));
    }

    #[test]
    fn repeated_keys_use_distinct_sorted_values() {
        let v = Validator::new("tok");
        let url = "https://h.example.org/x";
        let params = p(&[("Event", "b"), ("Event", "a"), ("Event", "b"), ("A", "1")]);
        let expected = BASE64.encode(hmac_sha1(b"tok", "https://h.example.org/xA1EventaEventb"));
        assert!(v.validate_form(url, &params, &expected));
    }

    #[test]
    fn hmac_sha256_signatures_are_accepted() {
        let v = Validator::new("12345");
        let data = signing_string(GOLDEN_URL, &golden_params());
        let sig = BASE64.encode(hmac_sha256(b"12345", &data));
        assert!(v.validate_form(GOLDEN_URL, &golden_params(), &sig));
    }

    #[test]
    fn json_bodies_are_checked_through_body_sha256() {
        let v = Validator::new("12345");
        let body = br#"{"CallSid":"CA123"}"#;
        let url = format!(
            "https://h.example.org/json?bodySHA256={}",
            hex::encode(Sha256::digest(body))
        );
        let sig = v.sign_form(&url, &[]);
        assert!(v.validate_json(&url, body, &sig));
        assert!(!v.validate_json(&url, br#"{"CallSid":"CA999"}"#, &sig));
        assert!(!v.validate_json(
            "https://h.example.org/json",
            body,
            &v.sign_form("https://h.example.org/json", &[])
        ));
    }
}

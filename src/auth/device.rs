//! Device cookies (OWASP's defence against lock-outs): a browser that signs into an account is
//! given a cookie that names it as a device of that account, a random id with a keyed tag over
//! the account's user name and the id. Its failed attempts then count against the device alone
//! (see [`super::limit`]). The tag uses the data key's look-up hash, shared by every instance.

use crate::crypto::DataKey;

pub const COOKIE: &str = "hotline_device";
/// A year.
pub const MAX_AGE_SECS: u64 = 365 * 24 * 3600;

/// A new device cookie value for `username`.
pub fn issue(key: &DataKey, username: &str) -> String {
    let id = &super::secret::new_secret()[..32];
    format!("{id}.{}", tag(key, username, id))
}

/// The device's id when `value` is a device cookie issued for `username`.
pub fn recognise<'a>(key: &DataKey, username: &str, value: &'a str) -> Option<&'a str> {
    let (id, given) = value.split_once('.')?;
    let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && super::secret::same(&tag(key, username, id), given)).then_some(id)
}

fn tag(key: &DataKey, username: &str, id: &str) -> String {
    key.lookup_hash(&format!("login-device\0{username}\0{id}"))[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_cookie_holds_only_for_its_account_and_key() {
        let key = DataKey::from_hex(&"11".repeat(32)).unwrap();
        let cookie = issue(&key, "zhang");
        let id = recognise(&key, "zhang", &cookie).expect("its own account");
        assert_eq!(id.len(), 32);
        assert_eq!(recognise(&key, "lihua", &cookie), None, "another account");
        let other_key = DataKey::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(recognise(&other_key, "zhang", &cookie), None, "another key");
        let forged = format!("{}.{}", "0".repeat(32), "0".repeat(32));
        assert_eq!(recognise(&key, "zhang", &forged), None);
        assert_eq!(recognise(&key, "zhang", "garbage"), None);
        assert_ne!(issue(&key, "zhang"), cookie, "each sign-in a new device id");
    }
}

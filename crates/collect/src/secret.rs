//! Source credentials at rest: sealed with XChaCha20-Poly1305 under the platform's secret
//! key (configuration `secret_key`, 32 bytes in base64). A sealed value is
//! `v1:` + base64(nonce ‖ ciphertext); it is opened only to connect, never shown or logged.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The key that seals source credentials.
#[derive(Clone)]
pub struct SecretKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("secret_key must be 32 bytes in base64 (generate one with `datahall secret-key`)")]
    BadKey,
    #[error(
        "a stored credential cannot be opened: it was sealed with another secret_key or altered"
    )]
    CannotOpen,
}

impl SecretKey {
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self(XChaCha20Poly1305::new(&key.into())))
    }

    /// A new random key, base64.
    pub fn generate() -> String {
        STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// A key for another purpose, derived from this one: the first 32 bytes of the
    /// keystream under a nonce naming the purpose (distinct purposes, independent keys).
    /// Lets one configured secret serve several uses without reusing a key across them.
    pub fn derive(&self, purpose: &str) -> SecretKey {
        Self(XChaCha20Poly1305::new(&self.derive_bytes(purpose).into()))
    }

    /// 32 key bytes for another purpose (an HMAC key), derived as [`SecretKey::derive`]
    /// derives a key.
    pub fn derive_bytes(&self, purpose: &str) -> [u8; 32] {
        let mut nonce = [0u8; 24];
        for (slot, byte) in nonce.iter_mut().zip(purpose.bytes()) {
            *slot = byte;
        }
        let stream = self
            .0
            .encrypt(XNonce::from_slice(&nonce), [0u8; 32].as_slice())
            .expect("XChaCha20-Poly1305 encrypts 32 bytes");
        stream[..32]
            .try_into()
            .expect("the ciphertext of 32 bytes holds 32 bytes")
    }

    /// The keys that seal the platform's logs and hash data subjects.
    pub fn store_keys(&self) -> store::Keys {
        store::Keys {
            seal: Some(self.derive_bytes("datahall log seal")),
            subjects: Some(self.derive_bytes("datahall subjects")),
        }
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, plain.as_bytes())
            .expect("XChaCha20-Poly1305 encrypts any length this side of 256 GiB");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("v1:{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let bytes = sealed
            .strip_prefix("v1:")
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 24)
            .ok_or(SecretError::CannotOpen)?;
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::CannotOpen)?;
        String::from_utf8(plain).map_err(|_| SecretError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_with_a_fresh_nonce_and_refuses_another_key_or_tampering() {
        let key = SecretKey::from_base64(&SecretKey::generate()).unwrap();
        let url = "mysql://reader:s3cret@10.1.2.3:3306/hr";
        let (one, two) = (key.seal(url), key.seal(url));
        assert_ne!(one, two, "each seal has its own nonce");
        assert!(!one.contains("s3cret"));
        assert_eq!(key.open(&one).unwrap(), url);
        let other = SecretKey::from_base64(&SecretKey::generate()).unwrap();
        assert_eq!(other.open(&one), Err(SecretError::CannotOpen));
        let mut tampered = one.clone();
        tampered.replace_range(10..11, if &one[10..11] == "A" { "B" } else { "A" });
        assert_eq!(key.open(&tampered), Err(SecretError::CannotOpen));
        assert_eq!(
            SecretKey::from_base64("c2hvcnQ=").err(),
            Some(SecretError::BadKey)
        );
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}

//! Ed25519 keys and their files.

use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Manufacturer,
    IssuingBody,
    Lab,
    /// A network operator signing field reports for a registry.
    Provider,
}

impl std::fmt::Display for Role {
    /// In plain words: `manufacturer`, `issuing body`, `lab`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Manufacturer => "manufacturer",
            Role::IssuingBody => "issuing body",
            Role::Lab => "lab",
            Role::Provider => "provider",
        })
    }
}

/// The public half of a key, as written to `NAME.pub.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKey {
    pub keyid: String,
    pub role: Role,
    pub name: String,
    pub algorithm: String,
    /// Ed25519 public key, base64.
    pub public: String,
}

/// A signing key, as written to `NAME.key.json` (keep it secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    #[serde(flatten)]
    pub public: PublicKey,
    /// Ed25519 secret key seed, base64.
    pub secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error("key `{0}`: not valid base64 of a 32-byte Ed25519 key")]
    Encoding(String),
    #[error("key `{keyid}`: its key id does not match its public key")]
    KeyId { keyid: String },
    #[error("key `{keyid}`: algorithm `{algorithm}` is not supported (only ed25519)")]
    Algorithm { keyid: String, algorithm: String },
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// Hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Key id: the first 16 bytes of SHA-256 of the public key, hex.
pub fn keyid(public: &[u8; 32]) -> String {
    let d = Sha256::digest(public);
    hex(&d[..16])
}

fn decode32(keyid: &str, s: &str) -> Result<[u8; 32], KeyError> {
    let v = b64()
        .decode(s)
        .map_err(|_| KeyError::Encoding(keyid.to_string()))?;
    v.try_into()
        .map_err(|_| KeyError::Encoding(keyid.to_string()))
}

impl Key {
    /// A new random key.
    pub fn generate(role: Role, name: &str) -> Result<Key, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Key::from_seed(role, name, seed))
    }

    /// A key from a 32-byte seed (deterministic; for tests and key import).
    pub fn from_seed(role: Role, name: &str, seed: [u8; 32]) -> Key {
        let sk = SigningKey::from_bytes(&seed);
        let pk = sk.verifying_key().to_bytes();
        Key {
            public: PublicKey {
                keyid: keyid(&pk),
                role,
                name: name.to_string(),
                algorithm: "ed25519".into(),
                public: b64().encode(pk),
            },
            secret: b64().encode(seed),
        }
    }

    pub fn signing_key(&self) -> Result<SigningKey, KeyError> {
        Ok(SigningKey::from_bytes(&decode32(
            &self.public.keyid,
            &self.secret,
        )?))
    }
}

impl PublicKey {
    /// The verifying key, after checking algorithm and key id.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        if self.algorithm != "ed25519" {
            return Err(KeyError::Algorithm {
                keyid: self.keyid.clone(),
                algorithm: self.algorithm.clone(),
            });
        }
        let bytes = decode32(&self.keyid, &self.public)?;
        if keyid(&bytes) != self.keyid {
            return Err(KeyError::KeyId {
                keyid: self.keyid.clone(),
            });
        }
        VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Encoding(self.keyid.clone()))
    }
}

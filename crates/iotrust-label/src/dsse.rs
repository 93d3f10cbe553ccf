//! in-toto Statement v1 in a DSSE v1 envelope, signed with Ed25519.
//!
//! The signature covers the DSSE pre-authentication encoding
//! `"DSSEv1" SP len(type) SP type SP len(body) SP body` (lengths in ASCII decimal), so the
//! payload type cannot be swapped and the payload cannot change without breaking it.

use std::collections::BTreeMap;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::document::LabelDocument;
use crate::keys::{hex, Key, KeyError, PublicKey, Role};

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const PREDICATE_TYPE: &str = "https://iotrust.dev/label/v1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sig {
    pub keyid: String,
    /// Ed25519 signature over the PAE, base64.
    pub sig: String,
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The in-toto Statement, base64.
    pub payload: String,
    pub signatures: Vec<Sig>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: LabelDocument,
}

/// Why a label does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("malformed label: {0}")]
    Malformed(String),
    #[error("the label carries no signature")]
    NoSignature,
    #[error("signature by key `{keyid}` does not match the content: the label was altered after signing")]
    Tampered { keyid: String },
    #[error("no signature by a trusted key (signed by: {})", keyids.join(", "))]
    UnknownKey { keyids: Vec<String> },
    #[error("the label expired on {valid_until} (checked on {today})")]
    Expired { valid_until: Date, today: Date },
    #[error("the label is not valid before {issued} (checked on {today})")]
    NotYetValid { issued: Date, today: Date },
    #[error("trusted key `{0}` is unusable: {1}")]
    BadKey(String, String),
}

/// Who signed a verified label.
#[derive(Clone, Debug, Serialize)]
pub struct SignedBy {
    pub keyid: String,
    pub role: Role,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Verified {
    pub document: LabelDocument,
    pub subject: Vec<String>,
    /// The SHA-256 digest (hex) of each subject, in the same order, where it has one.
    pub subject_sha256: Vec<Option<String>>,
    pub signers: Vec<SignedBy>,
    /// Signatures by keys the verifier does not trust (not counted, reported).
    pub untrusted: Vec<String>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// An unsigned envelope around `doc`, whose subject is the assessed profile (its bytes hashed).
pub fn envelope(
    doc: &LabelDocument,
    subject_name: &str,
    subject_bytes: &[u8],
) -> Result<Envelope, serde_json::Error> {
    use sha2::Digest as _;
    let digest = hex(&sha2::Sha256::digest(subject_bytes));
    let statement = Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject: vec![Subject {
            name: subject_name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), digest)]),
        }],
        predicate_type: PREDICATE_TYPE.into(),
        predicate: doc.clone(),
    };
    let body = serde_json::to_vec(&statement)?;
    Ok(Envelope {
        payload_type: PAYLOAD_TYPE.into(),
        payload: b64().encode(body),
        signatures: Vec::new(),
    })
}

/// An unsigned envelope around any payload (a field report, an attestation) of `payload_type`.
pub fn envelope_of(payload_type: &str, body: &[u8]) -> Envelope {
    Envelope {
        payload_type: payload_type.to_string(),
        payload: b64().encode(body),
        signatures: Vec::new(),
    }
}

/// A payload whose signatures verified.
#[derive(Clone, Debug)]
pub struct VerifiedPayload {
    pub body: Vec<u8>,
    pub signers: Vec<SignedBy>,
    /// Signatures by keys the verifier does not trust (not counted, reported).
    pub untrusted: Vec<String>,
}

/// Verify the signatures of an envelope of `payload_type` against `trusted` keys: at least one
/// trusted signature, and every trusted signature valid. Says nothing about what the payload
/// means (the caller parses `body`).
pub fn verify_payload(
    env: &Envelope,
    payload_type: &str,
    trusted: &[PublicKey],
) -> Result<VerifiedPayload, VerifyError> {
    if env.payload_type != payload_type {
        return Err(VerifyError::Malformed(format!(
            "payloadType `{}` (expected `{payload_type}`)",
            env.payload_type
        )));
    }
    let body = b64()
        .decode(&env.payload)
        .map_err(|_| VerifyError::Malformed("payload is not base64".into()))?;
    if env.signatures.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    let msg = pae(&env.payload_type, &body);
    let mut signers = Vec::new();
    let mut untrusted = Vec::new();
    for s in &env.signatures {
        let Some(pk) = trusted.iter().find(|k| k.keyid == s.keyid) else {
            untrusted.push(s.keyid.clone());
            continue;
        };
        let vk = pk
            .verifying_key()
            .map_err(|e| VerifyError::BadKey(pk.keyid.clone(), e.to_string()))?;
        let raw = b64().decode(&s.sig).map_err(|_| VerifyError::Tampered {
            keyid: s.keyid.clone(),
        })?;
        let sig = Signature::from_slice(&raw).map_err(|_| VerifyError::Tampered {
            keyid: s.keyid.clone(),
        })?;
        vk.verify_strict(&msg, &sig)
            .map_err(|_| VerifyError::Tampered {
                keyid: s.keyid.clone(),
            })?;
        signers.push(SignedBy {
            keyid: pk.keyid.clone(),
            role: pk.role,
            name: pk.name.clone(),
        });
    }
    if signers.is_empty() {
        return Err(VerifyError::UnknownKey { keyids: untrusted });
    }
    Ok(VerifiedPayload {
        body,
        signers,
        untrusted,
    })
}

/// Add (or replace) the signature of `key`.
pub fn sign(env: &mut Envelope, key: &Key) -> Result<(), VerifyError> {
    let body = b64()
        .decode(&env.payload)
        .map_err(|_| VerifyError::Malformed("payload is not base64".into()))?;
    let sk = key
        .signing_key()
        .map_err(|e: KeyError| VerifyError::BadKey(key.public.keyid.clone(), e.to_string()))?;
    let sig: Signature = sk.sign(&pae(&env.payload_type, &body));
    env.signatures.retain(|s| s.keyid != key.public.keyid);
    env.signatures.push(Sig {
        keyid: key.public.keyid.clone(),
        sig: b64().encode(sig.to_bytes()),
    });
    Ok(())
}

/// The statement inside an envelope, without checking signatures (for `label show`).
pub fn statement(env: &Envelope) -> Result<Statement, VerifyError> {
    if env.payload_type != PAYLOAD_TYPE {
        return Err(VerifyError::Malformed(format!(
            "payloadType `{}` (expected `{PAYLOAD_TYPE}`)",
            env.payload_type
        )));
    }
    let body = b64()
        .decode(&env.payload)
        .map_err(|_| VerifyError::Malformed("payload is not base64".into()))?;
    let st: Statement = serde_json::from_slice(&body)
        .map_err(|e| VerifyError::Malformed(format!("statement: {e}")))?;
    if st.statement_type != STATEMENT_TYPE || st.predicate_type != PREDICATE_TYPE {
        return Err(VerifyError::Malformed(format!(
            "not an iotrust label statement (`{}`, `{}`)",
            st.statement_type, st.predicate_type
        )));
    }
    if st.subject.is_empty() || st.subject.iter().any(|s| s.digest.is_empty()) {
        return Err(VerifyError::Malformed(
            "every subject needs a digest".into(),
        ));
    }
    Ok(st)
}

/// Verify signatures against `trusted` keys and validity on `today`.
pub fn verify(env: &Envelope, trusted: &[PublicKey], today: Date) -> Result<Verified, VerifyError> {
    let st = statement(env)?;
    let VerifiedPayload {
        signers, untrusted, ..
    } = verify_payload(env, PAYLOAD_TYPE, trusted)?;
    let doc = st.predicate;
    if doc.valid_until < today {
        return Err(VerifyError::Expired {
            valid_until: doc.valid_until,
            today,
        });
    }
    if doc.issued > today {
        return Err(VerifyError::NotYetValid {
            issued: doc.issued,
            today,
        });
    }
    Ok(Verified {
        subject_sha256: st
            .subject
            .iter()
            .map(|s| s.digest.get("sha256").cloned())
            .collect(),
        subject: st.subject.into_iter().map(|s| s.name).collect(),
        document: doc,
        signers,
        untrusted,
    })
}

//! The detached CMS (RFC 5652) signature of a MUD file (RFC 8520 section 13), verified against
//! a trust anchor with the OpenSSL bindings: RustCrypto's `cms` crate parses SignedData but
//! has no verification, and hand-written signature checking is what a maintained library is for.

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkcs7::Pkcs7;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509PurposeId, X509};

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    /// The signature is good and the chain valid at the date checked.
    Valid,
    /// The signature is good over the file, but a certificate of the chain is not valid at
    /// the date checked (expired, or not yet valid).
    Expired { detail: String },
    /// The signature does not match the file (or is not a signature by the chain).
    Bad { detail: String },
    /// The signature is not by a certificate that chains to the trust anchor.
    Untrusted { detail: String },
}

impl SignatureStatus {
    pub fn ok(&self) -> bool {
        matches!(self, SignatureStatus::Valid)
    }
}

/// The signature or trust anchor could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is not a DER CMS SignedData: {0}")]
    NotCms(String),
    #[error("trust anchor is not a PEM certificate: {0}")]
    BadCa(String),
    #[error("openssl: {0}")]
    Openssl(String),
}

fn os(e: openssl::error::ErrorStack) -> SignatureError {
    SignatureError::Openssl(e.to_string())
}

/// One attempt; `Err` carries OpenSSL's reason.
fn attempt(
    content: &[u8],
    sig: &[u8],
    cas: &[X509],
    at: i64,
    no_time: bool,
) -> Result<Result<(), String>, SignatureError> {
    let mut cms =
        CmsContentInfo::from_der(sig).map_err(|e| SignatureError::NotCms(e.to_string()))?;
    let mut store = X509StoreBuilder::new().map_err(os)?;
    for ca in cas {
        store.add_cert(ca.clone()).map_err(os)?;
    }
    let mut param = X509VerifyParam::new().map_err(os)?;
    // MUD signer certificates carry no S/MIME purpose; RFC 8520 asks only that they chain.
    param.set_purpose(X509PurposeId::ANY).map_err(os)?;
    if no_time {
        param
            .set_flags(X509VerifyFlags::NO_CHECK_TIME)
            .map_err(os)?;
    } else {
        param.set_time(at as _);
    }
    store.set_param(&param).map_err(os)?;
    let store = store.build();
    Ok(cms
        .verify(None, Some(&store), Some(content), None, CMSOptions::BINARY)
        .map_err(|e| e.to_string()))
}

/// The validity periods of the certificates in the signature and the anchors, for reports.
fn validity(sig: &[u8], cas: &[X509]) -> Vec<String> {
    let mut out = Vec::new();
    let mut certs: Vec<X509> = Vec::new();
    if let Ok(p7) = Pkcs7::from_der(sig) {
        if let Some(s) = p7.signed().and_then(|s| s.certificates()) {
            certs.extend(s.iter().map(|c| c.to_owned()));
        }
    }
    certs.extend(cas.iter().cloned());
    for c in certs {
        let subject: Vec<String> = c
            .subject_name()
            .entries()
            .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            .collect();
        out.push(format!(
            "`{}` valid {} to {}",
            subject.join(", "),
            c.not_before(),
            c.not_after()
        ));
    }
    out
}

/// Verify the detached signature `sig` (DER) over `content` against the PEM trust anchors
/// `ca_pem`, at `at` (seconds since the epoch; a caller passes now, or `--as-of`).
pub fn verify(
    content: &[u8],
    sig: &[u8],
    ca_pem: &[u8],
    at: i64,
) -> Result<SignatureStatus, SignatureError> {
    let cas = X509::stack_from_pem(ca_pem).map_err(|e| SignatureError::BadCa(e.to_string()))?;
    if cas.is_empty() {
        return Err(SignatureError::BadCa("no certificate in the file".into()));
    }
    match attempt(content, sig, &cas, at, false)? {
        Ok(()) => Ok(SignatureStatus::Valid),
        Err(first) => match attempt(content, sig, &cas, at, true)? {
            // Good without the time check: only the dates fail.
            Ok(()) => Ok(SignatureStatus::Expired {
                detail: format!("{}; {first}", validity(sig, &cas).join("; ")),
            }),
            Err(e)
                if e.contains("content verify error")
                    || e.contains("digest")
                    || e.contains("signature failure")
                    || e.contains("verification failure") =>
            {
                Ok(SignatureStatus::Bad { detail: e })
            }
            Err(e) => Ok(SignatureStatus::Untrusted { detail: e }),
        },
    }
}

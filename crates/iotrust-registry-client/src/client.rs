//! A blocking client of a registry's API (`iotrust serve`): what `iotrust label submit` and
//! `iotrust watch --registry` use. One call per operation; a refusal comes back as
//! [`ClientError::Refused`] with the registry's status and reason, and
//! [`ClientError::retryable`] tells a queue whether to try again later.

use std::time::Duration;

use iotrust_label::Envelope;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{Acknowledgement, EvidenceFile, FieldReceipt, Submission, Submitted};

/// Why a call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: connection refused, timeout, TLS.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The registry answered with an error status.
    #[error("{url}: {status}: {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    /// The registry answered something that is not the expected JSON.
    #[error("{url}: unexpected answer: {message}")]
    Answer { url: String, message: String },
}

impl ClientError {
    /// Worth trying again later: no answer, rate limited, or a server error. A refusal
    /// (4xx) is final: sending the same request again gets the same answer.
    pub fn retryable(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Refused { status, .. } => *status == 429 || *status >= 500,
            ClientError::Answer { .. } => false,
        }
    }

    /// The HTTP status, if the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A registry at `base` (e.g. `http://127.0.0.1:8080`), called with one bearer token.
#[derive(Clone)]
pub struct RegistryClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never print the token
        f.debug_struct("RegistryClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client with a 60-second timeout per call.
    pub fn new(base: &str, token: &str) -> RegistryClient {
        RegistryClient::with_timeout(base, token, Duration::from_secs(60))
    }

    pub fn with_timeout(base: &str, token: &str, timeout: Duration) -> RegistryClient {
        RegistryClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .build()
                .into(),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(u16, T), ClientError> {
        let url = format!("{}{path}", self.base);
        let text = serde_json::to_string(body).map_err(|e| ClientError::Answer {
            url: url.clone(),
            message: format!("request: {e}"),
        })?;
        let mut res = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .header("authorization", &format!("Bearer {}", self.token))
            .send(text)
            .map_err(|e| ClientError::Transport {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let status = res.status().as_u16();
        let reply = res
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::Transport {
                url: url.clone(),
                message: e.to_string(),
            })?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&reply)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| "(no reason given)".into());
            return Err(ClientError::Refused {
                url,
                status,
                message,
            });
        }
        let v = serde_json::from_str(&reply).map_err(|e| ClientError::Answer {
            url,
            message: e.to_string(),
        })?;
        Ok((status, v))
    }

    /// `POST /api/v1/labels` with a manufacturer's token.
    pub fn submit_label(&self, sub: &Submission) -> Result<Submitted, ClientError> {
        Ok(self.post("/api/v1/labels", sub)?.1)
    }

    /// `POST /api/v1/field-reports` with a provider's token: a report signed with
    /// [`FieldReport::sign`].
    pub fn field_report(&self, signed: &Envelope) -> Result<FieldReceipt, ClientError> {
        Ok(self.post("/api/v1/field-reports", signed)?.1)
    }

    /// `POST /api/v1/products/{id}/evidence` with a lab's token.
    pub fn lab_evidence(
        &self,
        product: &str,
        evidence: &EvidenceFile,
    ) -> Result<serde_json::Value, ClientError> {
        Ok(self
            .post(
                &format!("/api/v1/products/{}/evidence", path_segment(product)),
                evidence,
            )?
            .1)
    }

    /// `POST /api/v1/products/{id}/field/ack` with the product's manufacturer's token.
    pub fn acknowledge(
        &self,
        product: &str,
        ack: &Acknowledgement,
    ) -> Result<serde_json::Value, ClientError> {
        Ok(self
            .post(
                &format!("/api/v1/products/{}/field/ack", path_segment(product)),
                ack,
            )?
            .1)
    }
}

/// Percent-encode a path segment.
fn path_segment(s: &str) -> String {
    use std::fmt::Write as _;
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(b));
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

//! Fuzz entry point: whatever bytes arrive as a label (a file, a registry request) must be
//! refused with a reason or verified — never a panic.

use crate::{verify, Envelope, Key, Role};

/// Parse `data` as a DSSE envelope, then decode its statement and verify it against a fixed key.
pub fn envelope_json(data: &[u8]) {
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return;
    };
    let _ = crate::dsse::statement(&env);
    let key = Key::from_seed(Role::IssuingBody, "fuzz", [1; 32]);
    let today = jiff::civil::date(2026, 11, 22);
    let _ = verify(&env, &[key.public], today);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_envelopes_do_not_panic() {
        for input in [
            &b""[..],
            b"{}",
            b"{\"payloadType\":\"x\",\"payload\":\"%%%\",\"signatures\":[]}",
            b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"e30=\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"AAAA\"}]}",
            b"{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"W10=\",\"signatures\":[{\"keyid\":\"00\",\"sig\":\"\"}]}",
        ] {
            super::envelope_json(input);
        }
    }
}

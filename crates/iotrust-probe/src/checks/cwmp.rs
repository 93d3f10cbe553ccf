//! The Broadband Forum's CPE management services, recognised by what they answer rather than
//! by port: a TR-064 device description (`/tr64desc.xml`, a `urn:dslforum-org` device) is
//! TR-064 wherever it is served (FRITZ!Box routers serve it on 49000; the 2016 Mirai variant
//! hit it on 7547). A TR-069 connection-request server cannot be told apart from another
//! Digest-protected web server without the ACS's credentials (TR-069 §3.2.2: it answers only an
//! authenticated GET), so port 7547 answering HTTP stays a finding by port alone, and says so.

use crate::context::{Ctx, Endpoint};
use crate::protocols::http;

/// How a CPE management service was recognised on an HTTP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cwmp {
    /// A TR-064 device description answered.
    Tr064Description,
    /// Port 7547 answers HTTP, and nothing more can be seen without credentials.
    ConnectionRequestPort,
}

/// Whether this answer is a TR-064 device description.
pub(crate) fn is_tr064_description(r: &http::Response) -> bool {
    r.status == 200
        && r.text()
            .to_ascii_lowercase()
            .contains("urn:dslforum-org:device")
}

/// Look for a CPE management service on an HTTP endpoint (one GET, which changes nothing).
pub(crate) async fn recognise(ctx: &Ctx, ep: Endpoint) -> Option<Cwmp> {
    let req = http::request("GET", "/tr64desc.xml", &ep.addr.to_string(), &[], None);
    if let Ok(r) = ctx.http_exchange(ep, &req, false).await {
        if is_tr064_description(&r) {
            return Some(Cwmp::Tr064Description);
        }
    }
    (ep.addr.port() == 7547).then_some(Cwmp::ConnectionRequestPort)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> http::Response {
        let raw = text.replace('\n', "\r\n");
        match http::parse_response(raw.as_bytes(), true, false) {
            Ok(Some(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_tr064_description_is_recognised_and_other_answers_are_not() {
        let body = "<root><device><deviceType>urn:dslforum-org:device:InternetGatewayDevice:1</deviceType></device></root>";
        let yes = answer(&format!(
            "HTTP/1.1 200 OK\nContent-Type: text/xml\nContent-Length: {}\n\n{body}",
            body.len()
        ));
        assert!(is_tr064_description(&yes));
        let igd = "<root><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType></device></root>";
        let upnp = answer(&format!(
            "HTTP/1.1 200 OK\nContent-Length: {}\n\n{igd}",
            igd.len()
        ));
        assert!(!is_tr064_description(&upnp));
        let denied = answer("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Digest realm=\"x\", nonce=\"1\"\nContent-Length: 0\n\n");
        assert!(!is_tr064_description(&denied));
    }
}

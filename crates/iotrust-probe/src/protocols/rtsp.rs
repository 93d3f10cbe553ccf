//! RTSP/1.0 (RFC 2326) requests; responses and authentication challenges use the HTTP
//! parser ([`super::http`]).

use super::http::Challenge;

/// Stream paths common on IP cameras and recorders, tried with DESCRIBE.
pub const COMMON_PATHS: &[&str] = &[
    "",
    "live",
    "live.sdp",
    "stream1",
    "h264",
    "11",
    "ch0_0.h264",
    "Streaming/Channels/101",
    "cam/realmonitor?channel=1&subtype=0",
    "videoMain",
    "media/video1",
    "live/ch00_0",
];

/// OPTIONS request.
pub fn options(url: &str, cseq: u32) -> Vec<u8> {
    format!("OPTIONS {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: iotrust-probe\r\n\r\n")
        .into_bytes()
}

/// DESCRIBE request, optionally with an Authorization header.
pub fn describe(url: &str, cseq: u32, authorization: Option<&str>) -> Vec<u8> {
    let mut s = format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: iotrust-probe\r\n");
    if let Some(a) = authorization {
        s.push_str(&format!("Authorization: {a}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// The Authorization value answering an RTSP Digest challenge for DESCRIBE of `url` (RFC 2617
/// MD5, as cameras use it: the request URI is the whole `rtsp://` URL; `qop=auth` when the
/// camera offers it, the RFC 2069 form otherwise). None for other algorithms.
pub fn digest_authorization(
    challenge: &Challenge,
    url: &str,
    user: &str,
    password: &str,
    cnonce: u64,
) -> Option<String> {
    super::http::digest_authorization(
        challenge,
        "DESCRIBE",
        url,
        user,
        password,
        &format!("{cnonce:016x}"),
    )
}

/// The challenges in a 401 answer (`WWW-Authenticate` headers), decoded.
pub fn challenges(response: &[u8]) -> Vec<Challenge> {
    match super::http::parse_response(response, true, false) {
        Ok(Some(r)) => r
            .headers_named("www-authenticate")
            .map(super::http::parse_challenge)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a body is an SDP session description (RFC 8866 starts with `v=0`).
pub fn is_sdp(body: &[u8]) -> bool {
    body.starts_with(b"v=0")
}

/// Number of media sections in an SDP body.
pub fn media_count(body: &[u8]) -> usize {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| l.starts_with("m="))
        .count()
}

#[cfg(test)]
mod tests {
    use md5::Digest as _;

    use super::*;

    /// GStreamer's RTSP server (gst-rtsp-server 1.22) answers DESCRIBE without credentials so;
    /// the Digest answer must be the RFC 2069 form over the whole URL.
    #[test]
    fn gstreamer_digest_challenge() {
        let resp = b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm=\"GStreamer RTSP Server\", nonce=\"b3a754e8682887cb\"\r\nServer: GStreamer RTSP server\r\n\r\n";
        let ch = challenges(resp);
        assert_eq!(ch.len(), 1);
        let a =
            digest_authorization(&ch[0], "rtsp://10.0.0.5:554/live", "admin", "12345", 1).unwrap();
        // MD5(MD5("admin:GStreamer RTSP Server:12345"):b3a754e8682887cb:MD5("DESCRIBE:rtsp://10.0.0.5:554/live"))
        let ha1 = format!(
            "{:x}",
            md5::Md5::digest(b"admin:GStreamer RTSP Server:12345")
        );
        let ha2 = format!(
            "{:x}",
            md5::Md5::digest(b"DESCRIBE:rtsp://10.0.0.5:554/live")
        );
        let want = format!(
            "{:x}",
            md5::Md5::digest(format!("{ha1}:b3a754e8682887cb:{ha2}").as_bytes())
        );
        assert!(a.contains(&format!("response=\"{want}\"")), "{a}");
        assert!(a.contains("uri=\"rtsp://10.0.0.5:554/live\""));
        assert!(!a.contains("qop="));
        let basic = challenges(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n");
        assert!(matches!(basic.first(), Some(Challenge::Basic { .. })));
        assert!(challenges(b"garbage").is_empty());
    }

    #[test]
    fn requests() {
        let d =
            String::from_utf8(describe("rtsp://10.0.0.1:554/live", 2, Some("Basic eA=="))).unwrap();
        assert!(d.starts_with("DESCRIBE rtsp://10.0.0.1:554/live RTSP/1.0\r\nCSeq: 2\r\n"));
        assert!(d.contains("Authorization: Basic eA==\r\n"));
        assert!(is_sdp(
            b"v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\nm=video 0 RTP/AVP 96\r\n"
        ));
        assert_eq!(
            media_count(b"v=0\r\nm=video 0 RTP/AVP 96\r\nm=audio 0 RTP/AVP 0\r\n"),
            2
        );
    }
}

//! RTSP/1.0 (RFC 2326) requests; responses use the HTTP parser ([`super::http`]).

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
    use super::*;

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

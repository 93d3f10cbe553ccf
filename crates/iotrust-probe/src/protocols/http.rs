//! HTTP/1.x responses (also RTSP/1.0 and SSDP, which share the syntax), Basic and Digest
//! authentication (RFC 7617, RFC 7616 with MD5) and HTML login-form discovery, without
//! sockets. Sizes are bounded: headers 32 KiB, bodies [`MAX_BODY`].

use base64::Engine as _;
use md5::{Digest as _, Md5};

pub const MAX_HEAD: usize = 32 * 1024;
pub const MAX_BODY: usize = 256 * 1024;

/// A parsed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1`, `RTSP/1.0` ...
    pub protocol: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body was cut at the size limit or by the connection ending early.
    pub truncated: bool,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers with this name.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a response did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("not an HTTP-style status line")]
    NotHttp,
    #[error("header section larger than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("malformed header")]
    BadHeader,
    #[error("malformed chunked body")]
    BadChunk,
}

/// Find the end of the header section.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
}

/// Parse the status line and headers. Returns the response without body and the head length.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Response, usize)>, HttpError> {
    let Some(end) = head_end(buf) else {
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        // Reject early what is clearly not HTTP, so a device sending garbage is not waited on.
        let probe = &buf[..buf.len().min(5)];
        if !probe.is_empty() && !b"HTTP/".starts_with(probe) && !b"RTSP/".starts_with(probe) {
            return Err(HttpError::NotHttp);
        }
        return Ok(None);
    };
    if end > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split('\n').map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().ok_or(HttpError::NotHttp)?;
    let mut parts = status_line.splitn(3, ' ');
    let protocol = parts.next().unwrap_or("");
    if !(protocol.starts_with("HTTP/") || protocol.starts_with("RTSP/")) {
        return Err(HttpError::NotHttp);
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or(HttpError::NotHttp)?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        if l.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                let v: &mut String = v;
                v.push(' ');
                v.push_str(l.trim());
            }
            continue;
        }
        let (k, v) = l.split_once(':').ok_or(HttpError::BadHeader)?;
        if headers.len() < 200 {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok(Some((
        Response {
            protocol: protocol.to_string(),
            status,
            reason,
            headers,
            body: Vec::new(),
            truncated: false,
        },
        end,
    )))
}

/// Body framing.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
    None,
}

fn framing(r: &Response, head_request: bool) -> Framing {
    if head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304 {
        return Framing::None;
    }
    if r.header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Framing::Chunked;
    }
    match r
        .header("content-length")
        .map(|v| v.trim().parse::<usize>())
    {
        Some(Ok(n)) => Framing::Length(n),
        Some(Err(_)) => Framing::UntilClose,
        None if r.protocol.starts_with("RTSP/") => Framing::Length(0),
        None => Framing::UntilClose,
    }
}

fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_txt = String::from_utf8_lossy(&b[..nl]);
        let size_txt = size_txt.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_txt, 16).map_err(|_| HttpError::BadChunk)?;
        if size > MAX_BODY * 4 {
            return Err(HttpError::BadChunk);
        }
        b = &b[nl + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size.min(MAX_BODY.saturating_sub(out.len()))]);
        b = &b[size + 2..];
    }
}

/// Try to parse a complete response from `buf`. `eof` says the connection ended, which
/// completes a body delimited by close (or a truncated one).
pub fn parse_response(
    buf: &[u8],
    eof: bool,
    head_request: bool,
) -> Result<Option<Response>, HttpError> {
    let Some((mut r, end)) = parse_head(buf)? else {
        return Ok(None);
    };
    let rest = &buf[end..];
    match framing(&r, head_request) {
        Framing::None => Ok(Some(r)),
        Framing::Length(n) => {
            let want = n.min(MAX_BODY);
            if rest.len() >= want {
                r.body = rest[..want].to_vec();
                r.truncated = n > MAX_BODY;
                Ok(Some(r))
            } else if eof {
                r.body = rest.to_vec();
                r.truncated = true;
                Ok(Some(r))
            } else {
                Ok(None)
            }
        }
        Framing::Chunked => match dechunk(rest)? {
            Some(b) => {
                r.body = b;
                Ok(Some(r))
            }
            None if eof || rest.len() > MAX_BODY * 2 => {
                r.truncated = true;
                Ok(Some(r))
            }
            None => Ok(None),
        },
        Framing::UntilClose => {
            if eof || rest.len() >= MAX_BODY {
                r.body = rest[..rest.len().min(MAX_BODY)].to_vec();
                r.truncated = rest.len() >= MAX_BODY;
                Ok(Some(r))
            } else {
                Ok(None)
            }
        }
    }
}

/// Build a request. `extra` headers are added verbatim after Host.
pub fn request(
    method: &str,
    target: &str,
    host: &str,
    extra: &[(&str, String)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut s = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: iotrust-probe/{}\r\nAccept: */*\r\nConnection: close\r\n", env!("CARGO_PKG_VERSION"));
    for (k, v) in extra {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        s.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    s.push_str("\r\n");
    let mut out = s.into_bytes();
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    out
}

/// An authentication challenge from `WWW-Authenticate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: String,
    },
    Digest {
        realm: String,
        nonce: String,
        opaque: Option<String>,
        qop_auth: bool,
        algorithm: String,
    },
    Other(String),
}

fn auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && out.len() < 32 {
        while i < b.len() && (b[i] == b' ' || b[i] == b',') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s.get(ks..i).unwrap_or("").trim().to_ascii_lowercase();
        if i >= b.len() || b[i] != b'=' {
            i += 1;
            continue;
        }
        i += 1;
        let val = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                v.push(char::from(b[i]));
                i += 1;
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            s.get(vs..i).unwrap_or("").trim().to_string()
        };
        out.push((key, val));
    }
    out
}

/// Parse one `WWW-Authenticate` value.
pub fn parse_challenge(v: &str) -> Challenge {
    let v = v.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    let p = auth_params(rest);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Challenge::Basic {
            realm: get("realm").unwrap_or_default(),
        },
        "digest" => Challenge::Digest {
            realm: get("realm").unwrap_or_default(),
            nonce: get("nonce").unwrap_or_default(),
            opaque: get("opaque"),
            qop_auth: get("qop")
                .is_some_and(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth"))),
            algorithm: get("algorithm").unwrap_or_else(|| "MD5".into()),
        },
        other => Challenge::Other(other.to_string()),
    }
}

/// `Authorization` value for Basic.
pub fn basic_authorization(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Authorization` value for Digest (MD5, qop=auth when offered). None for other algorithms.
pub fn digest_authorization(
    ch: &Challenge,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    cnonce: &str,
) -> Option<String> {
    let Challenge::Digest {
        realm,
        nonce,
        opaque,
        qop_auth,
        algorithm,
    } = ch
    else {
        return None;
    };
    if !algorithm.eq_ignore_ascii_case("md5") {
        return None;
    }
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let nc = "00000001";
    let (response, qop_part) = if *qop_auth {
        (
            md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
            format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""),
        )
    } else {
        (md5_hex(&format!("{ha1}:{nonce}:{ha2}")), String::new())
    };
    let mut s = format!("Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=MD5, response=\"{response}\"{qop_part}");
    if let Some(o) = opaque {
        s.push_str(&format!(", opaque=\"{o}\""));
    }
    Some(s)
}

/// A login form found in HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginForm {
    pub action: String,
    pub method: String,
    pub user_field: Option<String>,
    pub password_field: String,
    /// Hidden and other fields with their default values, sent along.
    pub other_fields: Vec<(String, String)>,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower
        .get(from..)
        .and_then(|s| s.find(name))
        .map(|p| p + from)
    {
        let before_ok = pos == 0
            || lower
                .as_bytes()
                .get(pos - 1)
                .is_some_and(|c| c.is_ascii_whitespace());
        let after = lower.get(pos + name.len()..).unwrap_or("");
        let after_trim = after.trim_start();
        if before_ok && after_trim.starts_with('=') {
            let off = pos + name.len() + (after.len() - after_trim.len()) + 1;
            let rest = tag.get(off..).unwrap_or("").trim_start();
            return Some(match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or("").to_string(),
                _ => rest
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            });
        }
        from = pos + name.len();
    }
    None
}

/// Find the first `<form>` with a password input.
pub fn find_login_form(html: &str) -> Option<LoginForm> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    let mut forms = 0;
    while let Some(start) = lower
        .get(from..)
        .and_then(|s| s.find("<form"))
        .map(|p| p + from)
    {
        forms += 1;
        if forms > 20 {
            return None;
        }
        let end = lower
            .get(start..)
            .and_then(|s| s.find("</form"))
            .map(|p| p + start)
            .unwrap_or(lower.len());
        let form_html = html.get(start..end).unwrap_or("");
        let open_end = form_html.find('>').unwrap_or(form_html.len());
        let open = &form_html[..open_end];
        let mut user_field = None;
        let mut password_field = None;
        let mut other = Vec::new();
        let flower = form_html.to_ascii_lowercase();
        let mut i = 0;
        let mut inputs = 0;
        while let Some(p) = flower
            .get(i..)
            .and_then(|s| s.find("<input"))
            .map(|p| p + i)
        {
            inputs += 1;
            if inputs > 100 {
                break;
            }
            let e = flower
                .get(p..)
                .and_then(|s| s.find('>'))
                .map(|x| x + p)
                .unwrap_or(flower.len());
            let tag = form_html.get(p..e).unwrap_or("");
            let ty = attr(tag, "type")
                .unwrap_or_else(|| "text".into())
                .to_ascii_lowercase();
            if let Some(name) = attr(tag, "name") {
                match ty.as_str() {
                    "password" if password_field.is_none() => password_field = Some(name),
                    "text" | "email" | "" if user_field.is_none() && password_field.is_none() => {
                        user_field = Some(name)
                    }
                    "hidden" | "submit" | "checkbox" => {
                        other.push((name, attr(tag, "value").unwrap_or_default()))
                    }
                    _ => {}
                }
            }
            i = e;
        }
        if let Some(password_field) = password_field {
            return Some(LoginForm {
                action: attr(open, "action").unwrap_or_default(),
                method: attr(open, "method")
                    .unwrap_or_else(|| "get".into())
                    .to_ascii_uppercase(),
                user_field,
                password_field,
                other_fields: other,
            });
        }
        from = end.max(start + 5);
    }
    None
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `<title>` of a page, trimmed and bounded.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let s = lower.find("<title")?;
    let s = s + lower.get(s..)?.find('>')? + 1;
    let e = s + lower.get(s..)?.find("</title")?;
    let t: String = html
        .get(s..e)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(t.chars().take(80).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_split_input() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..raw.len() {
            assert_eq!(
                parse_response(&raw[..cut], false, false).unwrap_or(None),
                None,
                "{cut}"
            );
        }
        let r = parse_response(raw, false, false).unwrap().unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.body, b"hello");
        assert_eq!(
            parse_challenge(r.header("www-authenticate").unwrap()),
            Challenge::Basic {
                realm: "cam".into()
            }
        );
    }

    #[test]
    fn chunked_and_close() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(raw, false, false).unwrap().unwrap().body,
            b"abcde"
        );
        let raw = b"HTTP/1.0 200 OK\r\n\r\nbody until close";
        assert_eq!(parse_response(raw, false, false).unwrap(), None);
        assert_eq!(
            parse_response(raw, true, false).unwrap().unwrap().body,
            b"body until close"
        );
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            false,
            false
        )
        .is_err());
    }

    #[test]
    fn garbage_is_rejected_early() {
        assert_eq!(
            parse_response(b"\x00\x01garbage", false, false),
            Err(HttpError::NotHttp)
        );
        assert_eq!(
            parse_response(b"SSH-2.0-x\r\n\r\n", false, false),
            Err(HttpError::NotHttp)
        );
        assert_eq!(parse_response(b"HT", false, false), Ok(None));
        assert_eq!(
            parse_response(b"HTTP/1.1 abc\r\n\r\n", false, false),
            Err(HttpError::NotHttp)
        );
    }

    #[test]
    fn digest_rfc2617_example() {
        // The worked example of RFC 2617 section 3.5.
        let ch = parse_challenge(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        );
        let a = digest_authorization(
            &ch,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
        )
        .unwrap();
        assert!(
            a.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{a}"
        );
        assert_eq!(
            basic_authorization("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn login_form_found() {
        let html = r#"<html><title> Router
        Login </title><form id=x action="/cgi-bin/login.cgi" method=post>
            <input type="hidden" name="csrf" value="abc">
            <input name=user><input type=password name='pass'>
            <input type=submit name=go value="Log in"></form>"#;
        let f = find_login_form(html).unwrap();
        assert_eq!(f.action, "/cgi-bin/login.cgi");
        assert_eq!(f.method, "POST");
        assert_eq!(f.user_field.as_deref(), Some("user"));
        assert_eq!(f.password_field, "pass");
        assert_eq!(
            f.other_fields,
            vec![
                ("csrf".to_string(), "abc".to_string()),
                ("go".to_string(), "Log in".to_string())
            ]
        );
        assert_eq!(title(html).as_deref(), Some("Router Login"));
        assert!(find_login_form("<form><input name=q></form>").is_none());
        assert_eq!(form_encode("a b&c"), "a+b%26c");
    }
}

//! FTP control-connection replies (RFC 959 section 4.2), without sockets. A reply is a
//! three-digit code and text; multi-line replies start with `123-` and end with `123 `.

/// One complete reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

/// Reply decoder errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FtpError {
    #[error("not an FTP reply")]
    NotFtp,
    #[error("reply longer than the limit")]
    TooLong,
}

const MAX_REPLY: usize = 16 * 1024;

/// Accumulates bytes and yields complete replies.
#[derive(Debug, Default)]
pub struct Replies {
    buf: Vec<u8>,
}

fn code_of(line: &[u8]) -> Option<u16> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let c = u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
    (100..600).contains(&c).then_some(c)
}

impl Replies {
    /// Add bytes from the server.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete reply.
    pub fn next_reply(&mut self) -> Result<Option<Reply>, FtpError> {
        let mut lines = Vec::new();
        let mut pos = 0;
        let mut code = None;
        loop {
            let Some(nl) = self
                .buf
                .get(pos..)
                .and_then(|b| b.iter().position(|&c| c == b'\n'))
            else {
                if self.buf.len() > MAX_REPLY {
                    return Err(FtpError::TooLong);
                }
                if code.is_none() && self.buf.len() >= 4 && code_of(&self.buf).is_none() {
                    return Err(FtpError::NotFtp);
                }
                return Ok(None);
            };
            let line = &self.buf[pos..pos + nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos += nl + 1;
            match code {
                None => {
                    let c = code_of(line).ok_or(FtpError::NotFtp)?;
                    lines.push(String::from_utf8_lossy(line.get(4..).unwrap_or(&[])).into_owned());
                    if line.get(3) != Some(&b'-') {
                        self.buf.drain(..pos);
                        return Ok(Some(Reply {
                            code: c,
                            text: lines.join("\n"),
                        }));
                    }
                    code = Some(c);
                }
                Some(c) => {
                    let last = code_of(line) == Some(c) && line.get(3) != Some(&b'-');
                    lines.push(
                        String::from_utf8_lossy(if last {
                            line.get(4..).unwrap_or(&[])
                        } else {
                            line
                        })
                        .into_owned(),
                    );
                    if last {
                        self.buf.drain(..pos);
                        return Ok(Some(Reply {
                            code: c,
                            text: lines.join("\n"),
                        }));
                    }
                }
            }
        }
    }
}

/// Whether a greeting is an FTP 220 (and not an SMTP one).
pub fn looks_like_ftp(first: &[u8]) -> bool {
    let t = String::from_utf8_lossy(first).to_ascii_lowercase();
    (t.starts_with("220") || t.starts_with("120")) && !t.contains("smtp") && !t.contains("mail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line() {
        let mut r = Replies::default();
        r.feed(b"220-Welcome\r\n to the lab\r\n220 ready\r\n331 Please specify");
        assert_eq!(
            r.next_reply().unwrap(),
            Some(Reply {
                code: 220,
                text: "Welcome\n to the lab\nready".into()
            })
        );
        assert_eq!(r.next_reply().unwrap(), None);
        r.feed(b" the password.\r\n");
        assert_eq!(r.next_reply().unwrap().unwrap().code, 331);
    }

    #[test]
    fn garbage() {
        let mut r = Replies::default();
        r.feed(b"\x00\x01\x02\x03\x04");
        assert_eq!(r.next_reply(), Err(FtpError::NotFtp));
        let mut r = Replies::default();
        r.feed(&[b'2'; 20000]);
        assert!(r.next_reply().is_err());
        assert!(looks_like_ftp(b"220 (vsFTPd 3.0.3)\r\n"));
        assert!(!looks_like_ftp(b"220 mail ESMTP Postfix\r\n"));
    }
}

//! SSH identification string (RFC 4253 section 4.2), without sockets. Servers may send
//! other lines before `SSH-`; the probe keeps the first `SSH-` line.

/// The server's identification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub proto_version: String,
    pub software: String,
    pub comment: Option<String>,
}

/// Find and parse the identification line in the first bytes a server sent.
pub fn parse_ident(first: &[u8]) -> Option<Ident> {
    let text = String::from_utf8_lossy(first.get(..first.len().min(8192))?);
    for line in text.split('\n').take(32) {
        let line = line.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("SSH-") {
            let (ver, rest) = rest.split_once('-')?;
            let (soft, comment) = match rest.split_once(' ') {
                Some((s, c)) => (s, Some(c.to_string())),
                None => (rest, None),
            };
            return Some(Ident {
                proto_version: ver.to_string(),
                software: soft.chars().take(128).collect(),
                comment,
            });
        }
    }
    None
}

/// The identification line for reports.
pub fn banner_line(first: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(first);
    text.split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.starts_with("SSH-"))
        .map(|l| l.chars().take(255).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents() {
        let i = parse_ident(b"SSH-2.0-dropbear_2022.83\r\n").unwrap();
        assert_eq!(
            (i.proto_version.as_str(), i.software.as_str()),
            ("2.0", "dropbear_2022.83")
        );
        let i = parse_ident(b"hello\r\nSSH-1.99-OpenSSH_3.9p1 Debian\r\n").unwrap();
        assert_eq!(i.proto_version, "1.99");
        assert_eq!(i.comment.as_deref(), Some("Debian"));
        assert!(parse_ident(b"SSH-garbage").is_none());
        assert!(parse_ident(b"").is_none());
    }
}

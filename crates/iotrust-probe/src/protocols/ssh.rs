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

/// The identification string the probe sends (RFC 4253 section 4.2).
pub const CLIENT_IDENT: &[u8] = b"SSH-2.0-iotrust_probe\r\n";

/// The algorithm lists of a server's SSH_MSG_KEXINIT (RFC 4253 section 7.1): what it offers
/// for key exchange, host keys, ciphers and MACs (both directions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KexInit {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers_c2s: Vec<String>,
    pub ciphers_s2c: Vec<String>,
    pub macs_c2s: Vec<String>,
    pub macs_s2c: Vec<String>,
    pub compression: Vec<String>,
}

/// Why a KEXINIT could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KexError {
    #[error("no SSH identification line")]
    NoIdent,
    #[error("binary packet length {0} out of range")]
    BadLength(usize),
    #[error("first packet is message {0}, not KEXINIT (20)")]
    NotKexInit(u8),
    #[error("malformed KEXINIT: {0}")]
    Malformed(&'static str),
}

/// Largest packet accepted (RFC 4253 section 6.1 requires 35000 to be handled).
const MAX_PACKET: usize = 35_000;

/// Read the server's KEXINIT from everything it sent so far (identification line, optional
/// lines before it, then the first binary packet, unencrypted). `Ok(None)`: more bytes are
/// needed.
pub fn parse_kexinit(received: &[u8]) -> Result<Option<KexInit>, KexError> {
    // The packet starts after the identification line.
    let mut start = None;
    let mut pos = 0;
    while pos < received.len() {
        let end = match received[pos..].iter().position(|&b| b == b'\n') {
            Some(e) => pos + e + 1,
            None => {
                return if received.len() - pos > 8192 {
                    Err(KexError::NoIdent)
                } else {
                    Ok(None)
                }
            }
        };
        if received[pos..].starts_with(b"SSH-") {
            start = Some(end);
            break;
        }
        pos = end;
        if pos > 8192 {
            return Err(KexError::NoIdent);
        }
    }
    let Some(start) = start else {
        return Ok(None);
    };
    let pkt = &received[start..];
    if pkt.len() < 5 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([pkt[0], pkt[1], pkt[2], pkt[3]]) as usize;
    if !(12..=MAX_PACKET).contains(&len) {
        return Err(KexError::BadLength(len));
    }
    if pkt.len() < 4 + len {
        return Ok(None);
    }
    let padding = usize::from(pkt[4]);
    let payload = pkt
        .get(5..4 + len - padding.min(len - 1))
        .ok_or(KexError::Malformed("padding longer than the packet"))?;
    let (&msg, rest) = payload
        .split_first()
        .ok_or(KexError::Malformed("empty payload"))?;
    if msg != 20 {
        return Err(KexError::NotKexInit(msg));
    }
    let mut r = rest
        .get(16..)
        .ok_or(KexError::Malformed("shorter than its cookie"))?;
    let mut lists: Vec<Vec<String>> = Vec::with_capacity(10);
    for _ in 0..10 {
        if r.len() < 4 {
            return Err(KexError::Malformed("name-list cut short"));
        }
        let n = u32::from_be_bytes([r[0], r[1], r[2], r[3]]) as usize;
        let body = r
            .get(4..4 + n)
            .ok_or(KexError::Malformed("name-list longer than the packet"))?;
        let text =
            std::str::from_utf8(body).map_err(|_| KexError::Malformed("name-list is not ASCII"))?;
        lists.push(
            text.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(128).collect())
                .collect(),
        );
        r = &r[4 + n..];
    }
    let mut it = lists.into_iter();
    let mut next = || it.next().unwrap_or_default();
    let kex = next();
    let host_key = next();
    let ciphers_c2s = next();
    let ciphers_s2c = next();
    let macs_c2s = next();
    let macs_s2c = next();
    let compression = next();
    Ok(Some(KexInit {
        kex,
        host_key,
        ciphers_c2s,
        ciphers_s2c,
        macs_c2s,
        macs_s2c,
        compression,
    }))
}

/// A KEXINIT packet (unencrypted, no MAC) with the given lists; for tests and fuzzing.
pub fn kexinit_packet(k: &KexInit) -> Vec<u8> {
    let mut payload = vec![20u8];
    payload.extend_from_slice(&[0x5a; 16]);
    let empty: Vec<String> = Vec::new();
    for l in [
        &k.kex,
        &k.host_key,
        &k.ciphers_c2s,
        &k.ciphers_s2c,
        &k.macs_c2s,
        &k.macs_s2c,
        &k.compression,
        &k.compression,
        &empty,
        &empty,
    ] {
        let s = l.join(",");
        payload.extend_from_slice(&(s.len() as u32).to_be_bytes());
        payload.extend_from_slice(s.as_bytes());
    }
    payload.push(0);
    payload.extend_from_slice(&[0, 0, 0, 0]);
    let mut padding = 8 - (payload.len() + 5) % 8;
    if padding < 4 {
        padding += 8;
    }
    let mut pkt = ((payload.len() + padding + 1) as u32)
        .to_be_bytes()
        .to_vec();
    pkt.push(padding as u8);
    pkt.extend_from_slice(&payload);
    pkt.extend(std::iter::repeat_n(0u8, padding));
    pkt
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

    fn offer() -> KexInit {
        let v = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        KexInit {
            kex: v("curve25519-sha256,diffie-hellman-group1-sha1,kex-strict-s-v00@openssh.com"),
            host_key: v("ssh-ed25519,ssh-rsa"),
            ciphers_c2s: v("aes128-ctr,3des-cbc"),
            ciphers_s2c: v("aes128-ctr,3des-cbc"),
            macs_c2s: v("hmac-sha2-256,hmac-md5"),
            macs_s2c: v("hmac-sha2-256,hmac-md5"),
            compression: v("none"),
        }
    }

    #[test]
    fn kexinit_in_any_split() {
        let mut bytes = b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n".to_vec();
        bytes.extend_from_slice(&kexinit_packet(&offer()));
        for cut in 0..bytes.len() {
            assert_eq!(parse_kexinit(&bytes[..cut]), Ok(None), "cut {cut}");
        }
        assert_eq!(parse_kexinit(&bytes), Ok(Some(offer())));
    }

    #[test]
    fn kexinit_rejects_garbage() {
        let mut b = b"SSH-2.0-x\r\n".to_vec();
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 4]);
        assert_eq!(parse_kexinit(&b), Err(KexError::BadLength(0xffff_ffff)));
        let mut b = b"SSH-2.0-x\r\n".to_vec();
        b.extend_from_slice(&[0, 0, 0, 12, 4, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_kexinit(&b), Err(KexError::NotKexInit(21)));
        let mut b = b"SSH-2.0-x\r\n".to_vec();
        b.extend_from_slice(&[0, 0, 0, 30, 4, 20]);
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(parse_kexinit(&b), Err(KexError::Malformed(_))));
        assert_eq!(parse_kexinit(&vec![b'x'; 9000]), Err(KexError::NoIdent));
    }
}

//! TLS record and handshake parsing (RFC 8446, RFC 5246, RFC 6101 for SSL 3.0), without
//! sockets. The probe writes a ClientHello offering exactly one protocol version and reads
//! the server's first flight: ServerHello (which version it chose) and, up to TLS 1.2, the
//! Certificate message in the clear.

/// Protocol versions the probe tests, oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl Version {
    pub const ALL: [Version; 5] = [
        Version::Ssl3,
        Version::Tls10,
        Version::Tls11,
        Version::Tls12,
        Version::Tls13,
    ];

    /// The wire value.
    pub fn wire(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
            Version::Tls13 => 0x0304,
        }
    }

    /// From the wire value.
    pub fn from_wire(v: u16) -> Option<Version> {
        Version::ALL.into_iter().find(|x| x.wire() == v)
    }

    /// The name used in facts (`comms.tls_min_version`).
    pub fn name(self) -> &'static str {
        match self {
            Version::Ssl3 => "ssl3",
            Version::Tls10 => "tls1.0",
            Version::Tls11 => "tls1.1",
            Version::Tls12 => "tls1.2",
            Version::Tls13 => "tls1.3",
        }
    }

    /// Versions that good practice no longer accepts.
    pub fn is_legacy(self) -> bool {
        self < Version::Tls12
    }
}

/// Cipher suites offered to versions up to 1.2: modern AEAD first, then the CBC, 3DES and RC4
/// suites old devices still speak (so that an old server has something to choose).
const LEGACY_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, // ECDHE/DHE AEAD
    0xc009, 0xc013, 0xc00a, 0xc014, 0x0033, 0x0039, // ECDHE/DHE CBC
    0x009c, 0x009d, 0x002f, 0x0035, 0x003c, 0x003d, // RSA
    0x000a, 0xc012, 0x0016, // 3DES
    0x0005, 0x0004, 0xc011, // RC4
];
const TLS13_SUITES: &[u16] = &[0x1301, 0x1302, 0x1303];

fn ext(out: &mut Vec<u8>, ty: u16, body: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn u16_list(items: &[u16]) -> Vec<u8> {
    let mut v = ((items.len() * 2) as u16).to_be_bytes().to_vec();
    for i in items {
        v.extend_from_slice(&i.to_be_bytes());
    }
    v
}

/// A ClientHello record offering exactly `version`. `random` fills the random field and, for
/// TLS 1.3, the X25519 key share (the probe never completes the handshake).
pub fn client_hello(version: Version, random: [u8; 32], server_name: Option<&str>) -> Vec<u8> {
    let suites: &[u16] = if version == Version::Tls13 {
        TLS13_SUITES
    } else {
        LEGACY_SUITES
    };
    client_hello_with(version, suites, random, server_name)
}

/// A ClientHello record offering exactly `version` and the cipher suites `suites` (in that
/// order), plus the renegotiation SCSV.
pub fn client_hello_with(
    version: Version,
    suites: &[u16],
    random: [u8; 32],
    server_name: Option<&str>,
) -> Vec<u8> {
    let legacy = if version == Version::Tls13 {
        Version::Tls12
    } else {
        version
    };
    let mut body = legacy.wire().to_be_bytes().to_vec();
    body.extend_from_slice(&random);
    body.push(0); // empty session id
    let mut suites_scsv = suites.to_vec();
    suites_scsv.push(0x00ff); // renegotiation info SCSV
    body.extend_from_slice(&u16_list(&suites_scsv));
    body.extend_from_slice(&[1, 0]); // compression: null
    let mut exts = Vec::new();
    if version != Version::Ssl3 {
        if let Some(name) =
            server_name.filter(|n| n.parse::<std::net::IpAddr>().is_err() && n.len() < 256)
        {
            let mut sni = Vec::new();
            let n = name.as_bytes();
            sni.extend_from_slice(&((n.len() + 3) as u16).to_be_bytes());
            sni.push(0);
            sni.extend_from_slice(&(n.len() as u16).to_be_bytes());
            sni.extend_from_slice(n);
            ext(&mut exts, 0x0000, &sni);
        }
        ext(
            &mut exts,
            0x000a,
            &u16_list(&[0x001d, 0x0017, 0x0018, 0x0019]),
        ); // groups
        ext(&mut exts, 0x000b, &[1, 0]); // ec point formats: uncompressed
        ext(
            &mut exts,
            0x000d,
            &u16_list(&[
                0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
                0x0201,
            ]),
        ); // signature algorithms
        if version == Version::Tls13 {
            ext(&mut exts, 0x002b, &[2, 0x03, 0x04]); // supported_versions: 1.3 only
            let mut ks = Vec::new();
            ks.extend_from_slice(&36u16.to_be_bytes());
            ks.extend_from_slice(&0x001du16.to_be_bytes());
            ks.extend_from_slice(&32u16.to_be_bytes());
            ks.extend_from_slice(&random);
            ext(&mut exts, 0x0033, &ks);
        }
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
    }
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let record_version = if version == Version::Ssl3 {
        0x0300u16
    } else {
        0x0301
    };
    let mut rec = vec![22];
    rec.extend_from_slice(&record_version.to_be_bytes());
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// What the server's first flight said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerFlight {
    /// Version chosen in ServerHello (supported_versions wins over the legacy field).
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    /// DER of the certificates, leaf first (TLS 1.2 and older only).
    pub certificates: Vec<Vec<u8>>,
    /// An alert (level, description) instead of or after a hello.
    pub alert: Option<(u8, u8)>,
    /// ServerHelloDone or an encrypted record was seen: nothing more to read in the clear.
    pub complete: bool,
    /// The ServerHello carried `renegotiation_info` (RFC 5746: secure renegotiation).
    pub renegotiation_info: bool,
}

/// Parser errors. None is recoverable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("not a TLS record")]
    NotTls,
    #[error("record or handshake message too large")]
    TooLarge,
    #[error("malformed {0}")]
    Malformed(&'static str),
}

const MAX_HANDSHAKE: usize = 256 * 1024;

/// Incremental parser of the server's first flight.
#[derive(Debug, Default)]
pub struct FlightParser {
    buf: Vec<u8>,
    hs: Vec<u8>,
    pub flight: ServerFlight,
}

impl FlightParser {
    /// Feed bytes; returns Ok(true) once nothing more needs reading.
    pub fn feed(&mut self, data: &[u8]) -> Result<bool, TlsError> {
        self.buf.extend_from_slice(data);
        loop {
            if self.flight.complete {
                return Ok(true);
            }
            if self.buf.len() < 5 {
                return Ok(false);
            }
            let ty = self.buf[0];
            let major = self.buf[1];
            if !(20..=23).contains(&ty) || major != 3 {
                return Err(TlsError::NotTls);
            }
            let len = usize::from(u16::from_be_bytes([self.buf[3], self.buf[4]]));
            if len > 16384 + 2048 {
                return Err(TlsError::TooLarge);
            }
            if self.buf.len() < 5 + len {
                return Ok(false);
            }
            let frag: Vec<u8> = self.buf.drain(..5 + len).skip(5).collect();
            match ty {
                21 => {
                    if frag.len() >= 2 {
                        self.flight.alert = Some((frag[0], frag[1]));
                    }
                    self.flight.complete = true;
                }
                22 => {
                    if self.hs.len() + frag.len() > MAX_HANDSHAKE {
                        return Err(TlsError::TooLarge);
                    }
                    self.hs.extend_from_slice(&frag);
                    self.handshake_messages()?;
                }
                // ChangeCipherSpec or application data: the rest is encrypted.
                20 if self.flight.version == Some(0x0304) => self.flight.complete = true,
                20 | 23 => self.flight.complete = true,
                _ => {}
            }
        }
    }

    fn handshake_messages(&mut self) -> Result<(), TlsError> {
        while self.hs.len() >= 4 {
            let len = (usize::from(self.hs[1]) << 16)
                | (usize::from(self.hs[2]) << 8)
                | usize::from(self.hs[3]);
            if len > MAX_HANDSHAKE {
                return Err(TlsError::TooLarge);
            }
            if self.hs.len() < 4 + len {
                return Ok(());
            }
            let ty = self.hs[0];
            let body: Vec<u8> = self.hs.drain(..4 + len).skip(4).collect();
            match ty {
                2 => {
                    self.server_hello(&body)?;
                    if self.flight.version == Some(0x0304) {
                        self.flight.complete = true;
                        return Ok(());
                    }
                }
                11 => self.certificate(&body)?,
                14 => {
                    self.flight.complete = true;
                    return Ok(());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn server_hello(&mut self, b: &[u8]) -> Result<(), TlsError> {
        let m = TlsError::Malformed("ServerHello");
        let legacy =
            u16::from_be_bytes([*b.first().ok_or(m.clone())?, *b.get(1).ok_or(m.clone())?]);
        let sid_len = usize::from(*b.get(34).ok_or(m.clone())?);
        let p = 35 + sid_len;
        let cipher =
            u16::from_be_bytes([*b.get(p).ok_or(m.clone())?, *b.get(p + 1).ok_or(m.clone())?]);
        let mut version = legacy;
        // extensions after compression method
        let mut q = p + 3;
        if let (Some(&a), Some(&c)) = (b.get(q), b.get(q + 1)) {
            let ext_len = usize::from(u16::from_be_bytes([a, c]));
            q += 2;
            let end = (q + ext_len).min(b.len());
            while q + 4 <= end {
                let ty = u16::from_be_bytes([b[q], b[q + 1]]);
                let l = usize::from(u16::from_be_bytes([b[q + 2], b[q + 3]]));
                let body = b.get(q + 4..q + 4 + l).ok_or(m.clone())?;
                if ty == 0x002b && body.len() == 2 {
                    version = u16::from_be_bytes([body[0], body[1]]);
                }
                if ty == 0xff01 {
                    self.flight.renegotiation_info = true;
                }
                q += 4 + l;
            }
        }
        self.flight.version = Some(version);
        self.flight.cipher = Some(cipher);
        Ok(())
    }

    fn certificate(&mut self, b: &[u8]) -> Result<(), TlsError> {
        let m = TlsError::Malformed("Certificate");
        let total = (usize::from(*b.first().ok_or(m.clone())?) << 16)
            | (usize::from(*b.get(1).ok_or(m.clone())?) << 8)
            | usize::from(*b.get(2).ok_or(m.clone())?);
        let list = b.get(3..3 + total).ok_or(m.clone())?;
        let mut i = 0;
        while i + 3 <= list.len() && self.flight.certificates.len() < 10 {
            let l = (usize::from(list[i]) << 16)
                | (usize::from(list[i + 1]) << 8)
                | usize::from(list[i + 2]);
            let c = list.get(i + 3..i + 3 + l).ok_or(m.clone())?;
            self.flight.certificates.push(c.to_vec());
            i += 3 + l;
        }
        Ok(())
    }
}

/// Whether the first bytes of a reply look like a TLS record (handshake or alert).
pub fn looks_like_tls(b: &[u8]) -> bool {
    b.len() >= 3 && (b[0] == 22 || b[0] == 21) && b[1] == 3 && b[2] <= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_flight(version: u16, with_13_ext: bool, cert: &[u8]) -> Vec<u8> {
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&[9u8; 32]);
        sh.push(0);
        sh.extend_from_slice(&0xc02fu16.to_be_bytes());
        sh.push(0);
        if with_13_ext {
            sh.extend_from_slice(&[0, 6, 0, 0x2b, 0, 2]);
            sh.extend_from_slice(&version.to_be_bytes());
        } else {
            sh[0..2].copy_from_slice(&version.to_be_bytes());
        }
        let mut hs = vec![2];
        hs.extend_from_slice(&(sh.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&sh);
        let mut cl = (cert.len() as u32).to_be_bytes()[1..].to_vec();
        cl.extend_from_slice(cert);
        let mut cm = (cl.len() as u32).to_be_bytes()[1..].to_vec();
        cm.extend_from_slice(&cl);
        hs.push(11);
        hs.extend_from_slice(&(cm.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&cm);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![22, 3, 3];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn parses_tls12_flight_in_any_split() {
        let f = server_flight(0x0303, false, b"CERTDER");
        for cut in 0..f.len() {
            let mut p = FlightParser::default();
            let a = p.feed(&f[..cut]).unwrap();
            assert!(!a || cut == f.len());
            assert!(p.feed(&f[cut..]).unwrap());
            assert_eq!(p.flight.version, Some(0x0303));
            assert_eq!(p.flight.certificates, vec![b"CERTDER".to_vec()]);
        }
    }

    #[test]
    fn renegotiation_info_is_seen() {
        let mut sh = vec![0x03, 0x03];
        sh.extend_from_slice(&[9u8; 32]);
        sh.push(0);
        sh.extend_from_slice(&0x002fu16.to_be_bytes());
        sh.push(0);
        sh.extend_from_slice(&[0, 5, 0xff, 0x01, 0, 1, 0]);
        let mut hs = vec![2];
        hs.extend_from_slice(&(sh.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&sh);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![22, 3, 3];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        let mut p = FlightParser::default();
        assert!(p.feed(&rec).unwrap());
        assert!(p.flight.renegotiation_info);
        assert_eq!(p.flight.cipher, Some(0x002f));
        let mut p = FlightParser::default();
        assert!(p.feed(&server_flight(0x0303, false, b"C")).unwrap());
        assert!(!p.flight.renegotiation_info);
    }

    #[test]
    fn tls13_version_from_extension() {
        let f = server_flight(0x0304, true, b"");
        let mut p = FlightParser::default();
        assert!(p.feed(&f).unwrap());
        assert_eq!(p.flight.version, Some(0x0304));
    }

    #[test]
    fn alert_and_garbage() {
        let mut p = FlightParser::default();
        assert!(p.feed(&[21, 3, 1, 0, 2, 2, 70]).unwrap());
        assert_eq!(p.flight.alert, Some((2, 70)));
        let mut p = FlightParser::default();
        assert_eq!(p.feed(b"HTTP/1.1 400 Bad"), Err(TlsError::NotTls));
        let mut p = FlightParser::default();
        assert_eq!(p.feed(&[22, 3, 3, 0xff, 0xff]), Err(TlsError::TooLarge));
    }

    #[test]
    fn hello_layout() {
        for v in Version::ALL {
            let h = client_hello(v, [7; 32], Some("cam.example"));
            assert_eq!(h[0], 22);
            assert_eq!(usize::from(u16::from_be_bytes([h[3], h[4]])), h.len() - 5);
            assert_eq!(h[5], 1);
            let legacy = u16::from_be_bytes([h[9], h[10]]);
            assert_eq!(legacy, v.wire().min(0x0303));
        }
    }
}

//! The few X.509 certificate fields the probe reports (RFC 5280 section 4.1): signature
//! algorithm, public key type and size, validity, and whether issuer equals subject.

use super::ber::{self, BerError};

/// Certificate facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// For example `sha256WithRSAEncryption`, or the OID when unknown.
    pub signature_algorithm: String,
    /// `rsa`, `ec`, `ed25519`, `ed448`, `dsa` or the OID.
    pub key_type: String,
    /// Modulus bits for RSA/DSA, curve size for EC; 0 when unknown.
    pub key_bits: u32,
    pub not_before: Option<jiff::Timestamp>,
    pub not_after: Option<jiff::Timestamp>,
    /// Issuer and subject names are byte-identical (self-issued, almost always self-signed).
    pub self_issued: bool,
    /// The subject's common name, when present (bounded).
    pub subject_cn: Option<String>,
}

impl CertInfo {
    /// Whether the signature uses MD2, MD5 or SHA-1.
    pub fn weak_signature(&self) -> bool {
        let s = self.signature_algorithm.to_ascii_lowercase();
        s.starts_with("md2")
            || s.starts_with("md5")
            || s.starts_with("sha1")
            || s.contains("with-sha1")
    }

    /// Whether the key is below current good practice (RSA/DSA under 2048 bits, EC under 224).
    pub fn weak_key(&self) -> bool {
        match self.key_type.as_str() {
            "rsa" | "dsa" => self.key_bits > 0 && self.key_bits < 2048,
            "ec" => self.key_bits > 0 && self.key_bits < 224,
            _ => false,
        }
    }
}

fn sig_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "1.3.101.112" => "ed25519",
        "1.3.101.113" => "ed448",
        other => return other.to_string(),
    }
    .to_string()
}

fn curve_bits(oid: &str) -> u32 {
    match oid {
        "1.2.840.10045.3.1.1" => 192,
        "1.3.132.0.33" => 224,
        "1.2.840.10045.3.1.7" => 256,
        "1.3.132.0.10" => 256,
        "1.3.132.0.34" => 384,
        "1.3.132.0.35" => 521,
        _ => 0,
    }
}

fn int_bits(v: &[u8]) -> u32 {
    let v = match v.iter().position(|b| *b != 0) {
        Some(p) => &v[p..],
        None => return 0,
    };
    (v.len() as u32 - 1) * 8 + (8 - v[0].leading_zeros())
}

fn parse_time(t: &ber::Tlv<'_>) -> Option<jiff::Timestamp> {
    let s = std::str::from_utf8(t.value).ok()?;
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match t.tag {
        0x17 => {
            let yy: i16 = s.get(..2)?.parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let n = |a: usize| -> Option<i8> { rest.get(a..a + 2)?.parse().ok() };
    let dt =
        jiff::civil::DateTime::new(year, n(0)?, n(2)?, n(4)?, n(6)?, n(8).unwrap_or(0), 0).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn common_name(name: &[u8]) -> Option<String> {
    let mut rdns = name;
    while !rdns.is_empty() {
        let (set, rest) = ber::read(rdns).ok()?;
        let (atv, _) = ber::expect(set.value, 0x30).ok()?;
        let (oid, val) = ber::expect(atv.value, 0x06).ok()?;
        if ber::oid_to_string(oid.value).ok()? == "2.5.4.3" {
            let (v, _) = ber::read(val).ok()?;
            return Some(String::from_utf8_lossy(v.value).chars().take(128).collect());
        }
        rdns = rest;
    }
    None
}

/// Parse a DER certificate.
pub fn parse(der: &[u8]) -> Result<CertInfo, BerError> {
    let (cert, _) = ber::expect(der, 0x30)?;
    let (tbs, rest) = ber::expect(cert.value, 0x30)?;
    let (sigalg, _) = ber::expect(rest, 0x30)?;
    let (sig_oid, _) = ber::expect(sigalg.value, 0x06)?;
    let signature_algorithm = sig_name(&ber::oid_to_string(sig_oid.value)?);

    let mut cur = tbs.value;
    let (first, after) = ber::read(cur)?;
    if first.tag == 0xa0 {
        cur = after; // explicit version
    }
    let (_serial, cur) = ber::expect(cur, 0x02)?;
    let (_sig, cur) = ber::expect(cur, 0x30)?;
    let (issuer, cur) = ber::expect(cur, 0x30)?;
    let (validity, cur) = ber::expect(cur, 0x30)?;
    let (subject, cur) = ber::expect(cur, 0x30)?;
    let (spki, _) = ber::expect(cur, 0x30)?;

    let (nb, vrest) = ber::read(validity.value)?;
    let (na, _) = ber::read(vrest)?;

    let (alg, keybits) = ber::expect(spki.value, 0x30)?;
    let (key_oid, params) = ber::expect(alg.value, 0x06)?;
    let key_oid = ber::oid_to_string(key_oid.value)?;
    let (bitstr, _) = ber::expect(keybits, 0x03)?;
    let key = bitstr.value.get(1..).unwrap_or(&[]);
    let (key_type, key_bits) = match key_oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let bits = ber::expect(key, 0x30)
                .and_then(|(seq, _)| ber::expect(seq.value, 0x02))
                .map(|(m, _)| int_bits(m.value))
                .unwrap_or(0);
            ("rsa".to_string(), bits)
        }
        "1.2.840.10045.2.1" => {
            let bits = ber::expect(params, 0x06)
                .ok()
                .and_then(|(c, _)| ber::oid_to_string(c.value).ok())
                .map(|c| curve_bits(&c))
                .unwrap_or(0);
            ("ec".to_string(), bits)
        }
        "1.3.101.112" => ("ed25519".to_string(), 256),
        "1.3.101.113" => ("ed448".to_string(), 456),
        "1.2.840.10040.4.1" => {
            // Dss-Parms ::= SEQUENCE { p, q, g }
            let bits = ber::expect(params, 0x30)
                .and_then(|(seq, _)| ber::expect(seq.value, 0x02))
                .map(|(p, _)| int_bits(p.value))
                .unwrap_or(0);
            ("dsa".to_string(), bits)
        }
        other => (other.to_string(), 0),
    };
    Ok(CertInfo {
        signature_algorithm,
        key_type,
        key_bits,
        not_before: parse_time(&nb),
        not_after: parse_time(&na),
        self_issued: issuer.raw == subject.raw,
        subject_cn: common_name(subject.value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(cn: &str) -> Vec<u8> {
        let mut atv = ber::enc_oid("2.5.4.3").unwrap();
        atv.extend_from_slice(&ber::tlv(0x0c, cn.as_bytes()));
        ber::tlv(0x30, &ber::tlv(0x31, &ber::tlv(0x30, &atv)))
    }

    fn cert(
        issuer: &str,
        subject: &str,
        modulus_bytes: usize,
        sig: &str,
        not_after: &str,
    ) -> Vec<u8> {
        let mut tbs = ber::tlv(0xa0, &ber::enc_int(2));
        tbs.extend_from_slice(&ber::enc_int(12345));
        let alg = ber::tlv(0x30, &ber::enc_oid(sig).unwrap());
        tbs.extend_from_slice(&alg);
        tbs.extend_from_slice(&name(issuer));
        let mut val = ber::tlv(0x17, b"200101000000Z");
        val.extend_from_slice(&ber::tlv(0x17, not_after.as_bytes()));
        tbs.extend_from_slice(&ber::tlv(0x30, &val));
        tbs.extend_from_slice(&name(subject));
        let mut modulus = vec![0u8];
        modulus.push(0xc0);
        modulus.extend(std::iter::repeat_n(1u8, modulus_bytes - 1));
        let mut rsa = ber::tlv(0x02, &modulus);
        rsa.extend_from_slice(&ber::enc_int(65537));
        let mut bits = vec![0u8];
        bits.extend_from_slice(&ber::tlv(0x30, &rsa));
        let mut spki = ber::tlv(
            0x30,
            &[ber::enc_oid("1.2.840.113549.1.1.1").unwrap(), vec![5, 0]].concat(),
        );
        spki.extend_from_slice(&ber::tlv(0x03, &bits));
        tbs.extend_from_slice(&ber::tlv(0x30, &spki));
        let mut c = ber::tlv(0x30, &tbs);
        c.extend_from_slice(&alg);
        c.extend_from_slice(&ber::tlv(0x03, &[0, 1, 2, 3]));
        ber::tlv(0x30, &c)
    }

    #[test]
    fn reads_fields() {
        let c = parse(&cert(
            "cam",
            "cam",
            128,
            "1.2.840.113549.1.1.5",
            "300101000000Z",
        ))
        .unwrap();
        assert_eq!(c.key_type, "rsa");
        assert_eq!(c.key_bits, 1024);
        assert_eq!(c.signature_algorithm, "sha1WithRSAEncryption");
        assert!(c.self_issued && c.weak_key() && c.weak_signature());
        assert_eq!(c.subject_cn.as_deref(), Some("cam"));
        assert_eq!(c.not_after.unwrap().to_string(), "2030-01-01T00:00:00Z");
        let c = parse(&cert(
            "Lab CA",
            "cam",
            256,
            "1.2.840.113549.1.1.11",
            "491231235959Z",
        ))
        .unwrap();
        assert!(!c.self_issued && !c.weak_key() && !c.weak_signature());
        assert_eq!(c.key_bits, 2048);
    }

    #[test]
    fn truncations_do_not_panic() {
        let der = cert("a", "b", 64, "1.2.840.113549.1.1.11", "300101000000Z");
        for n in 0..der.len() {
            let _ = parse(&der[..n]);
        }
    }
}

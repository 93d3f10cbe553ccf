//! A small BER/DER reader and writer (ITU-T X.690) for SNMP and X.509. Definite lengths only,
//! single-byte tags only; every read is bounds-checked.

/// Why a value did not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    #[error("truncated value")]
    Truncated,
    #[error("unsupported length form")]
    BadLength,
    #[error("unexpected tag {0:#04x}")]
    UnexpectedTag(u8),
    #[error("integer does not fit")]
    Overflow,
}

/// A decoded tag-length-value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// The whole encoding including tag and length.
    pub raw: &'a [u8],
}

/// Read one TLV from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let tag = *input.first().ok_or(BerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(BerError::UnexpectedTag(tag));
    }
    let l0 = *input.get(1).ok_or(BerError::Truncated)?;
    let (len, hdr) = if l0 < 0x80 {
        (usize::from(l0), 2)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return Err(BerError::BadLength);
        }
        let bytes = input.get(2..2 + n).ok_or(BerError::Truncated)?;
        let mut len = 0usize;
        for &b in bytes {
            len = (len << 8) | usize::from(b);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len).ok_or(BerError::BadLength)?;
    let value = input.get(hdr..end).ok_or(BerError::Truncated)?;
    let raw = input.get(..end).ok_or(BerError::Truncated)?;
    Ok((Tlv { tag, value, raw }, input.get(end..).unwrap_or(&[])))
}

/// Read one TLV with an expected tag.
pub fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8]), BerError> {
    let (t, rest) = read(input)?;
    if t.tag != tag {
        return Err(BerError::UnexpectedTag(t.tag));
    }
    Ok((t, rest))
}

/// Decode a signed INTEGER value (up to 8 bytes).
pub fn int(v: &[u8]) -> Result<i64, BerError> {
    if v.is_empty() || v.len() > 8 {
        return Err(BerError::Overflow);
    }
    let mut x: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in v {
        x = (x << 8) | i64::from(b);
    }
    Ok(x)
}

/// Decode an OBJECT IDENTIFIER value to dotted form.
pub fn oid_to_string(v: &[u8]) -> Result<String, BerError> {
    let mut parts: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, &b) in v.iter().enumerate() {
        if cur > (u64::MAX >> 8) {
            return Err(BerError::Overflow);
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let (a, rest) = if cur < 40 {
                    (0, cur)
                } else if cur < 80 {
                    (1, cur - 40)
                } else {
                    (2, cur - 80)
                };
                parts.push(a);
                parts.push(rest);
            } else {
                parts.push(cur);
            }
            cur = 0;
        } else if i + 1 == v.len() {
            return Err(BerError::Truncated);
        }
    }
    if parts.is_empty() {
        return Err(BerError::Truncated);
    }
    Ok(parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// Encode a TLV.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = (n as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

/// Encode an INTEGER.
pub fn enc_int(x: i64) -> Vec<u8> {
    let bytes = x.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(0x02, &bytes[start..])
}

/// Encode an OBJECT IDENTIFIER from dotted form. Returns None for malformed input.
pub fn enc_oid(dotted: &str) -> Option<Vec<u8>> {
    let parts: Vec<u64> = dotted
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts.len() < 2 || parts[0] > 2 {
        return None;
    }
    let mut v = Vec::new();
    let mut push = |mut n: u64| {
        let mut tmp = vec![(n & 0x7f) as u8];
        n >>= 7;
        while n > 0 {
            tmp.push(((n & 0x7f) as u8) | 0x80);
            n >>= 7;
        }
        tmp.reverse();
        v.extend_from_slice(&tmp);
    };
    push(parts[0] * 40 + parts[1]);
    for &p in &parts[2..] {
        push(p);
    }
    Some(tlv(0x06, &v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for x in [
            0i64,
            1,
            127,
            128,
            255,
            256,
            -1,
            -128,
            -129,
            1 << 40,
            i64::MAX,
            i64::MIN,
        ] {
            let e = enc_int(x);
            let (t, rest) = read(&e).unwrap();
            assert!(rest.is_empty());
            assert_eq!(int(t.value).unwrap(), x, "{x}");
        }
        for o in [
            "1.3.6.1.2.1.1.1.0",
            "1.2.840.113549.1.1.11",
            "2.5.4.3",
            "1.3.6.1.4.1.2021.4294967295",
        ] {
            let e = enc_oid(o).unwrap();
            let (t, _) = expect(&e, 0x06).unwrap();
            assert_eq!(oid_to_string(t.value).unwrap(), o);
        }
        let long = vec![7u8; 300];
        let e = tlv(0x04, &long);
        assert_eq!(&e[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(read(&e).unwrap().0.value.len(), 300);
    }

    #[test]
    fn hostile_input() {
        assert_eq!(read(&[]), Err(BerError::Truncated));
        assert_eq!(read(&[0x30]), Err(BerError::Truncated));
        assert_eq!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]), Err(BerError::BadLength));
        assert_eq!(read(&[0x30, 0x80]), Err(BerError::BadLength));
        assert_eq!(
            read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            Err(BerError::Truncated)
        );
        assert_eq!(read(&[0x30, 0x05, 1]), Err(BerError::Truncated));
        assert_eq!(oid_to_string(&[0x2b, 0x86]), Err(BerError::Truncated));
        assert!(oid_to_string(&[0xff; 20]).is_err());
        assert!(int(&[]).is_err());
    }
}

//! SNMP v1 and v2c messages (RFC 1157, RFC 3416) over [`super::ber`], without sockets:
//! a GET of sysDescr.0 and sysLocation.0, a SET of sysLocation.0, and a response decoder.

use super::ber::{self, BerError};

pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
pub const SYS_LOCATION: &str = "1.3.6.1.2.1.1.6.0";

/// Protocol version as carried in the message (0 = v1, 1 = v2c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2c,
}

impl Version {
    fn wire(self) -> i64 {
        match self {
            Version::V1 => 0,
            Version::V2c => 1,
        }
    }

    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "v1",
            Version::V2c => "v2c",
        }
    }
}

/// A variable binding value, reduced to what the probe uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Octets(Vec<u8>),
    Int(i64),
    /// v2c exceptions noSuchObject / noSuchInstance / endOfMibView.
    Exception(u8),
    Other(u8),
}

/// A decoded response PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub version: i64,
    pub community: Vec<u8>,
    pub request_id: i64,
    pub error_status: i64,
    pub error_index: i64,
    pub bindings: Vec<(String, Value)>,
}

fn message(
    version: Version,
    community: &str,
    pdu_tag: u8,
    request_id: i32,
    binds: &[(&str, Vec<u8>)],
) -> Vec<u8> {
    let mut vb = Vec::new();
    for (oid, val) in binds {
        let mut one = ber::enc_oid(oid).unwrap_or_default();
        one.extend_from_slice(val);
        vb.extend_from_slice(&ber::tlv(0x30, &one));
    }
    let mut pdu = ber::enc_int(i64::from(request_id));
    pdu.extend_from_slice(&ber::enc_int(0));
    pdu.extend_from_slice(&ber::enc_int(0));
    pdu.extend_from_slice(&ber::tlv(0x30, &vb));
    let mut msg = ber::enc_int(version.wire());
    msg.extend_from_slice(&ber::tlv(0x04, community.as_bytes()));
    msg.extend_from_slice(&ber::tlv(pdu_tag, &pdu));
    ber::tlv(0x30, &msg)
}

/// GetRequest for sysDescr.0 and sysLocation.0.
pub fn get_request(version: Version, community: &str, request_id: i32) -> Vec<u8> {
    message(
        version,
        community,
        0xa0,
        request_id,
        &[
            (SYS_DESCR, vec![0x05, 0x00]),
            (SYS_LOCATION, vec![0x05, 0x00]),
        ],
    )
}

/// SetRequest of sysLocation.0 to `value` (the probe writes back the value it just read).
pub fn set_location(version: Version, community: &str, request_id: i32, value: &[u8]) -> Vec<u8> {
    message(
        version,
        community,
        0xa3,
        request_id,
        &[(SYS_LOCATION, ber::tlv(0x04, value))],
    )
}

/// Decode a response message (GetResponse / Response PDU, tag 0xa2).
pub fn parse_response(data: &[u8]) -> Result<Response, BerError> {
    let (msg, _) = ber::expect(data, 0x30)?;
    let (v, rest) = ber::expect(msg.value, 0x02)?;
    let (c, rest) = ber::expect(rest, 0x04)?;
    let (pdu, _) = ber::expect(rest, 0xa2)?;
    let (rid, rest) = ber::expect(pdu.value, 0x02)?;
    let (es, rest) = ber::expect(rest, 0x02)?;
    let (ei, rest) = ber::expect(rest, 0x02)?;
    let (vbl, _) = ber::expect(rest, 0x30)?;
    let mut bindings = Vec::new();
    let mut cur = vbl.value;
    while !cur.is_empty() && bindings.len() < 64 {
        let (vb, next) = ber::expect(cur, 0x30)?;
        let (oid, val) = ber::expect(vb.value, 0x06)?;
        let (val, _) = ber::read(val)?;
        let value = match val.tag {
            0x05 => Value::Null,
            0x04 => Value::Octets(val.value.to_vec()),
            0x02 => Value::Int(ber::int(val.value)?),
            0x80..=0x82 => Value::Exception(val.tag),
            t => Value::Other(t),
        };
        bindings.push((ber::oid_to_string(oid.value)?, value));
        cur = next;
    }
    Ok(Response {
        version: ber::int(v.value)?,
        community: c.value.to_vec(),
        request_id: ber::int(rid.value)?,
        error_status: ber::int(es.value)?,
        error_index: ber::int(ei.value)?,
        bindings,
    })
}

impl Response {
    /// The octet-string value bound to `oid`, if any.
    pub fn octets(&self, oid: &str) -> Option<&[u8]> {
        self.bindings
            .iter()
            .find(|(o, _)| o == oid)
            .and_then(|(_, v)| match v {
                Value::Octets(b) => Some(b.as_slice()),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_response(rid: i32, community: &str, es: i64, descr: &[u8]) -> Vec<u8> {
        let mut vb = ber::enc_oid(SYS_DESCR).unwrap();
        vb.extend_from_slice(&ber::tlv(0x04, descr));
        let mut pdu = ber::enc_int(i64::from(rid));
        pdu.extend_from_slice(&ber::enc_int(es));
        pdu.extend_from_slice(&ber::enc_int(0));
        pdu.extend_from_slice(&ber::tlv(0x30, &ber::tlv(0x30, &vb)));
        let mut msg = ber::enc_int(1);
        msg.extend_from_slice(&ber::tlv(0x04, community.as_bytes()));
        msg.extend_from_slice(&ber::tlv(0xa2, &pdu));
        ber::tlv(0x30, &msg)
    }

    #[test]
    fn request_layout() {
        let r = get_request(Version::V2c, "public", 0x1234);
        // SEQUENCE { INTEGER 1, OCTET STRING "public", GetRequest ... }
        assert_eq!(&r[2..5], &[0x02, 0x01, 0x01]);
        assert_eq!(&r[5..13], b"\x04\x06public");
        assert_eq!(r[13], 0xa0);
        let s = set_location(Version::V1, "private", 7, b"lab");
        assert!(s.windows(5).any(|w| w == b"\x04\x03lab"));
    }

    #[test]
    fn parse_ok_response() {
        let r = parse_response(&fake_response(99, "public", 0, b"Linux cam")).unwrap();
        assert_eq!(r.request_id, 99);
        assert_eq!(r.community, b"public");
        assert_eq!(r.octets(SYS_DESCR), Some(&b"Linux cam"[..]));
    }

    #[test]
    fn truncated_everywhere_is_an_error_not_a_panic() {
        let full = fake_response(5, "c", 0, b"x");
        for n in 0..full.len() {
            assert!(parse_response(&full[..n]).is_err());
        }
    }
}

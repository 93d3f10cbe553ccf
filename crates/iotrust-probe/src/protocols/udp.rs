//! The UDP discovery protocols, without sockets: SSDP (UPnP Device Architecture 1.1),
//! NAT-PMP (RFC 6886), multicast DNS (RFC 6762, queried unicast) and CoAP (RFC 7252).

use super::http;

/// SSDP M-SEARCH for all devices, sent unicast to port 1900.
pub fn ssdp_msearch() -> Vec<u8> {
    b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\nUSER-AGENT: iotrust-probe UPnP/1.1\r\n\r\n".to_vec()
}

/// What an SSDP answer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsdpAnswer {
    pub location: Option<String>,
    pub server: Option<String>,
    pub st: Option<String>,
    pub usn: Option<String>,
}

/// Parse an SSDP response datagram.
pub fn parse_ssdp(data: &[u8]) -> Option<SsdpAnswer> {
    let r = http::parse_response(data, true, true).ok()??;
    if r.status != 200 {
        return None;
    }
    let g = |k: &str| r.header(k).map(|v| v.chars().take(512).collect::<String>());
    Some(SsdpAnswer {
        location: g("location"),
        server: g("server"),
        st: g("st"),
        usn: g("usn"),
    })
}

/// Whether a UPnP device description offers Internet Gateway Device port mapping.
pub fn is_igd_description(xml: &str) -> bool {
    xml.contains("urn:schemas-upnp-org:device:InternetGatewayDevice:")
        || xml.contains("urn:schemas-upnp-org:service:WANIPConnection:")
        || xml.contains("urn:schemas-upnp-org:service:WANPPPConnection:")
}

/// The control URL of the first WANIPConnection/WANPPPConnection service, and its service type.
pub fn igd_control(xml: &str) -> Option<(String, String)> {
    let mut from = 0;
    while let Some(p) = xml
        .get(from..)
        .and_then(|s| s.find("<service>"))
        .map(|p| p + from)
    {
        let end = xml
            .get(p..)
            .and_then(|s| s.find("</service>"))
            .map(|e| e + p)?;
        let svc = xml.get(p..end)?;
        let field = |name: &str| {
            let open = format!("<{name}>");
            let s = svc.find(&open)? + open.len();
            let e = svc.get(s..)?.find('<')? + s;
            Some(svc.get(s..e)?.trim().to_string())
        };
        if let (Some(t), Some(c)) = (field("serviceType"), field("controlURL")) {
            if t.contains(":WANIPConnection:") || t.contains(":WANPPPConnection:") {
                return Some((c, t));
            }
        }
        from = end;
    }
    None
}

/// A SOAP envelope calling `action` (no arguments) of `service_type`.
pub fn soap_action(service_type: &str, action: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} xmlns:u=\"{service_type}\"></u:{action}></s:Body></s:Envelope>\r\n"
    )
    .into_bytes()
}

/// NAT-PMP external-address request (version 0, opcode 0).
pub fn natpmp_request() -> Vec<u8> {
    vec![0, 0]
}

/// A NAT-PMP external-address response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatPmpAnswer {
    pub result: u16,
    pub epoch: u32,
    pub external: [u8; 4],
}

/// Parse a NAT-PMP response (12 bytes: version 0, opcode 128, result, epoch, address).
pub fn parse_natpmp(d: &[u8]) -> Option<NatPmpAnswer> {
    if d.len() < 12 || d[0] != 0 || d[1] != 128 {
        return None;
    }
    Some(NatPmpAnswer {
        result: u16::from_be_bytes([d[2], d[3]]),
        epoch: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        external: [d[8], d[9], d[10], d[11]],
    })
}

/// A DNS query for `_services._dns-sd._udp.local` PTR with the unicast-response bit.
pub fn mdns_query(id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in ["_services", "_dns-sd", "_udp", "local"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 12, 0x80, 1]);
    q
}

/// Whether a datagram is a DNS response with at least one answer; returns the answer count.
pub fn parse_mdns(d: &[u8]) -> Option<u16> {
    if d.len() < 12 || d[2] & 0x80 == 0 {
        return None;
    }
    let an = u16::from_be_bytes([d[6], d[7]]);
    (an > 0).then_some(an)
}

/// CoAP confirmable GET /.well-known/core.
pub fn coap_discover(message_id: u16) -> Vec<u8> {
    let mut m = vec![0x40, 0x01];
    m.extend_from_slice(&message_id.to_be_bytes());
    m.push(0xbb); // option 11 (Uri-Path), length 11
    m.extend_from_slice(b".well-known");
    m.push(0x04); // delta 0, length 4
    m.extend_from_slice(b"core");
    m
}

/// A CoAP response: the code (class.detail) and the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoapAnswer {
    pub class: u8,
    pub detail: u8,
    pub payload: Vec<u8>,
}

/// Parse a CoAP message.
pub fn parse_coap(d: &[u8]) -> Option<CoapAnswer> {
    let (&h, &code) = (d.first()?, d.get(1)?);
    if h >> 6 != 1 || d.len() < 4 {
        return None;
    }
    let tkl = usize::from(h & 0x0f);
    if tkl > 8 {
        return None;
    }
    let mut i = 4 + tkl;
    // Skip options until the payload marker.
    while let Some(&b) = d.get(i) {
        if b == 0xff {
            i += 1;
            break;
        }
        let (delta, len) = (b >> 4, usize::from(b & 0x0f));
        if delta == 15 {
            return None;
        }
        i += 1;
        i += match delta {
            13 => 1,
            14 => 2,
            _ => 0,
        };
        let len = match len {
            13 => {
                let l = usize::from(*d.get(i)?) + 13;
                i += 1;
                l
            }
            14 => {
                let l = usize::from(u16::from_be_bytes([*d.get(i)?, *d.get(i + 1)?])) + 269;
                i += 2;
                l
            }
            15 => return None,
            l => l,
        };
        i = i.checked_add(len)?;
        if i > d.len() {
            return None;
        }
    }
    Some(CoapAnswer {
        class: code >> 5,
        detail: code & 0x1f,
        payload: d.get(i..).unwrap_or(&[]).to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssdp() {
        let a = parse_ssdp(b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nLOCATION: http://10.0.0.1:5000/rootDesc.xml\r\nSERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\nST: upnp:rootdevice\r\n\r\n").unwrap();
        assert_eq!(
            a.location.as_deref(),
            Some("http://10.0.0.1:5000/rootDesc.xml")
        );
        assert!(parse_ssdp(b"garbage").is_none());
        let xml = "<root><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service></serviceList></device></root>";
        assert!(is_igd_description(xml));
        assert_eq!(
            igd_control(xml),
            Some((
                "/ctl/IPConn".into(),
                "urn:schemas-upnp-org:service:WANIPConnection:1".into()
            ))
        );
    }

    #[test]
    fn natpmp_and_mdns() {
        let r = parse_natpmp(&[0, 128, 0, 0, 0, 0, 0, 9, 192, 0, 2, 1]).unwrap();
        assert_eq!((r.result, r.epoch, r.external), (0, 9, [192, 0, 2, 1]));
        assert!(parse_natpmp(&[0, 128, 0]).is_none());
        let q = mdns_query(7);
        assert_eq!(q.len(), 12 + 30 + 4);
        assert_eq!(
            parse_mdns(&[0, 7, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
            Some(2)
        );
        assert_eq!(parse_mdns(&q), None);
    }

    #[test]
    fn coap() {
        let m = coap_discover(0x1234);
        assert_eq!(&m[..4], &[0x40, 0x01, 0x12, 0x34]);
        let resp = [
            0x60, 0x45, 0x12, 0x34, 0xc1, 0x28, 0xff, b'<', b'/', b'x', b'>',
        ];
        let a = parse_coap(&resp).unwrap();
        assert_eq!((a.class, a.detail), (2, 5));
        assert_eq!(a.payload, b"</x>");
        assert!(parse_coap(&[0x40, 0x45, 0, 0, 0xd1]).is_none());
        assert!(parse_coap(&[0xff, 0xff]).is_none());
    }
}

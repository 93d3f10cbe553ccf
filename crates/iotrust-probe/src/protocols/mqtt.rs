//! MQTT 3.1.1 packets the probe needs, without sockets: CONNECT and SUBSCRIBE out, a
//! bounded stream decoder for what comes back (CONNACK, SUBACK, PUBLISH topic names).
//! Payloads are skipped, never kept.

use std::collections::BTreeSet;

/// Largest packet the decoder accepts; anything larger ends the conversation.
pub const MAX_PACKET: usize = 256 * 1024;

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&b[..n]);
}

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

/// A CONNECT packet (protocol level 4, clean session, keep-alive 30 s).
pub fn connect(client_id: &str, credentials: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = Vec::new();
    put_str(&mut body, "MQTT");
    body.push(4);
    let mut flags = 0x02u8;
    if credentials.is_some() {
        flags |= 0x80 | 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&30u16.to_be_bytes());
    put_str(&mut body, client_id);
    if let Some((u, p)) = credentials {
        put_str(&mut body, u);
        put_str(&mut body, p);
    }
    let mut out = vec![0x10];
    remaining_length(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// A SUBSCRIBE packet for one topic filter at QoS 0.
pub fn subscribe(packet_id: u16, filter: &str) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    put_str(&mut body, filter);
    body.push(0);
    let mut out = vec![0x82];
    remaining_length(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// DISCONNECT.
pub fn disconnect() -> Vec<u8> {
    vec![0xe0, 0x00]
}

/// A decoded packet, reduced to what the probe looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// CONNACK with its return code (0 accepted, 4 bad credentials, 5 not authorised).
    ConnAck { session_present: bool, code: u8 },
    /// SUBACK with the granted QoS per filter (0x80 = refused).
    SubAck { packet_id: u16, granted: Vec<u8> },
    /// PUBLISH: the topic only.
    Publish { topic: String },
    /// Anything else, by packet type.
    Other(u8),
}

/// Decoder errors; none can be recovered from on the same connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    #[error("malformed remaining length")]
    BadLength,
    #[error("packet of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("malformed {0} packet")]
    Malformed(&'static str),
}

/// A stream decoder: feed bytes, take packets.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Add bytes from the broker.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete packet, if any.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, MqttError> {
        let Some(&first) = self.buf.first() else {
            return Ok(None);
        };
        let mut len = 0usize;
        let mut mult = 1usize;
        let mut i = 1;
        loop {
            let Some(&b) = self.buf.get(i) else {
                return Ok(None);
            };
            len += usize::from(b & 0x7f) * mult;
            i += 1;
            if b & 0x80 == 0 {
                break;
            }
            mult *= 128;
            if i > 4 {
                return Err(MqttError::BadLength);
            }
        }
        if len > MAX_PACKET {
            return Err(MqttError::TooLarge(len));
        }
        if self.buf.len() < i + len {
            return Ok(None);
        }
        let body: Vec<u8> = self.buf.drain(..i + len).skip(i).collect();
        let kind = first >> 4;
        let p = match kind {
            2 => {
                if body.len() != 2 {
                    return Err(MqttError::Malformed("CONNACK"));
                }
                Packet::ConnAck {
                    session_present: body[0] & 1 == 1,
                    code: body[1],
                }
            }
            9 => {
                if body.len() < 3 {
                    return Err(MqttError::Malformed("SUBACK"));
                }
                Packet::SubAck {
                    packet_id: u16::from_be_bytes([body[0], body[1]]),
                    granted: body[2..].to_vec(),
                }
            }
            3 => {
                let tl = match (body.first(), body.get(1)) {
                    (Some(&a), Some(&b)) => usize::from(u16::from_be_bytes([a, b])),
                    _ => return Err(MqttError::Malformed("PUBLISH")),
                };
                let topic = body.get(2..2 + tl).ok_or(MqttError::Malformed("PUBLISH"))?;
                Packet::Publish {
                    topic: String::from_utf8_lossy(topic).into_owned(),
                }
            }
            k => Packet::Other(k),
        };
        Ok(Some(p))
    }
}

/// Counts distinct topics without keeping more than `cap` of them.
#[derive(Debug, Default)]
pub struct TopicCounter {
    seen: BTreeSet<String>,
    pub messages: usize,
}

impl TopicCounter {
    /// Record one PUBLISH topic.
    pub fn add(&mut self, topic: String, cap: usize) {
        self.messages += 1;
        if self.seen.len() < cap {
            self.seen.insert(topic);
        }
    }

    /// Distinct topics seen (up to the cap).
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }
}

/// Whether bytes look like an MQTT CONNACK (for identification).
pub fn looks_like_connack(b: &[u8]) -> bool {
    b.len() >= 4 && b[0] == 0x20 && b[1] == 0x02 && b[2] <= 1 && b[3] <= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_bytes() {
        let p = connect("id", None);
        assert_eq!(
            p,
            vec![0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 30, 0, 2, b'i', b'd']
        );
        let p = connect("i", Some(("u", "p")));
        assert_eq!(p[9], 0xc2);
        assert_eq!(subscribe(1, "#"), vec![0x82, 6, 0, 1, 0, 1, b'#', 0]);
    }

    #[test]
    fn long_remaining_length() {
        let mut v = Vec::new();
        remaining_length(321, &mut v);
        assert_eq!(v, vec![0xc1, 0x02]);
    }

    #[test]
    fn decode_stream_split_anywhere() {
        let mut bytes = vec![0x20, 2, 0, 0, 0x90, 3, 0, 1, 0];
        bytes.extend_from_slice(&[0x30, 9, 0, 3, b'a', b'/', b'b', b'x', b'y', b'z', b'w']);
        for cut in 0..bytes.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            d.feed(&bytes[..cut]);
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
            d.feed(&bytes[cut..]);
            while let Some(p) = d.next_packet().unwrap() {
                got.push(p);
            }
            assert_eq!(
                got,
                vec![
                    Packet::ConnAck {
                        session_present: false,
                        code: 0
                    },
                    Packet::SubAck {
                        packet_id: 1,
                        granted: vec![0]
                    },
                    Packet::Publish {
                        topic: "a/b".into()
                    }
                ]
            );
        }
    }

    #[test]
    fn hostile_lengths() {
        let mut d = Decoder::default();
        d.feed(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(d.next_packet(), Err(MqttError::BadLength));
        let mut d = Decoder::default();
        d.feed(&[0x30, 0xff, 0xff, 0x7f]);
        assert!(matches!(d.next_packet(), Err(MqttError::TooLarge(_))));
        let mut d = Decoder::default();
        d.feed(&[0x30, 2, 0, 9]);
        assert_eq!(d.next_packet(), Err(MqttError::Malformed("PUBLISH")));
        let mut d = Decoder::default();
        d.feed(&[0x20, 1, 0]);
        assert_eq!(d.next_packet(), Err(MqttError::Malformed("CONNACK")));
    }
}

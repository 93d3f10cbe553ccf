//! Fuzz entry point: whatever bytes arrive as a feed must load, with problems, or be refused
//! with an error — never a panic — and every entry must be one the checks allowed.

use crate::{parse, Format, Subject};

/// Parse `data` with detection and then as each format.
pub fn feed(data: &[u8]) {
    for format in std::iter::once(None).chain(Format::ALL.map(Some)) {
        let Ok(feed) = parse(data, "fuzz", format) else {
            continue;
        };
        let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
        for e in &feed.entries {
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            match &e.subject {
                Subject::Prefix(a, l) | Subject::PrefixPort(a, l, _) => {
                    assert!(*l >= if a.is_ipv4() { 8 } else { 16 });
                    assert!(*l < if a.is_ipv4() { 32 } else { 128 });
                }
                Subject::Addr(a) | Subject::AddrPort(a, _) => {
                    assert!(!a.is_loopback() && !a.is_unspecified() && !a.is_multicast());
                }
                Subject::Domain(d) => {
                    assert!(!d.is_empty() && !d.ends_with('.'));
                    assert_eq!(d, &d.to_ascii_lowercase());
                }
            }
        }
        for p in &feed.problems {
            assert!(
                p.line >= 1 && p.line <= lines,
                "problem line {} of {lines}",
                p.line
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostile_inputs_do_not_panic() {
        for input in [
            &b""[..],
            b"\xff\xfe\x00",
            b"{",
            b"[",
            b"{}",
            b"[]",
            b"null",
            b"{\"type\":\"bundle\",\"objects\":{}}",
            b"{\"type\":\"bundle\",\"objects\":[1,\"x\",{\"type\":\"indicator\",\"pattern\":7}]}",
            b"{\"Event\":[]}",
            b"{\"Event\":{\"Attribute\":{},\"Object\":[1]}}",
            b"{\"1\":[{\"ioc_value\":null}],\"2\":3}",
            b"# \"first_seen_utc\",\"ioc_id\",\"ioc_value\"\n\"",
            b";\n{\"cidr\":5}\n{",
            b"\r\n\r\n#\n;\n",
        ] {
            super::feed(input);
        }
    }

    #[test]
    fn random_bytes_do_not_panic() {
        // A small xorshift generator: reproducible, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}[]\":,;#'\n 0123456789./abcdefx|-_\\";
        for round in 0..400 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if round % 2 == 0 {
                        r as u8
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            super::feed(&bytes);
        }
    }
}

//! The optional address → subscriber mapping.
//!
//! A CSV file: `address_or_prefix,subscriber` per line, more columns ignored; `#` comments,
//! blank lines and a header line whose first field is `address` or `prefix` are skipped.
//! The longest matching prefix wins, so a /32 overrides its /24.
//!
//! ```text
//! address,subscriber
//! 192.0.2.0/24,business-park-7
//! 192.0.2.10,cust-000123
//! 2001:db8:1:100::/56,cust-000124
//! ```
//!
//! Addresses change hands (DHCP, PPP sessions): the mapping must be the one valid at the
//! time of the traffic. This is a static snapshot; a time-aware source (RADIUS accounting,
//! CGNAT logs) is future work.

use iotrust_flow::Addr;

use crate::error::Error;
use crate::net::{Prefix, PrefixMap};

/// Address → subscriber id, longest prefix first.
#[derive(Clone, Debug, Default)]
pub struct Subscribers {
    map: PrefixMap<String>,
}

impl Subscribers {
    /// Parses the CSV text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Subscribers, Error> {
        let mut map = PrefixMap::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split(',').map(|f| f.trim().trim_matches('"'));
            let addr = fields.next().unwrap_or("");
            let sub = fields.next().unwrap_or("");
            if n == 0 && matches!(addr.to_ascii_lowercase().as_str(), "address" | "prefix") {
                continue;
            }
            let err = |message: String| Error::Parse {
                origin: origin.to_string(),
                line: n + 1,
                message,
            };
            let prefix: Prefix = addr
                .parse()
                .map_err(|e: crate::net::PrefixError| err(e.0))?;
            if sub.is_empty() {
                return Err(err(format!("`{addr}`: no subscriber in the second column")));
            }
            map.insert(prefix, sub.to_string());
        }
        Ok(Subscribers { map })
    }

    /// The subscriber of `addr`.
    pub fn lookup(&self, addr: Addr) -> Option<&str> {
        self.map.lookup(addr).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        let s = Subscribers::parse(
            "address,subscriber\n192.0.2.0/24,park\n192.0.2.10,cust-1,extra\n# c\n\n",
            "subs.csv",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.lookup(Addr::v4([192, 0, 2, 10])), Some("cust-1"));
        assert_eq!(s.lookup(Addr::v4([192, 0, 2, 11])), Some("park"));
        assert_eq!(s.lookup(Addr::v4([10, 0, 0, 1])), None);
        let e = Subscribers::parse("x,y\n", "subs.csv").unwrap_err();
        assert!(e.to_string().starts_with("subs.csv:1:"), "{e}");
        assert!(Subscribers::parse("192.0.2.1\n", "s").is_err());
    }
}

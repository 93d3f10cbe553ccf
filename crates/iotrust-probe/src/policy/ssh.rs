//! SSH algorithms offered in a server's KEXINIT, judged against current guidance, and Terrapin
//! (CVE-2023-48795) exposure judged from what is offered. Never by completing a key exchange or
//! attempting an attack: the server's KEXINIT is sent in the clear before anything else.
//!
//! Guidance named in the findings:
//! - RFC 9142 (2022), key exchange methods: `diffie-hellman-group1-sha1` and
//!   `diffie-hellman-group-exchange-sha1` SHOULD NOT, `rsa1024-sha1` MUST NOT,
//!   `diffie-hellman-group14-sha256` MUST (the SHA-1 variant stays only for compatibility).
//! - RFC 8332 (2018) and NIST SP 800-131A Rev. 2: RSA signatures with SHA-1 (`ssh-rsa`) are
//!   replaced by `rsa-sha2-256/512`; SHA-1 is disallowed for signature generation. OpenSSH 8.8
//!   turned `ssh-rsa` off by default (release notes, 2021).
//! - FIPS 186-5 (2023): DSA is no longer approved for signing (`ssh-dss`).
//! - RFC 8758 (2020): RC4 (`arcfour*`) MUST NOT be used in SSH.
//! - NIST SP 800-131A Rev. 2: three-key TDEA (`3des-cbc`) disallowed for encryption after 2023;
//!   64-bit blocks are open to Sweet32 (CVE-2016-2183).
//! - CBC modes in SSH allow plaintext recovery (CVE-2008-5161); RFC 4344 gives the CTR modes.
//! - MD5 and 96-bit truncated MACs: RFC 6151 (MD5 is not to be used in new protocols);
//!   `hmac-*-96` truncate the tag.
//! - Terrapin: Bäumer, Brinkmann, Schwenk, "Terrapin Attack: Breaking SSH Channel Integrity By
//!   Sequence Number Manipulation" (USENIX Security 2024): ChaCha20-Poly1305 and CBC with
//!   Encrypt-then-MAC are affected unless both sides use strict key exchange
//!   (`kex-strict-s-v00@openssh.com`, OpenSSH 9.6).

use super::Weakness;
use crate::evidence;
use crate::protocols::ssh::KexInit;

/// What a server offers (both directions merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
}

impl From<&KexInit> for Offer {
    fn from(k: &KexInit) -> Offer {
        let mut ciphers = k.ciphers_s2c.clone();
        for c in &k.ciphers_c2s {
            if !ciphers.contains(c) {
                ciphers.push(c.clone());
            }
        }
        let mut macs = k.macs_s2c.clone();
        for m in &k.macs_c2s {
            if !macs.contains(m) {
                macs.push(m.clone());
            }
        }
        Offer {
            kex: k.kex.clone(),
            host_key: k.host_key.clone(),
            ciphers,
            macs,
        }
    }
}

/// Why a key-exchange method is weak, with the guidance.
pub fn weak_kex(name: &str) -> Option<&'static str> {
    Some(match name {
        "diffie-hellman-group1-sha1" => "1024-bit group with SHA-1 (RFC 9142: SHOULD NOT)",
        "diffie-hellman-group-exchange-sha1" => "SHA-1 exchange hash (RFC 9142: SHOULD NOT)",
        "diffie-hellman-group14-sha1" => {
            "SHA-1 exchange hash (RFC 9142 requires diffie-hellman-group14-sha256 instead)"
        }
        "rsa1024-sha1" => "1024-bit RSA with SHA-1 (RFC 9142: MUST NOT)",
        n if n.starts_with("gss-") && n.contains("sha1") => {
            "GSS-API key exchange with SHA-1 (RFC 8732, RFC 9142: SHOULD NOT)"
        }
        _ => return None,
    })
}

/// Why a host-key (signature) algorithm is weak.
pub fn weak_host_key(name: &str) -> Option<&'static str> {
    Some(match name {
        "ssh-rsa" | "ssh-rsa-cert-v01@openssh.com" | "x509v3-sign-rsa" => {
            "RSA signatures with SHA-1 (RFC 8332 rsa-sha2-256/512 replace them; NIST SP 800-131A Rev. 2 disallows SHA-1 signatures)"
        }
        "ssh-dss" | "ssh-dss-cert-v01@openssh.com" | "x509v3-sign-dss" => {
            "DSA with SHA-1 (no longer approved for signing by FIPS 186-5)"
        }
        _ => return None,
    })
}

/// Why a cipher is weak.
pub fn weak_cipher(name: &str) -> Option<&'static str> {
    Some(match name {
        "none" => "no encryption",
        "3des-cbc" | "3des-ctr" => {
            "3DES, 64-bit block (NIST SP 800-131A Rev. 2: disallowed after 2023; Sweet32 CVE-2016-2183)"
        }
        "arcfour" | "arcfour128" | "arcfour256" => "RC4 (RFC 8758: MUST NOT)",
        "des-cbc" | "des-cbc@ssh.com" | "des" => "single DES, 56-bit key",
        "blowfish-cbc" | "cast128-cbc" | "idea-cbc" | "blowfish-ctr" | "cast128-ctr" => {
            "64-bit block cipher (Sweet32 CVE-2016-2183)"
        }
        n if n.ends_with("-cbc") || n == "rijndael-cbc@lysator.liu.se" => {
            "CBC mode (plaintext recovery, CVE-2008-5161; RFC 4344 gives CTR modes)"
        }
        _ => return None,
    })
}

/// Why a MAC is weak.
pub fn weak_mac(name: &str) -> Option<&'static str> {
    let base = name
        .trim_end_matches("@openssh.com")
        .trim_end_matches("-etm");
    Some(match base {
        "none" => "no integrity protection",
        "hmac-md5" | "hmac-md5-96" => "MD5 (RFC 6151)",
        "hmac-sha1-96" => "SHA-1 truncated to 96 bits",
        "hmac-ripemd160" => "RIPEMD-160, not in current guidance (removed from OpenSSH 7.6)",
        "umac-32" => "32-bit tag",
        _ => return None,
    })
}

/// Terrapin (CVE-2023-48795): the affected modes offered, and whether strict key exchange
/// mitigates them. `None`: no affected mode is offered.
pub fn terrapin(o: &Offer) -> Option<(Vec<String>, bool)> {
    let mut affected: Vec<String> = o
        .ciphers
        .iter()
        .filter(|c| c.as_str() == "chacha20-poly1305@openssh.com")
        .cloned()
        .collect();
    let cbc = o.ciphers.iter().any(|c| c.ends_with("-cbc"));
    let etm: Vec<&String> = o
        .macs
        .iter()
        .filter(|m| m.ends_with("-etm@openssh.com"))
        .collect();
    if cbc && !etm.is_empty() {
        affected.push(format!("CBC with {}", etm[0]));
    }
    if affected.is_empty() {
        return None;
    }
    let strict = o.kex.iter().any(|k| k == "kex-strict-s-v00@openssh.com");
    Some((affected, strict))
}

fn listed(names: &[String], why: fn(&str) -> Option<&'static str>) -> Option<String> {
    let parts: Vec<String> = names
        .iter()
        .filter_map(|n| why(n).map(|w| format!("{n}: {w}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Every weakness in an offer, one per rule.
pub fn judge(o: &Offer) -> Vec<Weakness> {
    let mut out = Vec::new();
    for (rule, names, why) in [
        (
            &evidence::SSH_WEAK_KEX,
            &o.kex,
            weak_kex as fn(&str) -> Option<&'static str>,
        ),
        (&evidence::SSH_WEAK_HOST_KEY, &o.host_key, weak_host_key),
        (&evidence::SSH_WEAK_CIPHER, &o.ciphers, weak_cipher),
        (&evidence::SSH_WEAK_MAC, &o.macs, weak_mac),
    ] {
        if let Some(detail) = listed(names, why) {
            out.push(Weakness {
                rule,
                detail: format!("offers {detail}"),
            });
        }
    }
    if let Some((affected, false)) = terrapin(o) {
        out.push(Weakness {
            rule: &evidence::SSH_TERRAPIN,
            detail: format!(
                "CVE-2023-48795: offers {} without strict key exchange (kex-strict-s-v00@openssh.com)",
                affected.join(", ")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    }

    /// OpenSSH 9.2 (Debian 12) defaults: nothing weak, ChaCha20 mitigated by strict kex.
    fn openssh_default() -> Offer {
        Offer {
            kex: v("sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com"),
            host_key: v("rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519"),
            ciphers: v("chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"),
            macs: v("umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"),
        }
    }

    #[test]
    fn modern_defaults_are_clean() {
        assert_eq!(judge(&openssh_default()), vec![]);
        assert_eq!(
            terrapin(&openssh_default()),
            Some((vec!["chacha20-poly1305@openssh.com".into()], true))
        );
    }

    #[test]
    fn legacy_algorithms_are_named_with_guidance() {
        let mut o = openssh_default();
        o.kex.push("diffie-hellman-group1-sha1".into());
        o.host_key.push("ssh-rsa".into());
        o.ciphers.push("3des-cbc".into());
        o.macs.push("hmac-md5".into());
        let w = judge(&o);
        let ids: Vec<&str> = w.iter().map(|x| x.rule.id).collect();
        assert_eq!(
            ids,
            [
                "ssh-weak-kex",
                "ssh-weak-host-key",
                "ssh-weak-cipher",
                "ssh-weak-mac"
            ]
        );
        assert!(w[0].detail.contains("RFC 9142"));
        assert!(w[1].detail.contains("RFC 8332"));
        assert!(w[2].detail.contains("SP 800-131A"));
        assert!(w[3].detail.contains("MD5"));
    }

    #[test]
    fn terrapin_without_strict_kex() {
        let mut o = openssh_default();
        o.kex.retain(|k| !k.starts_with("kex-strict"));
        let w = judge(&o);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].rule.id, "ssh-terrapin");
        assert!(w[0].detail.contains("CVE-2023-48795"));
        // CBC with an EtM MAC is affected too; CBC with plain MACs is not.
        let o = Offer {
            kex: v("curve25519-sha256"),
            host_key: v("ssh-ed25519"),
            ciphers: v("aes128-cbc"),
            macs: v("hmac-sha2-256-etm@openssh.com"),
        };
        assert!(terrapin(&o).is_some_and(|(a, s)| a[0].starts_with("CBC") && !s));
        let o = Offer {
            kex: v("curve25519-sha256"),
            host_key: v("ssh-ed25519"),
            ciphers: v("aes128-cbc"),
            macs: v("hmac-sha2-256"),
        };
        assert_eq!(terrapin(&o), None);
    }
}

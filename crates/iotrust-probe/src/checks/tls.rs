//! TLS: which protocol versions a service accepts (one ClientHello per version, parsed by
//! [`crate::protocols::tls`]), and its certificate (key size, signature algorithm,
//! self-signed, expiry) parsed by [`crate::protocols::x509`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_rustls::rustls;

use crate::context::Ctx;
use crate::evidence;
use crate::observe::Observer;
use crate::policy;
use crate::protocols::{tls as t, x509};

/// A certificate verifier that accepts everything: the probe inspects certificates itself and
/// never sends secrets over these connections except the credentials under test.
#[derive(Debug)]
pub(crate) struct AcceptAnyCert(pub Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _m: &[u8],
        _c: &rustls::pki_types::CertificateDer<'_>,
        _d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _m: &[u8],
        _c: &rustls::pki_types::CertificateDer<'_>,
        _d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Offer one version; return the server's first flight if it chose exactly that version.
async fn try_version(ctx: &Ctx, addr: SocketAddr, v: t::Version) -> Option<t::ServerFlight> {
    let mut c = ctx.gate.tcp(addr).await.ok()?;
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    c.send(&t::client_hello(v, random, None)).await.ok()?;
    let mut p = t::FlightParser::default();
    let deadline = Instant::now() + ctx.cfg.timeouts.read;
    while let Ok(b) = c.recv_until(deadline).await {
        match p.feed(&b) {
            Ok(true) => break,
            Ok(false) => {}
            Err(_) => return None,
        }
    }
    (p.flight.version == Some(v.wire())).then_some(p.flight)
}

/// Every suite of [`policy::tls::SUITES`] that the server accepts at `version`: offer the
/// list, remove the suite the server chose, offer the rest, until it refuses. Returns the
/// suites and whether every ServerHello carried `renegotiation_info`.
async fn enumerate_suites(ctx: &Ctx, addr: SocketAddr, version: t::Version) -> (Vec<u16>, bool) {
    let mut left: Vec<u16> = policy::tls::SUITES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| (*c >> 8) != 0x13)
        .collect();
    let mut found = Vec::new();
    let mut reneg = true;
    while !left.is_empty() {
        let Some(f) = hello(ctx, addr, version, &left).await else {
            break;
        };
        let Some(c) = f.cipher.filter(|c| left.contains(c)) else {
            break; // a suite we did not offer: stop rather than loop
        };
        reneg &= f.renegotiation_info;
        found.push(c);
        left.retain(|x| *x != c);
    }
    (found, reneg)
}

/// One ClientHello at `version` with `suites`; the flight if the server chose that version.
async fn hello(
    ctx: &Ctx,
    addr: SocketAddr,
    version: t::Version,
    suites: &[u16],
) -> Option<t::ServerFlight> {
    let mut c = ctx.gate.tcp(addr).await.ok()?;
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    c.send(&t::client_hello_with(version, suites, random, None))
        .await
        .ok()?;
    let mut p = t::FlightParser::default();
    let deadline = Instant::now() + ctx.cfg.timeouts.read;
    while let Ok(b) = c.recv_until(deadline).await {
        match p.feed(&b) {
            Ok(true) => break,
            Ok(false) => {}
            Err(_) => return None,
        }
    }
    (p.flight.version == Some(version.wire()) && p.flight.alert.is_none()).then_some(p.flight)
}

/// Test versions and the certificate; record findings and the minimum version.
pub(crate) async fn run(ctx: &Arc<Ctx>, addr: SocketAddr, svc: &str, state: &Observer) {
    let results = futures::future::join_all(
        t::Version::ALL
            .iter()
            .map(|&v| async move { (v, try_version(ctx, addr, v).await) }),
    )
    .await;
    let accepted: Vec<(t::Version, t::ServerFlight)> = results
        .into_iter()
        .filter_map(|(v, f)| f.map(|f| (v, f)))
        .collect();
    let mut cert_der = accepted
        .iter()
        .rev()
        .find_map(|(_, f)| f.certificates.first().cloned());
    if cert_der.is_none() && !accepted.is_empty() {
        // TLS 1.3 only: the certificate is encrypted; complete a handshake to read it.
        cert_der = tls13_certificate(ctx, addr).await;
    }
    let names: Vec<String> = accepted.iter().map(|(v, _)| v.name().to_string()).collect();
    {
        state.service_tls(addr.port(), names.clone());
        let Some((min, _)) = accepted.first() else {
            state.incomplete(format!("{svc}: no TLS version could be negotiated"));
            return;
        };
        state.tls_version(*min);
        let legacy: Vec<&str> = accepted
            .iter()
            .filter(|(v, _)| v.is_legacy())
            .map(|(v, _)| v.name())
            .collect();
        if !legacy.is_empty() {
            state.finding(
                &evidence::TLS_LEGACY,
                Some(svc.to_string()),
                None,
                Some(format!(
                    "accepts {} (all accepted: {})",
                    legacy.join(", "),
                    names.join(", ")
                )),
            );
        }
    }
    // Cipher suites, per version up to TLS 1.2 (TLS 1.3 suites are all AEAD with ephemeral
    // keys: the one chosen is recorded).
    let per_version = futures::future::join_all(
        accepted
            .iter()
            .filter(|(v, _)| *v != t::Version::Tls13)
            .map(|(v, _)| async move { (*v, enumerate_suites(ctx, addr, *v).await) }),
    )
    .await;
    let mut judged = policy::tls::Accepted::default();
    for (v, (suites, reneg)) in per_version {
        for c in suites {
            let name = policy::tls::name(c).map_or_else(|| format!("{c:#06x}"), String::from);
            judged.suites.push((v.name().to_string(), name));
        }
        if v != t::Version::Ssl3 {
            judged.secure_renegotiation =
                Some(judged.secure_renegotiation.unwrap_or(true) && reneg);
        }
    }
    for (v, f) in &accepted {
        if *v == t::Version::Tls13 {
            if let Some(n) = f.cipher.and_then(policy::tls::name) {
                judged.suites.push((v.name().to_string(), n.to_string()));
            }
        }
    }
    for w in policy::tls::judge(&judged) {
        state.weak_crypto();
        state.finding(w.rule, Some(svc.to_string()), None, Some(w.detail));
    }
    let Some(der) = cert_der else { return };
    let Ok(info) = x509::parse(&der) else {
        state.incomplete(format!("{svc}: certificate could not be parsed"));
        return;
    };
    if info.weak_key() {
        state.finding(
            &evidence::TLS_WEAK_KEY,
            Some(svc.to_string()),
            None,
            Some(format!(
                "{} key of {} bits",
                info.key_type.to_uppercase(),
                info.key_bits
            )),
        );
    }
    if info.weak_signature() {
        state.finding(
            &evidence::TLS_WEAK_SIGNATURE,
            Some(svc.to_string()),
            None,
            Some(format!("signature algorithm {}", info.signature_algorithm)),
        );
    }
    if info.self_issued {
        state.finding(
            &evidence::TLS_SELF_SIGNED,
            Some(svc.to_string()),
            None,
            Some(format!(
                "issuer equals subject{}",
                info.subject_cn
                    .map(|c| format!(" (CN={})", evidence::sanitize(&c, 60)))
                    .unwrap_or_default()
            )),
        );
    }
    if let Some(na) = info.not_after {
        if na < jiff::Timestamp::now() {
            state.finding(
                &evidence::TLS_EXPIRED,
                Some(svc.to_string()),
                None,
                Some(format!("not valid after {na}")),
            );
        }
    }
}

async fn tls13_certificate(ctx: &Ctx, addr: SocketAddr) -> Option<Vec<u8>> {
    let c = ctx.gate.tcp(addr).await.ok()?;
    let (stream, _permit) = c.into_parts();
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&ctx.tls));
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let s = tokio::time::timeout(ctx.cfg.timeouts.read, connector.connect(name, stream))
        .await
        .ok()?
        .ok()?;
    let (_, conn) = s.get_ref();
    conn.peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
}

//! TLS: which protocol versions a service accepts (one ClientHello per version, parsed by
//! [`crate::protocols::tls`]), and its certificate (key size, signature algorithm,
//! self-signed, expiry) parsed by [`crate::protocols::x509`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_rustls::rustls;

use crate::driver::{lock, Ctx, Shared};
use crate::evidence;
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

/// Test versions and the certificate; record findings and the minimum version.
pub(crate) async fn run(ctx: &Arc<Ctx>, addr: SocketAddr, svc: &str, state: &Shared) {
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
    let mut st = lock(state);
    if let Some(s) = st
        .services
        .iter_mut()
        .find(|s| s.port == addr.port() && s.transport == "tcp")
    {
        s.tls_versions = names.clone();
    }
    let Some((min, _)) = accepted.first() else {
        st.incomplete
            .push(format!("{svc}: no TLS version could be negotiated"));
        return;
    };
    st.tls_version(*min);
    let legacy: Vec<&str> = accepted
        .iter()
        .filter(|(v, _)| v.is_legacy())
        .map(|(v, _)| v.name())
        .collect();
    if !legacy.is_empty() {
        st.finding(
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
    let weak_ciphers: Vec<String> = accepted
        .iter()
        .filter_map(|(v, f)| {
            f.cipher
                .filter(|c| t::weak_cipher(*c))
                .map(|c| format!("{} chose {c:#06x}", v.name()))
        })
        .collect();
    if !weak_ciphers.is_empty() {
        st.finding(
            &evidence::TLS_LEGACY,
            Some(svc.to_string()),
            None,
            Some(format!(
                "weak cipher suites negotiated: {}",
                weak_ciphers.join(", ")
            )),
        );
    }
    let Some(der) = cert_der else { return };
    let Ok(info) = x509::parse(&der) else {
        st.incomplete
            .push(format!("{svc}: certificate could not be parsed"));
        return;
    };
    if info.weak_key() {
        st.finding(
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
        st.finding(
            &evidence::TLS_WEAK_SIGNATURE,
            Some(svc.to_string()),
            None,
            Some(format!("signature algorithm {}", info.signature_algorithm)),
        );
    }
    if info.self_issued {
        st.finding(
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
            st.finding(
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

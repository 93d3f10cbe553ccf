//! SSH configuration: the algorithms a server offers in its KEXINIT (sent in the clear before
//! any key exchange), judged by [`crate::policy::ssh`]. The probe sends its identification
//! line and reads; it never sends a KEXINIT of its own, so no key exchange starts.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;

use crate::context::Ctx;
use crate::observe::Observer;
use crate::policy;
use crate::protocols::ssh;

/// Read the server's KEXINIT and record a finding per weakness.
pub(crate) async fn run(ctx: &Arc<Ctx>, addr: SocketAddr, svc: &str, state: &Observer) {
    let kex = match read_kexinit(ctx, addr).await {
        Ok(k) => k,
        Err(e) => {
            state.incomplete(format!("{svc}: SSH algorithms could not be read ({e})"));
            return;
        }
    };
    let offer = policy::ssh::Offer::from(&kex);
    for w in policy::ssh::judge(&offer) {
        state.weak_crypto();
        state.finding(w.rule, Some(svc.to_string()), None, Some(w.detail));
    }
}

async fn read_kexinit(ctx: &Ctx, addr: SocketAddr) -> Result<ssh::KexInit, String> {
    let mut c = ctx.gate.tcp(addr).await.map_err(|e| e.to_string())?;
    c.send(ssh::CLIENT_IDENT).await.map_err(|e| e.to_string())?;
    let deadline = Instant::now() + ctx.cfg.timeouts.read.max(ctx.cfg.timeouts.banner);
    let mut buf = Vec::new();
    loop {
        match ssh::parse_kexinit(&buf) {
            Ok(Some(k)) => return Ok(k),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        match c.recv_until(deadline).await {
            Ok(b) => buf.extend_from_slice(&b),
            Err(e) => return Err(format!("no KEXINIT: {e}")),
        }
    }
}

//! Unauthenticated-access checks on TCP: MQTT (anonymous connect, subscribe to `#`) and RTSP
//! (DESCRIBE without credentials).

use std::sync::Arc;

use tokio::time::Instant;

use crate::driver::{lock, Ctx, Endpoint, Shared};
use crate::evidence;
use crate::net::NetError;
use crate::protocols::{mqtt as m, rtsp as r};

/// Connect without credentials; if accepted, subscribe to `#` and count topics for the
/// configured window. Payloads are never kept.
pub(crate) async fn mqtt(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Shared) {
    match mqtt_anonymous(ctx, ep).await {
        Ok(None) => lock(state).anonymous_tested(None),
        Ok(Some((granted, topics, messages))) => {
            let detail = if granted {
                format!("an anonymous client connected and its subscription to `#` was granted; {topics} distinct topics ({messages} messages) seen in {} s (contents not recorded)", ctx.cfg.timeouts.mqtt_window.as_secs_f32())
            } else {
                "an anonymous client connected (CONNACK 0); the subscription to `#` was refused"
                    .to_string()
            };
            let mut st = lock(state);
            st.anonymous_tested(Some(svc.to_string()));
            st.finding(
                &evidence::MQTT_ANONYMOUS,
                Some(svc.to_string()),
                None,
                Some(detail),
            );
        }
        Err(e) => lock(state)
            .incomplete
            .push(format!("{svc}: anonymous MQTT not tested ({e})")),
    }
}

async fn mqtt_anonymous(ctx: &Ctx, ep: Endpoint) -> Result<Option<(bool, usize, usize)>, NetError> {
    let mut c = ctx.open(ep).await?;
    c.send(&m::connect(
        &format!("iotrust-{:08x}", ctx.nonce() as u32),
        None,
    ))
    .await?;
    let mut dec = m::Decoder::default();
    let deadline = Instant::now() + ctx.cfg.timeouts.read;
    let code = loop {
        match dec.next_packet() {
            Ok(Some(m::Packet::ConnAck { code, .. })) => break code,
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => return Err(NetError::Io(format!("mqtt: {e}"))),
        }
        match c.recv_until(deadline).await {
            Ok(b) => dec.feed(&b),
            Err(NetError::Closed) => return Ok(None), // closed instead of CONNACK: refused
            Err(e) => return Err(e),
        }
    };
    if code != 0 {
        return Ok(None);
    }
    c.send(&m::subscribe(1, "#")).await?;
    let mut granted = false;
    let mut topics = m::TopicCounter::default();
    let window_end = Instant::now() + ctx.cfg.timeouts.mqtt_window;
    loop {
        match dec.next_packet() {
            Ok(Some(m::Packet::SubAck {
                packet_id: 1,
                granted: g,
            })) => granted = g.first().is_some_and(|q| *q < 0x80),
            Ok(Some(m::Packet::Publish { topic })) => topics.add(topic, 100_000),
            Ok(Some(_)) => {}
            Ok(None) => match c.recv_until(window_end).await {
                Ok(b) => dec.feed(&b),
                Err(_) => break,
            },
            Err(_) => break,
        }
    }
    let _ = c.send(&m::disconnect()).await;
    Ok(Some((granted, topics.distinct(), topics.messages)))
}

/// DESCRIBE common stream paths without credentials; an SDP answer means the stream is open.
pub(crate) async fn rtsp(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Shared) {
    let mut auth_required = false;
    let mut errors = 0;
    for (i, path) in r::COMMON_PATHS.iter().enumerate() {
        let url = format!("rtsp://{}/{path}", ep.addr);
        let req = r::describe(&url, i as u32 + 2, None);
        match ctx.http_exchange(ep, &req, false).await {
            Ok(resp) if resp.status == 200 && r::is_sdp(&resp.body) => {
                let mut st = lock(state);
                st.anonymous_tested(Some(svc.to_string()));
                st.finding(
                    &evidence::RTSP_UNAUTHENTICATED,
                    Some(svc.to_string()),
                    None,
                    Some(format!(
                        "DESCRIBE {} answered 200 with a session description ({} media)",
                        evidence::sanitize(&url, 100),
                        r::media_count(&resp.body)
                    )),
                );
                return;
            }
            Ok(resp) if resp.status == 401 => auth_required = true,
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    if errors == r::COMMON_PATHS.len() {
        lock(state)
            .incomplete
            .push(format!("{svc}: RTSP did not answer DESCRIBE"));
    } else {
        lock(state).anonymous_tested(None);
        if auth_required {
            let mut st = lock(state);
            if let Some(s) = st
                .services
                .iter_mut()
                .find(|s| s.port == ep.addr.port() && s.transport == "tcp")
            {
                let b = s
                    .banner
                    .take()
                    .map(|b| format!("{b}; "))
                    .unwrap_or_default();
                s.banner = Some(format!("{b}authentication required"));
            }
        }
    }
}

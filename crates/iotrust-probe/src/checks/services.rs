//! MQTT and RTSP: unauthenticated access (anonymous connect and subscribe to `#`; DESCRIBE
//! without credentials) and, where the service asks for a login, the credential list (MQTT
//! CONNECT with user name and password; RTSP Basic and Digest).

use std::sync::Arc;

use tokio::time::Instant;

use super::auth::report;
use super::{run_credentials, Attempt, Pace};
use crate::context::{Ctx, Endpoint};
use crate::creds::Credential;
use crate::evidence;
use crate::net::NetError;
use crate::observe::Observer;
use crate::protocols::{http as httpp, mqtt as m, rtsp as r};

/// Connect without credentials; if accepted, subscribe to `#` and count topics for the
/// configured window. Payloads are never kept.
pub(crate) async fn mqtt(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    match mqtt_anonymous(ctx, ep).await {
        Ok(None) => {
            state.anonymous_tested(None);
            if ctx.cfg.checks.credentials {
                mqtt_credentials(ctx, ep, svc, state).await;
            }
        }
        Ok(Some((granted, topics, messages))) => {
            let detail = if granted {
                format!("an anonymous client connected and its subscription to `#` was granted; {topics} distinct topics ({messages} messages) seen in {} s (contents not recorded)", ctx.cfg.timeouts.mqtt_window.as_secs_f32())
            } else {
                "an anonymous client connected (CONNACK 0); the subscription to `#` was refused"
                    .to_string()
            };
            state.anonymous_tested(Some(svc.to_string()));
            state.finding(
                &evidence::MQTT_ANONYMOUS,
                Some(svc.to_string()),
                None,
                Some(detail),
            );
        }
        Err(e) => state.incomplete(format!("{svc}: anonymous MQTT not tested ({e})")),
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

/// The broker refuses anonymous clients: try the list, one CONNECT per connection, after
/// checking that a random credential is refused.
async fn mqtt_credentials(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    let bogus = bogus_credential(ctx);
    match mqtt_attempt(ctx, ep, vec![bogus], Pace::default()).await {
        Attempt::Rejected => {}
        Attempt::Success(..) => {
            state.incomplete(format!(
                "{svc}: the broker accepts a random credential; default credentials not assessed"
            ));
            return;
        }
        Attempt::Inconclusive(why) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: MQTT login not tested ({why})"));
            return;
        }
        Attempt::Failed(e) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: MQTT login not tested ({e})"));
            return;
        }
    }
    let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |b, sent| {
        mqtt_attempt(ctx, ep, b, sent)
    })
    .await;
    report(ctx, state, svc, "The MQTT broker", run);
}

fn bogus_credential(ctx: &Ctx) -> Credential {
    Credential {
        provenance: Vec::new(),
        user: format!("iotrust{:x}", ctx.nonce() & 0xffff_ffff),
        password: format!("{:x}", ctx.nonce()),
        weight: 0,
        source: "bogus".into(),
    }
}

async fn mqtt_attempt(ctx: &Ctx, ep: Endpoint, batch: Vec<Credential>, sent: Pace) -> Attempt {
    let Some(cred) = batch.first() else {
        return Attempt::Inconclusive("empty batch");
    };
    let mut c = match ctx.open(ep).await {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let id = format!("iotrust-{:08x}", ctx.nonce() as u32);
    if let Err(e) = c
        .send(&m::connect(&id, Some((&cred.user, &cred.password))))
        .await
    {
        return Attempt::Failed(e);
    }
    sent.sent();
    let mut dec = m::Decoder::default();
    let deadline = Instant::now() + ctx.cfg.timeouts.attempt.min(ctx.cfg.timeouts.read * 2);
    loop {
        match dec.next_packet() {
            Ok(Some(m::Packet::ConnAck { code: 0, .. })) => {
                let _ = c.send(&m::disconnect()).await;
                return Attempt::Success(0, "the broker answered CONNACK 0 (accepted)".into());
            }
            // 4: bad user name or password; 5: not authorised.
            Ok(Some(m::Packet::ConnAck { code: 4 | 5, .. })) => return Attempt::Rejected,
            Ok(Some(m::Packet::ConnAck { .. })) => {
                return Attempt::Inconclusive("a CONNACK refusal unrelated to the credential")
            }
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(_) => return Attempt::Inconclusive("a malformed MQTT answer"),
        }
        match c.recv_until(deadline).await {
            Ok(b) => dec.feed(&b),
            Err(NetError::Closed) => {
                return Attempt::Inconclusive("the broker closed the connection without CONNACK")
            }
            Err(NetError::Timeout) => {
                return Attempt::Inconclusive("no CONNACK before the time limit")
            }
            Err(e) => return Attempt::Failed(e),
        }
    }
}

/// DESCRIBE common stream paths without credentials; an SDP answer means the stream is open.
pub(crate) async fn rtsp(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    let mut auth_required: Option<(String, Vec<httpp::Challenge>)> = None;
    let mut errors = 0;
    for (i, path) in r::COMMON_PATHS.iter().enumerate() {
        let url = format!("rtsp://{}/{path}", ep.addr);
        let req = r::describe(&url, i as u32 + 2, None);
        match ctx.http_exchange(ep, &req, false).await {
            Ok(resp) if resp.status == 200 && r::is_sdp(&resp.body) => {
                state.anonymous_tested(Some(svc.to_string()));
                state.finding(
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
            Ok(resp) if resp.status == 401 => {
                if auth_required.is_none() {
                    let challenges = resp
                        .headers_named("www-authenticate")
                        .map(httpp::parse_challenge)
                        .collect();
                    auth_required = Some((url.clone(), challenges));
                }
            }
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    if errors == r::COMMON_PATHS.len() {
        state.incomplete(format!("{svc}: RTSP did not answer DESCRIBE"));
    } else {
        state.anonymous_tested(None);
        if let Some((url, challenges)) = auth_required {
            state.service_note(ep.addr.port(), "authentication required".into());
            if ctx.cfg.checks.credentials {
                rtsp_credentials(ctx, ep, svc, &url, &challenges, state).await;
            }
        }
    }
}

/// The stream asks for a login: try the list with Digest (MD5) if the camera offers it,
/// otherwise Basic — after checking that a random credential is refused.
async fn rtsp_credentials(
    ctx: &Arc<Ctx>,
    ep: Endpoint,
    svc: &str,
    url: &str,
    challenges: &[httpp::Challenge],
    state: &Observer,
) {
    let digest = challenges
        .iter()
        .any(|c| matches!(c, httpp::Challenge::Digest { .. }));
    let basic = challenges
        .iter()
        .any(|c| matches!(c, httpp::Challenge::Basic { .. }));
    let scheme = match (digest, basic) {
        (true, _) => "Digest",
        (false, true) => "Basic",
        (false, false) => {
            state.creds_incomplete();
            state.incomplete(format!(
                "{svc}: RTSP asks for a login with no scheme the probe speaks (Basic, Digest MD5)"
            ));
            return;
        }
    };
    match rtsp_attempt(
        ctx,
        ep,
        url,
        digest,
        vec![bogus_credential(ctx)],
        Pace::default(),
    )
    .await
    {
        Attempt::Rejected => {}
        Attempt::Success(..) => {
            state.incomplete(format!(
                "{svc}: RTSP {scheme} accepts a random credential; default credentials not assessed"
            ));
            return;
        }
        Attempt::Inconclusive(why) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: RTSP {scheme} not tested ({why})"));
            return;
        }
        Attempt::Failed(e) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: RTSP {scheme} not tested ({e})"));
            return;
        }
    }
    let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |b, sent| {
        rtsp_attempt(ctx, ep, url, digest, b, sent)
    })
    .await;
    report(
        ctx,
        state,
        svc,
        &format!("RTSP {scheme} authentication"),
        run,
    );
}

async fn rtsp_attempt(
    ctx: &Ctx,
    ep: Endpoint,
    url: &str,
    digest: bool,
    batch: Vec<Credential>,
    sent: Pace,
) -> Attempt {
    let Some(c) = batch.first() else {
        return Attempt::Inconclusive("empty batch");
    };
    let auth = if digest {
        // A fresh challenge per attempt: nonces may be single-use.
        let resp = match ctx
            .http_exchange(ep, &r::describe(url, 1, None), false)
            .await
        {
            Ok(x) => x,
            Err(e) => return Attempt::Failed(e),
        };
        let Some(ch) = resp
            .headers_named("www-authenticate")
            .map(httpp::parse_challenge)
            .find(|c| matches!(c, httpp::Challenge::Digest { .. }))
        else {
            return Attempt::Inconclusive("no Digest challenge");
        };
        match r::digest_authorization(&ch, url, &c.user, &c.password, ctx.nonce()) {
            Some(a) => a,
            None => return Attempt::Inconclusive("an unsupported Digest challenge"),
        }
    } else {
        httpp::basic_authorization(&c.user, &c.password)
    };
    sent.sent();
    match ctx
        .http_exchange(ep, &r::describe(url, 2, Some(&auth)), false)
        .await
    {
        Ok(resp) if resp.status == 401 || resp.status == 403 => Attempt::Rejected,
        Ok(resp) if resp.status == 200 && r::is_sdp(&resp.body) => Attempt::Success(
            0,
            format!(
                "DESCRIBE {} with the credential answered 200 with a session description ({} media)",
                evidence::sanitize(url, 100),
                r::media_count(&resp.body)
            ),
        ),
        // The same URL answered 401 to a random credential: a camera that asks for a login on
        // every path and then has no stream at this one has still accepted the credential.
        Ok(resp) if resp.status == 404 => Attempt::Success(
            0,
            format!(
                "DESCRIBE {} with the credential passed authentication (answered 404: no stream at this path; 401 without it)",
                evidence::sanitize(url, 100)
            ),
        ),
        Ok(_) => Attempt::Inconclusive("an RTSP status that is neither success nor refusal"),
        Err(e) => Attempt::Failed(e),
    }
}

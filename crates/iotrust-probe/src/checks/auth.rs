//! Login checks: telnet, SSH, FTP (with anonymous), HTTP Basic, Digest and HTML forms.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{run_credentials, run_credentials_capped, Attempt, CredRun, Pace};
use crate::context::{Ctx, Endpoint};
use crate::creds::Credential;
use crate::evidence;
use crate::net::NetError;
use crate::observe::Observer;
use crate::protocols::{ftp as ftpp, http as httpp, telnet as tel};

pub(crate) fn report(ctx: &Ctx, state: &Observer, svc: &str, what: &str, run: CredRun) {
    state.creds_result(run.success.is_some(), run.complete);
    if let Some((c, detail)) = &run.success {
        let src = if c.source == "mirai" {
            "a Mirai default credential".to_string()
        } else if c.source == "vendor" {
            "a vendor default credential".to_string()
        } else {
            format!("a credential from {}", c.source)
        };
        state.finding(
            &evidence::DEFAULT_CREDENTIALS,
            Some(svc.to_string()),
            Some(format!("{what} accepts {src}")),
            Some(format!(
                "login {} accepted{}; {detail}; found after {} attempt(s); documented as a \
                 default by {}",
                c.shown(ctx.cfg.show_secrets),
                if ctx.cfg.show_secrets {
                    ""
                } else {
                    " (masked)"
                },
                run.attempts,
                if c.provenance.is_empty() {
                    "no source".to_string()
                } else {
                    c.provenance.join("; ")
                }
            )),
        );
    }
    if let Some(n) = run.note {
        state.incomplete(format!("{svc}: {n}"));
    }
}

// ---------------------------------------------------------------- telnet

/// Try the credential list on a telnet service, one credential per connection.
pub(crate) async fn telnet(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |b, sent| {
        telnet_attempt(ctx, ep, b, sent)
    })
    .await;
    report(ctx, state, svc, "Telnet", run);
}

async fn telnet_attempt(ctx: &Ctx, ep: Endpoint, batch: Vec<Credential>, sent: Pace) -> Attempt {
    let Some(cred) = batch.first() else {
        return Attempt::Inconclusive("empty batch");
    };
    let mut opening = sent.opening().await;
    let mut c = match ctx.open(ep).await {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let mut neg = tel::Negotiator::default();
    let mut login = tel::Login::new(&cred.user, &cred.password, ctx.nonce());
    let deadline = Instant::now() + ctx.cfg.timeouts.attempt;
    // A device that accepted the connection but says nothing is not answering (BusyBox
    // telnetd's backlog of 1 overflows under load and leaves connections waiting unaccepted):
    // a failed connection, retried later, not a login that ran out of time.
    let greet_deadline = Instant::now() + ctx.cfg.timeouts.read.min(ctx.cfg.timeouts.attempt);
    let quiet = Duration::from_millis(1500);
    let mut got_any = false;
    loop {
        let wake = (Instant::now() + quiet).min(deadline);
        match c.recv_until(wake).await {
            Ok(bytes) => {
                got_any = true;
                drop(opening.take()); // greeted: the next connection may open
                let p = neg.feed(&bytes);
                if !p.reply.is_empty() && c.send(&p.reply).await.is_err() {
                    login.on_end(false);
                }
                let out = login.on_text(&p.data);
                if !out.is_empty() && c.send(&out).await.is_err() {
                    login.on_end(false);
                }
            }
            Err(NetError::Timeout) if !got_any && Instant::now() >= greet_deadline => {
                return Attempt::Failed(NetError::Timeout);
            }
            Err(NetError::Timeout) if Instant::now() < deadline => {
                let out = login.on_quiet();
                if !out.is_empty() && c.send(&out).await.is_err() {
                    login.on_end(false);
                }
            }
            Err(NetError::Timeout) => login.on_end(true),
            Err(e) => {
                if !got_any {
                    return Attempt::Failed(e);
                }
                login.on_end(false);
            }
        }
        if login.credential_sent() {
            sent.sent();
        }
        if let Some(o) = login.outcome() {
            return match o {
                tel::LoginOutcome::Shell => Attempt::Success(
                    0,
                    format!(
                        "a shell evaluated the marker command{}",
                        if login.password_only {
                            " (password-only prompt)"
                        } else {
                            ""
                        }
                    ),
                ),
                tel::LoginOutcome::Rejected => Attempt::Rejected,
                tel::LoginOutcome::NoPrompt => Attempt::Inconclusive("no login prompt"),
                tel::LoginOutcome::Inconclusive(why) => Attempt::Inconclusive(why),
            };
        }
    }
}

// ---------------------------------------------------------------- ssh

struct AcceptHostKey;

impl russh::client::Handler for AcceptHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Try the list on SSH when the server offers password authentication (one pair per
/// connection: servers differ in what they do after a failure, and a fresh connection makes
/// every attempt count).
pub(crate) async fn ssh(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    // First learn the methods the server offers.
    let methods = match ssh_methods(ctx, ep).await {
        Ok(m) => m,
        Err(e) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: could not complete the SSH handshake ({e})"));
            return;
        }
    };
    state.service_note(
        ep.addr.port(),
        format!("auth methods: {}", methods.join(",")),
    );
    let kind = if methods.iter().any(|m| m == "password") {
        SshAuth::Password
    } else if methods.iter().any(|m| m == "keyboard-interactive") {
        // Password prompts over keyboard-interactive (OpenSSH with PAM and
        // `PasswordAuthentication no`): the same guess, asked differently.
        SshAuth::KeyboardInteractive
    } else {
        // No password login at all (keys only): nothing to guess, the check is complete.
        state.creds_result(false, true);
        return;
    };
    // OpenSSH drops unauthenticated connections beyond `MaxStartups` (10 by default) at random:
    // four at once, and never more than eight even against a fail delay.
    let parallel = ctx.cfg.limits.parallel_per_service.min(4);
    let run = run_credentials_capped(ctx, 1, parallel, parallel * 2, |b, sent| {
        ssh_attempt(ctx, ep, kind, b, sent)
    })
    .await;
    let what = match kind {
        SshAuth::Password => "SSH",
        SshAuth::KeyboardInteractive => "SSH (keyboard-interactive)",
    };
    report(ctx, state, svc, what, run);
}

/// How the SSH server takes a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SshAuth {
    Password,
    KeyboardInteractive,
}

/// Answers to keyboard-interactive prompts: the password where a secret is asked for (a
/// prompt without echo, or one naming a password), the user name where it is asked for again;
/// None when a prompt asks for something else (a one-time code, a question).
pub(crate) fn kbdint_answers(
    prompts: &[(String, bool)],
    user: &str,
    password: &str,
) -> Option<Vec<String>> {
    prompts
        .iter()
        .map(|(prompt, echo)| {
            let p = prompt.to_lowercase();
            if p.contains("password")
                || p.contains("passphrase")
                || (!echo && !p.contains("code") && !p.contains("token"))
            {
                Some(password.to_string())
            } else if *echo && (p.contains("login") || p.contains("user")) {
                Some(user.to_string())
            } else {
                None
            }
        })
        .collect()
}

/// One keyboard-interactive login: answer the prompts (at most a few rounds) and read the verdict.
async fn ssh_kbdint(
    h: &mut russh::client::Handle<AcceptHostKey>,
    c: &Credential,
) -> Result<Option<bool>, russh::Error> {
    use russh::client::KeyboardInteractiveAuthResponse as R;
    let mut r = h
        .authenticate_keyboard_interactive_start(c.user.clone(), None)
        .await?;
    for _ in 0..4 {
        match r {
            R::Success => return Ok(Some(true)),
            R::Failure { .. } => return Ok(Some(false)),
            R::InfoRequest { prompts, .. } => {
                let p: Vec<(String, bool)> =
                    prompts.into_iter().map(|p| (p.prompt, p.echo)).collect();
                let Some(answers) = kbdint_answers(&p, &c.user, &c.password) else {
                    return Ok(None);
                };
                r = h.authenticate_keyboard_interactive_respond(answers).await?;
            }
        }
    }
    Ok(None)
}

fn ssh_config(ctx: &Ctx) -> Arc<russh::client::Config> {
    Arc::new(russh::client::Config {
        inactivity_timeout: Some(ctx.cfg.timeouts.read),
        ..Default::default()
    })
}

async fn ssh_connect(
    ctx: &Ctx,
    ep: Endpoint,
) -> Result<russh::client::Handle<AcceptHostKey>, NetError> {
    let c = ctx.open(ep).await?;
    let (stream, _permit) = c.into_parts();
    match tokio::time::timeout(
        ctx.cfg.timeouts.read * 2,
        russh::client::connect_stream(ssh_config(ctx), stream, AcceptHostKey),
    )
    .await
    {
        Err(_) => Err(NetError::Timeout),
        Ok(Err(e)) => Err(NetError::Io(format!("ssh: {e}"))),
        Ok(Ok(h)) => Ok(h),
    }
}

async fn ssh_methods(ctx: &Ctx, ep: Endpoint) -> Result<Vec<String>, NetError> {
    let mut h = ssh_connect(ctx, ep).await?;
    let user = format!("iotrust-{:06x}", ctx.nonce() & 0xffffff);
    let r = tokio::time::timeout(ctx.cfg.timeouts.read, h.authenticate_none(user))
        .await
        .map_err(|_| NetError::Timeout)?
        .map_err(|e| NetError::Io(format!("ssh: {e}")))?;
    let methods = match r {
        russh::client::AuthResult::Success => vec!["none".to_string()],
        russh::client::AuthResult::Failure {
            remaining_methods, ..
        } => remaining_methods.iter().map(String::from).collect(),
    };
    let _ = h
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    Ok(methods)
}

async fn ssh_attempt(
    ctx: &Ctx,
    ep: Endpoint,
    kind: SshAuth,
    batch: Vec<Credential>,
    sent: Pace,
) -> Attempt {
    let opening = sent.opening().await;
    let mut h = match ssh_connect(ctx, ep).await {
        Ok(h) => h,
        Err(e) => return Attempt::Failed(e),
    };
    drop(opening);
    for (i, c) in batch.iter().enumerate() {
        sent.sent();
        let verdict = match kind {
            SshAuth::Password => tokio::time::timeout(
                ctx.cfg.timeouts.attempt,
                h.authenticate_password(c.user.clone(), c.password.clone()),
            )
            .await
            .map(|r| r.map(|r| Some(r.success()))),
            SshAuth::KeyboardInteractive => {
                tokio::time::timeout(ctx.cfg.timeouts.attempt, ssh_kbdint(&mut h, c)).await
            }
        };
        match verdict {
            Ok(Ok(Some(true))) => {
                let _ = h
                    .disconnect(russh::Disconnect::ByApplication, "", "en")
                    .await;
                let how = match kind {
                    SshAuth::Password => "password authentication succeeded",
                    SshAuth::KeyboardInteractive => {
                        "keyboard-interactive authentication succeeded (the password prompt was answered)"
                    }
                };
                return Attempt::Success(i, how.into());
            }
            Ok(Ok(Some(false))) => {}
            Ok(Ok(None)) => {
                let _ = h
                    .disconnect(russh::Disconnect::ByApplication, "", "en")
                    .await;
                return Attempt::Inconclusive(
                    "a keyboard-interactive prompt that is not a password",
                );
            }
            Ok(Err(e)) => {
                return if i == 0 {
                    Attempt::Failed(NetError::Io(format!("ssh: {e}")))
                } else {
                    Attempt::Inconclusive("the SSH connection ended in the middle of a batch")
                }
            }
            Err(_) => {
                return if i == 0 {
                    Attempt::Failed(NetError::Timeout)
                } else {
                    Attempt::Inconclusive(
                        "the SSH server stopped answering in the middle of a batch",
                    )
                }
            }
        }
    }
    let _ = h
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    Attempt::Rejected
}

// ---------------------------------------------------------------- ftp

/// Anonymous login, then the credential list.
pub(crate) async fn ftp(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    if ctx.cfg.checks.anonymous {
        let anon = Credential {
            provenance: Vec::new(),
            user: "anonymous".into(),
            password: "iotrust-probe@example.invalid".into(),
            weight: 0,
            source: "anonymous".into(),
        };
        match ftp_attempt(ctx, ep, vec![anon], Pace::default()).await {
            Attempt::Success(_, _) => {
                state.anonymous_tested(Some(svc.to_string()));
                state.finding(
                    &evidence::FTP_ANONYMOUS,
                    Some(svc.to_string()),
                    None,
                    Some("USER anonymous was accepted (230)".into()),
                );
            }
            Attempt::Rejected => state.anonymous_tested(None),
            Attempt::Inconclusive(why) => {
                state.incomplete(format!("{svc}: anonymous login got no verdict ({why})"))
            }
            Attempt::Failed(e) => {
                state.incomplete(format!("{svc}: anonymous login not tested ({e})"))
            }
        }
    }
    if ctx.cfg.checks.credentials {
        let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |b, sent| {
            ftp_attempt(ctx, ep, b, sent)
        })
        .await;
        report(ctx, state, svc, "FTP", run);
    }
}

async fn ftp_reply(
    c: &mut crate::net::Conn,
    r: &mut ftpp::Replies,
    deadline: Instant,
) -> Result<ftpp::Reply, NetError> {
    loop {
        match r.next_reply() {
            Ok(Some(x)) if x.code >= 200 || x.code < 100 => return Ok(x),
            Ok(Some(_)) => continue, // 1xx preliminary
            Ok(None) => {}
            Err(e) => return Err(NetError::Io(format!("ftp: {e}"))),
        }
        let b = c.recv_until(deadline).await?;
        r.feed(&b);
    }
}

async fn ftp_attempt(ctx: &Ctx, ep: Endpoint, batch: Vec<Credential>, sent: Pace) -> Attempt {
    let Some(cred) = batch.first() else {
        return Attempt::Inconclusive("empty batch");
    };
    let opening = sent.opening().await;
    let mut c = match ctx.open(ep).await {
        Ok(c) => c,
        Err(e) => return Attempt::Failed(e),
    };
    let deadline = Instant::now() + ctx.cfg.timeouts.attempt;
    let mut r = ftpp::Replies::default();
    let greet = match ftp_reply(&mut c, &mut r, deadline).await {
        Ok(g) => g,
        Err(e) => return Attempt::Failed(e),
    };
    drop(opening);
    if greet.code != 220 {
        return Attempt::Failed(NetError::Io(format!("ftp greeting {}", greet.code)));
    }
    if cred.user.contains(['\r', '\n']) || cred.password.contains(['\r', '\n']) {
        return Attempt::Rejected;
    }
    if c.send(format!("USER {}\r\n", cred.user).as_bytes())
        .await
        .is_err()
    {
        return Attempt::Inconclusive("the FTP server closed before USER");
    }
    let u = match ftp_reply(&mut c, &mut r, deadline).await {
        Ok(u) => u,
        Err(_) => return Attempt::Inconclusive("no FTP reply to USER"),
    };
    let code = match u.code {
        230 => 230,
        331 | 332 => {
            if c.send(format!("PASS {}\r\n", cred.password).as_bytes())
                .await
                .is_err()
            {
                return Attempt::Inconclusive("the FTP server closed before PASS");
            }
            sent.sent();
            match ftp_reply(&mut c, &mut r, deadline).await {
                Ok(p) => p.code,
                Err(NetError::Timeout) => {
                    return Attempt::Inconclusive("no FTP reply to PASS before the time limit")
                }
                Err(_) => return Attempt::Rejected,
            }
        }
        _ => return Attempt::Rejected,
    };
    let _ = c.send(b"QUIT\r\n").await;
    if code == 230 {
        Attempt::Success(0, "the server answered 230 (logged in)".into())
    } else {
        Attempt::Rejected
    }
}

// ---------------------------------------------------------------- http

fn host_header(ep: Endpoint) -> String {
    ep.addr.to_string()
}

/// Follow up to three same-host redirects from `/`.
async fn fetch_root(ctx: &Ctx, ep: Endpoint) -> Result<(String, httpp::Response), NetError> {
    let mut path = "/".to_string();
    for _ in 0..3 {
        let req = httpp::request("GET", &path, &host_header(ep), &[], None);
        let r = ctx.http_exchange(ep, &req, false).await?;
        if (300..400).contains(&r.status) {
            if let Some(next) = r.header("location").and_then(|l| same_host_path(l, ep)) {
                if next != path {
                    path = next;
                    continue;
                }
            }
        }
        return Ok((path, r));
    }
    let req = httpp::request("GET", &path, &host_header(ep), &[], None);
    ctx.http_exchange(ep, &req, false).await.map(|r| (path, r))
}

/// A redirect target on the same host, as a path. Other hosts are never followed.
fn same_host_path(loc: &str, ep: Endpoint) -> Option<String> {
    let loc = loc.trim();
    if loc.starts_with('/') && !loc.starts_with("//") {
        return Some(loc.to_string());
    }
    let rest = loc
        .strip_prefix("http://")
        .or_else(|| loc.strip_prefix("https://"))?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let ip = ep.addr.ip().to_string();
    (host == ip || host == ep.addr.to_string() || host == format!("[{ip}]:{}", ep.addr.port()))
        .then_some(path)
}

/// Find out how the web interface authenticates and try the list on it.
pub(crate) async fn http(ctx: &Arc<Ctx>, ep: Endpoint, svc: &str, state: &Observer) {
    let (path, root) = match fetch_root(ctx, ep).await {
        Ok(x) => x,
        Err(e) => {
            state.incomplete(format!("{svc}: could not fetch / ({e})"));
            return;
        }
    };
    let challenges: Vec<httpp::Challenge> = root
        .headers_named("www-authenticate")
        .map(httpp::parse_challenge)
        .collect();
    let digest = challenges
        .iter()
        .find(|c| matches!(c, httpp::Challenge::Digest { .. }))
        .cloned();
    let basic = challenges
        .iter()
        .any(|c| matches!(c, httpp::Challenge::Basic { .. }));
    let form = if root.status == 200 {
        httpp::find_login_form(&root.text())
    } else {
        None
    };
    let has_login = root.status == 401 && (digest.is_some() || basic) || form.is_some();
    if has_login && !ep.tls {
        state.cleartext();
        state.finding(
            &evidence::CLEARTEXT_MANAGEMENT,
            Some(svc.to_string()),
            Some("Web login served over plain HTTP".into()),
            Some(format!("{path} asks for a login without TLS")),
        );
    }
    if !ctx.cfg.checks.credentials {
        return;
    }
    if root.status == 401 {
        let scheme = if digest.is_some() {
            "Digest"
        } else if basic {
            "Basic"
        } else {
            return;
        };
        // A server that lets any credential in does not check: do not report it as a default credential.
        let bogus = Credential {
            provenance: Vec::new(),
            user: format!("iotrust{:x}", ctx.nonce() & 0xffff_ffff),
            password: format!("{:x}", ctx.nonce()),
            weight: 0,
            source: "bogus".into(),
        };
        match http_auth_attempt(
            ctx,
            ep,
            &path,
            digest.is_some(),
            vec![bogus],
            Pace::default(),
        )
        .await
        {
            Attempt::Rejected => {}
            Attempt::Success(..) => {
                state.incomplete(format!("{svc}: HTTP {scheme} accepts a random credential; default credentials not assessed"));
                return;
            }
            Attempt::Failed(e) => {
                state.creds_incomplete();
                state.incomplete(format!("{svc}: HTTP {scheme} not tested ({e})"));
                return;
            }
            Attempt::Inconclusive(why) => {
                state.creds_incomplete();
                state.incomplete(format!(
                    "{svc}: HTTP {scheme}: a random credential got no verdict ({why}); default credentials not assessed"
                ));
                return;
            }
        }
        let use_digest = digest.is_some();
        let p = path.clone();
        let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |b, sent| {
            http_auth_attempt(ctx, ep, &p, use_digest, b, sent)
        })
        .await;
        report(
            ctx,
            state,
            svc,
            &format!("HTTP {scheme} authentication"),
            run,
        );
    } else if let Some(f) = form {
        form_login(ctx, ep, svc, &path, &root, f, state).await;
    }
}

async fn http_auth_attempt(
    ctx: &Ctx,
    ep: Endpoint,
    path: &str,
    digest: bool,
    batch: Vec<Credential>,
    sent: Pace,
) -> Attempt {
    let Some(c) = batch.first() else {
        return Attempt::Inconclusive("empty batch");
    };
    let auth = if digest {
        // A fresh challenge per attempt: nonces may be single-use.
        let req = httpp::request("GET", path, &host_header(ep), &[], None);
        let r = match ctx.http_exchange(ep, &req, false).await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(e),
        };
        let Some(ch) = r
            .headers_named("www-authenticate")
            .map(httpp::parse_challenge)
            .find(|c| matches!(c, httpp::Challenge::Digest { .. }))
        else {
            return Attempt::Inconclusive("no Digest challenge");
        };
        match httpp::digest_authorization(
            &ch,
            "GET",
            path,
            &c.user,
            &c.password,
            &format!("{:016x}", ctx.nonce()),
        ) {
            Some(a) => a,
            None => return Attempt::Inconclusive("an unsupported Digest challenge"),
        }
    } else {
        httpp::basic_authorization(&c.user, &c.password)
    };
    let req = httpp::request(
        "GET",
        path,
        &host_header(ep),
        &[("Authorization", auth)],
        None,
    );
    sent.sent();
    match ctx.http_exchange(ep, &req, false).await {
        Ok(r) if r.status == 401 || r.status == 403 => Attempt::Rejected,
        Ok(r) if (200..400).contains(&r.status) => Attempt::Success(
            0,
            format!(
                "the server answered {} to an authenticated request for {path}",
                r.status
            ),
        ),
        Ok(_) => Attempt::Inconclusive("an HTTP status that is neither success nor refusal"),
        Err(e) => Attempt::Failed(e),
    }
}

/// What a form submission answered, reduced to what tells success from failure.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FormAnswer {
    status: u16,
    location: Option<String>,
    has_password_form: bool,
    failure_words: bool,
    sets_cookie: bool,
}

fn form_answer(r: &httpp::Response) -> FormAnswer {
    let text = r.text().to_ascii_lowercase();
    FormAnswer {
        status: r.status,
        location: r.header("location").map(str::to_string),
        has_password_form: httpp::find_login_form(&r.text()).is_some(),
        failure_words: ["invalid", "incorrect", "failed", "wrong", "denied", "error"]
            .iter()
            .any(|w| text.contains(w)),
        sets_cookie: r.header("set-cookie").is_some(),
    }
}

fn form_request(
    ep: Endpoint,
    page: &str,
    f: &httpp::LoginForm,
    user: &str,
    password: &str,
    cookie: Option<&str>,
) -> Vec<u8> {
    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(u) = &f.user_field {
        fields.push((u.clone(), user.to_string()));
    }
    fields.push((f.password_field.clone(), password.to_string()));
    fields.extend(f.other_fields.iter().cloned());
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("{}={}", httpp::form_encode(k), httpp::form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let target = if f.action.is_empty() {
        page.to_string()
    } else if f.action.starts_with('/') {
        f.action.clone()
    } else if let Some(p) = same_host_path(&f.action, ep) {
        p
    } else {
        let dir = page.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{dir}/{}", f.action)
    };
    let mut extra = Vec::new();
    if let Some(c) = cookie {
        extra.push(("Cookie", c.to_string()));
    }
    if f.method == "POST" {
        extra.push((
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ));
        httpp::request(
            "POST",
            &target,
            &host_header(ep),
            &extra,
            Some(body.as_bytes()),
        )
    } else {
        let sep = if target.contains('?') { '&' } else { '?' };
        httpp::request(
            "GET",
            &format!("{target}{sep}{body}"),
            &host_header(ep),
            &extra,
            None,
        )
    }
}

async fn form_login(
    ctx: &Arc<Ctx>,
    ep: Endpoint,
    svc: &str,
    page: &str,
    root: &httpp::Response,
    form: httpp::LoginForm,
    state: &Observer,
) {
    let cookie = root
        .header("set-cookie")
        .map(|c| c.split(';').next().unwrap_or("").to_string());
    // Baseline: what a wrong credential looks like here.
    let bogus_user = format!("iotrust{:x}", ctx.nonce() & 0xffff_ffff);
    let bogus_pass = format!("{:x}", ctx.nonce());
    let req = form_request(ep, page, &form, &bogus_user, &bogus_pass, cookie.as_deref());
    let baseline = match ctx.http_exchange(ep, &req, false).await {
        Ok(r) => form_answer(&r),
        Err(e) => {
            state.creds_incomplete();
            state.incomplete(format!("{svc}: login form not tested ({e})"));
            return;
        }
    };
    if !baseline.has_password_form
        && !baseline.failure_words
        && (200..300).contains(&baseline.status)
    {
        state.incomplete(format!("{svc}: the login form's answer to a random credential looks like success; default credentials not assessed"));
        return;
    }
    let f = &form;
    let c = cookie.as_deref();
    let b = &baseline;
    let run = run_credentials(ctx, 1, ctx.cfg.limits.parallel_per_service, |batch, sent| async move {
        let Some(cred) = batch.first() else { return Attempt::Inconclusive("empty batch") };
        let req = form_request(ep, page, f, &cred.user, &cred.password, c);
        sent.sent();
        match ctx.http_exchange(ep, &req, false).await {
            Err(e) => Attempt::Failed(e),
            Ok(r) => {
                let a = form_answer(&r);
                let differs = a.status != b.status || a.location != b.location || a.has_password_form != b.has_password_form;
                let success = differs && !a.has_password_form && !a.failure_words && (200..400).contains(&a.status) && a.status != 401;
                if success {
                    Attempt::Success(0, format!("the form answered {}{} without the login form, unlike a random credential", a.status, a.location.as_ref().map(|l| format!(" -> {}", evidence::sanitize(l, 60))).unwrap_or_default()))
                } else {
                    Attempt::Rejected
                }
            }
        }
    })
    .await;
    report(ctx, state, svc, "The web login form", run);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompts(p: &[(&str, bool)]) -> Vec<(String, bool)> {
        p.iter().map(|(s, e)| (s.to_string(), *e)).collect()
    }

    #[test]
    fn keyboard_interactive_answers() {
        // OpenSSH + PAM (pam_unix): one password prompt without echo.
        assert_eq!(
            kbdint_answers(&prompts(&[("Password: ", false)]), "admin", "pw"),
            Some(vec!["pw".to_string()])
        );
        // A vendor asking for the user again, then the password.
        assert_eq!(
            kbdint_answers(
                &prompts(&[("Login: ", true), ("Password:", false)]),
                "admin",
                "pw"
            ),
            Some(vec!["admin".to_string(), "pw".to_string()])
        );
        // An empty round is answered with nothing.
        assert_eq!(kbdint_answers(&[], "a", "b"), Some(Vec::new()));
        // A one-time code or a question is not something a default credential answers.
        assert_eq!(
            kbdint_answers(&prompts(&[("Verification code: ", false)]), "a", "b"),
            None
        );
        assert_eq!(
            kbdint_answers(&prompts(&[("Favourite colour? ", true)]), "a", "b"),
            None
        );
    }

    #[test]
    fn redirects_stay_on_host() {
        let ep = Endpoint {
            addr: "10.0.0.2:8080".parse().unwrap(),
            tls: false,
        };
        assert_eq!(
            same_host_path("/login.htm", ep).as_deref(),
            Some("/login.htm")
        );
        assert_eq!(
            same_host_path("http://10.0.0.2:8080/a", ep).as_deref(),
            Some("/a")
        );
        assert_eq!(
            same_host_path("http://10.0.0.2/a", ep).as_deref(),
            Some("/a")
        );
        assert_eq!(same_host_path("http://evil.example/a", ep), None);
        assert_eq!(same_host_path("//evil.example/a", ep), None);
    }
}

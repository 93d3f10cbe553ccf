//! Hostile devices on 127.0.0.1: garbage, silence, one byte at a time, floods, and closing in
//! the middle of a handshake. The probe must finish within its time limits and not crash.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup step should stop the test

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug)]
enum Behaviour {
    Garbage,
    Silent,
    Trickle,
    Flood,
    CloseMidTelnet,
    FakeShell,
    CloseMidTls,
    HttpNeverEnds,
}

async fn serve(b: Behaviour) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                match b {
                    Behaviour::Garbage => {
                        let junk: Vec<u8> = (0..2048u32)
                            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                            .collect();
                        let _ = s.write_all(&junk).await;
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(&junk).await;
                    }
                    Behaviour::Silent => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Behaviour::Trickle => {
                        for c in b"\xff\xfb\x01login: "
                            .iter()
                            .chain(b"Password: ".iter())
                            .cycle()
                            .take(400)
                        {
                            if s.write_all(&[*c]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Behaviour::Flood => {
                        let chunk = vec![b'A'; 65536];
                        for _ in 0..4096 {
                            if s.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    }
                    Behaviour::CloseMidTelnet => {
                        let _ = s.write_all(b"\xff\xfd\x18\xff\xfd\x1flogin: ").await;
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"\xff\xfa\x18").await; // subnegotiation never finished
                    }
                    Behaviour::FakeShell => {
                        // Says "login:", "Password:", then a root prompt whatever was typed, and
                        // echoes input but never runs it: a honeypot-style false login.
                        let _ = s.write_all(b"login: ").await;
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"Password: ").await;
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"\r\n# ").await;
                        loop {
                            match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    let _ = s.write_all(&buf[..n]).await;
                                    let _ = s.write_all(b"\r\n# ").await;
                                }
                            }
                        }
                    }
                    Behaviour::CloseMidTls => {
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(&[22, 3, 3, 0x40, 0x00, 2, 0, 0]).await;
                        // promises 16 KiB, sends 3 bytes
                    }
                    Behaviour::HttpNeverEnds => {
                        let _ = s.read(&mut buf).await;
                        let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n").await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                }
            });
        }
    });
    addr
}

fn config(targets: Vec<String>) -> iotrust_probe::ProbeConfig {
    let mut cfg = iotrust_probe::ProbeConfig::new(targets);
    cfg.scope = vec!["127.0.0.0/8".into()];
    cfg.timeouts.connect = Duration::from_millis(500);
    cfg.timeouts.read = Duration::from_secs(1);
    cfg.timeouts.banner = Duration::from_millis(300);
    cfg.timeouts.attempt = Duration::from_secs(2);
    cfg.timeouts.service = Duration::from_secs(15);
    cfg.timeouts.host = Duration::from_secs(25);
    cfg.limits.max_attempts_per_service = 6;
    cfg.limits.max_bytes_per_connection = 256 * 1024;
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_devices_do_not_hang_or_crash() {
    let all = [
        Behaviour::Garbage,
        Behaviour::Silent,
        Behaviour::Trickle,
        Behaviour::Flood,
        Behaviour::CloseMidTelnet,
        Behaviour::FakeShell,
        Behaviour::CloseMidTls,
        Behaviour::HttpNeverEnds,
    ];
    let mut targets = Vec::new();
    for b in all {
        targets.push(serve(b).await.to_string());
    }
    let cfg = config(targets.clone());
    let started = Instant::now();
    let ev = tokio::time::timeout(Duration::from_secs(40), iotrust_probe::probe(&cfg))
        .await
        .expect("the probe hung")
        .unwrap();
    eprintln!("{}", iotrust_probe::render::table(&ev));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let d = &ev.devices[0];
    assert_eq!(ev.devices.len(), 1, "all targets are ports of 127.0.0.1");
    // No credential may be reported on any of these: they all lie or break.
    assert!(
        !d.findings.iter().any(|f| f.id == "default-credentials"),
        "false login reported: {:?}",
        d.findings
    );
    // Logins that never got a verdict leave the fact open: neither "accepted" nor "none works".
    assert_eq!(d.facts.default_credentials_accepted, None);
    // The fake shell is still telnet: found by behaviour on a random port.
    let fake_port: u16 = targets[5].rsplit(':').next().unwrap().parse().unwrap();
    // Its logins never got a verdict: reported as incomplete, never as "no default credential".
    assert!(
        d.incomplete
            .iter()
            .any(|i| i.starts_with(&format!("telnet/{fake_port}:"))
                && i.contains("got no verdict")
                && i.contains("no shell marker")),
        "{:?}",
        d.incomplete
    );
    assert!(
        d.services
            .iter()
            .any(|s| s.port == fake_port && s.protocol == "telnet"),
        "{:?}",
        d.services
    );
}

#[tokio::test]
async fn out_of_scope_targets_are_refused_before_any_packet() {
    let mut cfg = iotrust_probe::ProbeConfig::new(["10.99.0.1"]);
    cfg.scope = vec!["127.0.0.0/8".into()];
    assert!(matches!(
        iotrust_probe::probe(&cfg).await,
        Err(iotrust_probe::ProbeError::OutOfScope(_))
    ));
    let cfg = iotrust_probe::ProbeConfig::new(["192.0.2.0/30"]);
    assert!(matches!(
        iotrust_probe::probe(&cfg).await,
        Err(iotrust_probe::ProbeError::PublicRefused(_))
    ));
}

#[tokio::test]
async fn closed_ports_give_empty_surface_facts() {
    // Nothing listens on these loopback ports; the facts say so, and untested facts are absent.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let cfg = config(vec![format!("127.0.0.1:{port}")]);
    let ev = iotrust_probe::probe(&cfg).await.unwrap();
    let f = &ev.devices[0].facts;
    assert_eq!(f.open_tcp_ports, Some(vec![]));
    assert_eq!(f.default_credentials_accepted, None);
    assert_eq!(f.anonymous_services, None);
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["format"], "iotrust-evidence/1");
    assert_eq!(json["tool"]["name"], "iotrust-probe");
    assert!(json["devices"][0]["facts"]
        .get("auth.default_credentials_accepted")
        .is_none());
}

/// A camera that asks for an RTSP login on every path and has no stream where the probe looks:
/// a random credential gets 401, the working one 404. The login still passed, so it is a
/// default credential; a 401 to everything else is never mistaken for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_login_that_passes_on_a_path_without_stream_is_found() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 2048];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req);
                let cseq = text
                    .lines()
                    .find_map(|l| l.strip_prefix("CSeq: "))
                    .unwrap_or("1")
                    .trim()
                    .to_string();
                // admin:admin, a Mirai pair
                let answer = if text.contains("Authorization: Basic YWRtaW46YWRtaW4=") {
                    format!("RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n")
                } else {
                    format!("RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n")
                };
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    let mut cfg = config(vec![addr.to_string()]);
    cfg.limits.max_attempts_per_service = 8;
    let ev = iotrust_probe::probe(&cfg).await.unwrap();
    let d = &ev.devices[0];
    let svc = format!("rtsp/{}", addr.port());
    let f = d
        .findings
        .iter()
        .find(|f| f.id == "default-credentials" && f.service.as_deref() == Some(svc.as_str()))
        .unwrap_or_else(|| {
            panic!(
                "no RTSP default credential: {:?} {:?}",
                d.findings, d.incomplete
            )
        });
    assert!(
        f.detail.as_deref().unwrap_or("").contains("answered 404"),
        "{:?}",
        f.detail
    );
    assert_eq!(d.facts.default_credentials_accepted, Some(true));
    assert!(!d.findings.iter().any(|f| f.id == "rtsp-unauthenticated"));
}

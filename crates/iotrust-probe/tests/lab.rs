//! Lab tests against real Debian daemons in network namespaces this test creates and removes.
//!
//! Topology: one scanner namespace with a bridge, one namespace per device joined to it by a
//! veth pair, addresses in a /24 that exists only inside these namespaces, no default route.
//! The probe runs *inside* the scanner namespace (this test binary re-executes itself there),
//! so it cannot reach anything but the lab. Device daemons are started by the scripts in
//! `tests/lab/*.sh`; what the probe must report is in `tests/lab/*.toml`. Gateways with a
//! `wan_host` also get a second interface on a WAN link (a vantage namespace with its own
//! bridge, CGNAT addresses, no route to the LAN), and the probe runs there a second time with
//! `--vantage wan`; what it must report from there is each gateway's `wan_expect`.
//!
//! These tests need root and `ip netns`. Without them they FAIL with the reason; developers
//! without root can set `IOTRUST_SKIP_LAB=1` (CI never does). Packages: `tests/lab/PACKAGES`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed setup step should stop the test

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

const SKIP_ENV: &str = "IOTRUST_SKIP_LAB";
const CHILD_ENV: &str = "IOTRUST_LAB_CHILD";

#[derive(Debug, Deserialize)]
struct DeviceSpec {
    name: String,
    script: String,
    host: u8,
    #[serde(default)]
    services: Vec<ExpectedService>,
    expect: Vec<Expected>,
    #[serde(default)]
    facts: toml::Table,
    /// Set for a gateway with a second, WAN-facing interface on the WAN link (its address's
    /// last byte there).
    #[serde(default)]
    wan_host: Option<u8>,
    /// What the probe must report from the WAN vantage (`--vantage wan`), and nothing else.
    #[serde(default)]
    wan_expect: Vec<Expected>,
    /// Checks the probe cannot complete on this device, each named by the start of its
    /// message (a device that speaks only SSH protocol 1); any other is a failure.
    #[serde(default)]
    incomplete: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectedService {
    port: u16,
    transport: String,
    protocol: String,
}

#[derive(Debug, Deserialize)]
struct Expected {
    id: String,
    service: String,
    #[serde(default)]
    detail_contains: Option<String>,
}

#[derive(Debug, serde::Serialize, Deserialize)]
struct ChildRequest {
    targets: Vec<String>,
    scope: String,
    vantage: String,
    out: PathBuf,
}

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab")
}

fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{cmd}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// Whether the lab can run; panics with the reason when it cannot (unless skipped on purpose).
fn lab_available() -> bool {
    if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
        eprintln!("{SKIP_ENV}=1: lab tests against real daemons were skipped on request");
        return false;
    }
    let uid = run("id", &["-u"]).unwrap_or_default();
    assert_eq!(uid.trim(), "0", "lab tests need root to create network namespaces (run as root, or set {SKIP_ENV}=1 to skip them locally)");
    if let Err(e) = run("ip", &["netns", "list"]) {
        panic!("lab tests need `ip netns` (package iproute2): {e}; or set {SKIP_ENV}=1 to skip them locally");
    }
    for p in std::fs::read_to_string(lab_dir().join("PACKAGES"))
        .unwrap_or_default()
        .lines()
    {
        let st = run("dpkg-query", &["-W", "-f=${Status}", p.trim()]).unwrap_or_default();
        assert!(st.contains("install ok installed"), "lab package `{}` is not installed; install tests/lab/PACKAGES with apt-get (or set {SKIP_ENV}=1)", p.trim());
    }
    // The `legacy2` device's stacks come from PyPI (scripts/test.sh installs them).
    let py = run(
        "python3",
        &[
            "-W",
            "ignore",
            "-c",
            "import asyncssh, tlslite; print(asyncssh.__version__)",
        ],
    );
    assert!(
        py.as_deref().map(str::trim) == Ok("2.14.1"),
        "the lab needs AsyncSSH 2.14.1 and tlslite-ng for python3 (scripts/test.sh installs them: pip install asyncssh==2.14.1 'tlslite-ng>=0.8,<0.9'): {py:?}"
    );
    true
}

/// The lab: namespaces, links, daemons, scratch space. Dropping it removes everything, also
/// when the test fails. Besides the LAN (the scanner's bridge) there is a WAN link: a vantage
/// namespace with its own bridge in CGNAT space (`100.64.x.0/24`, also only inside these
/// namespaces), to which gateways with a `wan_host` connect their second interface, `eth1`.
struct Lab {
    prefix: String,
    net: String,
    wan_net: String,
    namespaces: Vec<String>,
    links: Vec<String>,
    dir: tempfile::TempDir,
    pid_files: Vec<PathBuf>,
}

impl Lab {
    fn new() -> Lab {
        let pid = std::process::id();
        let prefix = format!("iotrust-t-{pid}");
        let net = format!("10.251.{}", pid % 250 + 1);
        let wan_net = format!("100.64.{}", pid % 250 + 1);
        let dir = tempfile::Builder::new()
            .prefix("iotrust-lab-")
            .tempdir()
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut lab = Lab {
            prefix,
            net,
            wan_net,
            namespaces: Vec::new(),
            links: Vec::new(),
            dir,
            pid_files: Vec::new(),
        };
        let s = lab.scanner();
        lab.ns_add(&s);
        let br = format!("{}.1/24", lab.net);
        for args in [
            vec!["-n", &s, "link", "set", "lo", "up"],
            vec!["-n", &s, "link", "add", "br0", "type", "bridge"],
            vec!["-n", &s, "addr", "add", &br, "dev", "br0"],
            vec!["-n", &s, "link", "set", "br0", "up"],
        ] {
            run("ip", &args).unwrap();
        }
        let w = lab.wan();
        lab.ns_add(&w);
        let br = format!("{}.1/24", lab.wan_net);
        for args in [
            vec!["-n", &w, "link", "set", "lo", "up"],
            vec!["-n", &w, "link", "add", "br0", "type", "bridge"],
            vec!["-n", &w, "addr", "add", &br, "dev", "br0"],
            vec!["-n", &w, "link", "set", "br0", "up"],
        ] {
            run("ip", &args).unwrap();
        }
        lab
    }

    fn scanner(&self) -> String {
        format!("{}-s", self.prefix)
    }

    /// The vantage namespace on the WAN link.
    fn wan(&self) -> String {
        format!("{}-w", self.prefix)
    }

    fn wan_ip(&self, host: u8) -> String {
        format!("{}.{host}", self.wan_net)
    }

    fn ns_add(&mut self, name: &str) {
        run("ip", &["netns", "add", name]).unwrap();
        self.namespaces.push(name.to_string());
    }

    fn ip(&self, host: u8) -> String {
        format!("{}.{host}", self.net)
    }

    /// Create a device namespace, link it to the bridge and run its start script.
    fn device(&mut self, spec: &DeviceSpec) {
        let ns = format!("{}-{}", self.prefix, spec.name);
        self.ns_add(&ns);
        let tag = std::process::id() % 100_000;
        let a = format!("it{tag}s{}", spec.host % 100);
        let b = format!("it{tag}d{}", spec.host % 100);
        run(
            "ip",
            &["link", "add", &a, "type", "veth", "peer", "name", &b],
        )
        .unwrap();
        self.links.push(a.clone());
        let s = self.scanner();
        let addr = format!("{}/24", self.ip(spec.host));
        for args in [
            vec!["link", "set", a.as_str(), "netns", s.as_str()],
            vec!["link", "set", b.as_str(), "netns", ns.as_str()],
            vec![
                "-n",
                s.as_str(),
                "link",
                "set",
                a.as_str(),
                "master",
                "br0",
                "up",
            ],
            vec!["-n", ns.as_str(), "link", "set", b.as_str(), "name", "eth0"],
            vec![
                "-n",
                ns.as_str(),
                "addr",
                "add",
                addr.as_str(),
                "dev",
                "eth0",
            ],
            vec!["-n", ns.as_str(), "link", "set", "eth0", "up"],
            vec!["-n", ns.as_str(), "link", "set", "lo", "up"],
            vec![
                "-n",
                ns.as_str(),
                "route",
                "add",
                "224.0.0.0/4",
                "dev",
                "eth0",
            ],
        ] {
            run("ip", &args).unwrap();
        }
        if let Some(wh) = spec.wan_host {
            // The gateway's WAN-facing interface, on the vantage namespace's bridge.
            let (wa, wb) = (
                format!("iw{tag}s{}", wh % 100),
                format!("iw{tag}d{}", wh % 100),
            );
            run(
                "ip",
                &["link", "add", &wa, "type", "veth", "peer", "name", &wb],
            )
            .unwrap();
            self.links.push(wa.clone());
            let w = self.wan();
            let addr = format!("{}/24", self.wan_ip(wh));
            for args in [
                vec!["link", "set", wa.as_str(), "netns", w.as_str()],
                vec!["link", "set", wb.as_str(), "netns", ns.as_str()],
                vec!["-n", &w, "link", "set", &wa, "master", "br0", "up"],
                vec!["-n", &ns, "link", "set", &wb, "name", "eth1"],
                vec!["-n", &ns, "addr", "add", &addr, "dev", "eth1"],
                vec!["-n", &ns, "link", "set", "eth1", "up"],
            ] {
                run("ip", &args).unwrap();
            }
        }
        let ddir = self.dir.path().join(&spec.name);
        std::fs::create_dir_all(&ddir).unwrap();
        self.pid_files.push(ddir.join("pids"));
        let script = lab_dir().join(&spec.script);
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, "sh", &script.to_string_lossy()])
            .env("DIR", &ddir)
            .env("IP", self.ip(spec.host))
            .env(
                "WAN_IP",
                spec.wan_host.map(|h| self.wan_ip(h)).unwrap_or_default(),
            )
            .env("LAB", lab_dir())
            .output()
            .unwrap();
        if !out.status.success() {
            let log = std::fs::read_to_string(ddir.join("daemons.log")).unwrap_or_default();
            panic!(
                "device `{}` did not start:\n{}\n{}\ndaemon log:\n{log}",
                spec.name,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for f in &self.pid_files {
            for pid in std::fs::read_to_string(f)
                .unwrap_or_default()
                .split_whitespace()
            {
                let _ = run("kill", &["-TERM", pid]);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        for ns in self.namespaces.iter().rev() {
            for pid in run("ip", &["netns", "pids", ns])
                .unwrap_or_default()
                .split_whitespace()
            {
                let _ = run("kill", &["-KILL", pid]);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        for ns in self.namespaces.iter().rev() {
            let _ = run("ip", &["netns", "del", ns]);
        }
        for l in &self.links {
            let _ = run("ip", &["link", "del", l]); // only if it never left the root namespace
        }
    }
}

fn load_specs() -> Vec<DeviceSpec> {
    [
        "camera",
        "router",
        "dvr",
        "hardened",
        "nvr",
        "doorbell",
        "legacy",
        "legacy2",
        "gateway",
        "upnp-wan",
        "upnp-lan",
        "sensorhub",
        "renderer",
    ]
    .iter()
    .map(|n| {
        let p = lab_dir().join(format!("{n}.toml"));
        let text = std::fs::read_to_string(&p).unwrap();
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    })
    .collect()
}

/// Runs inside the scanner namespace when the lab test re-executes this binary; otherwise a
/// no-op.
#[test]
fn lab_child() {
    let Ok(req) = std::env::var(CHILD_ENV) else {
        return;
    };
    let req: ChildRequest = serde_json::from_str(&std::fs::read_to_string(req).unwrap()).unwrap();
    let mut cfg = iotrust_probe::ProbeConfig::new(req.targets.clone());
    cfg.scope = vec![req.scope.clone()];
    cfg.vantage = req.vantage.parse().unwrap();
    let ev = iotrust_probe::probe_blocking(&cfg).unwrap();
    std::fs::write(&req.out, serde_json::to_string_pretty(&ev).unwrap()).unwrap();
}

/// Run the probe inside namespace `ns` (this binary re-executed there): its evidence, typed
/// and raw.
fn run_probe(
    lab: &Lab,
    ns: &str,
    targets: Vec<String>,
    scope: String,
    vantage: &str,
) -> (iotrust_probe::Evidence, serde_json::Value) {
    let out = lab.dir.path().join(format!("evidence-{vantage}.json"));
    let req = ChildRequest {
        targets,
        scope,
        vantage: vantage.into(),
        out: out.clone(),
    };
    let req_path = lab.dir.path().join(format!("request-{vantage}.json"));
    std::fs::write(&req_path, serde_json::to_string(&req).unwrap()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            &exe.to_string_lossy(),
            "--exact",
            "lab_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &req_path)
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "probe run ({vantage}) failed:\n{}\n{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    (
        serde_json::from_str(&text).unwrap(),
        serde_json::from_str(&text).unwrap(),
    )
}

#[test]
fn lab_devices_match_expected_findings() {
    if std::env::var(CHILD_ENV).is_ok() || !lab_available() {
        return;
    }
    let specs = load_specs();
    let mut lab = Lab::new();
    for s in &specs {
        lab.device(s);
    }
    let started = std::time::Instant::now();
    let (ev, raw) = run_probe(
        &lab,
        &lab.scanner(),
        specs.iter().map(|s| lab.ip(s.host)).collect(),
        format!("{}.0/24", lab.net),
        "lan",
    );
    let elapsed = started.elapsed();
    eprintln!(
        "probe of {} lab devices took {:.1} s",
        specs.len(),
        elapsed.as_secs_f64()
    );
    eprintln!("{}", iotrust_probe::render::table(&ev));
    assert_eq!(ev.format, "iotrust-evidence/1");
    assert_eq!(ev.kind, "probe");
    assert_eq!(ev.vantage, Some(iotrust_probe::Vantage::Lan));

    let mut problems = Vec::new();
    for s in &specs {
        let addr = lab.ip(s.host);
        let Some((i, d)) = ev
            .devices
            .iter()
            .enumerate()
            .find(|(_, d)| d.address == addr)
        else {
            problems.push(format!(
                "{}: device {addr} missing from the evidence",
                s.name
            ));
            continue;
        };
        for want in &s.services {
            if !d.services.iter().any(|x| {
                x.port == want.port && x.transport == want.transport && x.protocol == want.protocol
            }) {
                problems.push(format!(
                    "{}: service {}/{} identified as `{}` is missing",
                    s.name, want.port, want.transport, want.protocol
                ));
            }
        }
        for want in &s.expect {
            match d
                .findings
                .iter()
                .find(|f| f.id == want.id && f.service.as_deref() == Some(&want.service))
            {
                None => problems.push(format!(
                    "{}: expected finding {} on {} is missing",
                    s.name, want.id, want.service
                )),
                Some(f) => {
                    if let Some(c) = &want.detail_contains {
                        if !f.detail.as_deref().unwrap_or("").contains(c.as_str()) {
                            problems.push(format!(
                                "{}: finding {} on {}: detail {:?} lacks {c:?}",
                                s.name, want.id, want.service, f.detail
                            ));
                        }
                    }
                    if f.provisions.is_empty() || f.outcomes.is_empty() {
                        problems.push(format!(
                            "{}: finding {} carries no provisions or outcomes",
                            s.name, f.id
                        ));
                    }
                }
            }
        }
        for f in &d.findings {
            if !s
                .expect
                .iter()
                .any(|w| w.id == f.id && Some(w.service.as_str()) == f.service.as_deref())
            {
                problems.push(format!("{}: unexpected finding {} on {:?} ({:?}) — a false positive or a missing expectation", s.name, f.id, f.service, f.detail));
            }
        }
        let facts = &raw["devices"][i]["facts"];
        for (k, v) in &s.facts {
            let want = serde_json::to_value(v).unwrap();
            if facts.get(k) != Some(&want) {
                problems.push(format!(
                    "{}: fact {k} is {:?}, expected {want}",
                    s.name,
                    facts.get(k)
                ));
            }
        }
        let unexpected: Vec<&String> = d
            .incomplete
            .iter()
            .filter(|i| !s.incomplete.iter().any(|w| i.starts_with(w.as_str())))
            .collect();
        if !unexpected.is_empty() {
            problems.push(format!("{}: incomplete checks: {unexpected:?}", s.name));
        }
        for w in &s.incomplete {
            if !d.incomplete.iter().any(|i| i.starts_with(w.as_str())) {
                problems.push(format!(
                    "{}: expected incomplete check {w:?} not reported",
                    s.name
                ));
            }
        }
        // Credentials are masked by default.
        for f in &d.findings {
            for secret in ["admin1234", "password", "support/support"] {
                if f.detail
                    .as_deref()
                    .unwrap_or("")
                    .contains(&format!("/{secret}"))
                {
                    problems.push(format!(
                        "{}: a credential is shown in clear: {:?}",
                        s.name, f.detail
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "lab mismatches:\n  {}",
        problems.join("\n  ")
    );
    from_the_wan(&lab, &specs);
    other_tools_agree(&lab, &specs, &ev);
    the_camera_fills_its_profiles_interface_table(&lab, &raw);
}

/// The real probe's evidence of the camera, taken as probed in its factory default state,
/// fills the [[interface]] table of a profile that leaves most of its services out
/// (tests/fixtures/assess/lab-camera.toml): every service the table omits is named, the
/// columns the probe sees replace the declared ones, and the catalog judges the merged table.
fn the_camera_fills_its_profiles_interface_table(lab: &Lab, raw: &serde_json::Value) {
    let addr = lab.ip(10);
    let device = raw["devices"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["address"] == addr.as_str()))
        .cloned()
        .expect("the camera is in the evidence");
    let mut file = raw.clone();
    file["devices"] = serde_json::json!([device]);
    file["state"] = serde_json::json!("factory-default");
    let cat = iotrust_catalog::Catalog::embedded().unwrap();
    let ev = iotrust_assess::evidence::parse(
        &cat,
        &serde_json::to_string_pretty(&file).unwrap(),
        "camera.probe.json",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/assess/lab-camera.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let profile = iotrust_assess::profile::parse(
        &cat,
        &text,
        iotrust_assess::InputFormat::Toml,
        "lab-camera.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (facts, _) =
        iotrust_assess::eval::merge_evidence(&cat, &profile, std::slice::from_ref(&ev));
    let a = iotrust_assess::assess(&cat, &profile, &[ev], jiff::civil::date(2026, 12, 8));
    let said: Vec<&str> = a
        .contradictions
        .iter()
        .map(|c| c.message.as_str())
        .collect();
    // every service found on a port the table does not declare is named, and nothing else is
    let declared: Vec<i64> = profile.interfaces.iter().filter_map(|r| r.port).collect();
    let undeclared: Vec<String> = device["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !declared.contains(&x["port"].as_i64().unwrap()))
        .map(|x| {
            format!(
                "has no network service on {}/{},",
                x["transport"].as_str().unwrap(),
                x["port"]
            )
        })
        .collect();
    assert!(
        undeclared.len() >= 4,
        "the camera has services the profile leaves out: {undeclared:?}"
    );
    let named = said
        .iter()
        .filter(|m| m.contains("has no network service on"))
        .count();
    assert_eq!(named, undeclared.len(), "{said:#?}");
    let mut missing = Vec::new();
    let mut wanted = undeclared;
    wanted.extend([
        "`plain web admin` is declared disabled as shipped, but camera.probe.json",
        "`web admin` is declared with transport tls1.2, but camera.probe.json",
        "`video stream` is declared with authentication password-digest-md5, but camera.probe.json",
        "`auth.factory_default_password` was declared as 'unique-per-device'",
    ].map(String::from));
    for want in &wanted {
        if !said.iter().any(|m| m.contains(want.as_str())) {
            missing.push(want);
        }
    }
    assert!(
        missing.is_empty(),
        "missing contradictions {missing:#?} in {said:#?}"
    );
    let fact = |id: &str| {
        let (fid, _) = cat.fact(id).unwrap();
        facts.get(fid).map(|(v, _)| v.to_string())
    };
    // the stream asks for nothing: an unauthenticated function, decided by the merged rows
    assert_eq!(
        fact("comms.network_functions_need_auth").as_deref(),
        Some("false")
    );
    // rows the probe added without knowing their authentication leave the list undecided,
    // so the probe's own tested list stands
    let anonymous = fact("surface.anonymous_services").unwrap();
    assert!(anonymous.contains("rtsp/554"), "{anonymous}");
    assert_eq!(fact("comms.cleartext_management").as_deref(), Some("true"));
    let verdict = |id: &str| a.outcomes.iter().find(|o| o.id == id).unwrap().verdict;
    use iotrust_assess::Verdict;
    assert_eq!(verdict("secure-communication"), Verdict::NotMet);
    assert_eq!(verdict("no-unauthenticated-disclosure"), Verdict::NotMet);
    // a shared password as shipped; whether setup replaces it is not stated: not met is
    // not claimed, met is not either
    assert_eq!(verdict("no-universal-default-password"), Verdict::Unknown);
}

/// The same gateways probed from the WAN vantage (`--vantage wan`, from the vantage namespace
/// on their WAN link): exactly `wan_expect` per gateway. The gateway whose UPnP listens on its
/// WAN interface too is found; the one bound to its LAN is not.
fn from_the_wan(lab: &Lab, specs: &[DeviceSpec]) {
    let wan: Vec<&DeviceSpec> = specs.iter().filter(|s| s.wan_host.is_some()).collect();
    assert!(
        wan.iter().any(|s| !s.wan_expect.is_empty()) && wan.iter().any(|s| s.wan_expect.is_empty()),
        "the WAN lab needs a positive and a negative gateway"
    );
    let (ev, _) = run_probe(
        lab,
        &lab.wan(),
        wan.iter()
            .filter_map(|s| s.wan_host.map(|h| lab.wan_ip(h)))
            .collect(),
        format!("{}.0/24", lab.wan_net),
        "wan",
    );
    eprintln!("from the WAN:\n{}", iotrust_probe::render::table(&ev));
    assert_eq!(ev.vantage, Some(iotrust_probe::Vantage::Wan));
    let mut problems = Vec::new();
    for s in &wan {
        let addr = lab.wan_ip(s.wan_host.unwrap());
        let Some(d) = ev.devices.iter().find(|d| d.address == addr) else {
            problems.push(format!("{} (WAN {addr}) missing from the evidence", s.name));
            continue;
        };
        for want in &s.wan_expect {
            match d
                .findings
                .iter()
                .find(|f| f.id == want.id && f.service.as_deref() == Some(&want.service))
            {
                None => problems.push(format!(
                    "{} from the WAN: expected finding {} on {} is missing",
                    s.name, want.id, want.service
                )),
                Some(f) => {
                    if let Some(c) = &want.detail_contains {
                        if !f.detail.as_deref().unwrap_or("").contains(c.as_str()) {
                            problems.push(format!(
                                "{} from the WAN: finding {}: detail {:?} lacks {c:?}",
                                s.name, want.id, f.detail
                            ));
                        }
                    }
                }
            }
        }
        for f in &d.findings {
            if !s
                .wan_expect
                .iter()
                .any(|w| w.id == f.id && Some(w.service.as_str()) == f.service.as_deref())
            {
                problems.push(format!(
                    "{} from the WAN: unexpected finding {} on {:?} ({:?})",
                    s.name, f.id, f.service, f.detail
                ));
            }
        }
        if !d.incomplete.is_empty() {
            problems.push(format!(
                "{} from the WAN: incomplete: {:?}",
                s.name, d.incomplete
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "WAN vantage mismatches:\n  {}",
        problems.join("\n  ")
    );
}

/// Configuration rules that both the probe and the importers judge.
const SSH_RULES: &[&str] = &[
    "ssh-weak-kex",
    "ssh-weak-host-key",
    "ssh-weak-cipher",
    "ssh-weak-mac",
    "ssh-terrapin",
    "ssh-protocol-1",
];
const TLS_RULES: &[&str] = &[
    "tls-legacy-version",
    "tls-weak-cipher",
    "tls-no-forward-secrecy",
    "tls-cbc-only",
    "tls-insecure-renegotiation",
];

/// (address, port, finding id) of `rules` on `ports`.
fn verdicts(
    ev: &iotrust_probe::Evidence,
    rules: &[&str],
    ports: &[u16],
) -> std::collections::BTreeSet<(String, u16, String)> {
    let mut out = std::collections::BTreeSet::new();
    for d in &ev.devices {
        for f in &d.findings {
            let port = f
                .service
                .as_deref()
                .and_then(|s| s.rsplit('/').next())
                .and_then(|p| p.parse::<u16>().ok());
            if let Some(p) = port.filter(|p| ports.contains(p)) {
                if rules.contains(&f.id.as_str()) {
                    out.insert((d.address.clone(), p, f.id.clone()));
                }
            }
        }
    }
    out
}

/// Run a command inside the scanner namespace; its stdout.
fn in_scanner(lab: &Lab, cmd: &str, args: &[&str]) -> std::process::Output {
    let s = lab.scanner();
    let mut all = vec!["netns", "exec", s.as_str(), cmd];
    all.extend_from_slice(args);
    Command::new("ip").args(&all).output().unwrap()
}

/// nmap, ssh-audit and testssl.sh (Debian's packages) run against the same lab from the
/// scanner namespace; their output, imported, gives the same configuration verdicts as the
/// probe's own checks.
fn other_tools_agree(lab: &Lab, specs: &[DeviceSpec], probe: &iotrust_probe::Evidence) {
    use iotrust_probe::import::{import, Format};
    let ip = |name: &str| lab.ip(specs.iter().find(|s| s.name == name).unwrap().host);
    let ssh_hosts: Vec<String> = ["router", "hardened", "nvr", "doorbell", "legacy", "legacy2"]
        .iter()
        .map(|n| ip(n))
        .collect();
    let tls_targets = [
        (ip("legacy"), 443u16),
        (ip("legacy2"), 443),
        (ip("hardened"), 443),
        (ip("camera"), 8443),
    ];
    let dir = lab.dir.path();
    let mut problems = Vec::new();

    // testssl.sh takes about a minute per service: start them first, in parallel.
    let testssl: Vec<(PathBuf, std::process::Child)> = tls_targets
        .iter()
        .map(|(a, p)| {
            let out = dir.join(format!("testssl-{a}-{p}.json"));
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &lab.scanner(),
                    "testssl",
                    "--quiet",
                    "--color",
                    "0",
                    "--warnings",
                    "off",
                    "--nodns",
                    "none",
                    "-p",
                    "-E",
                    "-R",
                    "--jsonfile",
                ])
                .arg(&out)
                .arg(format!("{a}:{p}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();

    // nmap with the scripts that see the same configuration.
    let xml = dir.join("nmap.xml");
    let mut args: Vec<String> = [
        "-Pn",
        "-n",
        "-sT",
        "-p",
        "22,443,8443",
        "--script",
        "ssh2-enum-algos,ssl-enum-ciphers,sshv1",
        "-oX",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(xml.to_string_lossy().into_owned());
    args.extend(ssh_hosts.iter().cloned());
    args.push(ip("camera"));
    args.push(ip("renderer"));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = in_scanner(lab, "nmap", &a);
    assert!(
        o.status.success(),
        "nmap failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&xml).unwrap();
    let nmap = import(Format::NmapXml, "nmap.xml", &text).unwrap();
    assert_eq!(nmap.kind, "test-report");
    let mut rules = SSH_RULES.to_vec();
    rules.extend_from_slice(TLS_RULES);
    // ssl-enum-ciphers does not test renegotiation.
    rules.retain(|r| *r != "tls-insecure-renegotiation");
    let (want, got) = (
        verdicts(probe, &rules, &[22, 443, 8443]),
        verdicts(&nmap, &rules, &[22, 443, 8443]),
    );
    if want != got {
        problems.push(format!("nmap: probe {want:?}\n    nmap  {got:?}"));
    }
    eprintln!("nmap verdicts agree with the probe's: {}", want == got);

    // ssh-audit, one JSON report per host (it exits non-zero when it finds weaknesses).
    for h in &ssh_hosts {
        let o = in_scanner(lab, "ssh-audit", &["-j", h]);
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let name = format!("ssh-audit-{h}.json");
        std::fs::write(dir.join(&name), &text).unwrap();
        let ev = match import(Format::SshAudit, &name, &text) {
            Ok(ev) => ev,
            Err(e) => {
                problems.push(format!("ssh-audit {h}: {e}"));
                continue;
            }
        };
        let only = |ev: &iotrust_probe::Evidence| {
            verdicts(ev, SSH_RULES, &[22])
                .into_iter()
                .filter(|(a, _, _)| a == h)
                .collect::<Vec<_>>()
        };
        if only(probe) != only(&ev) {
            problems.push(format!(
                "ssh-audit {h}: probe {:?}, ssh-audit {:?}",
                only(probe),
                only(&ev)
            ));
        }
    }

    for ((a, p), (out, mut child)) in tls_targets.iter().zip(testssl) {
        let st = child.wait().unwrap();
        let text = std::fs::read_to_string(&out)
            .unwrap_or_else(|e| panic!("testssl.sh {a}:{p} ({st}) wrote no JSON: {e}"));
        let ev = import(Format::Testssl, "testssl.json", &text).unwrap();
        let only = |ev: &iotrust_probe::Evidence| {
            verdicts(ev, TLS_RULES, &[*p])
                .into_iter()
                .filter(|(x, _, _)| x == a)
                .collect::<Vec<_>>()
        };
        if only(probe) != only(&ev) {
            problems.push(format!(
                "testssl.sh {a}:{p}: probe {:?}, testssl {:?}",
                only(probe),
                only(&ev)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "other tools disagree:\n  {}",
        problems.join("\n  ")
    );
}

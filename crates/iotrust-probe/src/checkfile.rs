//! Checks as data (`data/checks/*.toml`, and `--checks DIR`): one request, matchers on the
//! answer, what a match means (severity, provisions, outcomes), its references (CVE, CWE, the
//! botnet families that use the endpoint, sources), and a positive and a negative example
//! answer that the tests run through the matcher. The format is documented in `CHECKS.md`
//! ("Check files"). Loading is strict: unknown fields, a request that could change a device,
//! or a check without both examples is an error naming the file, line and field.
//!
//! Nothing a check sends may change a device: HTTP checks use GET or HEAD, or POST of a SOAP
//! action whose name starts with `Get` (read-only by UPnP convention); TCP checks send bytes
//! that open a session and nothing more (an ADB `CNXN`).

use std::path::Path;

use serde::Deserialize;

use crate::error::ProbeError;
use crate::evidence::{Finding, Severity};
use crate::protocols::http;

/// The checks shipped with the probe.
const BUILTIN: &[(&str, &str)] = &[
    (
        "data/checks/adb.toml",
        include_str!("../data/checks/adb.toml"),
    ),
    (
        "data/checks/huawei-hg532.toml",
        include_str!("../data/checks/huawei-hg532.toml"),
    ),
    (
        "data/checks/realtek-miniigd.toml",
        include_str!("../data/checks/realtek-miniigd.toml"),
    ),
    (
        "data/checks/tr064.toml",
        include_str!("../data/checks/tr064.toml"),
    ),
    (
        "data/checks/http-directory-listing.toml",
        include_str!("../data/checks/http-directory-listing.toml"),
    ),
    (
        "data/checks/http-management-unauthenticated.toml",
        include_str!("../data/checks/http-management-unauthenticated.toml"),
    ),
    (
        "data/checks/upnp-wan.toml",
        include_str!("../data/checks/upnp-wan.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    check: Vec<Check>,
    #[serde(default)]
    credential: Vec<DefaultCredential>,
}

/// Where a default credential is documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialOrigin {
    /// The vendor's own manual, quick-start guide or support page.
    VendorManual,
    /// A botnet's source code or a malware analysis that lists the pairs it tries.
    BotnetSource,
    /// A public default-credential collection.
    PublicList,
}

impl CredentialOrigin {
    pub fn name(self) -> &'static str {
        match self {
            CredentialOrigin::VendorManual => "vendor manual",
            CredentialOrigin::BotnetSource => "botnet source",
            CredentialOrigin::PublicList => "public list",
        }
    }
}

/// A default credential a check file adds to the pairs the credential checks try (telnet,
/// SSH, FTP, HTTP, MQTT). A login with it is a `default-credentials` finding (CWE-1392) whose
/// detail names this provenance.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultCredential {
    pub user: String,
    pub password: String,
    pub provenance: CredentialOrigin,
    /// The document: a manual's title and page, a URL, or `repository@commit path line`.
    pub source: String,
    /// The products (vendor manual, public list) or the botnet family (botnet source).
    pub applies_to: String,
}

impl DefaultCredential {
    fn validate(&self, file: &str, text: &str, index: usize) -> Result<(), ProbeError> {
        let e = |field: &str, msg: &str| ProbeError::Import {
            file: file.to_string(),
            line: nth_table_line(text, "[[credential]]", index),
            field: Some(format!("credential[{index}].{field}")),
            message: msg.to_string(),
        };
        if self.source.trim().is_empty() {
            return Err(e("source", "every default credential names its source"));
        }
        if self.applies_to.trim().is_empty() {
            return Err(e("applies_to", "say which products or which botnet use it"));
        }
        if self.user.len() > 256 || self.password.len() > 256 {
            return Err(e("password", "user or password longer than 256 bytes"));
        }
        Ok(())
    }

    /// The pair as the credential checks use it, with its provenance.
    pub fn credential(&self, file: &str) -> crate::creds::Credential {
        crate::creds::Credential {
            user: self.user.clone(),
            password: self.password.clone(),
            weight: 500,
            source: "check-file".into(),
            provenance: vec![format!(
                "{}: {} ({}; check file {file})",
                self.provenance.name(),
                self.applies_to,
                self.source
            )],
        }
    }
}

/// The line of the `index`-th `header` table in `text`.
fn nth_table_line(text: &str, header: &str, index: usize) -> Option<usize> {
    text.match_indices(header)
        .nth(index)
        .map(|(off, _)| line_of(text, off))
}

/// Everything the check files hold.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub checks: Vec<Check>,
    /// Default credentials the files add, with the file each came from.
    pub credentials: Vec<(String, DefaultCredential)>,
}

impl Loaded {
    /// The default credentials as a list the credential checks try.
    pub fn credential_list(&self) -> crate::creds::CredentialList {
        let mut l = crate::creds::CredentialList::default();
        for (file, c) in &self.credentials {
            l.push(c.credential(file));
        }
        l
    }
}

/// One check.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Finding id (`[a-z0-9-]+`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Where it runs: `http` (every port identified as HTTP, and HTTPS), `tcp` (every open
    /// port that no known protocol answered), `ssdp` (every answer to the probe's unicast
    /// M-SEARCH on udp/1900) or `upnp` (the control URL of every UPnP Internet Gateway Device
    /// whose description an SSDP answer pointed to).
    pub protocol: Proto,
    /// Run only when the probe stands here (`--vantage`); absent: at any vantage.
    #[serde(default)]
    pub vantage: Option<crate::config::Vantage>,
    /// Provisions (`scheme@version#provision`) and iotrust outcomes a match evidences.
    pub provisions: Vec<String>,
    pub outcomes: Vec<String>,
    #[serde(default)]
    pub cwe: Vec<String>,
    #[serde(default)]
    pub cve: Vec<String>,
    /// Botnet families known to use this endpoint.
    #[serde(default)]
    pub families: Vec<String>,
    /// Where the facts above come from (URL or document), with confidence H/M/L.
    pub sources: Vec<String>,
    /// What is sent (`ssdp`: nothing of the check's own, the probe's M-SEARCH is the request).
    #[serde(default)]
    pub request: Request,
    /// Every matcher must hold.
    #[serde(rename = "match")]
    pub matchers: Vec<Matcher>,
    /// Example answers: at least one that must match and one that must not.
    pub example: Vec<Example>,
    /// TCP checks: answers that show which protocol the port speaks, whatever the verdict
    /// (the service is then named so in the evidence).
    #[serde(default)]
    pub identifies: Option<Identify>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    pub name: String,
    pub starts_with_hex: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Http,
    Tcp,
    Ssdp,
    Upnp,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP: method and path.
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    /// TCP: bytes to send, in hex.
    #[serde(default)]
    pub send_hex: Option<String>,
    /// UPnP: the SOAP action called on the IGD's WANIPConnection/WANPPPConnection control
    /// URL, without arguments; its name must start with `Get` (read-only by UPnP convention).
    #[serde(default)]
    pub soap_action: Option<String>,
}

/// One condition on the answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// HTTP status is one of these.
    #[serde(default)]
    pub status: Vec<u16>,
    /// This header (case-insensitive) contains `contains` (or exists when `contains` is absent).
    #[serde(default)]
    pub header: Option<String>,
    /// Text the header, or else the body, contains (case-insensitive).
    #[serde(default)]
    pub contains: Option<String>,
    /// The body contains at least one of these (case-insensitive).
    #[serde(default)]
    pub any: Vec<String>,
    /// TCP: the answer starts with these bytes (hex).
    #[serde(default)]
    pub starts_with_hex: Option<String>,
    /// Invert the matcher.
    #[serde(default)]
    pub not: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub matches: bool,
    /// The raw answer: HTTP text (`\r\n` may be written `\n`), or hex for TCP.
    pub response: String,
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// The line of `field = ` for a check's entry (best effort, for messages).
fn field_line(text: &str, id: &str, field: &str) -> Option<usize> {
    let at = text.find(&format!("\"{id}\""))?;
    let rest = &text[at..];
    let off = rest.find(&format!("{field} ="))? + at;
    Some(line_of(text, off))
}

impl Check {
    /// Whether the check runs when the probe stands at `v`.
    pub fn runs_at(&self, v: crate::config::Vantage) -> bool {
        self.vantage.is_none_or(|x| x == v)
    }

    /// The request bytes for `host`.
    pub fn http_request(&self, host: &str) -> Vec<u8> {
        let method = self.request.method.as_deref().unwrap_or("GET");
        let path = self.request.path.as_deref().unwrap_or("/");
        let extra: Vec<(&str, String)> = self
            .request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        http::request(
            method,
            path,
            host,
            &extra,
            self.request.body.as_deref().map(str::as_bytes),
        )
    }

    /// The bytes a TCP check sends.
    pub fn tcp_bytes(&self) -> Vec<u8> {
        self.request
            .send_hex
            .as_deref()
            .and_then(hex)
            .unwrap_or_default()
    }

    /// Whether an HTTP answer matches.
    pub fn matches_http(&self, r: &http::Response) -> bool {
        let body = r.text().to_ascii_lowercase();
        self.matchers.iter().all(|m| {
            let mut ok = true;
            if !m.status.is_empty() {
                ok &= m.status.contains(&r.status);
            }
            match (&m.header, &m.contains) {
                (Some(h), Some(c)) => {
                    let c = c.to_ascii_lowercase();
                    ok &= r
                        .headers_named(h)
                        .any(|v| v.to_ascii_lowercase().contains(&c));
                }
                (Some(h), None) => ok &= r.header(h).is_some(),
                (None, Some(c)) => ok &= body.contains(&c.to_ascii_lowercase()),
                (None, None) => {}
            }
            if !m.any.is_empty() {
                ok &= m.any.iter().any(|a| body.contains(&a.to_ascii_lowercase()));
            }
            ok != m.not
        })
    }

    /// Whether a TCP answer matches.
    pub fn matches_tcp(&self, answer: &[u8]) -> bool {
        self.matchers.iter().all(|m| {
            let mut ok = true;
            if let Some(p) = m.starts_with_hex.as_deref().and_then(hex) {
                ok &= answer.starts_with(&p);
            }
            if let Some(c) = &m.contains {
                ok &= String::from_utf8_lossy(answer)
                    .to_ascii_lowercase()
                    .contains(&c.to_ascii_lowercase());
            }
            ok != m.not
        })
    }

    /// The protocol an answer shows, if the check knows it.
    pub fn identified(&self, answer: &[u8]) -> Option<&str> {
        let id = self.identifies.as_ref()?;
        id.starts_with_hex
            .iter()
            .filter_map(|h| hex(h))
            .any(|p| answer.starts_with(&p))
            .then_some(id.name.as_str())
    }

    /// Whether an example answer matches (for the tests).
    pub fn matches_example(&self, e: &Example) -> bool {
        match self.protocol {
            Proto::Tcp => hex(&e.response).is_some_and(|b| self.matches_tcp(&b)),
            Proto::Http | Proto::Ssdp | Proto::Upnp => {
                let raw = if e.response.contains("\r\n") {
                    e.response.clone()
                } else {
                    e.response.replace('\n', "\r\n")
                };
                matches!(http::parse_response(raw.as_bytes(), true, false), Ok(Some(r)) if self.matches_http(&r))
            }
        }
    }

    /// A finding of this check.
    pub fn finding(&self, service: String, detail: String) -> Finding {
        let mut refs: Vec<String> = self.cve.clone();
        refs.extend(self.cwe.iter().cloned());
        let mut d = detail;
        if !self.families.is_empty() {
            d.push_str(&format!("; used by {}", self.families.join(", ")));
        }
        if !refs.is_empty() {
            d.push_str(&format!(" ({})", refs.join(", ")));
        }
        Finding {
            id: self.id.clone(),
            severity: self.severity,
            title: self.title.clone(),
            service: Some(service),
            detail: Some(d),
            provisions: self.provisions.clone(),
            outcomes: self.outcomes.clone(),
            cwe: self.cwe.clone(),
        }
    }

    fn validate(&self, file: &str, text: &str) -> Result<(), ProbeError> {
        let e = |field: &str, msg: String| ProbeError::Import {
            file: file.to_string(),
            line: field_line(text, &self.id, field),
            field: Some(format!("{}.{field}", self.id)),
            message: msg,
        };
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(e("id", format!("`{}` is not an id ([a-z0-9-]+)", self.id)));
        }
        if self.sources.is_empty() {
            return Err(e("sources", "every check names its sources".into()));
        }
        if self.provisions.is_empty() || self.outcomes.is_empty() {
            return Err(e(
                "provisions",
                "a check names the provisions and outcomes it evidences".into(),
            ));
        }
        if self.matchers.is_empty() {
            return Err(e("match", "a check needs at least one matcher".into()));
        }
        match self.protocol {
            Proto::Http => {
                if self.request.soap_action.is_some() {
                    return Err(e(
                        "soap_action",
                        "`soap_action` is for UPnP checks; an HTTP check POSTs with a SOAPAction header".into(),
                    ));
                }
                let method = self.request.method.as_deref().unwrap_or("GET");
                let safe = match method {
                    "GET" | "HEAD" => true,
                    "POST" => self.request.headers.iter().any(|(k, v)| {
                        k.eq_ignore_ascii_case("soapaction")
                            && v.trim_matches('"')
                                .rsplit('#')
                                .next()
                                .is_some_and(|a| a.starts_with("Get"))
                    }),
                    _ => false,
                };
                if !safe {
                    return Err(e("method", format!("`{method}` could change a device: checks use GET, HEAD, or POST of a SOAP `Get…` action")));
                }
                if self.request.send_hex.is_some() {
                    return Err(e(
                        "send_hex",
                        "an HTTP check sends a request, not bytes".into(),
                    ));
                }
            }
            Proto::Ssdp => {
                let r = &self.request;
                if r.method.is_some()
                    || r.path.is_some()
                    || r.body.is_some()
                    || r.send_hex.is_some()
                    || r.soap_action.is_some()
                    || !r.headers.is_empty()
                {
                    return Err(e("request", "an SSDP check sends nothing of its own: it judges the answers to the probe's unicast M-SEARCH".into()));
                }
            }
            Proto::Upnp => {
                let r = &self.request;
                if r.method.is_some()
                    || r.path.is_some()
                    || r.body.is_some()
                    || r.send_hex.is_some()
                    || !r.headers.is_empty()
                {
                    return Err(e("request", "a UPnP check names only `soap_action`: the control URL and the envelope come from the device description".into()));
                }
                match r.soap_action.as_deref() {
                    Some(a)
                        if a.starts_with("Get")
                            && a.chars().all(|c| c.is_ascii_alphanumeric()) => {}
                    Some(a) => {
                        return Err(e("soap_action", format!("`{a}` could change a device: UPnP checks call only an action whose name starts with `Get`")))
                    }
                    None => return Err(e("soap_action", "a UPnP check names the SOAP action it calls".into())),
                }
            }
            Proto::Tcp => {
                if self
                    .request
                    .send_hex
                    .as_deref()
                    .and_then(hex)
                    .is_none_or(|b| b.is_empty())
                {
                    return Err(e("send_hex", "a TCP check sends bytes given in hex".into()));
                }
                for m in &self.matchers {
                    if m.starts_with_hex
                        .as_deref()
                        .is_some_and(|h| hex(h).is_none())
                    {
                        return Err(e("starts_with_hex", "not hex".into()));
                    }
                }
            }
        }
        if !self.example.iter().any(|x| x.matches) || !self.example.iter().any(|x| !x.matches) {
            return Err(e(
                "example",
                "a check needs an example answer that matches and one that does not".into(),
            ));
        }
        for (i, x) in self.example.iter().enumerate() {
            if self.matches_example(x) != x.matches {
                return Err(e(
                    "example",
                    format!(
                        "example {} should {}match but does{}",
                        i + 1,
                        if x.matches { "" } else { "not " },
                        if x.matches { " not" } else { "" }
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Parse and validate one check file.
pub fn parse(file: &str, text: &str) -> Result<Vec<Check>, ProbeError> {
    parse_file(file, text).map(|f| f.check)
}

fn parse_file(file: &str, text: &str) -> Result<File, ProbeError> {
    let f: File = toml::from_str(text).map_err(|e| ProbeError::Import {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        field: None,
        message: e.message().to_string(),
    })?;
    for c in &f.check {
        c.validate(file, text)?;
    }
    for (i, c) in f.credential.iter().enumerate() {
        c.validate(file, text, i)?;
    }
    Ok(f)
}

/// The built-in checks and every `*.toml` in `dirs`; a later check with the same id replaces
/// an earlier one.
pub fn load(dirs: &[impl AsRef<Path>]) -> Result<Vec<Check>, ProbeError> {
    load_all(dirs).map(|l| l.checks)
}

/// The checks and default credentials of the built-in files and every `*.toml` in `dirs`.
pub fn load_all(dirs: &[impl AsRef<Path>]) -> Result<Loaded, ProbeError> {
    let mut all = Loaded::default();
    let mut add = |name: &str, f: File| {
        for c in f.check {
            all.checks.retain(|x| x.id != c.id);
            all.checks.push(c);
        }
        for c in f.credential {
            all.credentials.push((name.to_string(), c));
        }
    };
    for (name, text) in BUILTIN {
        add(name, parse_file(name, text)?);
    }
    for d in dirs {
        let d = d.as_ref();
        let rd = std::fs::read_dir(d).map_err(|source| ProbeError::Io {
            path: d.to_path_buf(),
            source,
        })?;
        let mut files: Vec<_> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for p in files {
            let text = std::fs::read_to_string(&p).map_err(|source| ProbeError::Io {
                path: p.clone(),
                source,
            })?;
            let name = p.display().to_string();
            add(&name, parse_file(&name, &text)?);
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shipped check loads, and its examples (a positive and a negative each) match as
    /// they say (`validate` runs them).
    #[test]
    fn builtin_checks_load_with_their_examples() {
        let all = load(&[] as &[&str]).unwrap();
        assert!(all.len() >= 5);
        for c in &all {
            assert!(
                c.example.iter().any(|x| x.matches) && c.example.iter().any(|x| !x.matches),
                "{}",
                c.id
            );
            for x in &c.example {
                assert_eq!(c.matches_example(x), x.matches, "{}", c.id);
            }
        }
    }

    /// A check file may add default credentials; each must say where it is documented, and
    /// the pair keeps that provenance into the finding's detail.
    #[test]
    fn default_credentials_in_check_files_carry_provenance() {
        let text = r#"
[[credential]]
user = "admin"
password = "hunter2"
provenance = "vendor-manual"
source = "Acme C100 quick-start guide, page 4"
applies_to = "Acme C100 cameras"

[[credential]]
user = "root"
password = "xc3511"
provenance = "botnet-source"
source = "jgamblin/Mirai-Source-Code@4889a6f mirai/bot/scanner.c line 124"
applies_to = "Mirai"
"#;
        let f = parse_file("acme.toml", text).unwrap();
        assert!(f.check.is_empty());
        assert_eq!(f.credential.len(), 2);
        let c = f.credential[0].credential("acme.toml");
        assert_eq!((c.user.as_str(), c.password.as_str()), ("admin", "hunter2"));
        assert_eq!(
            c.provenance,
            vec!["vendor manual: Acme C100 cameras (Acme C100 quick-start guide, page 4; check file acme.toml)".to_string()]
        );
        let missing = text.replacen(
            "source = \"Acme C100 quick-start guide, page 4\"",
            "source = \" \"",
            1,
        );
        match parse_file("acme.toml", &missing) {
            Err(ProbeError::Import { line, field, .. }) => {
                assert_eq!(line, Some(2));
                assert_eq!(field.as_deref(), Some("credential[0].source"));
            }
            other => panic!("{other:?}"),
        }
        let unknown = text.replacen(
            "provenance = \"vendor-manual\"",
            "provenance = \"hearsay\"",
            1,
        );
        assert!(matches!(
            parse_file("acme.toml", &unknown),
            Err(ProbeError::Import { line: Some(5), .. })
        ));
    }

    /// SSDP and UPnP checks: the SSDP one sends nothing of its own, the UPnP one only a
    /// `Get…` SOAP action; a vantage limits where they run.
    #[test]
    fn ssdp_and_upnp_checks_send_nothing_that_changes_a_device() {
        let upnp = r#"
[[check]]
id = "u"
title = "t"
severity = "critical"
protocol = "upnp"
vantage = "wan"
provisions = ["etsi-en-303-645@3.1.3#5.6-1"]
outcomes = ["minimal-services"]
sources = ["test"]
request = { soap_action = "ACTION" }
match = [{ status = [200] }, { contains = "GetStatusInfoResponse" }]
example = [{ matches = true, response = "HTTP/1.1 200 OK\nContent-Length: 25\n\n<u:GetStatusInfoResponse>" }, { matches = false, response = "HTTP/1.1 500 Error\nContent-Length: 0\n\n" }]
"#;
        let c = parse("u.toml", &upnp.replace("ACTION", "GetStatusInfo")).unwrap();
        assert_eq!(c[0].protocol, Proto::Upnp);
        assert!(c[0].runs_at(crate::config::Vantage::Wan));
        assert!(!c[0].runs_at(crate::config::Vantage::Lan));
        for bad in [
            "AddPortMapping",
            "DeletePortMapping",
            "SetConnectionType",
            "Get Status",
        ] {
            let e = parse("u.toml", &upnp.replace("ACTION", bad))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("u.soap_action") && e.contains("could change"),
                "{bad}: {e}"
            );
        }
        let e = parse(
            "u.toml",
            &upnp.replace("{ soap_action = \"ACTION\" }", "{ method = \"GET\" }"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("u.request"), "{e}");
        // An SSDP check judges the answers to the probe's own M-SEARCH and sends nothing else.
        let ssdp = upnp
            .replace("protocol = \"upnp\"", "protocol = \"ssdp\"")
            .replace("request = { soap_action = \"ACTION\" }\n", "")
            .replace(
                "{ contains = \"GetStatusInfoResponse\" }",
                "{ header = \"usn\" }",
            )
            .replace(
                r"Content-Length: 25\n\n<u:GetStatusInfoResponse>",
                r"USN: uuid:1::upnp:rootdevice\n\n",
            );
        let c = parse("s.toml", &ssdp).unwrap();
        assert_eq!(c[0].protocol, Proto::Ssdp);
        let e = parse(
            "s.toml",
            &ssdp.replace(
                "sources = [\"test\"]",
                "sources = [\"test\"]\nrequest = { path = \"/\" }",
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("s.toml") && e.contains("u.request") && e.contains("sends nothing"),
            "{e}"
        );
        // An HTTP check cannot borrow the UPnP field.
        let e = parse(
            "h.toml",
            &upnp
                .replace("protocol = \"upnp\"", "protocol = \"http\"")
                .replace("ACTION", "GetStatusInfo"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("h.toml") && e.contains("u.soap_action"), "{e}");
        let e = parse(
            "v.toml",
            &upnp.replace("vantage = \"wan\"", "vantage = \"dmz\""),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v.toml") && e.contains("line"), "{e}");
    }

    /// The shipped WAN checks run only from the WAN side.
    #[test]
    fn wan_checks_run_only_from_the_wan() {
        let all = load(&[] as &[&str]).unwrap();
        for id in ["upnp-igd-wan", "ssdp-wan"] {
            let c = all.iter().find(|c| c.id == id).unwrap();
            assert!(c.runs_at(crate::config::Vantage::Wan), "{id}");
            assert!(!c.runs_at(crate::config::Vantage::Lan), "{id}");
        }
        let c = all.iter().find(|c| c.id == "upnp-igd-wan").unwrap();
        assert_eq!(
            c.request.soap_action.as_deref(),
            Some("GetExternalIPAddress")
        );
        assert!(c.cve.iter().any(|x| x == "CVE-2020-12695"));
        assert!(c.families.iter().any(|x| x.contains("UPnProxy")));
    }

    #[test]
    fn unsafe_or_incomplete_checks_are_refused() {
        let ok = r#"
[[check]]
id = "x"
title = "t"
severity = "low"
protocol = "http"
provisions = ["etsi-en-303-645@3.1.3#5.6-1"]
outcomes = ["minimal-services"]
sources = ["test"]
request = { method = "METHOD", path = "/" }
match = [{ status = [200] }]
example = [{ matches = true, response = "HTTP/1.1 200 OK\nContent-Length: 0\n\n" }, { matches = false, response = "HTTP/1.1 404 No\nContent-Length: 0\n\n" }]
"#;
        assert!(parse("a.toml", &ok.replace("METHOD", "GET")).is_ok());
        let e = parse("a.toml", &ok.replace("METHOD", "DELETE"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.toml") && e.contains("x.method") && e.contains("could change"),
            "{e}"
        );
        let e = parse(
            "a.toml",
            &ok.replace("METHOD", "GET")
                .replace("matches = false", "matches = true"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("x.example"), "{e}");
        let e = parse(
            "a.toml",
            &ok.replace("METHOD", "GET").replace("title", "tilte"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line"), "{e}");
        let e = parse(
            "a.toml",
            &ok.replace("METHOD", "GET")
                .replace("sources = [\"test\"]", "sources = []"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("sources"), "{e}");
    }
}

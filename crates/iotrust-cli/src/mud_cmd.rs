//! `iotrust mud`: generate, check, compile and enforce RFC 8520 MUD files (the work is in
//! `iotrust-mud`; this reads files, writes output and picks exit codes).

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use iotrust_catalog::expr::FactValue;
use iotrust_catalog::Catalog;
use iotrust_mud::signature::SignatureStatus;
use iotrust_mud::{enforce, nft, Context, MudFile, Severity};

use crate::exit;

#[derive(Subcommand)]
pub enum MudCmd {
    /// Write a profile's [[communication]] table as an RFC 8520 MUD file.
    Generate(GenerateArgs),
    /// Check a MUD file (ietf-mud, ietf-access-control-list, ietf-acldns) and, when given, its
    /// detached CMS signature. Exit 0 valid, 1 invalid, bad or expired signature.
    Check(CheckArgs),
    /// Compile a MUD file to an nftables rule set for one device.
    Nft(NftArgs),
    /// Load the rule set with `nft` and keep the sets of resolved names fresh (needs root).
    Enforce(EnforceArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// The product profile (TOML or JSON).
    pub profile: PathBuf,
    /// The mud-url (default: the profile's `mud_url` in [product]).
    #[arg(long)]
    pub url: Option<String>,
    /// Where to write the MUD file (`-` for stdout).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args)]
pub struct CheckArgs {
    pub file: PathBuf,
    /// The detached CMS signature (default: FILE with `.json` replaced by `.p7s`, when it exists
    /// and --ca is given).
    #[arg(long, value_name = "F")]
    pub signature: Option<PathBuf>,
    /// Trust anchor(s), PEM, to verify the signature against.
    #[arg(long, value_name = "PEM")]
    pub ca: Option<PathBuf>,
    /// Judge certificate validity on this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
}

#[derive(Args)]
pub struct RuleArgs {
    pub file: PathBuf,
    /// The device's address.
    #[arg(long)]
    pub device: IpAddr,
    /// Prefixes that are local networks (default: RFC 1918, IPv6 ULA and link-local).
    #[arg(long = "local-network", value_name = "PREFIX")]
    pub local_networks: Vec<ipnet::IpNet>,
    /// A controller for a class: `URI=ADDR` (e.g. urn:ietf:params:mud:dns=192.168.1.1).
    #[arg(long = "controller", value_name = "URI=ADDR")]
    pub controllers: Vec<String>,
    /// The device's own controller (my-controller).
    #[arg(long = "my-controller", value_name = "ADDR")]
    pub my_controller: Vec<IpAddr>,
}

#[derive(Args)]
pub struct NftArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Where to write the rule set (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct EnforceArgs {
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Seconds between re-resolutions of the file's names.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub refresh: u32,
    /// Load once and exit (no refresh loop).
    #[arg(long)]
    pub once: bool,
}

pub fn run(cat: &Catalog, cmd: MudCmd) -> anyhow::Result<u8> {
    match cmd {
        MudCmd::Generate(a) => generate(cat, a),
        MudCmd::Check(a) => check(a),
        MudCmd::Nft(a) => nft_cmd(a),
        MudCmd::Enforce(a) => enforce_cmd(a),
    }
}

fn generate(cat: &Catalog, a: GenerateArgs) -> anyhow::Result<u8> {
    let name = a.profile.display().to_string();
    let text =
        std::fs::read_to_string(&a.profile).with_context(|| format!("cannot read {name}"))?;
    let p = iotrust_assess::profile::parse(
        cat,
        &text,
        iotrust_assess::InputFormat::from_path(&name),
        &name,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let declared = cat
        .fact("comms.mud_url")
        .and_then(|(id, _)| match p.facts.get(id) {
            Some((FactValue::Str(s), _)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        });
    let Some(url) = a.url.or(declared) else {
        bail!("{name}: no MUD URL: give --url https://… or state `mud_url` in the profile's [product] section");
    };
    let doc = iotrust_mud::generate::generate(&iotrust_mud::generate::Declaration {
        url: &url,
        manufacturer: &p.identity.manufacturer,
        model: &p.identity.model,
        name: p.identity.name.as_deref(),
        documentation: p.identity.url.as_deref(),
        communications: &p.communications,
        now: jiff::Timestamp::now(),
    })
    .map_err(|e| anyhow!("{name}: {e}"))?;
    // What is written must pass the checker.
    if let Err(e) = MudFile::parse(doc.as_bytes()) {
        bail!("internal error: the generated file does not pass the check: {e}");
    }
    write_out(&a.output, &doc)?;
    Ok(exit::OK)
}

fn write_out(path: &Path, text: &str) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        crate::output::emit(text)
    } else {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }
}

fn as_of(s: &Option<String>) -> anyhow::Result<i64> {
    match s {
        None => Ok(jiff::Timestamp::now().as_second()),
        Some(d) => {
            let date: jiff::civil::Date = d
                .parse()
                .map_err(|e| anyhow!("--as-of `{d}`: {e} (YYYY-MM-DD)"))?;
            Ok(date
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| anyhow!("--as-of `{d}`: {e}"))?
                .timestamp()
                .as_second())
        }
    }
}

fn check(a: CheckArgs) -> anyhow::Result<u8> {
    let name = a.file.display().to_string();
    let bytes = std::fs::read(&a.file).with_context(|| format!("cannot read {name}"))?;
    let json = match a.format.as_str() {
        "json" => true,
        "text" => false,
        f => bail!("`{f}` is not an output format (text, json)"),
    };
    let (valid, url, diags, pre_rfc) = match MudFile::parse(&bytes) {
        Ok((m, w)) => (true, Some(m.url().to_string()), w, false),
        Err(e) => (false, None, e.diagnostics, e.pre_rfc_draft),
    };
    let sig_path = match (&a.signature, &a.ca) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(_)) => {
            let p = a.file.with_extension("p7s");
            p.exists().then_some(p)
        }
        _ => None,
    };
    let signature = match (&sig_path, &a.ca) {
        (Some(_), None) => bail!("--signature needs --ca PEM (the trust anchor)"),
        (Some(s), Some(ca)) => {
            let sig = std::fs::read(s).with_context(|| format!("cannot read {}", s.display()))?;
            let ca_pem =
                std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            let st = iotrust_mud::signature::verify(&bytes, &sig, &ca_pem, as_of(&a.as_of)?)
                .map_err(|e| anyhow!("{}: {e}", s.display()))?;
            Some(st)
        }
        _ => None,
    };
    let sig_text = |s: &SignatureStatus| -> (&'static str, String) {
        match s {
            SignatureStatus::Valid => ("valid", String::new()),
            SignatureStatus::Expired { detail } => ("expired", format!("valid signature, but the certificate chain is not valid at the date checked: {detail}")),
            SignatureStatus::Bad { detail } => ("bad", format!("bad signature: {detail}")),
            SignatureStatus::Untrusted { detail } => ("untrusted", format!("the signer does not chain to the trust anchor: {detail}")),
        }
    };
    let ok = valid && signature.as_ref().is_none_or(|s| s.ok());
    if json {
        let sig = signature.as_ref().map(|s| {
            let (status, detail) = sig_text(s);
            serde_json::json!({"status": status, "detail": detail})
        });
        let v = serde_json::json!({
            "file": name, "valid": valid, "pre_rfc_draft": pre_rfc, "mud_url": url,
            "diagnostics": diags, "signature": sig, "ok": ok,
        });
        crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
    } else {
        let mut s = String::new();
        for d in &diags {
            s.push_str(&format!("{name}: {d}\n"));
        }
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let warnings = diags.len() - errors;
        if valid {
            s.push_str(&format!(
                "{name}: valid MUD file for {} ({warnings} warnings)\n",
                url.unwrap_or_default()
            ));
        } else if pre_rfc {
            s.push_str(&format!(
                "{name}: not an RFC 8520 MUD file: pre-RFC draft syntax ({errors} errors)\n"
            ));
        } else {
            s.push_str(&format!(
                "{name}: invalid MUD file ({errors} errors, {warnings} warnings)\n"
            ));
        }
        if let Some(st) = &signature {
            let (status, detail) = sig_text(st);
            if detail.is_empty() {
                s.push_str(&format!("{name}: signature {status}\n"));
            } else {
                s.push_str(&format!("{name}: signature {status}: {detail}\n"));
            }
        }
        crate::output::emit(&s)?;
    }
    Ok(if ok { exit::OK } else { exit::GATE })
}

fn load_mud(path: &Path) -> anyhow::Result<MudFile> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    let (m, warnings) = MudFile::parse(&bytes).map_err(|e| {
        let list: Vec<String> = e.errors().map(|d| format!("  {d}")).collect();
        anyhow!("{name}: {e}\n{}", list.join("\n"))
    })?;
    let mut err = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(err, "{name}: {w}");
    }
    Ok(m)
}

fn context(a: &RuleArgs) -> anyhow::Result<Context> {
    let mut ctx = Context {
        local_networks: a.local_networks.clone(),
        my_controller: a.my_controller.clone(),
        ..Default::default()
    };
    if ctx.local_networks.is_empty() {
        for p in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
            "fe80::/10",
        ] {
            ctx.local_networks
                .push(p.parse().map_err(|e| anyhow!("{p}: {e}"))?);
        }
    }
    let mut controllers: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for c in &a.controllers {
        let (uri, addr) = c
            .rsplit_once('=')
            .ok_or_else(|| anyhow!("--controller `{c}`: expected URI=ADDR"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|e| anyhow!("--controller `{c}`: {e}"))?;
        controllers.entry(uri.to_string()).or_default().push(addr);
    }
    ctx.controllers = controllers;
    Ok(ctx)
}

fn compiled(a: &RuleArgs, timeout: u32) -> anyhow::Result<(nft::RuleSet, MudFile, Context)> {
    let m = load_mud(&a.file)?;
    let ctx = context(a)?;
    let sets = nft::name_sets(&m, a.device);
    let (resolved, failed) = enforce::resolve(&sets);
    let mut err = std::io::stderr().lock();
    for f in failed {
        let _ = writeln!(err, "warning: cannot resolve {f}; its set stays empty");
    }
    let rs = nft::compile(
        &m,
        &nft::Options {
            device: a.device,
            timeout,
        },
        &resolved,
        &ctx,
    );
    for n in &rs.notes {
        let _ = writeln!(err, "note: {n}");
    }
    Ok((rs, m, ctx))
}

fn nft_cmd(a: NftArgs) -> anyhow::Result<u8> {
    let (rs, _, _) = compiled(&a.rules, 900)?;
    match &a.output {
        Some(p) => write_out(p, &rs.script)?,
        None => crate::output::emit(&rs.script)?,
    }
    Ok(exit::OK)
}

fn enforce_cmd(a: EnforceArgs) -> anyhow::Result<u8> {
    if a.refresh == 0 {
        bail!("--refresh must be at least 1 second");
    }
    // A resolved address lives three refreshes: a stalled enforcer fails closed.
    let timeout = a.refresh.saturating_mul(3);
    let (rs, _, _) = compiled(&a.rules, timeout)?;
    enforce::nft_load(&rs.script)?;
    eprintln!(
        "loaded table inet {} ({} name sets)",
        rs.table,
        rs.sets.len()
    );
    if a.once {
        return Ok(exit::OK);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(u64::from(a.refresh)));
        let (resolved, failed) = enforce::resolve(&rs.sets);
        for f in failed {
            eprintln!("warning: cannot resolve {f}; its set is emptied");
        }
        let script = nft::refresh_script(&rs, &resolved, timeout);
        if !script.is_empty() {
            enforce::nft_load(&script)?;
        }
    }
}

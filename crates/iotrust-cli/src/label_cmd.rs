//! `iotrust keys ...` and `iotrust label ...`: signed security labels.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Subcommand, ValueEnum};
use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::dsse::{envelope, sign, statement, verify};
use iotrust_label::{Envelope, Key, LabelDocument, LabelInfo, PublicKey, Role};

use crate::exit;
use crate::output::{emit, emit_json, yes_no, Format};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Manufacturer,
    IssuingBody,
    Lab,
    Provider,
}

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Make an Ed25519 key pair: NAME.key.json (secret, mode 0600) and NAME.pub.json.
    New {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        name: String,
        /// Directory to write the two files into.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum LabelCmd {
    /// Assess a profile and issue its label as a signed DSSE envelope.
    Issue {
        profile: PathBuf,
        /// Signing key (NAME.key.json).
        #[arg(long)]
        key: PathBuf,
        /// Registry texts the assessment does not hold (TOML: issuer, lab, default_password,
        /// secure_configuration, update_instructions, advisories, hbom, registry).
        #[arg(long)]
        info: PathBuf,
        #[arg(long = "evidence", value_name = "FILE")]
        evidence: Vec<PathBuf>,
        /// Issue date (default today).
        #[arg(long)]
        date: Option<String>,
        /// Days of validity, cut at the end of support (never beyond it); a product whose
        /// support ended before the issue date gets no label (exit 2).
        #[arg(long, default_value_t = 730)]
        valid_days: i32,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Add a signature (manufacturer, issuing body, lab) to a label.
    Sign {
        label: PathBuf,
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a label's signatures against trusted public keys and its validity date.
    Verify {
        label: PathBuf,
        /// Trusted public key (NAME.pub.json); repeat for several.
        #[arg(long = "trust", required = true)]
        trust: Vec<PathBuf>,
        /// Date to check validity on (default today).
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Render a label as SVG and/or PNG (tier, levels, support end, QR code to its registry page).
    Render {
        label: PathBuf,
        #[arg(long)]
        svg: Option<PathBuf>,
        #[arg(long)]
        png: Option<PathBuf>,
        /// PNG scale (1 = 640 x 400 pixels).
        #[arg(long, default_value_t = 2.0)]
        scale: f32,
    },
    /// Submit a label with the profile it was issued for (and that profile's evidence) to a
    /// registry (`iotrust serve`). The manufacturer's API token comes from `--token-file` or
    /// the IOTRUST_TOKEN environment variable, never from the command line.
    Submit {
        label: PathBuf,
        /// The profile the label was issued for (byte for byte).
        #[arg(long)]
        profile: PathBuf,
        /// Further evidence files (the profile's own `evidence` entries are sent anyway).
        #[arg(long = "evidence", value_name = "FILE")]
        evidence: Vec<PathBuf>,
        /// Registry base URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        registry: String,
        /// File holding the manufacturer's API token.
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Print a label's content (without verifying it).
    Show {
        label: PathBuf,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// A JSON file (a key, a label ...); errors name the file and the line.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}:{}: not a valid {what}: {e}", path.display(), e.line()))
}

/// A `YYYY-MM-DD` argument, or today.
pub(crate) fn date(arg: Option<&str>) -> anyhow::Result<jiff::civil::Date> {
    match arg {
        Some(s) => s
            .parse()
            .map_err(|_| anyhow!("`{s}` is not a valid date (YYYY-MM-DD)")),
        None => Ok(jiff::Zoned::now().date()),
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }
    .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    #[cfg(not(unix))]
    let mut f = std::fs::File::create_new(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

pub fn keys(cmd: KeysCmd) -> anyhow::Result<u8> {
    let KeysCmd::New { role, name, dir } = cmd;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("--name: use letters, digits, `-` and `_`");
    }
    let role = match role {
        RoleArg::Manufacturer => Role::Manufacturer,
        RoleArg::IssuingBody => Role::IssuingBody,
        RoleArg::Lab => Role::Lab,
        RoleArg::Provider => Role::Provider,
    };
    let key = Key::generate(role, &name)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = dir.join(format!("{name}.key.json"));
    let public = dir.join(format!("{name}.pub.json"));
    write_private(&secret, &(serde_json::to_string_pretty(&key)? + "\n"))?;
    std::fs::write(&public, serde_json::to_string_pretty(&key.public)? + "\n")?;
    emit(&format!(
        "key {} ({}): secret {}, public {}\n",
        key.public.keyid,
        role,
        secret.display(),
        public.display()
    ))?;
    Ok(exit::OK)
}

pub fn label(cat: &Catalog, cmd: LabelCmd) -> anyhow::Result<u8> {
    match cmd {
        LabelCmd::Issue {
            profile: ppath,
            key,
            info,
            evidence,
            date: d,
            valid_days,
            output,
        } => {
            let key: Key = read_json(&key, "key file")?;
            let info_text = std::fs::read_to_string(&info)
                .with_context(|| format!("cannot read {}", info.display()))?;
            let info: LabelInfo =
                toml::from_str(&info_text).map_err(|e| anyhow!("{}: {e}", info.display()))?;
            let bytes = std::fs::read(&ppath)
                .with_context(|| format!("cannot read {}", ppath.display()))?;
            let shown = ppath.display().to_string();
            let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{shown}: not UTF-8"))?;
            let prof = profile::parse(cat, text, InputFormat::from_path(&shown), &shown)
                .map_err(|e| anyhow!("{e}"))?;
            let base = ppath.parent().unwrap_or(Path::new("."));
            let ev = crate::assess_cmd::load_evidence(cat, base, &prof, &evidence)
                .map_err(|e| anyhow!("{e}"))?;
            let today = date(d.as_deref())?;
            let a = iotrust_assess::assess(cat, &prof, &ev, today);
            let until = today
                .checked_add(jiff::Span::new().days(valid_days.max(1)))
                .map_err(|e| anyhow!("{e}"))?;
            let doc = LabelDocument::from_assessment(&a, &info, until)
                .map_err(|e| anyhow!("{shown}: no label issued: {e}"))?;
            let name = Path::new(&shown)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(shown.clone());
            let mut env = envelope(&doc, &name, &bytes)?;
            sign(&mut env, &key)?;
            std::fs::write(&output, serde_json::to_string_pretty(&env)? + "\n")
                .with_context(|| format!("cannot write {}", output.display()))?;
            emit(&format!(
                "label {} for {} {}: tier {}, {} level(s), valid until {}, signed by {} ({})\n",
                doc.id,
                doc.product.manufacturer,
                doc.product.model,
                doc.tier.as_deref().unwrap_or("none"),
                doc.levels.len(),
                doc.valid_until,
                key.public.name,
                key.public.keyid
            ))?;
            Ok(exit::OK)
        }
        LabelCmd::Sign { label, key } => {
            let mut env: Envelope = read_json(&label, "label")?;
            let key: Key = read_json(&key, "key file")?;
            sign(&mut env, &key)?;
            std::fs::write(&label, serde_json::to_string_pretty(&env)? + "\n")?;
            emit(&format!(
                "{}: signed by {} ({}); {} signature(s)\n",
                label.display(),
                key.public.name,
                key.public.keyid,
                env.signatures.len()
            ))?;
            Ok(exit::OK)
        }
        LabelCmd::Verify {
            label,
            trust,
            date: d,
            format,
        } => {
            let env: Envelope = read_json(&label, "label")?;
            let keys: Vec<PublicKey> = trust
                .iter()
                .map(|p| read_json(p, "public key"))
                .collect::<anyhow::Result<_>>()?;
            let today = date(d.as_deref())?;
            match verify(&env, &keys, today) {
                Ok(v) => {
                    if format == Format::Json {
                        emit_json(
                            &serde_json::json!({"valid": true, "label": v.document, "signers": v.signers, "untrusted": v.untrusted}),
                        )?;
                    } else {
                        let who: Vec<String> = v
                            .signers
                            .iter()
                            .map(|s| format!("{} ({})", s.name, s.role))
                            .collect();
                        emit(&format!(
                            "{}: valid — {} {}, tier {}, valid until {}; signed by {}{}\n",
                            label.display(),
                            v.document.product.manufacturer,
                            v.document.product.model,
                            v.document.tier.as_deref().unwrap_or("none"),
                            v.document.valid_until,
                            who.join(", "),
                            if v.untrusted.is_empty() {
                                String::new()
                            } else {
                                format!("; untrusted signatures: {}", v.untrusted.join(", "))
                            }
                        ))?;
                    }
                    Ok(exit::OK)
                }
                Err(e) => {
                    if format == Format::Json {
                        emit_json(&serde_json::json!({"valid": false, "reason": e.to_string()}))?;
                    } else {
                        emit(&format!("{}: INVALID — {e}\n", label.display()))?;
                    }
                    Ok(exit::GATE)
                }
            }
        }
        LabelCmd::Render {
            label,
            svg,
            png,
            scale,
        } => {
            let env: Envelope = read_json(&label, "label")?;
            let doc = statement(&env)?.predicate;
            if svg.is_none() && png.is_none() {
                bail!("give --svg FILE and/or --png FILE");
            }
            let text = iotrust_label::render::svg(&doc);
            if let Some(p) = &svg {
                std::fs::write(p, &text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            if let Some(p) = &png {
                let bytes = iotrust_label::render::png(&text, scale.clamp(0.25, 8.0))?;
                std::fs::write(p, bytes)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            Ok(exit::OK)
        }
        LabelCmd::Submit {
            label,
            profile: ppath,
            evidence,
            registry,
            token_file,
        } => submit(
            cat,
            &label,
            &ppath,
            &evidence,
            &registry,
            token_file.as_deref(),
        ),
        LabelCmd::Show { label, format } => {
            let env: Envelope = read_json(&label, "label")?;
            let st = statement(&env)?;
            if format == Format::Json {
                return emit_json(&st.predicate).map(|_| exit::OK);
            }
            emit(&show_text(&st.predicate, env.signatures.len()))?;
            Ok(exit::OK)
        }
    }
}

/// `label show` as text: every field in plain words (yes / no / unknown, dates, names).
pub fn show_text(d: &LabelDocument, signatures: usize) -> String {
    use std::fmt::Write as _;
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let mut o = String::new();
    let name = d
        .product
        .name
        .as_deref()
        .map(|n| format!(" — {n}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "{} {} ({}){name}",
        d.product.manufacturer, d.product.model, d.product.category
    );
    for (what, v) in [
        ("hardware", &d.product.hardware_version),
        ("firmware", &d.product.firmware_version),
    ] {
        if let Some(v) = v {
            let _ = writeln!(o, "  {what} version: {v}");
        }
    }
    let _ = writeln!(
        o,
        "  label {}  issued {}  valid until {}  by {}",
        d.id, d.issued, d.valid_until, d.issuer.name
    );
    if let Some(lab) = &d.lab {
        let _ = writeln!(o, "  lab: {}", lab.name);
    }
    let _ = writeln!(o, "  catalog: {}", d.catalog_version);
    let _ = writeln!(o, "  iotrust tier: {}", d.tier.as_deref().unwrap_or("none"));
    for l in &d.levels {
        let _ = writeln!(o, "  level: {} ({})", l.level, l.route);
    }
    let _ = writeln!(o, "  conforms to: {}", none(&d.conforms_to));
    let markets: Vec<String> = d.markets.iter().map(|(m, v)| format!("{m} {v}")).collect();
    let _ = writeln!(o, "  market access: {}", none(&markets));
    let status = d.support.status.replace('-', " ");
    let _ = match d.support.end_date {
        Some(end) => writeln!(o, "  support: until {end} ({status})"),
        None => writeln!(o, "  support: no end date declared ({status})"),
    };
    let _ = writeln!(o, "  automatic updates: {}", yes_no(d.updates.automatic));
    if let Some(i) = &d.updates.instructions {
        let _ = writeln!(o, "  how to update: {i}");
    }
    let _ = writeln!(o, "  default password: {}", d.default_password);
    let _ = writeln!(o, "  secure configuration: {}", d.secure_configuration);
    let _ = writeln!(
        o,
        "  SBOM: {}  HBOM: {}",
        yes_no(d.boms.sbom),
        yes_no(d.boms.hbom)
    );
    if let Some(a) = &d.advisories {
        let _ = writeln!(o, "  advisories: {a}");
    }
    if let Some(r) = &d.registry_url {
        let _ = writeln!(o, "  registry page: {r}");
    }
    let _ = writeln!(o, "  signatures: {signatures}");
    o
}

fn evidence_file(path: &Path, name: String) -> anyhow::Result<iotrust_registry::EvidenceFile> {
    Ok(iotrust_registry::EvidenceFile {
        name,
        document: read_json(path, "evidence file")?,
    })
}

fn submit(
    cat: &Catalog,
    label: &Path,
    ppath: &Path,
    evidence: &[PathBuf],
    registry: &str,
    token_file: Option<&Path>,
) -> anyhow::Result<u8> {
    let token = match token_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .trim()
            .to_string(),
        None => std::env::var("IOTRUST_TOKEN")
            .map_err(|_| anyhow!("give --token-file FILE or set IOTRUST_TOKEN"))?,
    };
    let env: Envelope = read_json(label, "label")?;
    let text = std::fs::read_to_string(ppath)
        .with_context(|| format!("cannot read {}", ppath.display()))?;
    let shown = ppath.display().to_string();
    let format = InputFormat::from_path(&shown);
    let prof = profile::parse(cat, &text, format, &shown).map_err(|e| anyhow!("{e}"))?;
    let base = ppath.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    for r in &prof.evidence {
        files.push(evidence_file(&base.join(&r.file), r.file.clone())?);
    }
    for e in evidence {
        files.push(evidence_file(e, e.display().to_string())?);
    }
    let body = iotrust_registry::Submission {
        label: env,
        profile: text,
        profile_format: Some(
            match format {
                InputFormat::Json => "json",
                InputFormat::Toml => "toml",
            }
            .into(),
        ),
        evidence: files,
        assessment: None,
    };
    let client = iotrust_registry::client::RegistryClient::new(registry, &token);
    let reply = client.submit_label(&body).map_err(|e| anyhow!("{e}"))?;
    emit(&format!(
        "{} {}: {} (assessed tier {}); page {}{}\n",
        reply.event,
        reply.id,
        if reply.event == iotrust_registry::client::Registration::Registered {
            "new"
        } else {
            "replaced"
        },
        reply.assessed_tier.as_deref().unwrap_or("none"),
        client.base(),
        reply.page
    ))?;
    Ok(exit::OK)
}

//! `iotrust evidence import`: other tools' findings and makers' SBOMs as iotrust evidence. The
//! mapping lives in `iotrust_probe::import`; this only reads, writes and prints.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use iotrust_probe::import::{import, Format};
use iotrust_probe::render::{render, Format as Out};

use crate::exit;

#[derive(Subcommand)]
pub enum EvidenceCmd {
    /// Map another tool's output (nmap XML, ssh-audit JSON, testssl.sh JSON, Nuclei JSON lines)
    /// or an SBOM (CycloneDX JSON, SPDX JSON) onto evidence for `iotrust assess --evidence`.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// Input format: nmap-xml, ssh-audit, testssl, nuclei-jsonl, cyclonedx, spdx.
    #[arg(long, value_name = "FORMAT")]
    pub from: String,
    /// The tool's output file (`-` for stdin).
    pub file: PathBuf,
    /// Write the evidence JSON to this file (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// On stdout when -o is given: table (readable) or json.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// The state the devices were in when the tool ran: factory-default or set-up.
    #[arg(long, value_name = "STATE")]
    pub state: Option<iotrust_probe::evidence::DeviceState>,
}

pub fn run(cmd: EvidenceCmd) -> anyhow::Result<u8> {
    let EvidenceCmd::Import(args) = cmd;
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
    let format = Format::parse(&args.from).ok_or_else(|| {
        anyhow!(
            "`{}` is not an import format ({})",
            args.from,
            names.join(", ")
        )
    })?;
    let (name, text) = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read stdin")?;
        ("-".to_string(), s)
    } else {
        let s = std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        (args.file.display().to_string(), s)
    };
    let mut ev = import(format, &name, &text)?;
    ev.state = args.state;
    let json = render(&ev, Out::Json);
    match &args.output {
        Some(path) => {
            std::fs::write(path, &json)
                .with_context(|| format!("cannot write {}", path.display()))?;
            match args.format.as_str() {
                "json" => crate::output::emit(&json)?,
                "table" => crate::output::emit(&summary(&ev))?,
                f => return Err(anyhow!("`{f}` is not an output format (table, json)")),
            }
        }
        None => crate::output::emit(&json)?,
    }
    Ok(exit::OK)
}

fn summary(ev: &iotrust_probe::Evidence) -> String {
    if let Some(s) = &ev.sbom {
        return format!(
            "{}: {} components ({} with a purl or CPE){}; fact dev.sbom = true (documented)\n",
            s.spec,
            s.components,
            s.identified,
            s.product
                .as_deref()
                .map(|p| format!(" for {p}"))
                .unwrap_or_default()
        );
    }
    render(ev, Out::Table)
}

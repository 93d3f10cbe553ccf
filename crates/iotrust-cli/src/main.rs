//! `iotrust`: consumer-IoT security, measurable and comparable across countries.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod assess_cmd;
mod catalog_cmd;
mod document_cmd;
mod evidence_cmd;
mod label_cmd;
mod mud_cmd;
mod output;
mod probe_cmd;
mod profile_cmd;
mod profile_upgrade;
mod serve_cmd;
mod watch_cmd;

#[derive(Parser)]
#[command(
    name = "iotrust",
    version,
    about = "Consumer-IoT security: catalog of schemes, assessment, probing, monitoring"
)]
struct Cli {
    /// Load the catalog from this directory instead of the embedded one.
    #[arg(long, global = true, value_name = "DIR")]
    catalog: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Browse, compare, validate and export the catalog of schemes.
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCmd),
    /// Assess product profiles: verdicts, market access, labels, tiers, gaps, support period.
    Assess(assess_cmd::AssessArgs),
    /// Product profiles: start one (a commented template of every question, or asked in the
    /// terminal), or upgrade a version 1 file to version 2.
    #[command(subcommand)]
    Profile(profile_cmd::ProfileCmd),
    /// Test devices on a network for what botnets exploit; write evidence for `assess`.
    Probe(probe_cmd::ProbeArgs),
    /// Evidence from other tools and SBOMs: `evidence import --from FORMAT FILE -o FILE`.
    #[command(subcommand)]
    Evidence(evidence_cmd::EvidenceCmd),
    /// The documents a manufacturer must produce, written from the assessment: statements of
    /// compliance, EU declarations, the CRA technical file, user information; `verify` checks a
    /// technical file.
    #[command(subcommand)]
    Document(document_cmd::DocumentCmd),
    /// Signing keys for labels.
    #[command(subcommand)]
    Keys(label_cmd::KeysCmd),
    /// Signed security labels: issue, sign, verify, show.
    #[command(subcommand)]
    Label(label_cmd::LabelCmd),
    /// RFC 8520 MUD files: generate from a profile, check (and verify the signature), compile
    /// to nftables, enforce.
    #[command(subcommand)]
    Mud(mud_cmd::MudCmd),
    /// Run the public label registry (product pages, JSON API) on SQLite.
    Serve(serve_cmd::ServeArgs),
    /// Find infected devices and attacks in captures and flow telemetry; propose filters.
    Watch(Box<watch_cmd::WatchArgs>),
}

/// Exit codes (documented in README.md, "What it does").
pub mod exit {
    /// Success; for `assess`, every gate passed.
    pub const OK: u8 = 0;
    /// A gate failed (`--fail-below`, `--require-market`) or `validate` found errors.
    pub const GATE: u8 = 1;
    /// Bad usage or bad input: unreadable file, invalid profile or catalog.
    pub const INPUT: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result =
        match cli.command {
            Command::Catalog(cmd) => catalog_cmd::run(cli.catalog.as_deref(), cmd),
            Command::Probe(args) => probe_cmd::run(args),
            Command::Evidence(cmd) => evidence_cmd::run(cmd),
            Command::Keys(cmd) => label_cmd::keys(cmd),
            Command::Serve(args) => {
                catalog_cmd::load(cli.catalog.as_deref()).and_then(|cat| serve_cmd::run(cat, args))
            }
            Command::Watch(args) => watch_cmd::run(*args),
            Command::Mud(cmd) => {
                catalog_cmd::load(cli.catalog.as_deref()).and_then(|cat| mud_cmd::run(&cat, cmd))
            }
            Command::Label(cmd) => catalog_cmd::load(cli.catalog.as_deref())
                .and_then(|cat| label_cmd::label(&cat, cmd)),
            Command::Profile(cmd) => catalog_cmd::load(cli.catalog.as_deref())
                .and_then(|cat| profile_cmd::run(&cat, cmd)),
            Command::Document(cmd) => catalog_cmd::load(cli.catalog.as_deref())
                .and_then(|cat| document_cmd::run(&cat, cmd)),
            Command::Assess(args) => catalog_cmd::load(cli.catalog.as_deref())
                .and_then(|cat| assess_cmd::run(&cat, args)),
        };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if output::is_broken_pipe(&e) {
                return ExitCode::from(exit::OK);
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e:#}");
            ExitCode::from(exit::INPUT)
        }
    }
}

//! `iotrust document KIND PROFILE` and `iotrust document verify`: the documents a manufacturer
//! must produce, written from the assessment (`iotrust-document`). This file reads, writes and
//! prints; what goes in a document is in the catalog and the library.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand, ValueEnum};
use iotrust_catalog::model::DocumentKind;
use iotrust_catalog::Catalog;
use iotrust_document::bundle;
use iotrust_document::info::Info;
use iotrust_document::{build, pdf, render, DocumentError};
use iotrust_label::{Key, PublicKey};

use crate::exit;
use crate::output::emit;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DocFormat {
    #[default]
    Markdown,
    Html,
    Pdf,
    /// The document's items as JSON (`iotrust-document/1`).
    Json,
}

/// What every kind is written from: the profile, its evidence, the info file and the date.
#[derive(Args)]
pub struct Subject {
    profile: PathBuf,
    /// Evidence files (besides those the profile names).
    #[arg(long = "evidence", value_name = "FILE")]
    evidence: Vec<PathBuf>,
    /// Info file (the label's, with a `[document]` table: signatory, addresses, batch, place).
    #[arg(long)]
    info: Option<PathBuf>,
    /// Evaluation date and date of the document (default today); it also chooses the form
    /// (the EU declaration follows the CRA from 2027-12-11).
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
}

#[derive(Args)]
pub struct DocArgs {
    #[command(flatten)]
    subject: Subject,
    /// Output file (default stdout; required for PDF).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: DocFormat,
}

#[derive(Args)]
pub struct DeclarationArgs {
    #[command(flatten)]
    doc: DocArgs,
    /// The CRA's simplified declaration (Annex VI: the manufacturer, the type and the address
    /// of the full declaration, `declaration_url` in the info file); from 2027-12-11 only.
    #[arg(long)]
    simplified: bool,
}

#[derive(Args)]
pub struct FileArgs {
    #[command(flatten)]
    subject: Subject,
    /// The technical file: a folder, or an archive when the name ends in `.tar` or `.zip`.
    #[arg(short, long)]
    output: PathBuf,
    /// Key that signs the manifest (NAME.key.json, as for labels).
    #[arg(long)]
    key: PathBuf,
    /// A signed label to carry in the file.
    #[arg(long)]
    label: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum DocumentCmd {
    /// UK PSTI statement of compliance (Schedule 4); exit 1 when the product does not meet PSTI.
    PstiStatement(DocArgs),
    /// Australian statement of compliance (Smart Devices Rules 2025); exit 1 when not met.
    AuStatement(DocArgs),
    /// EU declaration of conformity: RED Annex VI, or CRA Annex V from 2027-12-11; exit 1 when
    /// the assessment does not find the law met; `--simplified` for the CRA's Annex VI form.
    EuDeclaration(DeclarationArgs),
    /// EU CRA information and instructions to the user (Annex II), gaps named.
    UserInformation(DocArgs),
    /// EU CRA technical file (Annex VII): documents, assessment, evidence, label and a signed
    /// manifest, as a folder, `.tar` or `.zip`.
    CraTechnicalFile(FileArgs),
    /// Check a technical file: the manifest's signature and every file's SHA-256.
    Verify {
        /// The technical file folder, or its `.tar` or `.zip` archive.
        path: PathBuf,
        /// Trusted public key (NAME.pub.json); repeat for several.
        #[arg(long = "trust", required = true)]
        trust: Vec<PathBuf>,
    },
}

fn date(arg: Option<&str>) -> anyhow::Result<jiff::civil::Date> {
    crate::label_cmd::date(arg).map_err(|e| anyhow!("--as-of: {e}"))
}

/// The assessment and the profile's inline lab and test reports.
/// What a document is written from: the assessment of the subject's profile and evidence, the
/// reports the profile names, and the info file.
fn read_subject(
    cat: &Catalog,
    s: &Subject,
) -> anyhow::Result<(iotrust_assess::Assessment, Vec<String>, Info)> {
    let subject =
        iotrust_assess::input::load(cat, &s.profile, &s.evidence).map_err(|e| anyhow!("{e}"))?;
    let a = iotrust_assess::assess(
        cat,
        &subject.profile,
        &subject.evidence,
        date(s.as_of.as_deref())?,
    );
    let info = match s.info.as_deref() {
        Some(p) => Info::read(p).map_err(|e| anyhow!("{e}"))?,
        None => Info::default(),
    };
    Ok((a, build::reports_of(&subject.profile), info))
}

fn tool() -> String {
    format!("iotrust {}", env!("CARGO_PKG_VERSION"))
}

fn say(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

pub fn run(cat: &Catalog, cmd: DocumentCmd) -> anyhow::Result<u8> {
    let (kind, args) = match cmd {
        DocumentCmd::PstiStatement(a) => (DocumentKind::PstiStatement, a),
        DocumentCmd::AuStatement(a) => (DocumentKind::AuStatement, a),
        DocumentCmd::EuDeclaration(a) if a.simplified => {
            (DocumentKind::EuDeclarationSimplified, a.doc)
        }
        DocumentCmd::EuDeclaration(a) => (DocumentKind::EuDeclaration, a.doc),
        DocumentCmd::UserInformation(a) => (DocumentKind::UserInformation, a),
        DocumentCmd::CraTechnicalFile(a) => return technical_file(cat, a),
        DocumentCmd::Verify { path, trust } => return verify(&path, &trust),
    };
    let (a, reports, info) = read_subject(cat, &args.subject)?;
    let inputs = build::Inputs {
        catalog: cat,
        assessment: &a,
        info: &info,
        related: build::Related {
            reports,
            ..Default::default()
        },
        tool: tool(),
    };
    let doc = match build::write(kind, &inputs) {
        Ok(d) => d,
        Err(DocumentError::Refused(r)) => {
            say(&format!("{}: {r}", args.subject.profile.display()));
            return Ok(exit::GATE);
        }
        Err(e @ DocumentError::NoForm { .. }) if kind == DocumentKind::EuDeclarationSimplified => {
            return Err(anyhow!(
                "{e}: the simplified EU declaration of conformity is the CRA's (Annex VI), used from the day its obligations apply; before it, write the full declaration (`iotrust document eu-declaration` without --simplified)"
            ));
        }
        Err(e) => return Err(anyhow!("{e}")),
    };
    let bytes = match args.format {
        DocFormat::Markdown => render::markdown(&doc).into_bytes(),
        DocFormat::Html => render::html(&doc).into_bytes(),
        DocFormat::Json => (serde_json::to_string_pretty(&doc)? + "\n").into_bytes(),
        DocFormat::Pdf => pdf::pdf(&doc),
    };
    match &args.output {
        Some(o) => {
            std::fs::write(o, &bytes).with_context(|| format!("cannot write {}", o.display()))?
        }
        None if args.format == DocFormat::Pdf => {
            return Err(anyhow!("--format pdf needs -o FILE"));
        }
        None => emit(&String::from_utf8_lossy(&bytes))?,
    }
    let gaps = doc.gaps();
    if gaps.is_empty() {
        say(&format!(
            "{}: {} written, complete",
            args.subject.profile.display(),
            doc.title
        ));
        return Ok(exit::OK);
    }
    say(&format!(
        "{}: {} written with {} gap(s):",
        args.subject.profile.display(),
        doc.title,
        gaps.len()
    ));
    for g in gaps {
        say(&format!("  {} ({}): {}", g.item, g.provision, g.what));
    }
    Ok(exit::GATE)
}

fn technical_file(cat: &Catalog, args: FileArgs) -> anyhow::Result<u8> {
    let (a, reports, info) = read_subject(cat, &args.subject)?;
    let key: Key = crate::label_cmd::read_json(&args.key, "key file")?;
    let tf = bundle::assemble(
        cat,
        &a,
        &info,
        reports,
        args.label.as_deref(),
        &key,
        &tool(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    tf.write_to(&args.output).map_err(|e| anyhow!("{e}"))?;
    say(&format!(
        "{}: technical file {} ({} files, manifest signed by {} ({}))",
        args.subject.profile.display(),
        args.output.display(),
        tf.parts.len(),
        key.public.name,
        key.public.keyid
    ));
    if let Some(why) = &tf.no_declaration {
        say(&format!(
            "  no EU declaration of conformity in the file: {why}"
        ));
    }
    let mut open = 0;
    for d in &tf.documents {
        for g in d.gaps() {
            open += 1;
            say(&format!(
                "  {}: {} ({}): {}",
                d.stem(),
                g.item,
                g.provision,
                g.what
            ));
        }
    }
    Ok(if open == 0 && tf.no_declaration.is_none() {
        exit::OK
    } else {
        exit::GATE
    })
}

fn verify(path: &Path, trust: &[PathBuf]) -> anyhow::Result<u8> {
    let keys: Vec<PublicKey> = trust
        .iter()
        .map(|p| crate::label_cmd::read_json(p, "public key"))
        .collect::<anyhow::Result<_>>()?;
    match bundle::verify(path, &keys) {
        Ok(v) => {
            let who: Vec<String> = v
                .signers
                .iter()
                .map(|s| format!("{} ({}, {})", s.name, s.role, s.keyid))
                .collect();
            emit(&format!(
                "{}: verified — {} files of {} (catalog {}, made {}), signed by {}\n",
                path.display(),
                v.manifest.files.len(),
                v.manifest.product,
                v.manifest.catalog_version,
                v.manifest.made_on,
                who.join(", ")
            ))?;
            Ok(exit::OK)
        }
        Err(DocumentError::Verify(m)) => {
            say(&format!("{}: {m}", path.display()));
            Ok(exit::GATE)
        }
        Err(e) => Err(anyhow!("{e}")),
    }
}

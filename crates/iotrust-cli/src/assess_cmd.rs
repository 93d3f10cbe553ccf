//! `iotrust assess`: one profile, a directory of profiles, or an NDJSON stream on stdin.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use iotrust_assess::eval::{evaluate, Evaluation};
use iotrust_assess::evidence::Evidence;
use iotrust_assess::explain::detail;
use iotrust_assess::profile::{self, InputError, InputFormat, Profile};
use iotrust_assess::report::{self, Style};
use iotrust_assess::result::Access;
use iotrust_assess::Assessment;
use iotrust_catalog::Catalog;
use jiff::civil::Date;
use rayon::prelude::*;
use serde_json::json;

use crate::exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Args)]
pub struct AssessArgs {
    /// A profile (.toml or .json), a directory of profiles (bulk), or `-` for NDJSON on stdin (bulk).
    pub input: Option<PathBuf>,
    /// Evidence files (iotrust-evidence/1) to add to the profile's own references.
    #[arg(long = "evidence", value_name = "FILE")]
    pub evidence: Vec<PathBuf>,
    /// Output format (bulk mode always writes JSON lines).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Evaluation date (YYYY-MM-DD); default: today.
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Exit 1 unless the product reaches this iotrust tier (baseline, essential, assured, advanced).
    #[arg(long, value_name = "TIER")]
    pub fail_below: Option<String>,
    /// Exit 1 unless the product may be placed on these markets (comma-separated: uk,eu,au ...).
    #[arg(long, value_name = "MARKETS", value_delimiter = ',')]
    pub require_market: Vec<String>,
    /// Colour in the text report.
    #[arg(long, value_enum, default_value_t)]
    pub color: Color,
    /// Bulk mode: write the whole assessment per line instead of a summary.
    #[arg(long)]
    pub full: bool,
    /// Only read and check the profiles and their evidence (no evaluation): one line per
    /// profile, `{"source", "ok"}` or the error.
    #[arg(long)]
    pub check_only: bool,
    /// Bulk mode: worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

fn today(arg: Option<&str>) -> anyhow::Result<Date> {
    match arg {
        Some(s) => s
            .parse::<Date>()
            .map_err(|_| anyhow!("--date `{s}` is not a valid date (YYYY-MM-DD)")),
        None => Ok(jiff::Zoned::now().date()),
    }
}

struct Gates {
    tier: Option<String>,
    markets: Vec<String>,
}

impl Gates {
    fn new(cat: &Catalog, args: &AssessArgs) -> anyhow::Result<Gates> {
        if let Some(t) = &args.fail_below {
            if !cat.tiers.iter().any(|x| *x.def.id == **t) {
                let ids: Vec<&str> = cat.tiers.iter().map(|x| x.def.id.as_str()).collect();
                bail!(
                    "--fail-below: unknown tier `{t}` (tiers: {})",
                    ids.join(", ")
                );
            }
        }
        let mut markets = Vec::new();
        for m in &args.require_market {
            let up = m.trim().to_uppercase();
            if !cat.meta.jurisdictions.iter().any(|j| *j.id == up) {
                let ids: Vec<&str> = cat
                    .meta
                    .jurisdictions
                    .iter()
                    .map(|j| j.id.as_str())
                    .collect();
                bail!(
                    "--require-market: unknown market `{m}` (markets: {})",
                    ids.join(", ")
                );
            }
            markets.push(up);
        }
        Ok(Gates {
            tier: args.fail_below.clone(),
            markets,
        })
    }

    /// Reasons the gates fail (empty: pass), decided on the evaluation; with the detailed
    /// assessment at hand, a blocked market is explained by its statement.
    fn check(&self, e: &Evaluation<'_>, detail: Option<&Assessment>) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.tier {
            if e.reaches(t) != Some(true) {
                out.push(format!(
                    "tier `{t}` not reached (reached: {})",
                    e.tier().unwrap_or("none")
                ));
            }
        }
        for m in &self.markets {
            if !e.markets.contains(m) {
                out.push(format!(
                    "market {m} is not among the product's markets (product.markets)"
                ));
            } else if e.market_access(m) != Access::Yes {
                match detail.and_then(|a| a.market(m)) {
                    Some(r) => out.push(r.statement.clone()),
                    None => {
                        let access = e.market_access(m).label();
                        out.push(format!("market {m}: access {access}"))
                    }
                }
            }
        }
        out
    }
}

/// The evidence of a parsed profile (kept for `label issue`; see iotrust_assess::input).
pub(crate) fn load_evidence(
    cat: &Catalog,
    base: &Path,
    p: &Profile,
    extra: &[PathBuf],
) -> Result<Vec<Evidence>, InputError> {
    iotrust_assess::input::evidence_of(cat, base, p, extra)
}

pub fn run(cat: &Catalog, args: AssessArgs) -> anyhow::Result<u8> {
    let date = today(args.date.as_deref())?;
    let gates = Gates::new(cat, &args)?;
    let input = match &args.input {
        Some(p) => p.clone(),
        None if !std::io::stdin().is_terminal() => PathBuf::from("-"),
        None => bail!("give a profile, a directory of profiles, or `-` for NDJSON profiles on stdin (try examples/profiles/ip-camera.toml)"),
    };
    if input.as_os_str() == "-" {
        return bulk_stdin(cat, &args, &gates, date);
    }
    if input.is_dir() {
        return bulk_dir(cat, &args, &gates, date, &input);
    }
    let shown = input.display().to_string();
    let iotrust_assess::input::Subject {
        profile: prof,
        evidence: ev,
    } = iotrust_assess::input::load(cat, &input, &args.evidence).map_err(|e| anyhow!("{e}"))?;
    if args.check_only {
        crate::output::emit(&format!(
            "{shown}: valid profile ({} evidence file(s))\n",
            ev.len()
        ))?;
        return Ok(exit::OK);
    }
    let e = evaluate(cat, &prof, &ev, date);
    let a = detail(&e, &prof, &ev);
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let body = match args.format {
        ReportFormat::Text => report::text(&a, Style { color }),
        ReportFormat::Json => serde_json::to_string_pretty(&a)? + "\n",
        ReportFormat::Markdown => report::markdown(&a),
        ReportFormat::Html => report::html(&a),
        ReportFormat::Sarif => serde_json::to_string_pretty(&report::sarif(&a))? + "\n",
        ReportFormat::Junit => report::junit(&a),
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, body).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => crate::output::emit(&body)?,
    }
    let failed = gates.check(&e, Some(&a));
    for f in &failed {
        eprintln!("gate failed: {f}");
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::GATE
    })
}

/// One bulk item: a profile's text and where it came from.
struct Item {
    source: String,
    /// The profile text, or why it could not be read.
    text: Result<String, String>,
    format: InputFormat,
    line_offset: usize,
    base: PathBuf,
}

/// What one bulk item produced: a JSON line, and whether it was broken or failed a gate.
struct Done {
    line: String,
    broken: bool,
    gate_failed: bool,
}

fn process(cat: &Catalog, args: &AssessArgs, gates: &Gates, date: Date, it: &Item) -> Done {
    let text = it.text.as_deref().map_err(|e| InputError {
        file: it.source.clone(),
        line: 0,
        field: None,
        message: e.to_string(),
    });
    let res = text
        .and_then(|t| profile::parse_at(cat, t, it.format, &it.source, it.line_offset))
        .and_then(|p| load_evidence(cat, &it.base, &p, &args.evidence).map(|e| (p, e)));
    match res {
        Ok((p, _)) if args.check_only => {
            let line = serde_json::to_string(
                &json!({"source": p.source, "model": p.identity.model, "ok": true}),
            );
            Done {
                line: line.unwrap_or_default(),
                broken: false,
                gate_failed: false,
            }
        }
        Ok((p, ev)) if args.full => {
            let e = evaluate(cat, &p, &ev, date);
            let a = detail(&e, &p, &ev);
            let failed = gates.check(&e, Some(&a));
            Done {
                line: serde_json::to_string(&a).unwrap_or_default(),
                broken: false,
                gate_failed: !failed.is_empty(),
            }
        }
        Ok((p, ev)) => {
            let e = evaluate(cat, &p, &ev, date);
            let failed = gates.check(&e, None);
            let gate_failed = !failed.is_empty();
            Done {
                line: serde_json::to_string(&e.summary(&p, failed)).unwrap_or_default(),
                broken: false,
                gate_failed,
            }
        }
        Err(e) => {
            let line = serde_json::to_string(&json!({"source": it.source, "error": e}))
                .unwrap_or_default();
            Done {
                line,
                broken: true,
                gate_failed: false,
            }
        }
    }
}

fn progress(total: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {pos}/{len} profiles {per_sec} {wide_bar} {eta}",
    ) {
        pb.set_style(style);
    }
    pb
}

/// Run items in parallel in chunks, writing results in input order; memory stays bounded by
/// the chunk size.
fn run_chunks(
    cat: &Catalog,
    args: &AssessArgs,
    gates: &Gates,
    date: Date,
    mut next_chunk: impl FnMut() -> anyhow::Result<Vec<Item>>,
    pb: &indicatif::ProgressBar,
) -> anyhow::Result<u8> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let mut sink: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let (mut broken, mut gate_failed, mut total) = (0usize, 0usize, 0usize);
    loop {
        let chunk = next_chunk()?;
        if chunk.is_empty() {
            break;
        }
        let done: Vec<Done> = pool.install(|| {
            chunk
                .par_iter()
                .map(|it| process(cat, args, gates, date, it))
                .collect()
        });
        for (d, it) in done.iter().zip(&chunk) {
            if d.broken {
                broken += 1;
                eprintln!("skipped {}: broken profile (see its error line)", it.source);
            }
            gate_failed += usize::from(d.gate_failed);
            sink.write_all(d.line.as_bytes())?;
            sink.write_all(b"\n")?;
        }
        total += chunk.len();
        pb.inc(chunk.len() as u64);
    }
    sink.flush()?;
    pb.finish_and_clear();
    eprintln!(
        "{total} profile(s): {} assessed, {broken} broken, {gate_failed} failed a gate",
        total - broken
    );
    Ok(if broken > 0 {
        exit::INPUT
    } else if gate_failed > 0 {
        exit::GATE
    } else {
        exit::OK
    })
}

const CHUNK: usize = 2048;

fn bulk_stdin(cat: &Catalog, args: &AssessArgs, gates: &Gates, date: Date) -> anyhow::Result<u8> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let mut lineno = 0usize;
    let pb = progress(None);
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    run_chunks(
        cat,
        args,
        gates,
        date,
        || {
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut buf = String::new();
            while chunk.len() < CHUNK {
                buf.clear();
                if lines.read_line(&mut buf)? == 0 {
                    break;
                }
                lineno += 1;
                if buf.trim().is_empty() {
                    continue;
                }
                chunk.push(Item {
                    source: "stdin".into(),
                    text: Ok(std::mem::take(&mut buf)),
                    format: InputFormat::Json,
                    line_offset: lineno - 1,
                    base: base.clone(),
                });
            }
            Ok(chunk)
        },
        &pb,
    )
}

fn bulk_dir(
    cat: &Catalog,
    args: &AssessArgs,
    gates: &Gates,
    date: Date,
    dir: &Path,
) -> anyhow::Result<u8> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("toml" | "json")
                )
        })
        .collect();
    files.sort();
    let pb = progress(Some(files.len() as u64));
    let mut it = files.into_iter();
    run_chunks(
        cat,
        args,
        gates,
        date,
        || {
            let mut chunk = Vec::new();
            for p in it.by_ref().take(CHUNK) {
                let shown = p.display().to_string();
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("cannot read the file: {e}"));
                chunk.push(Item {
                    format: InputFormat::from_path(&shown),
                    source: shown,
                    text,
                    line_offset: 0,
                    base: p.parent().map(Path::to_path_buf).unwrap_or_default(),
                });
            }
            Ok(chunk)
        },
        &pb,
    )
}

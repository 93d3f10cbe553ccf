//! `iotrust profile upgrade FILE`: rewrite an `iotrust-profile/1` file as version 2
//! (`iotrust_assess::migrate::upgrade` does the work; this maps flags and files).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use iotrust_catalog::Catalog;

#[derive(Args)]
pub struct UpgradeArgs {
    /// The version 1 profile (TOML).
    pub file: PathBuf,
    /// Write here instead of stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Replace FILE itself.
    #[arg(long)]
    pub in_place: bool,
}

pub fn run(cat: &Catalog, args: UpgradeArgs) -> anyhow::Result<u8> {
    let name = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {name}"))?;
    let up = iotrust_assess::migrate::upgrade(cat, &name, &text)?;
    let target = if args.in_place {
        Some(args.file.clone())
    } else {
        args.output.clone()
    };
    match target {
        Some(p) => {
            std::fs::write(&p, &up.text).with_context(|| format!("writing {}", p.display()))?
        }
        None => print!("{}", up.text),
    }
    for t in &up.to_state {
        eprintln!("{name}: now unknown, state it: {t}");
    }
    Ok(crate::exit::OK)
}

//! `watch-corpus OUTDIR [--seed N]`: writes the labelled evaluation corpus.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => {
                    eprintln!("watch-corpus: --seed needs a number");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: watch-corpus OUTDIR [--seed N]");
                return ExitCode::SUCCESS;
            }
            _ if out.is_none() && !a.starts_with('-') => out = Some(PathBuf::from(a)),
            _ => {
                eprintln!("watch-corpus: unexpected argument `{a}`\nusage: watch-corpus OUTDIR [--seed N]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(out) = out else {
        eprintln!("usage: watch-corpus OUTDIR [--seed N]");
        return ExitCode::from(2);
    };
    match iotrust_corpus::generate(&out, seed) {
        Ok(all) => {
            for (dir, l) in &all {
                println!("{}\t{}\t{}", l.class, l.scenario, dir.display());
            }
            eprintln!(
                "watch-corpus: {} scenarios in {} (seed {seed})",
                all.len(),
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("watch-corpus: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

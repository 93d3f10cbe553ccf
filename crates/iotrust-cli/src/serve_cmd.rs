//! `iotrust serve`: the label registry.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use iotrust_label::PublicKey;

use crate::exit;

#[derive(Args)]
pub struct ServeArgs {
    /// SQLite database file (created if missing).
    #[arg(long, default_value = "iotrust-registry.sqlite")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Public keys whose signatures the registry accepts (NAME.pub.json); repeat for several.
    #[arg(long = "trust", required = true)]
    pub trust: Vec<PathBuf>,
    /// Manufacturer API tokens: a file of `manufacturer,token` lines (stored only as hashes).
    #[arg(long)]
    pub tokens: PathBuf,
}

pub fn run(cat: &iotrust_catalog::Catalog, args: ServeArgs) -> anyhow::Result<u8> {
    let mut keys: Vec<PublicKey> = Vec::new();
    for p in &args.trust {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        keys.push(
            serde_json::from_str(&text)
                .map_err(|e| anyhow!("{}: not a public key: {e}", p.display()))?,
        );
    }
    let text = std::fs::read_to_string(&args.tokens)
        .with_context(|| format!("cannot read {}", args.tokens.display()))?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((m, t)) = line.rsplit_once(',') else {
            bail!(
                "{}:{}: expected `manufacturer,token`",
                args.tokens.display(),
                i + 1
            );
        };
        if t.trim().len() < 16 {
            bail!(
                "{}:{}: a token needs at least 16 characters",
                args.tokens.display(),
                i + 1
            );
        }
        tokens.push((m.trim().to_string(), t.trim().to_string()));
    }
    let reg = iotrust_registry::Registry::open(
        Some(&args.db),
        keys,
        &tokens,
        cat.tiers.iter().map(|t| t.def.id.to_string()).collect(),
    )
    .with_context(|| format!("cannot open the database {}", args.db.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = iotrust_registry::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        eprintln!(
            "iotrust registry on http://{} (database {})",
            args.addr,
            args.db.display()
        );
        iotrust_registry::serve(Arc::new(reg), listener)
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(exit::OK)
}

//! `iotrust serve`: the label registry.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use iotrust_label::PublicKey;
use iotrust_registry::registry::{FieldConfig, Webhook};
use iotrust_registry::{Access, RateLimit, Registry};

use crate::exit;

#[derive(Args)]
pub struct ServeArgs {
    /// SQLite database file (created if missing), or a PostgreSQL URL (`postgres://user@host/db`).
    #[arg(long, default_value = "iotrust-registry.sqlite")]
    pub db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Public keys whose signatures the registry accepts (NAME.pub.json); repeat for several.
    #[arg(long = "trust", required = true)]
    pub trust: Vec<PathBuf>,
    /// Manufacturer API tokens: a file of `manufacturer,token` lines (kept only as hashes).
    #[arg(long)]
    pub tokens: PathBuf,
    /// Issuing-body / market-authority tokens (`name,token` lines): may suspend, reinstate and
    /// revoke any label and trigger re-assessment.
    #[arg(long = "authority-tokens")]
    pub authority_tokens: Option<PathBuf>,
    /// Network-provider tokens (`provider,token` lines): may send signed field reports
    /// (`POST /api/v1/field-reports`). The provider's name is the name on its key.
    #[arg(long = "provider-tokens")]
    pub provider_tokens: Option<PathBuf>,
    /// A provider's public key (NAME.pub.json, role `provider`, from `iotrust keys new --role
    /// provider`); its field reports must be signed by it. Repeat for several.
    #[arg(long = "provider-key")]
    pub provider_keys: Vec<PathBuf>,
    /// Lab tokens (`lab,token` lines): may attach evidence to registered products
    /// (`POST /api/v1/products/{id}/evidence`), which re-assesses them.
    #[arg(long = "lab-tokens")]
    pub lab_tokens: Option<PathBuf>,
    /// Manufacturer webhooks (`manufacturer,url` lines): the registry posts a field notice
    /// there when a product of theirs is first reported compromised (retried with backoff).
    #[arg(long = "manufacturer-webhooks")]
    pub manufacturer_webhooks: Option<PathBuf>,
    /// Devices reported (each provider's latest report, summed) that put a product under
    /// review for its issuing authority…
    #[arg(long, default_value_t = iotrust_registry::registry::DEFAULT_REVIEW_DEVICES)]
    pub review_threshold_devices: u64,
    /// …when reported by at least this many distinct providers.
    #[arg(long, default_value_t = iotrust_registry::registry::DEFAULT_REVIEW_PROVIDERS)]
    pub review_threshold_providers: u64,
    /// API requests per second allowed to one client address (0: no limit).
    #[arg(long, default_value_t = 50.0)]
    pub rate_limit: f64,
    /// Burst of API requests one client address may make at once (default: twice the rate).
    #[arg(long)]
    pub burst: Option<f64>,
}

/// Read a `name,token` file (blank lines and `#` comments skipped).
fn token_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut tokens = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((m, t)) = line.rsplit_once(',') else {
            bail!("{}:{}: expected `name,token`", path.display(), i + 1);
        };
        if t.trim().len() < 16 {
            bail!(
                "{}:{}: a token needs at least 16 characters",
                path.display(),
                i + 1
            );
        }
        tokens.push((m.trim().to_string(), t.trim().to_string()));
    }
    Ok(tokens)
}

/// Read a `manufacturer,url` file (blank lines and `#` comments skipped).
fn webhook_file(path: &Path) -> anyhow::Result<Vec<Webhook>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hooks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((m, url)) = line.rsplit_once(',') else {
            bail!("{}:{}: expected `manufacturer,url`", path.display(), i + 1);
        };
        let url = url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!(
                "{}:{}: `{url}` is not an http(s) URL",
                path.display(),
                i + 1
            );
        }
        hooks.push(Webhook {
            manufacturer: m.trim().to_string(),
            url: url.to_string(),
        });
    }
    Ok(hooks)
}

fn public_key(p: &Path) -> anyhow::Result<PublicKey> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a public key: {e}", p.display()))
}

pub fn run(cat: iotrust_catalog::Catalog, args: ServeArgs) -> anyhow::Result<u8> {
    let mut keys: Vec<PublicKey> = Vec::new();
    for p in &args.trust {
        keys.push(public_key(p)?);
    }
    let mut provider_keys = Vec::new();
    for p in &args.provider_keys {
        let k = public_key(p)?;
        if k.role != iotrust_label::Role::Provider {
            bail!(
                "{}: key `{}` has role {}, not provider (make one with `iotrust keys new --role provider`)",
                p.display(),
                k.name,
                k.role
            );
        }
        provider_keys.push(k);
    }
    let optional = |p: &Option<PathBuf>| -> anyhow::Result<Vec<(String, String)>> {
        match p {
            Some(p) => token_file(p),
            None => Ok(Vec::new()),
        }
    };
    let access = Access {
        trusted: keys,
        manufacturers: token_file(&args.tokens)?,
        authorities: match &args.authority_tokens {
            Some(p) => token_file(p)?,
            None => Vec::new(),
        },
        providers: optional(&args.provider_tokens)?,
        provider_keys,
        labs: optional(&args.lab_tokens)?,
    };
    let field = FieldConfig {
        review_devices: args.review_threshold_devices.max(1),
        review_providers: args.review_threshold_providers.max(1),
        webhooks: match &args.manufacturer_webhooks {
            Some(p) => webhook_file(p)?,
            None => Vec::new(),
        },
        ..FieldConfig::default()
    };
    if !(args.rate_limit >= 0.0 && args.rate_limit.is_finite()) {
        bail!("--rate-limit must be a number of requests per second (0: no limit)");
    }
    let rate = (args.rate_limit > 0.0).then(|| RateLimit {
        per_second: args.rate_limit,
        burst: args.burst.unwrap_or(args.rate_limit * 2.0).max(1.0),
    });
    let shown = if args.db.contains("://") {
        // never print a password from the URL
        match args.db.split_once('@') {
            Some((_, host)) => format!("postgres://…@{host}"),
            None => args.db.clone(),
        }
    } else {
        args.db.clone()
    };
    let reg = Registry::open(&args.db, Arc::new(cat), access)
        .with_context(|| format!("cannot open the database {shown}"))?
        .with_field(field)
        .context("cannot start the webhook sender")?;
    let today = jiff::Zoned::now().date();
    let re = reg
        .reassess(today)
        .map_err(|e| anyhow!("re-assessment failed: {e}"))?;
    if re.checked > 0 {
        eprintln!(
            "re-assessed {} product(s) under catalog {}: {} changed, {} failed",
            re.checked,
            re.catalog_version,
            re.changed,
            re.failed.len()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = iotrust_registry::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        eprintln!(
            "iotrust registry on http://{} ({} database {shown}, catalog {})",
            args.addr,
            reg.backend(),
            reg.catalog().version()
        );
        iotrust_registry::serve(Arc::new(reg), rate, listener)
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(exit::OK)
}

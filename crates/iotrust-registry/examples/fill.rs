//! Fill registries with many labelled products for load benchmarks (scripts/bench-registry.sh).
//!
//! ```text
//! cargo run --release -p iotrust-registry --example fill -- OUT_DIR COUNT DB [DB ...]
//! ```
//!
//! Products are variations of the example profiles without evidence files (seven categories,
//! 140 manufacturers, support ends spread from about three years ago to seven years ahead),
//! each assessed, labelled and signed as `iotrust label issue` does, then submitted through
//! `Registry::submit_many` — the registry verifies and re-assesses every one — to each DB
//! (a SQLite path or a PostgreSQL URL). OUT_DIR receives what the load tests need:
//! `issuer.pub.json`, `tokens.txt`, `ids.txt` (one product id per line), `label.json` (one
//! signed label), `check-10k.json` (a bulk check of 10,000 models, 9,000 registered, against the UK baseline).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use iotrust_assess::profile::{self, InputFormat};
use iotrust_catalog::Catalog;
use iotrust_label::document::{LabelInfo, Party};
use iotrust_label::dsse::{envelope, sign};
use iotrust_label::{Key, LabelDocument, Role};
use iotrust_registry::{Access, Registry, Submission};

const BASES: [&str; 7] = [
    "smart-lock",
    "ip-camera",
    "baby-monitor",
    "childrens-toy",
    "smart-plug",
    "laptop",
    "legacy-camera",
];
const GROUPS: usize = 20;

fn rewrite(text: &str, manufacturer: &str, model: &str, end: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let (mut m, mut mo, mut e) = (false, false, false);
    for line in text.lines() {
        if !m && line.starts_with("manufacturer = ") {
            out.push_str(&format!("manufacturer = \"{manufacturer}\""));
            m = true;
        } else if !mo && line.starts_with("model = ") {
            out.push_str(&format!("model = \"{model}\""));
            mo = true;
        } else if !e && line.starts_with("end_date = ") {
            out.push_str(&format!("end_date = {end}"));
            e = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err("usage: fill OUT_DIR COUNT DB [DB ...]".into());
    }
    let out = PathBuf::from(&args[0]);
    let count: usize = args[1].parse()?;
    let dbs = &args[2..];
    std::fs::create_dir_all(&out)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cat = Arc::new(Catalog::embedded()?);
    let key = Key::from_seed(Role::IssuingBody, "bench-issuer", [42; 32]);
    std::fs::write(
        out.join("issuer.pub.json"),
        serde_json::to_string(&key.public)?,
    )?;
    let bases: Vec<(String, String)> = BASES
        .iter()
        .map(|b| {
            let text = std::fs::read_to_string(root.join(format!("examples/profiles/{b}.toml")))?;
            let m = text
                .lines()
                .find_map(|l| l.strip_prefix("manufacturer = "))
                .map(|s| s.trim_matches('"').to_string())
                .unwrap_or_default();
            Ok((text, m))
        })
        .collect::<Result<_, std::io::Error>>()?;
    // manufacturers and their tokens
    let makers: Vec<(String, String)> = (0..BASES.len() * GROUPS)
        .map(|k| {
            let (_, m) = &bases[k % BASES.len()];
            (
                format!("{m} {:02}", k / BASES.len()),
                format!("bench-token-{k:04}-abcdefgh"),
            )
        })
        .collect();
    let tokens: String = makers.iter().map(|(m, t)| format!("{m},{t}\n")).collect();
    std::fs::write(out.join("tokens.txt"), tokens)?;
    let access = Access {
        trusted: vec![key.public.clone()],
        manufacturers: makers.clone(),
        authorities: Vec::new(),
        ..Access::default()
    };
    let regs: Vec<Registry> = dbs
        .iter()
        .map(|db| Registry::open(db, cat.clone(), access.clone()))
        .collect::<Result<_, _>>()?;
    let today = jiff::Zoned::now().date();
    let until = today.checked_add(jiff::Span::new().days(730))?;
    let info = LabelInfo {
        issuer: Party {
            name: "Bench Issuing Body".into(),
            contact: None,
        },
        default_password: "unique per device".into(),
        secure_configuration: "https://example.test/secure".into(),
        registry: Some("http://127.0.0.1/p/{id}".into()),
        document: None,
        ..LabelInfo::default()
    };
    let make = |i: usize| -> Result<(usize, Submission), String> {
        let k = i % makers.len();
        let (text, _) = &bases[k % BASES.len()];
        let end = today
            .checked_add(jiff::Span::new().days((i as i64 * 37) % 3650 - 1100))
            .map_err(|e| e.to_string())?;
        let model = format!("{}-{i:06}", BASES[k % BASES.len()].to_uppercase());
        let text = rewrite(text, &makers[k].0, &model, &end.to_string());
        let p =
            profile::parse(&cat, &text, InputFormat::Toml, "p.toml").map_err(|e| e.to_string())?;
        let a = iotrust_assess::assess(&cat, &p, &[], today);
        // a filled registry holds products whose support has ended since their label was
        // issued; the issuer refuses a label after the end (issue 15), so those labels are
        // written as they were issued: for a supported product, then given the ended period
        let doc = match LabelDocument::from_assessment(&a, &info, until) {
            Err(iotrust_label::IssueError::SupportEnded { end, .. }) => {
                let mut supported = a.clone();
                supported.support.end_date = None;
                let mut doc = LabelDocument::from_assessment(&supported, &info, until)
                    .map_err(|e| e.to_string())?;
                doc.support.end_date = Some(end);
                doc
            }
            other => other.map_err(|e| e.to_string())?,
        };
        let mut env = envelope(&doc, "p.toml", text.as_bytes()).map_err(|e| e.to_string())?;
        sign(&mut env, &key).map_err(|e| e.to_string())?;
        Ok((
            k,
            Submission {
                label: env,
                profile: text,
                profile_format: None,
                evidence: Vec::new(),
                assessment: None,
            },
        ))
    };
    let t0 = Instant::now();
    let mut ids = Vec::with_capacity(count);
    let chunk = 2000;
    let mut first_label = None;
    for start in (0..count).step_by(chunk) {
        let end = (start + chunk).min(count);
        // generate in parallel on every core
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut made: Vec<(usize, Submission)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    s.spawn(move || {
                        (start + t..end)
                            .step_by(threads)
                            .map(make)
                            .collect::<Result<Vec<_>, String>>()
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().map_err(|_| "generator panicked".to_string())?)
                .collect::<Result<Vec<Vec<_>>, String>>()
                .map(|v| v.into_iter().flatten().collect())
        })?;
        made.sort_by_key(|(k, _)| *k);
        if first_label.is_none() {
            first_label = made.first().map(|(_, s)| s.label.clone());
        }
        for group in made.chunk_by(|a, b| a.0 == b.0) {
            let token = &makers[group[0].0].1;
            let subs: Vec<Submission> = group.iter().map(|(_, s)| s.clone()).collect();
            for batch in subs.chunks(500) {
                for (r, reg) in regs.iter().enumerate() {
                    let res = reg
                        .submit_many(batch, Some(token), today)
                        .map_err(|e| e.to_string())?;
                    for x in res {
                        let s = x.map_err(|e| e.to_string())?;
                        if r == 0 {
                            ids.push(s.id);
                        }
                    }
                }
            }
        }
        eprintln!(
            "{end}/{count} products in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
    }
    std::fs::write(out.join("ids.txt"), ids.join("\n") + "\n")?;
    if let Some(l) = first_label {
        std::fs::write(out.join("label.json"), serde_json::to_string(&l)?)?;
    }
    // 10,000 models: 9,000 registered (every tenth id's model), 1,000 unknown
    let items: Vec<serde_json::Value> = (0..10_000)
        .map(|j| {
            if j % 10 == 9 {
                serde_json::json!({"manufacturer": "Nobody Ltd", "model": format!("X-{j}")})
            } else {
                let i = (j * 7919) % count.max(1);
                let k = i % makers.len();
                serde_json::json!({
                    "manufacturer": makers[k].0,
                    "model": format!("{}-{i:06}", BASES[k % BASES.len()].to_uppercase())
                })
            }
        })
        .collect();
    std::fs::write(
        out.join("check-10k.json"),
        serde_json::json!({"tier": "baseline", "market": "UK", "items": items}).to_string(),
    )?;
    for (db, reg) in dbs.iter().zip(&regs) {
        eprintln!(
            "{}: {} products",
            if db.contains("://") { "postgresql" } else { db },
            reg.count().map_err(|e| e.to_string())?
        );
    }
    Ok(())
}

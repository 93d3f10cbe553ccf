//! Where devices' MUD files come from: the `--mud` map (`address,mud-file-or-url` lines),
//! a directory of files named by URL (`--mud-dir`, `host/path`), and `https://` fetches
//! (ureq, with a timeout), each URL checked with `iotrust-mud` once and cached for the
//! life of the process — also when it failed, so an announcement repeated every lease
//! renewal costs nothing.
//!
//! The only I/O of MUD checking lives here; the detector ([`crate::detectors::mud`]) asks
//! [`Library::get`] when a device announces a URL it has not seen (rare: once per URL).

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iotrust_flow::Addr;
use iotrust_mud::{MudFile, Policy};

use crate::error::Error;

/// A MUD file body is read up to this many bytes (real ones are a few KiB).
pub const MAX_MUD_BYTES: u64 = 1 << 20;

/// One device's declaration: a checked MUD file and its policy.
#[derive(Debug)]
pub struct Declared {
    /// The file's `mud-url`.
    pub url: String,
    /// Where it was read: a path, `mud-dir:PATH` or the URL fetched.
    pub origin: String,
    pub systeminfo: Option<String>,
    pub file: MudFile,
    pub policy: Policy,
}

impl Declared {
    /// Checks a MUD file's bytes (`origin` names them in messages); a file that does not
    /// pass `iotrust mud check`'s rules is an error naming its first faults by JSON path.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Declared, String> {
        let (file, _warnings) = MudFile::parse(bytes).map_err(|e| {
            let faults: Vec<String> = e
                .errors()
                .take(3)
                .map(|d| format!("{}: {}", d.path, d.message))
                .collect();
            format!("not a valid MUD file: {}", faults.join("; "))
        })?;
        let policy = file.policy();
        Ok(Declared {
            url: file.url().to_string(),
            origin: origin.to_string(),
            systeminfo: file.systeminfo().map(str::to_string),
            policy,
            file,
        })
    }
}

/// How MUD URLs are resolved.
#[derive(Clone, Debug, Default)]
pub struct FetchConfig {
    /// Files named by URL (`DIR/host/path`), looked at before fetching.
    pub dir: Option<PathBuf>,
    /// Fetch `https://` URLs not in `dir` (false: only `dir`).
    pub fetch: bool,
    /// Connect and read timeout of a fetch.
    pub timeout: Duration,
    /// Trust only the CAs of this PEM file (instead of Mozilla's roots).
    pub ca_file: Option<PathBuf>,
}

/// URLs resolved to declarations, cached; shared by every shard.
pub struct Library {
    cfg: FetchConfig,
    agent: Option<ureq::Agent>,
    cache: Mutex<HashMap<String, Result<Arc<Declared>, String>>>,
    say: Box<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library").field("cfg", &self.cfg).finish()
    }
}

impl Library {
    /// `say` hears of every URL that could not be resolved (once each).
    pub fn new(
        cfg: FetchConfig,
        say: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Library, Error> {
        let agent = if cfg.fetch {
            let roots = cfg
                .ca_file
                .as_deref()
                .map(|p| crate::sinks::load_ca("--mud-ca", p))
                .transpose()?;
            let mut tls = ureq::tls::TlsConfig::builder();
            if let Some(r) = roots {
                tls = tls.root_certs(r);
            }
            Some(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(3)
                    .https_only(true)
                    .proxy(None)
                    .user_agent("iotrust-watch")
                    .timeout_global(Some(cfg.timeout))
                    .tls_config(tls.build())
                    .build()
                    .into(),
            )
        } else {
            None
        };
        Ok(Library {
            cfg,
            agent,
            cache: Mutex::new(HashMap::new()),
            say: Box::new(say),
        })
    }

    /// The declaration at `url`, or why there is none (cached either way).
    pub fn load(&self, url: &str) -> Result<Arc<Declared>, String> {
        self.load_fresh(url).0
    }

    /// [`Library::load`], and whether this call resolved it (the first for the URL).
    fn load_fresh(&self, url: &str) -> (Result<Arc<Declared>, String>, bool) {
        let Ok(mut cache) = self.cache.lock() else {
            return (Err("mud cache poisoned".into()), false);
        };
        if let Some(r) = cache.get(url) {
            return (r.clone(), false);
        }
        // resolved under the lock: shards asking for the same URL wait for one fetch
        let r = self.resolve(url).map(Arc::new);
        cache.insert(url.to_string(), r.clone());
        (r, true)
    }

    /// [`Library::load`], saying why once when there is none.
    pub fn get(&self, url: &str) -> Option<Arc<Declared>> {
        match self.load_fresh(url) {
            (Ok(d), _) => Some(d),
            (Err(why), fresh) => {
                if fresh {
                    (self.say)(&format!("mud: {url}: {why}"));
                }
                None
            }
        }
    }

    fn resolve(&self, url: &str) -> Result<Declared, String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or("not an https:// URL (RFC 8520 requires https)")?;
        if let Some(dir) = &self.cfg.dir {
            let path = dir.join(url_path(rest)?);
            if path.is_file() {
                let bytes = read_limited(&path)?;
                let d = Declared::parse(&bytes, &format!("mud-dir:{}", path.display()))?;
                self.check_url(&d, url);
                return Ok(d);
            }
        }
        let Some(agent) = &self.agent else {
            return Err(match &self.cfg.dir {
                Some(d) => format!("not in --mud-dir {} and fetching is off", d.display()),
                None => "fetching is off".into(),
            });
        };
        let resp = agent
            .get(url)
            .call()
            .map_err(|e| format!("cannot fetch: {e}"))?;
        let status = resp.status();
        if status.as_u16() != 200 {
            return Err(format!("fetch answered {status}"));
        }
        let mut body = Vec::new();
        resp.into_body()
            .into_reader()
            .take(MAX_MUD_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read the fetched file: {e}"))?;
        if body.len() as u64 > MAX_MUD_BYTES {
            return Err("the fetched file is larger than 1 MiB".into());
        }
        let d = Declared::parse(&body, url)?;
        self.check_url(&d, url);
        Ok(d)
    }

    /// A file whose `mud-url` is not the URL it was found under is said (kept: the device
    /// named the URL, and what it declares is what it is held to).
    fn check_url(&self, d: &Declared, url: &str) {
        if d.url != url {
            (self.say)(&format!(
                "mud: {url}: the file's mud-url is `{}`; checked as the declaration of {url}",
                d.url
            ));
        }
    }
}

/// The relative path of `host/path` under a `--mud-dir`: no `..`, no absolute part.
fn url_path(rest: &str) -> Result<PathBuf, String> {
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let p = Path::new(rest);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) || rest.ends_with('/') {
        return Err(format!("`{rest}` is not a file path under --mud-dir"));
    }
    Ok(p.to_path_buf())
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut body = Vec::new();
    f.take(MAX_MUD_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if body.len() as u64 > MAX_MUD_BYTES {
        return Err(format!("{} is larger than 1 MiB", path.display()));
    }
    Ok(body)
}

/// The `--mud` map: which device has which declaration.
#[derive(Clone, Debug, Default)]
pub struct MudMap {
    pub devices: HashMap<Addr, Arc<Declared>>,
}

impl MudMap {
    /// Reads `address,mud-file-or-url` lines (`#` comments and blank lines skipped; an
    /// optional `address,...` header). A path is read relative to `base` (the map's
    /// directory); a URL through `library`. Errors name the file, the line and the field.
    pub fn parse(
        text: &str,
        origin: &str,
        base: &Path,
        library: &Library,
    ) -> Result<MudMap, Error> {
        let mut devices = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let bad = |message: String| Error::Parse {
                origin: origin.to_string(),
                line,
                message,
            };
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (addr, what) = l
                .split_once(',')
                .ok_or_else(|| bad("expected `address,mud-file-or-url`".into()))?;
            let (addr, what) = (addr.trim(), what.trim());
            if devices.is_empty() && addr.eq_ignore_ascii_case("address") {
                continue;
            }
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| bad(format!("field 1 (address): `{addr}` is not an IP address")))?;
            if what.is_empty() {
                return Err(bad("field 2 (mud-file-or-url) is empty".into()));
            }
            let d = if what.contains("://") {
                if !what.starts_with("https://") {
                    return Err(bad(format!(
                        "field 2 (mud-file-or-url): `{what}` is not an https:// URL (RFC 8520 requires https)"
                    )));
                }
                library
                    .load(what)
                    .map_err(|why| bad(format!("field 2 (mud-file-or-url): `{what}`: {why}")))?
            } else {
                let path = base.join(what);
                let bytes = read_limited(&path)
                    .map_err(|why| bad(format!("field 2 (mud-file-or-url): {why}")))?;
                Arc::new(
                    Declared::parse(&bytes, &path.display().to_string()).map_err(|why| {
                        bad(format!("field 2 (mud-file-or-url): `{what}`: {why}"))
                    })?,
                )
            };
            if devices.insert(Addr::from(ip), d).is_some() {
                return Err(bad(format!("field 1 (address): `{addr}` is mapped twice")));
            }
        }
        Ok(MudMap { devices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_stay_under_the_directory() {
        assert_eq!(
            url_path("mud.example.com/a/b.json").unwrap(),
            PathBuf::from("mud.example.com/a/b.json")
        );
        assert_eq!(
            url_path("mud.example.com/b.json?x=1").unwrap(),
            PathBuf::from("mud.example.com/b.json")
        );
        assert!(url_path("mud.example.com/../../etc/passwd").is_err());
        assert!(url_path("/etc/passwd").is_err());
        assert!(url_path("mud.example.com/").is_err());
    }

    #[test]
    fn map_errors_name_line_and_field() {
        let lib = Library::new(FetchConfig::default(), |_| {}).unwrap();
        let base = Path::new("/nonexistent");
        let e = |t: &str| {
            MudMap::parse(t, "map.csv", base, &lib)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("address,mud\n# c\n10.0.0.x,f.json\n"),
            "map.csv:3: field 1 (address): `10.0.0.x` is not an IP address"
        );
        assert!(e("10.0.0.1\n").starts_with("map.csv:1: expected"));
        assert!(e("10.0.0.1,http://x/y.json\n")
            .contains("field 2 (mud-file-or-url): `http://x/y.json` is not an https:// URL"));
        assert!(e("10.0.0.1,missing.json\n").starts_with(
            "map.csv:1: field 2 (mud-file-or-url): cannot read /nonexistent/missing.json"
        ));
        assert!(e("10.0.0.1,https://mud.example.com/x.json\n").contains("fetching is off"));
        assert!(e("10.0.0.1,\n").contains("field 2 (mud-file-or-url) is empty"));
    }
}

#![doc = include_str!("../README.md")]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use iotrust_label::dsse::verify;
use iotrust_label::{Envelope, LabelDocument, PublicKey};
use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A refused request: HTTP status and the reason given to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

fn err(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(serde_json::json!({"error": self.message}))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        err(500, format!("storage: {e}"))
    }
}

/// The registry: storage, trusted signing keys, manufacturer tokens (hashed).
pub struct Registry {
    conn: Mutex<Connection>,
    trusted: Vec<PublicKey>,
    /// (manufacturer, SHA-256 of its token, hex)
    tokens: Vec<(String, String)>,
    /// iotrust's tier ids, lowest first (from the catalog).
    tiers: Vec<String>,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Event {
    pub at: String,
    pub event: String,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub status: String,
    pub label: LabelDocument,
    pub history: Vec<Event>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CheckItem {
    pub manufacturer: String,
    pub model: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CheckRequest {
    /// The tier each product must reach (default `baseline`).
    #[serde(default)]
    pub tier: Option<String>,
    pub items: Vec<CheckItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckResult {
    pub manufacturer: String,
    pub model: String,
    pub registered: bool,
    pub meets: bool,
    pub tier: Option<String>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Most items one bulk check takes.
pub const MAX_CHECK_ITEMS: usize = 20_000;

impl Registry {
    /// Open (creating if needed) the database at `path`, or in memory with `None`. `tiers` are
    /// the catalog's tier ids, lowest first (what bulk checks compare against).
    pub fn open(
        path: Option<&Path>,
        trusted: Vec<PublicKey>,
        tokens: &[(String, String)],
        tiers: Vec<String>,
    ) -> Result<Registry, rusqlite::Error> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        // WAL with full sync: an acknowledged write survives a crash of the process
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS products (
                id TEXT PRIMARY KEY, manufacturer TEXT NOT NULL, model TEXT NOT NULL,
                tier TEXT, valid_until TEXT NOT NULL, status TEXT NOT NULL,
                document TEXT NOT NULL, envelope TEXT NOT NULL, updated TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS products_model ON products(manufacturer, model);
             CREATE TABLE IF NOT EXISTS history (
                product TEXT NOT NULL, at TEXT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS history_product ON history(product);",
        )?;
        Ok(Registry {
            conn: Mutex::new(conn),
            trusted,
            tokens: tokens.iter().map(|(m, t)| (m.clone(), hash(t))).collect(),
            tiers,
        })
    }

    fn rank(&self, tier: Option<&str>) -> Option<usize> {
        tier.and_then(|t| self.tiers.iter().position(|x| x == t))
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ApiError> {
        self.conn
            .lock()
            .map_err(|_| err(500, "storage lock poisoned"))
    }

    /// The manufacturer a bearer token belongs to.
    fn manufacturer_of(&self, token: Option<&str>) -> Result<&str, ApiError> {
        let token = token.ok_or_else(|| err(401, "missing bearer token"))?;
        let h = hash(token);
        self.tokens
            .iter()
            .find(|(_, t)| *t == h)
            .map(|(m, _)| m.as_str())
            .ok_or_else(|| err(401, "unknown token"))
    }

    /// Verify and store a label; returns its product id.
    pub fn submit(
        &self,
        env: &Envelope,
        token: Option<&str>,
        today: Date,
    ) -> Result<String, ApiError> {
        let who = self.manufacturer_of(token)?;
        let v = verify(env, &self.trusted, today)
            .map_err(|e| err(422, format!("label does not verify: {e}")))?;
        let doc = v.document;
        if doc.product.manufacturer != who {
            return Err(err(
                403,
                format!(
                    "this token belongs to `{who}`, the label to `{}`",
                    doc.product.manufacturer
                ),
            ));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let existed: Option<String> = tx
            .query_row(
                "SELECT status FROM products WHERE id = ?1",
                params![doc.id],
                |r| r.get(0),
            )
            .optional()?;
        tx.execute(
            "INSERT INTO products (id, manufacturer, model, tier, valid_until, status, document, envelope, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET tier = ?4, valid_until = ?5, status = 'active', document = ?6, envelope = ?7, updated = ?8",
            params![
                doc.id,
                doc.product.manufacturer,
                doc.product.model,
                doc.tier,
                doc.valid_until.to_string(),
                serde_json::to_string(&doc).map_err(|e| err(500, e.to_string()))?,
                serde_json::to_string(env).map_err(|e| err(500, e.to_string()))?,
                today.to_string()
            ],
        )?;
        let event = if existed.is_some() {
            "updated"
        } else {
            "registered"
        };
        let signers: Vec<String> = v.signers.iter().map(|s| s.name.clone()).collect();
        tx.execute(
            "INSERT INTO history (product, at, event, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                doc.id,
                today.to_string(),
                event,
                format!(
                    "tier {}; signed by {}",
                    doc.tier.as_deref().unwrap_or("none"),
                    signers.join(", ")
                )
            ],
        )?;
        tx.commit()?;
        Ok(doc.id)
    }

    pub fn get(&self, id: &str) -> Result<Product, ApiError> {
        let conn = self.conn()?;
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT status, document FROM products WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (status, document) = row.ok_or_else(|| err(404, format!("no product `{id}`")))?;
        let label: LabelDocument =
            serde_json::from_str(&document).map_err(|e| err(500, e.to_string()))?;
        let mut stmt = conn
            .prepare("SELECT at, event, detail FROM history WHERE product = ?1 ORDER BY rowid")?;
        let history = stmt
            .query_map(params![id], |r| {
                Ok(Event {
                    at: r.get(0)?,
                    event: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Product {
            id: id.to_string(),
            status,
            label,
            history,
        })
    }

    /// The manufacturer suspends its own product's label.
    pub fn suspend(
        &self,
        id: &str,
        token: Option<&str>,
        reason: &str,
        today: Date,
    ) -> Result<(), ApiError> {
        let who = self.manufacturer_of(token)?;
        if reason.trim().is_empty() {
            return Err(err(400, "a suspension needs a reason"));
        }
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let owner: Option<String> = tx
            .query_row(
                "SELECT manufacturer FROM products WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        match owner {
            None => return Err(err(404, format!("no product `{id}`"))),
            Some(o) if o != who => {
                return Err(err(403, "a manufacturer may only change its own products"))
            }
            _ => {}
        }
        tx.execute(
            "UPDATE products SET status = 'suspended', updated = ?2 WHERE id = ?1",
            params![id, today.to_string()],
        )?;
        tx.execute(
            "INSERT INTO history (product, at, event, detail) VALUES (?1, ?2, 'suspended', ?3)",
            params![id, today.to_string(), reason],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Which of these models have an active, valid label at `tier` or above?
    pub fn check(&self, req: &CheckRequest, today: Date) -> Result<Vec<CheckResult>, ApiError> {
        if req.items.len() > MAX_CHECK_ITEMS {
            return Err(err(
                413,
                format!("at most {MAX_CHECK_ITEMS} items per request"),
            ));
        }
        // default: the lowest tier, the baseline every market asks for
        let want = req
            .tier
            .as_deref()
            .or(self.tiers.first().map(String::as_str))
            .unwrap_or("");
        let need = self.rank(Some(want)).ok_or_else(|| {
            err(
                400,
                format!("unknown tier `{want}` (tiers: {})", self.tiers.join(", ")),
            )
        })?;
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, tier, valid_until, status FROM products WHERE manufacturer = ?1 AND model = ?2 ORDER BY updated DESC LIMIT 1",
        )?;
        let mut out = Vec::with_capacity(req.items.len());
        for it in &req.items {
            let row: Option<(String, Option<String>, String, String)> = stmt
                .query_row(params![it.manufacturer, it.model], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            let result = match row {
                None => CheckResult {
                    manufacturer: it.manufacturer.clone(),
                    model: it.model.clone(),
                    registered: false,
                    meets: false,
                    tier: None,
                    reason: "no label registered".into(),
                    id: None,
                },
                Some((id, tier, until, status)) => {
                    let expired = until.parse::<Date>().map(|u| u < today).unwrap_or(true);
                    let reaches = self.rank(tier.as_deref()).is_some_and(|r| r >= need);
                    let (meets, reason) = if status != "active" {
                        (false, format!("label {status}"))
                    } else if expired {
                        (false, format!("label expired on {until}"))
                    } else if !reaches {
                        (
                            false,
                            format!("tier {} is below {want}", tier.as_deref().unwrap_or("none")),
                        )
                    } else {
                        (true, format!("tier {}", tier.as_deref().unwrap_or("")))
                    };
                    CheckResult {
                        manufacturer: it.manufacturer.clone(),
                        model: it.model.clone(),
                        registered: true,
                        meets,
                        tier,
                        reason,
                        id: Some(id),
                    }
                }
            };
            out.push(result);
        }
        Ok(out)
    }
}

fn today() -> Date {
    jiff::Zoned::now().date()
}

fn bearer(h: &HeaderMap) -> Option<&str> {
    h.get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

type Shared = Arc<Registry>;

async fn submit(
    State(r): State<Shared>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let env: Envelope = serde_json::from_slice(&body)
        .map_err(|e| err(400, format!("not a label envelope: {e}")))?;
    let id = tokio::task::block_in_place(|| r.submit(&env, bearer(&h), today()))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": id, "page": format!("/p/{id}")})),
    )
        .into_response())
}

async fn product(
    State(r): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Product>, ApiError> {
    Ok(Json(tokio::task::block_in_place(|| r.get(&id))?))
}

#[derive(Deserialize)]
struct SuspendBody {
    reason: String,
}

async fn suspend(
    State(r): State<Shared>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let b: SuspendBody = serde_json::from_slice(&body)
        .map_err(|e| err(400, format!("expected {{\"reason\": ...}}: {e}")))?;
    tokio::task::block_in_place(|| r.suspend(&id, bearer(&h), &b.reason, today()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check(
    State(r): State<Shared>,
    body: axum::body::Bytes,
) -> Result<Json<Vec<CheckResult>>, ApiError> {
    let req: CheckRequest = serde_json::from_slice(&body).map_err(|e| {
        err(
            400,
            format!("expected {{\"tier\", \"items\": [{{\"manufacturer\", \"model\"}}]}}: {e}"),
        )
    })?;
    Ok(Json(tokio::task::block_in_place(|| {
        r.check(&req, today())
    })?))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The product page: what a consumer sees after scanning the QR code.
pub fn page(p: &Product, today: Date) -> String {
    let d = &p.label;
    let countdown = match d.support.end_date {
        Some(end) => {
            let days = today
                .until((jiff::Unit::Day, end))
                .map(|s| i64::from(s.get_days()))
                .unwrap_or(0);
            if days < 0 {
                format!("<p class=\"bad\">Unsupported: security updates ended on {end}.</p>")
            } else if days <= 180 {
                format!("<p class=\"warn\">Support ends soon: {end} ({days} days left).</p>")
            } else {
                format!("<p class=\"ok\">Supported: security updates until {end} ({days} days left).</p>")
            }
        }
        None => "<p class=\"bad\">No support period declared.</p>".to_string(),
    };
    let status = if p.status == "active" {
        String::new()
    } else {
        format!("<p class=\"bad\">This label is {}.</p>", esc(&p.status))
    };
    let levels: String = d
        .levels
        .iter()
        .map(|l| {
            format!(
                "<li><code>{}</code> ({})</li>",
                esc(&l.level),
                esc(&l.route)
            )
        })
        .collect();
    let history: String = p
        .history
        .iter()
        .map(|e| {
            format!(
                "<li>{} — {}: {}</li>",
                esc(&e.at),
                esc(&e.event),
                esc(&e.detail)
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{m} {model} — iotrust registry</title><style>body{{font:16px/1.5 system-ui,sans-serif;max-width:720px;margin:1.5rem auto;padding:0 1rem;color:#1d232b}}\
.ok{{color:#135c2b;font-weight:600}}.warn{{color:#7a5200;font-weight:600}}.bad{{color:#a11d1d;font-weight:600}}svg{{max-width:100%;height:auto}}</style></head><body>\
<h1>{m} {model}</h1>{status}{countdown}{svg}<h2>Levels</h2><ul>{levels}</ul>\
<h2>Security information</h2><ul><li>Default password: {pw}</li><li>Secure configuration: {sc}</li><li>Automatic updates: {au}</li>\
<li>SBOM: {sbom}</li></ul><h2>History</h2><ul>{history}</ul></body></html>",
        m = esc(&d.product.manufacturer),
        model = esc(&d.product.model),
        svg = iotrust_label::render::svg(d),
        pw = esc(&d.default_password),
        sc = esc(&d.secure_configuration),
        au = match d.updates.automatic {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not established",
        },
        sbom = match d.boms.sbom {
            Some(true) => "kept",
            Some(false) => "not kept",
            None => "not established",
        },
    )
}

async fn product_page(
    State(r): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Html<String>, ApiError> {
    let p = tokio::task::block_in_place(|| r.get(&id))?;
    Ok(Html(page(&p, today())))
}

/// The HTTP routes.
pub fn router(r: Shared) -> Router {
    Router::new()
        .route("/api/v1/labels", post(submit))
        .route("/api/v1/products/{id}", get(product))
        .route("/api/v1/products/{id}/suspend", post(suspend))
        .route("/api/v1/check", post(check))
        .route("/p/{id}", get(product_page))
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
        .with_state(r)
}

/// Serve on `addr` until the process ends; returns the bound address through `bound`.
pub async fn serve(r: Shared, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(r)).await
}

/// Bind `addr` (use port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

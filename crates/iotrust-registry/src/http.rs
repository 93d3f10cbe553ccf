//! The HTTP face: JSON API under `/api/v1`, HTML pages, per-client rate limiting.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path as UrlPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use iotrust_label::Envelope;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::client::Acknowledgement;
use crate::error::{internal, invalid, not_found, RegistryError};
use crate::registry::{Action, CheckRequest, EvidenceFile, Registry, Submission};

/// The one place a registry error becomes an HTTP status.
fn status_of(e: &RegistryError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        (
            status_of(&self),
            Json(serde_json::json!({"error": self.to_string()})),
        )
            .into_response()
    }
}

type ApiError = RegistryError;

/// Requests per second and burst allowed to one client address on the API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 50.0,
            burst: 100.0,
        }
    }
}

/// Most client addresses the limiter remembers; beyond it, full buckets are forgotten first.
const MAX_CLIENTS: usize = 100_000;

struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// Take one token for `ip`; on refusal, the seconds until one is available.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), f64> {
        let Ok(mut b) = self.buckets.lock() else {
            return Ok(());
        };
        if b.len() >= MAX_CLIENTS && !b.contains_key(&ip) {
            let l = self.limit;
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * l.per_second < l.burst
            });
            if b.len() >= MAX_CLIENTS {
                b.clear();
            }
        }
        let (tokens, at) = b.entry(ip).or_insert((self.limit.burst, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.limit.per_second;
        *tokens = (*tokens + refill).min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.limit.per_second)
        }
    }
}

#[derive(Clone)]
struct App {
    reg: Arc<Registry>,
    limiter: Option<Arc<Limiter>>,
    workers: Arc<tokio::sync::Semaphore>,
    /// Label drawings kept between product-page requests.
    svgs: Arc<crate::svgcache::LabelSvgs>,
}

fn today() -> Date {
    jiff::Zoned::now().date()
}

fn bearer(h: &HeaderMap) -> Option<String> {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

impl App {
    /// Run registry work off the async threads (both backends block), at most as many at
    /// once as the store has connections. The semaphore queues requests first come, first
    /// served, so none waits behind luckier ones for a connection.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .workers
            .acquire()
            .await
            .map_err(|_| RegistryError::Unavailable("shutting down".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| internal(format!("worker failed: {e}")))?
    }
}

fn body<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| invalid("body", format!("{what}: {e}")))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| invalid("query", e.body_text()))
}

async fn submit(
    State(app): State<App>,
    h: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let sub: Submission = body(
        &bytes,
        "expected {\"label\": envelope, \"profile\": text, \"profile_format\", \"evidence\": [{\"name\", \"document\"}], \"assessment\"}",
    )?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let out = app
        .blocking(move || r.submit(&sub, token.as_deref(), today()))
        .await?;
    let code = if out.event == crate::client::Registration::Registered {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bulk {
    submissions: Vec<Submission>,
}

async fn submit_bulk(
    State(app): State<App>,
    h: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: Bulk = body(&bytes, "expected {\"submissions\": [submission, ...]}")?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let results = app
        .blocking(move || r.submit_many(&b.submissions, token.as_deref(), today()))
        .await?;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let results: Vec<serde_json::Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(s) => serde_json::json!({ "ok": s }),
            Err(e) => {
                serde_json::json!({ "error": { "status": e.status(), "message": e.to_string() } })
            }
        })
        .collect();
    Ok(Json(serde_json::json!({
        "accepted": accepted,
        "rejected": results.len() - accepted,
        "results": results,
    }))
    .into_response())
}

async fn product(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let r = app.reg.clone();
    let p = app.blocking(move || r.product(&id, today())).await?;
    Ok(Json(p).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    reason: String,
}

async fn act(
    app: App,
    id: String,
    h: HeaderMap,
    bytes: axum::body::Bytes,
    action: Action,
) -> Result<Response, ApiError> {
    let b: ActBody = body(&bytes, "expected {\"reason\": text}")?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let status = app
        .blocking(move || r.act(&id, action, &b.reason, token.as_deref(), today()))
        .await?;
    Ok(Json(serde_json::json!({ "status": status })).into_response())
}

async fn suspend(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    act(app, id, h, b, Action::Suspend).await
}

async fn reinstate(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    act(app, id, h, b, Action::Reinstate).await
}

async fn revoke(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Result<Response, ApiError> {
    act(app, id, h, b, Action::Revoke).await
}

async fn field_report(
    State(app): State<App>,
    h: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let env: Envelope = body(
        &bytes,
        "expected a DSSE envelope of an application/vnd.iotrust.field-report+json payload",
    )?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let out = app
        .blocking(move || r.field_report(&env, token.as_deref(), jiff::Timestamp::now()))
        .await?;
    let code = if out.outcome == "recorded" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(out)).into_response())
}

async fn field_ack(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let ack: Acknowledgement = body(
        &bytes,
        "expected {\"note\", \"early_warning_at\", \"notification_at\", \"corrective_measure_at\", \"final_report_at\"} (all optional)",
    )?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let out = app
        .blocking(move || r.acknowledge(&id, &ack, token.as_deref(), jiff::Timestamp::now()))
        .await?;
    Ok(Json(out).into_response())
}

async fn lab_evidence(
    State(app): State<App>,
    UrlPath(id): UrlPath<String>,
    h: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let file: EvidenceFile = body(
        &bytes,
        "expected {\"name\": text, \"document\": an iotrust-evidence/1 document}",
    )?;
    let token = bearer(&h);
    let r = app.reg.clone();
    let out = app
        .blocking(move || r.lab_evidence(&id, &file, token.as_deref(), today()))
        .await?;
    Ok(Json(out).into_response())
}

async fn check(State(app): State<App>, bytes: axum::body::Bytes) -> Result<Response, ApiError> {
    let req: CheckRequest = body(
        &bytes,
        "expected {\"tier\": id, \"items\": [{\"manufacturer\", \"model\"}]}",
    )?;
    let r = app.reg.clone();
    Ok(Json(app.blocking(move || r.check(&req, today())).await?).into_response())
}

async fn verify_label(
    State(app): State<App>,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let env: Envelope = body(&bytes, "expected a DSSE envelope")?;
    let r = app.reg.clone();
    Ok(Json(app.blocking(move || r.verify(&env, today())).await?).into_response())
}

async fn reassess(State(app): State<App>, h: HeaderMap) -> Result<Response, ApiError> {
    let token = bearer(&h);
    let r = app.reg.clone();
    let out = app
        .blocking(move || {
            r.require_authority(token.as_deref())?;
            r.reassess(today())
        })
        .await?;
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    offset: u32,
}

fn default_limit() -> u32 {
    50
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DaysQuery {
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    180
}

async fn search_api(
    State(app): State<App>,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let r = app.reg.clone();
    Ok(Json(
        app.blocking(move || r.search(&q.q, q.limit, q.offset, today()))
            .await?,
    )
    .into_response())
}

async fn sunsetting_api(
    State(app): State<App>,
    q: Result<Query<DaysQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let r = app.reg.clone();
    Ok(Json(app.blocking(move || r.sunsetting(q.days, today())).await?).into_response())
}

async fn programmes_api(State(app): State<App>) -> Result<Response, ApiError> {
    let r = app.reg.clone();
    Ok(Json(app.blocking(move || r.programmes()).await?).into_response())
}

async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

// ---- pages ----

fn page_error(e: ApiError) -> Response {
    (
        status_of(&e),
        Html(crate::pages::error(e.status(), &e.to_string())),
    )
        .into_response()
}

async fn home(State(app): State<App>, q: Result<Query<SearchQuery>, QueryRejection>) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(e) => return page_error(e),
    };
    let r = app.reg.clone();
    match app
        .blocking(move || {
            let count = r.count()?;
            let res = if q.q.trim().is_empty() {
                None
            } else {
                Some(r.search(&q.q, q.limit, q.offset, today())?)
            };
            Ok(crate::pages::search(count, res.as_ref()))
        })
        .await
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => page_error(e),
    }
}

async fn product_page(State(app): State<App>, UrlPath(id): UrlPath<String>) -> Response {
    let r = app.reg.clone();
    match app.blocking(move || r.product(&id, today())).await {
        Ok(p) => {
            let svg = app.svgs.get(&p.label);
            Html(crate::pages::product(&p, &svg)).into_response()
        }
        Err(e) => page_error(e),
    }
}

async fn sunsetting_page(
    State(app): State<App>,
    q: Result<Query<DaysQuery>, QueryRejection>,
) -> Response {
    let q = match query(q) {
        Ok(q) => q,
        Err(e) => return page_error(e),
    };
    let r = app.reg.clone();
    match app.blocking(move || r.sunsetting(q.days, today())).await {
        Ok(rows) => Html(crate::pages::sunsetting(q.days, &rows)).into_response(),
        Err(e) => page_error(e),
    }
}

async fn programmes_page(State(app): State<App>) -> Response {
    let r = app.reg.clone();
    match app.blocking(move || r.programmes()).await {
        Ok(p) => Html(crate::pages::programmes(&p)).into_response(),
        Err(e) => page_error(e),
    }
}

async fn no_route() -> ApiError {
    not_found("no such route (the API is described at /api/v1/openapi.json)")
}

async fn limit(State(app): State<App>, req: Request, next: Next) -> Response {
    if let Some(l) = &app.limiter {
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(ip) = ip {
            if let Err(wait) = l.take(ip, Instant::now()) {
                let mut res = RegistryError::RateLimited("too many requests: slow down".into())
                    .into_response();
                let secs = wait.ceil().max(1.0).to_string();
                if let Ok(v) = HeaderValue::from_str(&secs) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return res;
            }
        }
    }
    next.run(req).await
}

/// The HTTP routes; `rate` limits each client address on `/api/` (None: no limit).
pub fn router(reg: Arc<Registry>, rate: Option<RateLimit>) -> Router {
    let app = App {
        workers: Arc::new(tokio::sync::Semaphore::new(crate::registry::CONNECTIONS)),
        svgs: Arc::new(crate::svgcache::LabelSvgs::new(
            crate::svgcache::DEFAULT_BUDGET,
        )),
        reg,
        limiter: rate.map(|limit| {
            Arc::new(Limiter {
                limit,
                buckets: Mutex::new(HashMap::new()),
            })
        }),
    };
    let api = Router::new()
        .route("/labels", post(submit))
        .route("/labels/bulk", post(submit_bulk))
        .route("/products/{id}", get(product))
        .route("/products/{id}/suspend", post(suspend))
        .route("/products/{id}/reinstate", post(reinstate))
        .route("/products/{id}/revoke", post(revoke))
        .route("/products/{id}/field/ack", post(field_ack))
        .route("/products/{id}/evidence", post(lab_evidence))
        .route("/field-reports", post(field_report))
        .route("/check", post(check))
        .route("/verify", post(verify_label))
        .route("/search", get(search_api))
        .route("/sunsetting", get(sunsetting_api))
        .route("/programmes", get(programmes_api))
        .route("/reassess", post(reassess))
        .route("/openapi.json", get(openapi))
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(app.clone(), limit));
    Router::new()
        .nest("/api/v1", api)
        .route("/", get(home))
        .route("/p/{id}", get(product_page))
        .route("/sunsetting", get(sunsetting_page))
        .route("/programmes", get(programmes_page))
        .fallback(no_route)
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(app)
}

/// Serve on `listener` until the process ends.
pub async fn serve(
    reg: Arc<Registry>,
    rate: Option<RateLimit>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(reg, rate).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// Bind `addr` (port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_refill_at_the_rate() {
        let l = Limiter {
            limit: RateLimit {
                per_second: 10.0,
                burst: 3.0,
            },
            buckets: Mutex::new(HashMap::new()),
        };
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [127, 0, 0, 2].into();
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.take(ip, t0).is_ok()));
        let wait = l.take(ip, t0).err().unwrap_or_default();
        assert!((wait - 0.1).abs() < 1e-9, "{wait}");
        assert!(l.take(other, t0).is_ok(), "buckets are per address");
        assert!(l.take(ip, t0 + Duration::from_millis(100)).is_ok());
        assert!(l.take(ip, t0 + Duration::from_millis(100)).is_err());
    }
}

//! Field reports: what providers see on their networks reaches the product's record. A signed
//! report is matched to a product (by MUD URL, or manufacturer and model), stored (the same
//! report id updates), aggregated per product, and — past a threshold — puts the product
//! under review for its issuing authority. The manufacturer is told by webhook, off the
//! request path, and the CRA Art. 14 clock runs from the moment it was told.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use iotrust_label::{verify_payload, Envelope, Role as KeyRole};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;

use super::{Registry, Role};
use crate::client::{Acknowledgement, FieldReceipt};
use crate::cra;
use crate::error::{conflict, forbidden, internal, invalid, not_found, rejected, ApiError};
use crate::report::{FieldReport, ReportState, FIELD_REPORT_TYPE};
use crate::store::{Event, EventKind, FieldPut, FieldRow, Notice, Status, Store};

/// How webhook deliveries are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 6,
            first_delay: Duration::from_secs(2),
        }
    }
}

/// A manufacturer's webhook: where the registry posts a field notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub manufacturer: String,
    pub url: String,
}

/// The field-report rules a registry runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConfig {
    /// Devices reported (summed over providers' latest reports) at which a product goes under
    /// review…
    pub review_devices: u64,
    /// …when at least this many distinct providers reported it.
    pub review_providers: u64,
    pub webhooks: Vec<Webhook>,
    pub retry: Retry,
}

/// Defaults: ten devices seen by two independent providers. One provider alone (one
/// detector's false positive, one misconfigured inventory) never puts a product under review.
pub const DEFAULT_REVIEW_DEVICES: u64 = 10;
pub const DEFAULT_REVIEW_PROVIDERS: u64 = 2;

impl Default for FieldConfig {
    fn default() -> Self {
        FieldConfig {
            review_devices: DEFAULT_REVIEW_DEVICES,
            review_providers: DEFAULT_REVIEW_PROVIDERS,
            webhooks: Vec::new(),
            retry: Retry::default(),
        }
    }
}

/// A product's field reports summed up.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Aggregate {
    /// Devices reported: each provider's latest report (by last seen), summed over providers.
    pub devices: u64,
    /// Distinct providers that reported the product.
    pub providers: u64,
    /// Every detector named, sorted.
    pub detectors: Vec<String>,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    pub reports: u64,
    pub open_reports: u64,
}

/// Sum up a product's reports.
pub fn aggregate(rows: &[FieldRow]) -> Aggregate {
    let mut latest: BTreeMap<&str, &FieldRow> = BTreeMap::new();
    let mut detectors = BTreeSet::new();
    let mut a = Aggregate::default();
    for r in rows {
        let slot = latest.entry(&r.provider).or_insert(r);
        if (r.last_seen, r.received_us) > (slot.last_seen, slot.received_us) {
            *slot = r;
        }
        detectors.extend(r.detectors.iter().cloned());
        a.first_seen = Some(a.first_seen.map_or(r.first_seen, |t| t.min(r.first_seen)));
        a.last_seen = Some(a.last_seen.map_or(r.last_seen, |t| t.max(r.last_seen)));
        a.reports += 1;
        if r.state == ReportState::Open {
            a.open_reports += 1;
        }
    }
    a.devices = latest.values().map(|r| r.devices).sum();
    a.providers = latest.len() as u64;
    a.detectors = detectors.into_iter().collect();
    a
}

/// The review threshold and whether the product passed it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Review {
    pub threshold_devices: u64,
    pub threshold_providers: u64,
    pub reached: bool,
}

/// Webhook delivery and the CRA Art. 14 clock for one product.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NoticeView {
    /// When the first field report arrived.
    pub opened: Timestamp,
    /// `delivered`, `pending` (being retried) or `no-webhook` (the manufacturer gave none).
    pub webhook: String,
    /// When the manufacturer's webhook took the notice: the clock's start.
    pub notified: Option<Timestamp>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub acknowledged: Option<Timestamp>,
    pub corrective_measure: Option<Timestamp>,
    /// Art. 14(2) deadlines for an actively exploited vulnerability, with due times and
    /// overdue flags.
    pub cra_art14: Vec<cra::Deadline>,
    pub cra_source: cra::Source,
}

/// `field` of a product: "seen compromised in the field".
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldView {
    /// An open report exists: a provider sees devices of this product compromised now.
    pub seen_compromised: bool,
    #[serde(flatten)]
    pub aggregate: Aggregate,
    pub review: Review,
    pub notice: Option<NoticeView>,
}

/// One webhook to deliver.
struct Job {
    product: String,
    url: String,
    body: String,
}

/// The webhook sender: one thread taking jobs in order, retrying each with backoff; the
/// request that caused a notice never waits for it.
pub(crate) struct Notifier {
    tx: Mutex<mpsc::Sender<Job>>,
}

impl Notifier {
    fn start(store: Arc<dyn Store>, retry: Retry) -> std::io::Result<Notifier> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("registry-webhooks".into())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                for job in rx {
                    deliver(&agent, &*store, retry, &job);
                }
            })?;
        Ok(Notifier { tx: Mutex::new(tx) })
    }

    fn send(&self, job: Job) {
        if let Ok(tx) = self.tx.lock() {
            // the thread ends only with the registry; a closed channel means shutdown
            let _ = tx.send(job);
        }
    }
}

fn post(agent: &ureq::Agent, job: &Job) -> Result<(), String> {
    let res = agent
        .post(&job.url)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("iotrust-registry/", env!("CARGO_PKG_VERSION")),
        )
        .send(&job.body)
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("the webhook answered {status}"))
    }
}

fn deliver(agent: &ureq::Agent, store: &dyn Store, retry: Retry, job: &Job) {
    let mut delay = retry.first_delay;
    for attempt in 1..=retry.attempts.max(1) {
        match post(agent, job) {
            Ok(()) => {
                let now = Timestamp::now();
                let event = Event {
                    at: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
                    event: EventKind::ManufacturerNotified,
                    detail: format!(
                        "field notice delivered to the manufacturer's webhook at {now} (attempt {attempt}); the CRA Art. 14 clock runs from here"
                    ),
                };
                if let Err(e) = store.notice_attempt(&job.product, Some(now), None, Some(&event)) {
                    eprintln!("registry: webhook for {}: {e}", job.product);
                }
                return;
            }
            Err(why) => {
                let _ = store.notice_attempt(&job.product, None, Some(&why), None);
                if attempt < retry.attempts {
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }
    eprintln!(
        "registry: webhook for {}: gave up after {} attempts (retried at the next start)",
        job.product, retry.attempts
    );
}

fn utc_day(t: Timestamp) -> Date {
    t.to_zoned(jiff::tz::TimeZone::UTC).date()
}

impl Registry {
    /// Run with these field-report rules; starts the webhook sender if any manufacturer has a
    /// webhook, and queues every notice not delivered yet (a restart resumes them).
    pub fn with_field(mut self, cfg: FieldConfig) -> std::io::Result<Registry> {
        self.notifier = if cfg.webhooks.is_empty() {
            None
        } else {
            Some(Notifier::start(self.store.clone(), cfg.retry)?)
        };
        self.field = cfg;
        if self.notifier.is_some() {
            let pending = self
                .store
                .pending_notices()
                .map_err(std::io::Error::other)?;
            for id in pending {
                self.notify(&id, Timestamp::now())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            }
        }
        Ok(self)
    }

    pub fn field_config(&self) -> &FieldConfig {
        &self.field
    }

    fn webhook(&self, manufacturer: &str) -> Option<&Webhook> {
        self.field
            .webhooks
            .iter()
            .find(|w| w.manufacturer == manufacturer)
    }

    /// Queue the manufacturer's notice for product `id` (if it has a webhook).
    fn notify(&self, id: &str, now: Timestamp) -> Result<(), ApiError> {
        let Some(n) = &self.notifier else {
            return Ok(());
        };
        let Some(p) = self.store.product(id)? else {
            return Ok(());
        };
        let Some(hook) = self.webhook(&p.manufacturer) else {
            return Ok(());
        };
        let field = self.field_view(id, &p.manufacturer, now)?;
        let body = serde_json::json!({
            "event": "field-report",
            "product": id,
            "manufacturer": p.manufacturer,
            "model": p.model,
            "page": format!("/p/{id}"),
            "field": {
                "devices": field.aggregate.devices,
                "providers": field.aggregate.providers,
                "detectors": field.aggregate.detectors,
                "first_seen": field.aggregate.first_seen,
                "last_seen": field.aggregate.last_seen,
            },
            "acknowledge": format!("/api/v1/products/{id}/field/ack"),
            "cra_art14": {"rules": cra::RULES, "source": cra::SOURCE},
        });
        n.send(Job {
            product: id.to_string(),
            url: hook.url.clone(),
            body: body.to_string(),
        });
        Ok(())
    }

    /// The field view of product `id` on `now`.
    pub(crate) fn field_view(
        &self,
        id: &str,
        manufacturer: &str,
        now: Timestamp,
    ) -> Result<FieldView, ApiError> {
        let rows = self.store.field_reports(id)?;
        let a = aggregate(&rows);
        let notice = self
            .store
            .notice(id)?
            .map(|n| self.notice_view(n, manufacturer, now));
        Ok(FieldView {
            seen_compromised: a.open_reports > 0,
            review: Review {
                threshold_devices: self.field.review_devices,
                threshold_providers: self.field.review_providers,
                reached: self.reached(&a),
            },
            aggregate: a,
            notice,
        })
    }

    fn reached(&self, a: &Aggregate) -> bool {
        a.reports > 0
            && a.devices >= self.field.review_devices
            && a.providers >= self.field.review_providers
    }

    fn notice_view(&self, n: Notice, manufacturer: &str, now: Timestamp) -> NoticeView {
        let webhook = if n.notified.is_some() {
            "delivered"
        } else if self.webhook(manufacturer).is_some() {
            "pending"
        } else {
            "no-webhook"
        };
        NoticeView {
            opened: n.opened,
            webhook: webhook.into(),
            notified: n.notified,
            attempts: n.attempts,
            last_error: n.last_error,
            acknowledged: n.acknowledged,
            corrective_measure: n.corrective,
            cra_art14: cra::clock(
                n.notified,
                n.corrective,
                [n.early_warning, n.notification, n.final_report],
                now,
            ),
            cra_source: cra::SOURCE,
        }
    }

    /// `POST /api/v1/field-reports`: a provider's signed report, checked, matched to a
    /// product and stored; `now` is the registry's clock.
    pub fn field_report(
        &self,
        env: &Envelope,
        token: Option<&str>,
        now: Timestamp,
    ) -> Result<FieldReceipt, ApiError> {
        let who = match self.role(token)? {
            Role::Provider(p) => p.clone(),
            _ => return Err(forbidden("only a provider's token may send field reports")),
        };
        let keys: Vec<_> = self
            .provider_keys
            .iter()
            .filter(|k| k.name == who && k.role == KeyRole::Provider)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(forbidden(format!(
                "no key of provider `{who}` is trusted (start the registry with --provider-key {who}.pub.json)"
            )));
        }
        let v = verify_payload(env, FIELD_REPORT_TYPE, &keys).map_err(|e| {
            rejected(format!(
                "signature: {e} (a report must be signed with the key of provider `{who}`)"
            ))
        })?;
        let r: FieldReport = serde_json::from_slice(&v.body).map_err(|e| {
            let hint = if e.to_string().contains("unknown field") {
                " (a field report carries no subscriber identities: no addresses, no MACs, no names)"
            } else {
                ""
            };
            invalid("report", format!("{e}{hint}"))
        })?;
        if r.provider != who {
            return Err(forbidden(format!(
                "the report names provider `{}`, the token and key belong to `{who}`",
                r.provider
            )));
        }
        r.validate(now).map_err(|p| invalid(&p.field, p.message))?;
        let product = match (
            &r.product.mud_url,
            &r.product.manufacturer,
            &r.product.model,
        ) {
            (Some(url), _, _) => self.store.product_by_mud(url)?.ok_or_else(|| {
                not_found(format!(
                    "no registered product declares the MUD URL `{url}`; the report was not kept"
                ))
            })?,
            (None, Some(m), Some(model)) => self
                .store
                .latest(&[(m.clone(), model.clone())])?
                .into_iter()
                .next()
                .flatten()
                .map(|row| row.id)
                .ok_or_else(|| {
                    not_found(format!(
                        "no registered product `{m}` `{model}`; the report was not kept"
                    ))
                })?,
            _ => {
                return Err(invalid(
                    "product",
                    "give either mud_url or manufacturer and model",
                ))
            }
        };
        let row = FieldRow {
            report_id: r.report_id.clone(),
            provider: who.clone(),
            product: product.clone(),
            detectors: r.detectors.clone(),
            devices: r.devices,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            state: r.state,
            received_us: now.as_microsecond(),
            envelope: serde_json::to_string(env).map_err(|e| internal(e.to_string()))?,
        };
        let event = Event {
            at: utc_day(now),
            event: EventKind::FieldReport,
            detail: format!(
                "provider {who} reports {} device(s) seen compromised ({}) since {} — report {}",
                r.devices,
                r.detectors.join(", "),
                r.first_seen,
                r.report_id
            ),
        };
        let (existed, notice_opened) = match self.store.put_field_report(&row, &event, now)? {
            FieldPut::NotYours => {
                return Err(conflict(format!(
                    "report_id `{}` belongs to another provider",
                    r.report_id
                )))
            }
            FieldPut::Stored {
                existed,
                notice_opened,
            } => (existed, notice_opened),
        };
        let a = aggregate(&self.store.field_reports(&product)?);
        let mut under_review = false;
        if self.reached(&a) {
            under_review = self.store.set_status_from(
                &product,
                Status::Active,
                Status::UnderReview,
                &Event {
                    at: utc_day(now),
                    event: EventKind::UnderReview,
                    detail: format!(
                        "seen compromised in the field: {} device(s) by {} provider(s) (threshold {} devices, {} providers); for the issuing authority to decide",
                        a.devices, a.providers, self.field.review_devices, self.field.review_providers
                    ),
                },
            )?;
        }
        if notice_opened {
            self.notify(&product, now)?;
        }
        let status = self.store.product(&product)?.map(|p| p.status);
        Ok(FieldReceipt {
            report_id: r.report_id,
            page: format!("/p/{product}"),
            product,
            outcome: if existed { "updated" } else { "recorded" }.into(),
            under_review: under_review || status == Some(Status::UnderReview),
        })
    }

    /// `POST /api/v1/products/{id}/field/ack`: the product's manufacturer acknowledges the
    /// field notice and may record when it made each CRA Art. 14 report.
    pub fn acknowledge(
        &self,
        id: &str,
        ack: &Acknowledgement,
        token: Option<&str>,
        now: Timestamp,
    ) -> Result<FieldView, ApiError> {
        let who = match self.role(token)? {
            Role::Manufacturer(m) => m.clone(),
            _ => {
                return Err(forbidden(
                    "only the product's manufacturer may acknowledge a field notice",
                ))
            }
        };
        let p = self
            .store
            .product(id)?
            .ok_or_else(|| not_found(format!("no product `{id}`")))?;
        if p.manufacturer != who {
            return Err(forbidden(
                "a manufacturer may only acknowledge its own products",
            ));
        }
        if let Some(note) = &ack.note {
            if note.len() > 2000 {
                return Err(invalid("note", "at most 2000 bytes"));
            }
        }
        let mut n = self.store.notice(id)?.ok_or_else(|| {
            conflict(format!(
                "product `{id}` has no field notice: nothing to acknowledge"
            ))
        })?;
        let latest = now
            .checked_add(jiff::SignedDuration::from_secs(
                crate::report::MAX_SKEW_SECONDS,
            ))
            .unwrap_or(now);
        let day = utc_day(now);
        let mut events = Vec::new();
        if n.acknowledged.is_none() {
            n.acknowledged = Some(now);
            events.push(Event {
                at: day,
                event: EventKind::Acknowledged,
                detail: format!(
                    "field notice acknowledged by {who}{}",
                    ack.note
                        .as_deref()
                        .map(|t| format!(": {}", t.trim()))
                        .unwrap_or_default()
                ),
            });
        }
        let fields: [(&str, Option<Timestamp>, &mut Option<Timestamp>, &str); 4] = [
            ("early_warning_at", ack.early_warning_at, &mut n.early_warning, "Art. 14(2)(a) early warning made"),
            ("notification_at", ack.notification_at, &mut n.notification, "Art. 14(2)(b) vulnerability notification made"),
            ("corrective_measure_at", ack.corrective_measure_at, &mut n.corrective, "corrective or mitigating measure available (Art. 14(2)(c) final report due 14 days later)"),
            ("final_report_at", ack.final_report_at, &mut n.final_report, "Art. 14(2)(c) final report made"),
        ];
        for (field, given, slot, what) in fields {
            let Some(t) = given else { continue };
            if t > latest {
                return Err(invalid(field, "in the future"));
            }
            match slot {
                Some(old) if *old == t => {}
                Some(old) => return Err(conflict(format!("{field}: already recorded as {old}"))),
                None => {
                    *slot = Some(t);
                    events.push(Event {
                        at: day,
                        event: EventKind::CraReport,
                        detail: format!("{what} at {t} (recorded by {who})"),
                    });
                }
            }
        }
        self.store.acknowledge(id, &n, &events)?;
        self.field_view(id, &p.manufacturer, now)
    }

    /// Per product id, in order: open field reports and providers with one (for the bulk
    /// check).
    pub(crate) fn field_open(&self, ids: &[String]) -> Result<Vec<(u64, u64)>, ApiError> {
        Ok(self.store.field_open(ids)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(provider: &str, id: &str, devices: u64, last: i64, state: ReportState) -> FieldRow {
        FieldRow {
            report_id: id.into(),
            provider: provider.into(),
            product: "p".into(),
            detectors: vec![format!("d-{provider}")],
            devices,
            first_seen: Timestamp::from_second(last - 10).unwrap_or_default(),
            last_seen: Timestamp::from_second(last).unwrap_or_default(),
            state,
            received_us: last,
            envelope: String::new(),
        }
    }

    #[test]
    fn devices_sum_each_providers_latest_report() {
        let a = aggregate(&[
            row("a", "a1", 5, 100, ReportState::Open),
            row("a", "a2", 7, 200, ReportState::Closed),
            row("b", "b1", 4, 150, ReportState::Open),
        ]);
        assert_eq!(
            (a.devices, a.providers, a.reports, a.open_reports),
            (11, 2, 3, 2)
        );
        assert_eq!(a.detectors, ["d-a", "d-b"]);
        assert_eq!(a.first_seen.map(|t| t.as_second()), Some(90));
        assert_eq!(a.last_seen.map(|t| t.as_second()), Some(200));
        assert_eq!(aggregate(&[]), Aggregate::default());
    }
}

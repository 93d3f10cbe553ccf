//! The PostgreSQL backend (`--db postgres://…`): a pool of blocking clients.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement, Transaction};

use crate::pool::Pool;
use jiff::civil::Date;

use jiff::Timestamp;

use crate::report::ReportState;
use crate::store::{
    like_pattern, parse_day, parse_opt_time, parse_time, search_text, CheckRow, Event, FieldPut,
    FieldRow, LabEvidence, LevelCount, Notice, ProductFull, Reassessment, Record, Result,
    SchemeLevel, Status, Store, StoreError, Stored, Summary,
};

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn field_row(r: &Row) -> Result<FieldRow> {
    let report_id: String = r.get(0);
    Ok(FieldRow {
        detectors: serde_json::from_str(r.get::<_, &str>(3))
            .map_err(|e| StoreError(format!("field report {report_id}: detectors: {e}")))?,
        report_id,
        provider: r.get(1),
        product: r.get(2),
        devices: count(r.get(4)),
        first_seen: parse_time(r.get::<_, &str>(5))?,
        last_seen: parse_time(r.get::<_, &str>(6))?,
        state: match r.get::<_, &str>(7) {
            "open" => ReportState::Open,
            "closed" => ReportState::Closed,
            other => return Err(StoreError(format!("field report state `{other}`"))),
        },
        received_us: r.get(8),
        envelope: r.get(9),
    })
}

fn write_reassessment(tx: &mut Transaction<'_>, id: &str, r: &Reassessment<'_>) -> Result<()> {
    tx.execute(
        "UPDATE products SET catalog_version = $2, tier = $3, markets = $4, profiles = $5
         WHERE id = $1",
        &[&id, &r.version, &r.tier, &r.markets, &r.profiles],
    )?;
    put_levels(tx, id, r.levels)?;
    for e in r.events {
        add_event(tx, id, e)?;
    }
    Ok(())
}

fn day(r: &Row, i: usize) -> Result<Date> {
    parse_day(r.get::<_, &str>(i))
}

fn opt_day(r: &Row, i: usize) -> Result<Option<Date>> {
    r.get::<_, Option<&str>>(i).map(parse_day).transpose()
}

fn status(r: &Row, i: usize) -> Result<Status> {
    r.get::<_, &str>(i).parse()
}

const SUMMARY_COLS: &str =
    "id, manufacturer, model, name, category, status, tier, label_tier, valid_until, support_end";

pub struct Postgres {
    pool: Pool<Conn>,
}

/// A client with its prepared statements: each read statement is parsed once per connection,
/// then every use is a single round trip.
struct Conn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl Conn {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.query(&st, params)?)
    }

    fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let st = self.statement(sql)?;
        Ok(self.client.query_opt(&st, params)?)
    }

    fn query_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row> {
        let st = self.statement(sql)?;
        Ok(self.client.query_one(&st, params)?)
    }
}

impl Postgres {
    /// Connect to `url` (a libpq-style URL or key=value string) and create the tables if they
    /// are missing. At most `max` connections are opened.
    pub fn open(url: &str, max: usize) -> Result<Postgres> {
        let mut first = Client::connect(url, NoTls)?;
        // one creator at a time, so two servers starting together do not race on the schema
        let mut tx = first.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock(7204512)", &[])?;
        tx.batch_execute(&crate::store::schema("BIGINT", "BIGSERIAL"))?;
        for (table, column, ty) in crate::store::ADDED_COLUMNS {
            // names from a constant list, never from a request
            tx.batch_execute(&format!(
                "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {ty}"
            ))?;
        }
        tx.batch_execute(crate::store::ADDED_INDEXES)?;
        tx.commit()?;
        let url = url.to_string();
        let pool = Pool::new(
            max,
            Box::new(move || {
                Ok(Conn {
                    client: Client::connect(&url, NoTls)?,
                    prepared: HashMap::new(),
                })
            }),
            |c: &Conn| c.client.is_closed(),
        );
        drop(first);
        Ok(Postgres { pool })
    }

    fn write<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut c = self.pool.get()?;
        let mut tx = c.client.transaction()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pool.close_idle_off_thread();
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn stored(r: &Row) -> Result<Stored> {
    Ok(Stored {
        id: r.get(0),
        manufacturer: r.get(1),
        model: r.get(2),
        status: status(r, 3)?,
        tier: r.get(4),
        label_tier: r.get(5),
        valid_until: day(r, 6)?,
        support_end: opt_day(r, 7)?,
        catalog_version: r.get(8),
        document: r.get(9),
        envelope: r.get(10),
        profile: r.get(11),
        profile_format: r.get(12),
        evidence: r.get(13),
        markets: r.get(14),
        profiles: r.get(15),
    })
}

fn summary(r: &Row) -> Result<Summary> {
    Ok(Summary {
        id: r.get(0),
        manufacturer: r.get(1),
        model: r.get(2),
        name: r.get(3),
        category: r.get(4),
        status: status(r, 5)?,
        tier: r.get(6),
        label_tier: r.get(7),
        valid_until: day(r, 8)?,
        support_end: opt_day(r, 9)?,
    })
}

fn put_levels(tx: &mut Transaction<'_>, id: &str, levels: &[SchemeLevel]) -> Result<()> {
    tx.execute("DELETE FROM levels WHERE product = $1", &[&id])?;
    let st = tx.prepare(
        "INSERT INTO levels (product, scheme, level, conformance) VALUES ($1, $2, $3, $4)",
    )?;
    for l in levels {
        tx.execute(&st, &[&id, &l.scheme, &l.level, &l.conformance])?;
    }
    Ok(())
}

fn add_event(tx: &mut Transaction<'_>, id: &str, e: &Event) -> Result<()> {
    tx.execute(
        "INSERT INTO history (product, at, event, detail) VALUES ($1, $2, $3, $4)",
        &[&id, &e.at.to_string(), &e.event.as_str(), &e.detail],
    )?;
    Ok(())
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

fn put_one(tx: &mut Transaction<'_>, rec: &Record, event: &Event) -> Result<bool> {
    let row = tx.query_one(
                "INSERT INTO products (id, manufacturer, model, name, category, status, tier, label_tier,
                    valid_until, support_end, catalog_version, document, envelope, profile,
                    profile_format, evidence, search, updated_us, markets, profiles, mud_url)
                 VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
                 ON CONFLICT (id) DO UPDATE SET manufacturer = $2, model = $3, name = $4, category = $5,
                    status = CASE WHEN products.status = 'under-review' THEN 'under-review' ELSE 'active' END, tier = $6, label_tier = $7, valid_until = $8, support_end = $9,
                    catalog_version = $10, document = $11, envelope = $12, profile = $13,
                    profile_format = $14, evidence = $15, search = $16, updated_us = $17,
                    markets = $18, profiles = $19, mud_url = $20
                 RETURNING (xmax = 0)",
                &[
                    &rec.id,
                    &rec.manufacturer,
                    &rec.model,
                    &rec.name,
                    &rec.category,
                    &rec.tier,
                    &rec.label_tier,
                    &rec.valid_until.to_string(),
                    &rec.support_end.map(|d| d.to_string()),
                    &rec.catalog_version,
                    &rec.document,
                    &rec.envelope,
                    &rec.profile,
                    &rec.profile_format,
                    &rec.evidence,
                    &search_text(rec),
                    &rec.updated_us,
                    &rec.markets,
                    &rec.profiles,
                    &rec.mud_url,
                ],
            )?;
    let inserted: bool = row.get(0);
    put_levels(tx, &rec.id, &rec.levels)?;
    add_event(tx, &rec.id, event)?;
    Ok(!inserted)
}

impl Store for Postgres {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn put(&self, items: &[(Record, Event)]) -> Result<Vec<bool>> {
        self.write(|tx| {
            items
                .iter()
                .map(|(rec, event)| put_one(tx, rec, event))
                .collect()
        })
    }

    fn product(&self, id: &str) -> Result<Option<Stored>> {
        let mut c = self.pool.get()?;
        let row = c.query_opt(
            "SELECT id, manufacturer, model, status, tier, label_tier, valid_until, support_end,
                catalog_version, document, envelope, profile, profile_format, evidence, markets, profiles
             FROM products WHERE id = $1",
            &[&id],
        )?;
        row.as_ref().map(stored).transpose()
    }

    fn product_full(&self, id: &str) -> Result<Option<ProductFull>> {
        let mut c = self.pool.get()?;
        let row = c.query_opt(
            "SELECT id, manufacturer, model, status, tier, label_tier, valid_until, support_end,
                catalog_version, document, envelope, profile, profile_format, evidence, markets, profiles,
                (SELECT coalesce(json_agg(json_build_object('scheme', scheme, 'level', level,
                    'conformance', conformance) ORDER BY scheme), '[]')
                 FROM levels WHERE product = p.id)::text,
                (SELECT coalesce(json_agg(json_build_object('at', at, 'event', event,
                    'detail', detail) ORDER BY seq), '[]')
                 FROM history WHERE product = p.id)::text
             FROM products p WHERE id = $1",
            &[&id],
        )?;
        let Some(r) = row else { return Ok(None) };
        let levels: Vec<SchemeLevel> = serde_json::from_str(r.get::<_, &str>(16))
            .map_err(|e| StoreError(format!("levels of {id}: {e}")))?;
        let history: Vec<Event> = serde_json::from_str(r.get::<_, &str>(17))
            .map_err(|e| StoreError(format!("history of {id}: {e}")))?;
        Ok(Some((stored(&r)?, levels, history)))
    }

    fn levels(&self, id: &str) -> Result<Vec<SchemeLevel>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT scheme, level, conformance FROM levels WHERE product = $1 ORDER BY scheme",
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| SchemeLevel {
                scheme: r.get(0),
                level: r.get(1),
                conformance: r.get(2),
            })
            .collect())
    }

    fn history(&self, id: &str) -> Result<Vec<Event>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT at, event, detail FROM history WHERE product = $1 ORDER BY seq",
            &[&id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Event {
                    at: day(r, 0)?,
                    event: r.get::<_, &str>(1).parse()?,
                    detail: r.get(2),
                })
            })
            .collect()
    }

    fn set_status(&self, id: &str, status: Status, event: &Event) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE products SET status = $2 WHERE id = $1",
                &[&id, &status.as_str()],
            )?;
            if n == 0 {
                return Ok(false);
            }
            add_event(tx, id, event)?;
            Ok(true)
        })
    }

    fn latest(&self, items: &[(String, String)]) -> Result<Vec<Option<CheckRow>>> {
        let mut c = self.pool.get()?;
        let ms: Vec<&str> = items.iter().map(|(m, _)| m.as_str()).collect();
        let models: Vec<&str> = items.iter().map(|(_, m)| m.as_str()).collect();
        // one round trip for the whole list
        let rows = c.query(
            "SELECT DISTINCT ON (p.manufacturer, p.model)
                p.manufacturer, p.model, p.id, p.tier, p.label_tier, p.valid_until, p.status,
                p.markets, p.profiles
             FROM products p
             JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS q(m, mo)) q
               ON p.manufacturer = q.m AND p.model = q.mo
             ORDER BY p.manufacturer, p.model, p.updated_us DESC",
            &[&ms, &models],
        )?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            let key: (String, String) = (r.get(0), r.get(1));
            found.insert(
                key,
                CheckRow {
                    id: r.get(2),
                    tier: r.get(3),
                    label_tier: r.get(4),
                    valid_until: day(r, 5)?,
                    status: status(r, 6)?,
                    markets: r.get(7),
                    profiles: r.get(8),
                },
            );
        }
        Ok(items.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn search(&self, q: &str, lim: u32, offset: u32) -> Result<(u64, Vec<Summary>)> {
        let mut c = self.pool.get()?;
        let pat = like_pattern(q);
        let total: i64 = c
            .query_one(
                "SELECT count(*) FROM products WHERE search LIKE $1 ESCAPE '\\'",
                &[&pat],
            )?
            .get(0);
        let rows = c.query(
            &format!(
                "SELECT {SUMMARY_COLS} FROM products WHERE search LIKE $1 ESCAPE '\\'
                 ORDER BY manufacturer, model, id LIMIT $2 OFFSET $3"
            ),
            &[&pat, &limit(lim), &limit(offset)],
        )?;
        Ok((
            count(total),
            rows.iter().map(summary).collect::<Result<_>>()?,
        ))
    }

    fn ending(&self, from: Date, to: Date, lim: u32) -> Result<Vec<Summary>> {
        let (from, to) = (from.to_string(), to.to_string());
        let mut c = self.pool.get()?;
        let rows = c.query(
            &format!(
                "SELECT {SUMMARY_COLS} FROM products
                 WHERE status IN ('active', 'under-review') AND support_end >= $1 AND support_end <= $2
                 ORDER BY support_end, manufacturer, model LIMIT $3"
            ),
            &[&from, &to, &limit(lim)],
        )?;
        rows.iter().map(summary).collect()
    }

    fn level_counts(&self) -> Result<Vec<LevelCount>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT l.scheme, l.level, l.conformance, count(*) FROM levels l
             JOIN products p ON p.id = l.product WHERE p.status IN ('active', 'under-review')
             GROUP BY l.scheme, l.level, l.conformance ORDER BY l.scheme, l.level",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| LevelCount {
                scheme: r.get(0),
                level: r.get(1),
                conformance: r.get(2),
                products: count(r.get(3)),
            })
            .collect())
    }

    fn tier_counts(&self) -> Result<Vec<(Option<String>, u64)>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT tier, count(*) FROM products WHERE status IN ('active', 'under-review') GROUP BY tier",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), count(r.get(1)))).collect())
    }

    fn stale(&self, version: &str) -> Result<Vec<String>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT id FROM products WHERE catalog_version <> $1 AND status <> 'revoked' ORDER BY id",
            &[&version],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn reassessed(&self, id: &str, r: &Reassessment<'_>) -> Result<()> {
        self.write(|tx| write_reassessment(tx, id, r))
    }

    fn count(&self) -> Result<u64> {
        let mut c = self.pool.get()?;
        let n: i64 = c.query_one("SELECT count(*) FROM products", &[])?.get(0);
        Ok(count(n))
    }

    fn product_by_mud(&self, url: &str) -> Result<Option<String>> {
        let mut c = self.pool.get()?;
        let row = c.query_opt(
            "SELECT id FROM products WHERE mud_url = $1 ORDER BY updated_us DESC LIMIT 1",
            &[&url],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn put_field_report(&self, f: &FieldRow, event: &Event, opened: Timestamp) -> Result<FieldPut> {
        let detectors =
            serde_json::to_string(&f.detectors).map_err(|e| StoreError(e.to_string()))?;
        let devices = i64::try_from(f.devices).unwrap_or(i64::MAX);
        self.write(|tx| {
            // the row lock taken by the upsert orders two senders of one report id
            let row = tx.query_opt(
                "INSERT INTO field_reports (report_id, provider, product, detectors, devices,
                    first_seen, last_seen, state, received_us, envelope)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (report_id) DO UPDATE SET product = $3, detectors = $4, devices = $5,
                    first_seen = $6, last_seen = $7, state = $8, received_us = $9, envelope = $10
                 WHERE field_reports.provider = $2
                 RETURNING (xmax = 0)",
                &[
                    &f.report_id,
                    &f.provider,
                    &f.product,
                    &detectors,
                    &devices,
                    &f.first_seen.to_string(),
                    &f.last_seen.to_string(),
                    &f.state.as_str(),
                    &f.received_us,
                    &f.envelope,
                ],
            )?;
            let Some(row) = row else {
                return Ok(FieldPut::NotYours);
            };
            let inserted: bool = row.get(0);
            if inserted {
                add_event(tx, &f.product, event)?;
            }
            let notice_opened = tx.execute(
                "INSERT INTO notices (product, opened) VALUES ($1, $2) ON CONFLICT (product) DO NOTHING",
                &[&f.product, &opened.to_string()],
            )? == 1;
            Ok(FieldPut::Stored {
                existed: !inserted,
                notice_opened,
            })
        })
    }

    fn field_reports(&self, product: &str) -> Result<Vec<FieldRow>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT report_id, provider, product, detectors, devices, first_seen, last_seen, state,
                received_us, envelope
             FROM field_reports WHERE product = $1 ORDER BY received_us, report_id",
            &[&product],
        )?;
        rows.iter().map(field_row).collect()
    }

    fn field_open(&self, products: &[String]) -> Result<Vec<(u64, u64)>> {
        let mut c = self.pool.get()?;
        let ids: Vec<&str> = products.iter().map(String::as_str).collect();
        let rows = c.query(
            "SELECT product, count(*), count(DISTINCT provider) FROM field_reports
             WHERE product = ANY($1) AND state = 'open' GROUP BY product",
            &[&ids],
        )?;
        let found: HashMap<String, (u64, u64)> = rows
            .iter()
            .map(|r| (r.get(0), (count(r.get(1)), count(r.get(2)))))
            .collect();
        Ok(products
            .iter()
            .map(|p| found.get(p).copied().unwrap_or((0, 0)))
            .collect())
    }

    fn set_status_from(&self, id: &str, from: Status, to: Status, event: &Event) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE products SET status = $3 WHERE id = $1 AND status = $2",
                &[&id, &from.as_str(), &to.as_str()],
            )?;
            if n == 0 {
                return Ok(false);
            }
            add_event(tx, id, event)?;
            Ok(true)
        })
    }

    fn notice(&self, product: &str) -> Result<Option<Notice>> {
        let mut c = self.pool.get()?;
        let row = c.query_opt(
            "SELECT opened, notified, attempts, last_error, acknowledged, early_warning,
                notification, corrective, final_report FROM notices WHERE product = $1",
            &[&product],
        )?;
        let Some(r) = row else { return Ok(None) };
        let t = |i: usize| parse_opt_time(r.get::<_, Option<String>>(i));
        Ok(Some(Notice {
            opened: parse_time(r.get::<_, &str>(0))?,
            notified: t(1)?,
            attempts: u32::try_from(r.get::<_, i64>(2)).unwrap_or(u32::MAX),
            last_error: r.get(3),
            acknowledged: t(4)?,
            early_warning: t(5)?,
            notification: t(6)?,
            corrective: t(7)?,
            final_report: t(8)?,
        }))
    }

    fn pending_notices(&self) -> Result<Vec<String>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT product FROM notices WHERE notified IS NULL ORDER BY opened, product",
            &[],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn notice_attempt(
        &self,
        product: &str,
        delivered: Option<Timestamp>,
        error: Option<&str>,
        event: Option<&Event>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE notices SET attempts = attempts + 1, notified = coalesce(notified, $2),
                    last_error = $3 WHERE product = $1",
                &[&product, &ts(delivered), &error],
            )?;
            if let Some(e) = event {
                add_event(tx, product, e)?;
            }
            Ok(())
        })
    }

    fn acknowledge(&self, product: &str, n: &Notice, events: &[Event]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE notices SET acknowledged = $2, early_warning = $3, notification = $4,
                    corrective = $5, final_report = $6 WHERE product = $1",
                &[
                    &product,
                    &ts(n.acknowledged),
                    &ts(n.early_warning),
                    &ts(n.notification),
                    &ts(n.corrective),
                    &ts(n.final_report),
                ],
            )?;
            for e in events {
                add_event(tx, product, e)?;
            }
            Ok(())
        })
    }

    fn lab_evidence(&self, product: &str) -> Result<Vec<LabEvidence>> {
        let mut c = self.pool.get()?;
        let rows = c.query(
            "SELECT lab, name, document, at FROM lab_evidence WHERE product = $1 ORDER BY seq",
            &[&product],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LabEvidence {
                    lab: r.get(0),
                    name: r.get(1),
                    document: r.get(2),
                    at: day(r, 3)?,
                })
            })
            .collect()
    }

    fn add_lab_evidence(&self, product: &str, e: &LabEvidence, r: &Reassessment<'_>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO lab_evidence (product, lab, name, document, at) VALUES ($1, $2, $3, $4, $5)",
                &[&product, &e.lab, &e.name, &e.document, &e.at.to_string()],
            )?;
            write_reassessment(tx, product, r)
        })
    }
}

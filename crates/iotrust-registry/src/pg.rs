//! The PostgreSQL backend (`--db postgres://…`): a pool of blocking clients.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement, Transaction};

use crate::pool::Pool;
use jiff::civil::Date;

use crate::store::{
    like_pattern, parse_day, search_text, CheckRow, Event, LevelCount, ProductFull, Reassessment,
    Record, Result, SchemeLevel, Status, Store, StoreError, Stored, Summary,
};

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
                    profile_format, evidence, search, updated_us, markets, profiles)
                 VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                 ON CONFLICT (id) DO UPDATE SET manufacturer = $2, model = $3, name = $4, category = $5,
                    status = CASE WHEN products.status = 'under-review' THEN 'under-review' ELSE 'active' END, tier = $6, label_tier = $7, valid_until = $8, support_end = $9,
                    catalog_version = $10, document = $11, envelope = $12, profile = $13,
                    profile_format = $14, evidence = $15, search = $16, updated_us = $17,
                    markets = $18, profiles = $19
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
        self.write(|tx| {
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
        })
    }

    fn count(&self) -> Result<u64> {
        let mut c = self.pool.get()?;
        let n: i64 = c.query_one("SELECT count(*) FROM products", &[])?.get(0);
        Ok(count(n))
    }
}

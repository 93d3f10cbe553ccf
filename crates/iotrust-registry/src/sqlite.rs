//! The SQLite backend: one writer connection, a pool of readers (WAL lets them read while the
//! writer writes).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, Transaction};

use crate::pool::Pool;
use jiff::civil::Date;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use jiff::Timestamp;

use crate::report::ReportState;
use crate::store::{
    like_pattern, parse_opt_time, parse_time, search_text, CheckRow, Event, EventKind, FieldPut,
    FieldRow, LabEvidence, LevelCount, Notice, Reassessment, Record, Result, SchemeLevel, Status,
    Store, StoreError, Stored, Summary,
};

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

fn field_row(r: &Row<'_>) -> rusqlite::Result<(FieldRow, String, String, String, String)> {
    Ok((
        FieldRow {
            report_id: r.get(0)?,
            provider: r.get(1)?,
            product: r.get(2)?,
            detectors: Vec::new(),
            devices: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            first_seen: Timestamp::UNIX_EPOCH,
            last_seen: Timestamp::UNIX_EPOCH,
            state: ReportState::Open,
            received_us: r.get(8)?,
            envelope: r.get(9)?,
        },
        r.get(3)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

/// The typed columns of a field report read as text.
fn finish_field(
    (mut f, detectors, first, last, state): (FieldRow, String, String, String, String),
) -> Result<FieldRow> {
    f.detectors = serde_json::from_str(&detectors)
        .map_err(|e| StoreError(format!("field report {}: detectors: {e}", f.report_id)))?;
    f.first_seen = parse_time(&first)?;
    f.last_seen = parse_time(&last)?;
    f.state = match state.as_str() {
        "open" => ReportState::Open,
        "closed" => ReportState::Closed,
        other => return Err(StoreError(format!("field report state `{other}`"))),
    };
    Ok(f)
}

fn add_events(tx: &Transaction<'_>, id: &str, events: &[Event]) -> Result<()> {
    for e in events {
        add_event(tx, id, e)?;
    }
    Ok(())
}

fn write_reassessment(tx: &Transaction<'_>, id: &str, r: &Reassessment<'_>) -> Result<()> {
    tx.execute(
        "UPDATE products SET catalog_version = ?2, tier = ?3, markets = ?4, profiles = ?5
         WHERE id = ?1",
        params![id, r.version, r.tier, r.markets, r.profiles],
    )?;
    put_levels(tx, id, r.levels)?;
    add_events(tx, id, r.events)
}

/// Named values are stored as their text.
macro_rules! sql_text {
    ($t:ty) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $t {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                v.as_str()?
                    .parse()
                    .map_err(|e: StoreError| FromSqlError::Other(e.0.into()))
            }
        }
    };
}
sql_text!(Status);
sql_text!(EventKind);

/// A day column (`YYYY-MM-DD`).
fn day(r: &Row<'_>, i: usize) -> rusqlite::Result<Date> {
    let s: String = r.get(i)?;
    s.parse().map_err(|e: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

fn opt_day(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Date>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| {
        s.parse().map_err(|e: jiff::Error| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    })
    .transpose()
}

const SUMMARY_COLS: &str =
    "id, manufacturer, model, name, category, status, tier, label_tier, valid_until, support_end";

pub struct Sqlite {
    writer: Mutex<Connection>,
    readers: Pool<Connection>,
}

fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Sqlite {
    /// Open (creating if needed) the database file at `path`.
    pub fn open(path: &Path, readers: usize) -> Result<Sqlite> {
        let conn = Connection::open(path)?;
        setup(&conn)?;
        // WAL with full sync: an acknowledged write survives a crash of the process or machine
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(&crate::store::schema("INTEGER", "INTEGER"))?;
        migrate(&conn)?;
        let p = path.to_path_buf();
        let open = move || -> Result<Connection> {
            let c = Connection::open_with_flags(
                &p,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            setup(&c)?;
            Ok(c)
        };
        Ok(Sqlite {
            writer: Mutex::new(conn),
            readers: Pool::new(readers, Box::new(open), |_| false),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError("writer lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Add the columns a database created by an older release lacks.
fn migrate(conn: &Connection) -> Result<()> {
    for (table, column, ty) in crate::store::ADDED_COLUMNS {
        let have: i64 = conn.query_row(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |r| r.get(0),
        )?;
        if have == 0 {
            // names from a constant list, never from a request
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    conn.execute_batch(crate::store::ADDED_INDEXES)?;
    Ok(())
}

fn summary(r: &Row<'_>) -> rusqlite::Result<Summary> {
    Ok(Summary {
        id: r.get(0)?,
        manufacturer: r.get(1)?,
        model: r.get(2)?,
        name: r.get(3)?,
        category: r.get(4)?,
        status: r.get(5)?,
        tier: r.get(6)?,
        label_tier: r.get(7)?,
        valid_until: day(r, 8)?,
        support_end: opt_day(r, 9)?,
    })
}

fn put_levels(tx: &Transaction<'_>, id: &str, levels: &[SchemeLevel]) -> Result<()> {
    tx.execute("DELETE FROM levels WHERE product = ?1", params![id])?;
    let mut st = tx.prepare_cached(
        "INSERT INTO levels (product, scheme, level, conformance) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for l in levels {
        st.execute(params![id, l.scheme, l.level, l.conformance])?;
    }
    Ok(())
}

fn add_event(tx: &Transaction<'_>, id: &str, e: &Event) -> Result<()> {
    tx.prepare_cached("INSERT INTO history (product, at, event, detail) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, e.at.to_string(), e.event, e.detail])?;
    Ok(())
}

fn put_one(tx: &Transaction<'_>, rec: &Record, event: &Event) -> Result<bool> {
    let existed = tx
        .query_row(
            "SELECT 1 FROM products WHERE id = ?1",
            params![rec.id],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    tx.execute(
                "INSERT INTO products (id, manufacturer, model, name, category, status, tier, label_tier,
                    valid_until, support_end, catalog_version, document, envelope, profile,
                    profile_format, evidence, search, updated_us, markets, profiles, mud_url)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
                 ON CONFLICT(id) DO UPDATE SET manufacturer = ?2, model = ?3, name = ?4, category = ?5,
                    status = CASE WHEN products.status = 'under-review' THEN 'under-review' ELSE 'active' END, tier = ?6, label_tier = ?7, valid_until = ?8, support_end = ?9,
                    catalog_version = ?10, document = ?11, envelope = ?12, profile = ?13,
                    profile_format = ?14, evidence = ?15, search = ?16, updated_us = ?17,
                    markets = ?18, profiles = ?19, mud_url = ?20",
                params![
                    rec.id,
                    rec.manufacturer,
                    rec.model,
                    rec.name,
                    rec.category,
                    rec.tier,
                    rec.label_tier,
                    rec.valid_until.to_string(),
                    rec.support_end.map(|d| d.to_string()),
                    rec.catalog_version,
                    rec.document,
                    rec.envelope,
                    rec.profile,
                    rec.profile_format,
                    rec.evidence,
                    search_text(rec),
                    rec.updated_us,
                    rec.markets,
                    rec.profiles,
                    rec.mud_url
                ],
            )?;
    put_levels(tx, &rec.id, &rec.levels)?;
    add_event(tx, &rec.id, event)?;
    Ok(existed)
}

impl Store for Sqlite {
    fn backend(&self) -> &'static str {
        "sqlite"
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
        let c = self.readers.get()?;
        let row = c
            .prepare_cached(
                "SELECT id, manufacturer, model, status, tier, label_tier, valid_until, support_end,
                    catalog_version, document, envelope, profile, profile_format, evidence, markets, profiles
                 FROM products WHERE id = ?1",
            )?
            .query_row(params![id], |r| {
                Ok(Stored {
                    id: r.get(0)?,
                    manufacturer: r.get(1)?,
                    model: r.get(2)?,
                    status: r.get(3)?,
                    tier: r.get(4)?,
                    label_tier: r.get(5)?,
                    valid_until: day(r, 6)?,
                    support_end: opt_day(r, 7)?,
                    catalog_version: r.get(8)?,
                    document: r.get(9)?,
                    envelope: r.get(10)?,
                    profile: r.get(11)?,
                    profile_format: r.get(12)?,
                    evidence: r.get(13)?,
                    markets: r.get(14)?,
                    profiles: r.get(15)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    fn levels(&self, id: &str) -> Result<Vec<SchemeLevel>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT scheme, level, conformance FROM levels WHERE product = ?1 ORDER BY scheme",
        )?;
        let rows = st
            .query_map(params![id], |r| {
                Ok(SchemeLevel {
                    scheme: r.get(0)?,
                    level: r.get(1)?,
                    conformance: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn history(&self, id: &str) -> Result<Vec<Event>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT at, event, detail FROM history WHERE product = ?1 ORDER BY seq",
        )?;
        let rows = st
            .query_map(params![id], |r| {
                Ok(Event {
                    at: day(r, 0)?,
                    event: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_status(&self, id: &str, status: Status, event: &Event) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE products SET status = ?2 WHERE id = ?1",
                params![id, status],
            )?;
            if n == 0 {
                return Ok(false);
            }
            add_event(tx, id, event)?;
            Ok(true)
        })
    }

    fn latest(&self, items: &[(String, String)]) -> Result<Vec<Option<CheckRow>>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT id, tier, label_tier, valid_until, status, markets, profiles FROM products
             WHERE manufacturer = ?1 AND model = ?2 ORDER BY updated_us DESC LIMIT 1",
        )?;
        let mut out = Vec::with_capacity(items.len());
        for (m, model) in items {
            out.push(
                st.query_row(params![m, model], |r| {
                    Ok(CheckRow {
                        id: r.get(0)?,
                        tier: r.get(1)?,
                        label_tier: r.get(2)?,
                        valid_until: day(r, 3)?,
                        status: r.get(4)?,
                        markets: r.get(5)?,
                        profiles: r.get(6)?,
                    })
                })
                .optional()?,
            );
        }
        Ok(out)
    }

    fn search(&self, q: &str, limit: u32, offset: u32) -> Result<(u64, Vec<Summary>)> {
        let c = self.readers.get()?;
        let pat = like_pattern(q);
        let total: i64 = c
            .prepare_cached("SELECT count(*) FROM products WHERE search LIKE ?1 ESCAPE '\\'")?
            .query_row(params![pat], |r| r.get(0))?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SUMMARY_COLS} FROM products WHERE search LIKE ?1 ESCAPE '\\'
             ORDER BY manufacturer, model, id LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = st
            .query_map(params![pat, limit, offset], summary)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((u64::try_from(total).unwrap_or(0), rows))
    }

    fn ending(&self, from: Date, to: Date, limit: u32) -> Result<Vec<Summary>> {
        let (from, to) = (from.to_string(), to.to_string());
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(&format!(
            "SELECT {SUMMARY_COLS} FROM products
             WHERE status IN ('active', 'under-review') AND support_end >= ?1 AND support_end <= ?2
             ORDER BY support_end, manufacturer, model LIMIT ?3"
        ))?;
        let rows = st
            .query_map(params![from, to, limit], summary)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn level_counts(&self) -> Result<Vec<LevelCount>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT l.scheme, l.level, l.conformance, count(*) FROM levels l
             JOIN products p ON p.id = l.product WHERE p.status IN ('active', 'under-review')
             GROUP BY l.scheme, l.level, l.conformance ORDER BY l.scheme, l.level",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(LevelCount {
                    scheme: r.get(0)?,
                    level: r.get(1)?,
                    conformance: r.get(2)?,
                    products: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn tier_counts(&self) -> Result<Vec<(Option<String>, u64)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT tier, count(*) FROM products WHERE status IN ('active', 'under-review') GROUP BY tier",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn stale(&self, version: &str) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT id FROM products WHERE catalog_version <> ?1 AND status <> 'revoked' ORDER BY id",
        )?;
        let rows = st
            .query_map(params![version], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn reassessed(&self, id: &str, r: &Reassessment<'_>) -> Result<()> {
        self.write(|tx| write_reassessment(tx, id, r))
    }

    fn count(&self) -> Result<u64> {
        let c = self.readers.get()?;
        let n: i64 = c.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn product_by_mud(&self, url: &str) -> Result<Option<String>> {
        let c = self.readers.get()?;
        let id = c
            .prepare_cached(
                "SELECT id FROM products WHERE mud_url = ?1 ORDER BY updated_us DESC LIMIT 1",
            )?
            .query_row(params![url], |r| r.get(0))
            .optional()?;
        Ok(id)
    }

    fn put_field_report(&self, f: &FieldRow, event: &Event, opened: Timestamp) -> Result<FieldPut> {
        let detectors =
            serde_json::to_string(&f.detectors).map_err(|e| StoreError(e.to_string()))?;
        self.write(|tx| {
            let owner: Option<String> = tx
                .query_row(
                    "SELECT provider FROM field_reports WHERE report_id = ?1",
                    params![f.report_id],
                    |r| r.get(0),
                )
                .optional()?;
            if owner.as_ref().is_some_and(|o| *o != f.provider) {
                return Ok(FieldPut::NotYours);
            }
            tx.execute(
                "INSERT INTO field_reports (report_id, provider, product, detectors, devices,
                    first_seen, last_seen, state, received_us, envelope)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(report_id) DO UPDATE SET product = ?3, detectors = ?4, devices = ?5,
                    first_seen = ?6, last_seen = ?7, state = ?8, received_us = ?9, envelope = ?10",
                params![
                    f.report_id,
                    f.provider,
                    f.product,
                    detectors,
                    i64::try_from(f.devices).unwrap_or(i64::MAX),
                    f.first_seen.to_string(),
                    f.last_seen.to_string(),
                    f.state.as_str(),
                    f.received_us,
                    f.envelope
                ],
            )?;
            let existed = owner.is_some();
            if !existed {
                add_event(tx, &f.product, event)?;
            }
            let notice_opened = tx.execute(
                "INSERT INTO notices (product, opened) VALUES (?1, ?2) ON CONFLICT(product) DO NOTHING",
                params![f.product, opened.to_string()],
            )? == 1;
            Ok(FieldPut::Stored {
                existed,
                notice_opened,
            })
        })
    }

    fn field_reports(&self, product: &str) -> Result<Vec<FieldRow>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT report_id, provider, product, detectors, devices, first_seen, last_seen, state,
                received_us, envelope
             FROM field_reports WHERE product = ?1 ORDER BY received_us, report_id",
        )?;
        let rows = st
            .query_map(params![product], field_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_field).collect()
    }

    fn field_open(&self, products: &[String]) -> Result<Vec<(u64, u64)>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT count(*), count(DISTINCT provider) FROM field_reports
             WHERE product = ?1 AND state = 'open'",
        )?;
        let mut out = Vec::with_capacity(products.len());
        for p in products {
            out.push(st.query_row(params![p], |r| {
                Ok((
                    u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                    u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                ))
            })?);
        }
        Ok(out)
    }

    fn set_status_from(&self, id: &str, from: Status, to: Status, event: &Event) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE products SET status = ?3 WHERE id = ?1 AND status = ?2",
                params![id, from, to],
            )?;
            if n == 0 {
                return Ok(false);
            }
            add_event(tx, id, event)?;
            Ok(true)
        })
    }

    fn notice(&self, product: &str) -> Result<Option<Notice>> {
        let c = self.readers.get()?;
        let row = c
            .prepare_cached(
                "SELECT opened, notified, attempts, last_error, acknowledged, early_warning,
                    notification, corrective, final_report FROM notices WHERE product = ?1",
            )?
            .query_row(params![product], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    [
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ],
                ))
            })
            .optional()?;
        let Some((opened, notified, attempts, last_error, [ack, ew, no, co, fr])) = row else {
            return Ok(None);
        };
        Ok(Some(Notice {
            opened: parse_time(&opened)?,
            notified: parse_opt_time(notified)?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            last_error,
            acknowledged: parse_opt_time(ack)?,
            early_warning: parse_opt_time(ew)?,
            notification: parse_opt_time(no)?,
            corrective: parse_opt_time(co)?,
            final_report: parse_opt_time(fr)?,
        }))
    }

    fn pending_notices(&self) -> Result<Vec<String>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT product FROM notices WHERE notified IS NULL ORDER BY opened, product",
        )?;
        let rows = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
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
                "UPDATE notices SET attempts = attempts + 1, notified = coalesce(notified, ?2),
                    last_error = ?3 WHERE product = ?1",
                params![product, ts(delivered), error],
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
                "UPDATE notices SET acknowledged = ?2, early_warning = ?3, notification = ?4,
                    corrective = ?5, final_report = ?6 WHERE product = ?1",
                params![
                    product,
                    ts(n.acknowledged),
                    ts(n.early_warning),
                    ts(n.notification),
                    ts(n.corrective),
                    ts(n.final_report)
                ],
            )?;
            add_events(tx, product, events)
        })
    }

    fn lab_evidence(&self, product: &str) -> Result<Vec<LabEvidence>> {
        let c = self.readers.get()?;
        let mut st = c.prepare_cached(
            "SELECT lab, name, document, at FROM lab_evidence WHERE product = ?1 ORDER BY seq",
        )?;
        let rows = st
            .query_map(params![product], |r| {
                Ok(LabEvidence {
                    lab: r.get(0)?,
                    name: r.get(1)?,
                    document: r.get(2)?,
                    at: day(r, 3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn add_lab_evidence(&self, product: &str, e: &LabEvidence, r: &Reassessment<'_>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO lab_evidence (product, lab, name, document, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![product, e.lab, e.name, e.document, e.at.to_string()],
            )?;
            write_reassessment(tx, product, r)
        })
    }
}

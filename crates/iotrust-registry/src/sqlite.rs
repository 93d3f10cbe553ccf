//! The SQLite backend: one writer connection, a pool of readers (WAL lets them read while the
//! writer writes).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, Transaction};

use crate::pool::Pool;
use jiff::civil::Date;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;

use crate::store::{
    like_pattern, search_text, CheckRow, Event, EventKind, LevelCount, Reassessment, Record,
    Result, SchemeLevel, Status, Store, StoreError, Stored, Summary,
};

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
                    profile_format, evidence, search, updated_us, markets, profiles)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
                 ON CONFLICT(id) DO UPDATE SET manufacturer = ?2, model = ?3, name = ?4, category = ?5,
                    status = CASE WHEN products.status = 'under-review' THEN 'under-review' ELSE 'active' END, tier = ?6, label_tier = ?7, valid_until = ?8, support_end = ?9,
                    catalog_version = ?10, document = ?11, envelope = ?12, profile = ?13,
                    profile_format = ?14, evidence = ?15, search = ?16, updated_us = ?17,
                    markets = ?18, profiles = ?19",
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
                    rec.profiles
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
        self.write(|tx| {
            tx.execute(
                "UPDATE products SET catalog_version = ?2, tier = ?3, markets = ?4, profiles = ?5
                 WHERE id = ?1",
                params![id, r.version, r.tier, r.markets, r.profiles],
            )?;
            put_levels(tx, id, r.levels)?;
            for e in r.events {
                add_event(tx, id, e)?;
            }
            Ok(())
        })
    }

    fn count(&self) -> Result<u64> {
        let c = self.readers.get()?;
        let n: i64 = c.query_row("SELECT count(*) FROM products", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

//! The audit trail of people's writes: which operator account, in which role, wrote to which
//! system (method and path), when, and how it was answered. A system's door records the entry
//! before the handler runs, so a write whose entry cannot be stored does not happen (503), and
//! completes it with the status afterwards. An entry without a status is a write whose answer
//! was never given (the process died during it).
//!
//! The trail is a store of its own (`audit`, beside the systems'), shared by the processes of one
//! store; `boutique audit-trail` reads it.

use std::sync::Arc;

use serde::Serialize;
use sqlx::migrate::Migrator;
use time::OffsetDateTime;

use super::clock::{Clock, from_millis, to_millis};
use super::db::Db;
use super::id::random_hex_id;
use super::identity::operators::Person;
use super::{Error, Result};

/// The trail's migrations.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/audit");

/// The store's name (its SQLite file, its PostgreSQL schema).
pub const STORE: &str = "audit";

/// Where people's writes are recorded.
#[derive(Debug, Clone)]
pub struct AuditTrail {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// One person's write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The entry.
    pub id: String,
    /// When the door admitted the write.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The operator account.
    pub person: String,
    /// The role it acted in.
    pub role: String,
    /// The system written to.
    pub system: String,
    /// The HTTP method.
    pub method: String,
    /// The request's path and query.
    pub target: String,
    /// The status it was answered with; `None` if no answer was given.
    pub status: Option<u16>,
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this person's.
    pub person: Option<String>,
    /// Only writes to this system.
    pub system: Option<String>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: String,
    at: i64,
    person: String,
    role: String,
    system: String,
    method: String,
    target: String,
    status: Option<i32>,
}

/// A write being recorded: [`AuditTrail::finish`] completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending(String);

impl AuditTrail {
    /// The trail in `db` (opened with [`MIGRATOR`]), dated by `clock`.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> AuditTrail {
        AuditTrail { db, clock }
    }

    /// Closes its store once the doors recording in it have stopped; later writes are refused.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Records that `person` is writing `method target` to `system`.
    pub async fn begin(&self, person: &Person, system: &str, method: &str, target: &str) -> Result<Pending> {
        let id = random_hex_id("aud_");
        sqlx::query(
            "INSERT INTO audit_entries (id, at, person, role, system, method, target) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(to_millis(self.clock.now()))
        .bind(&person.name)
        .bind(person.role.name())
        .bind(system)
        .bind(method)
        .bind(target)
        .execute(self.db.pool())
        .await?;
        Ok(Pending(id))
    }

    /// Completes `pending` with the status the write was answered with.
    pub async fn finish(&self, pending: Pending, status: u16) -> Result<()> {
        sqlx::query("UPDATE audit_entries SET status = $1 WHERE id = $2")
            .bind(i32::from(status))
            .bind(&pending.0)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The newest `limit` entries that `filter` wants, newest first.
    pub async fn entries(&self, filter: &Filter, limit: u32) -> Result<Vec<Entry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(
            "SELECT id, at, person, role, system, method, target, status FROM audit_entries \
             WHERE ($1 IS NULL OR person = $1) AND ($2 IS NULL OR system = $2) ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(filter.person.as_deref())
        .bind(filter.system.as_deref())
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                let status = row.status.map(u16::try_from).transpose().map_err(|_| Error::Internal {
                    detail: format!("audit entry {} has an impossible status", row.id),
                })?;
                Ok(Entry {
                    id: row.id,
                    at: from_millis(row.at),
                    person: row.person,
                    role: row.role,
                    system: row.system,
                    method: row.method,
                    target: row.target,
                    status,
                })
            })
            .collect()
    }
}

//! What the CRM's parts share of its tables: the store, idempotent creates, newest-first pages
//! and the customer row every part hangs off. Each part adds its own methods to [`CrmStore`] in
//! its `store` module.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryAs;
use sqlx::{Any, AnyConnection, FromRow, Transaction};
use time::OffsetDateTime;

use super::domain::CustomerId;
use crate::platform::clock::to_millis;
use crate::platform::db::Db;
use crate::platform::page::{self, Page};
use crate::platform::{Error, Result};

/// How long idempotency keys are remembered.
const IDEMPOTENCY_KEY_RETENTION: time::Duration = time::Duration::hours(24);

/// An idempotency key sent with a create, scoped to the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The stored key: the path and the caller's key.
    pub key: String,
    /// The checked request, to tell a retry from a different request.
    pub fingerprint: String,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// It was created now.
    Created(T),
    /// The same request came before; this is what it created.
    Replayed(T),
}

/// How a create starts.
pub(super) enum Begun<T> {
    /// A transaction holding the idempotency key, if any: go ahead.
    Fresh(Transaction<'static, Any>),
    /// What the first request with the key created.
    Replayed(T),
}

/// Where a newest-first page continues: after the item created at `at` with id `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub(super) at: i64,
    pub(super) id: String,
}

impl After {
    /// The first page.
    pub fn start() -> Self {
        After { at: i64::MAX, id: String::new() }
    }

    /// The page after a `next_cursor`; a cursor this service did not issue is a 422 on `cursor`.
    pub fn from_cursor(cursor: &str) -> Result<Self> {
        page::decode_cursor(cursor)?
            .split_once('/')
            .and_then(|(at, id)| Some(After { at: at.parse().ok()?, id: id.to_owned() }))
            .ok_or_else(|| Error::invalid("cursor", "is not a cursor this service issued; start again without it"))
    }
}

/// Pages `rows` fetched newest first (up to `limit + 1` of them), with the cursor after the last.
pub(super) fn newest_first<T>(rows: Vec<T>, limit: u32, position: impl Fn(&T) -> (OffsetDateTime, &str)) -> Page<T> {
    let keyed: Vec<(String, T)> = rows
        .into_iter()
        .map(|row| {
            let (at, id) = position(&row);
            (format!("{}/{id}", to_millis(at)), row)
        })
        .collect();
    let page = page::paginate(keyed, limit, |(key, _)| key.clone());
    Page { items: page.items.into_iter().map(|(_, row)| row).collect(), next_cursor: page.next_cursor }
}

/// Reads and writes customers and everything about them.
#[derive(Debug, Clone)]
pub struct CrmStore {
    pub(super) db: Db,
}

/// The error of a stored value that does not parse.
pub(super) fn corrupt(what: &str, why: impl std::fmt::Display) -> Error {
    Error::Internal { detail: format!("a stored {what} is invalid: {why}") }
}

fn encode<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal { detail: format!("could not encode a response: {e}") })
}

impl CrmStore {
    /// A store over `db`, which must be migrated with the CRM migrations.
    pub fn new(db: Db) -> Self {
        CrmStore { db }
    }

    /// Starts a write that creates something: a transaction that holds `key`, or what the first
    /// request with the key created.
    pub(super) async fn begin_create<T: DeserializeOwned>(
        &self,
        key: Option<&IdempotencyKey>,
        now: OffsetDateTime,
    ) -> Result<Begun<T>> {
        let mut tx = self.db.begin_write().await?;
        let Some(key) = key else {
            return Ok(Begun::Fresh(tx));
        };
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(to_millis(now - IDEMPOTENCY_KEY_RETENTION))
            .execute(&mut *tx)
            .await?;
        // A concurrent create with the same key waits on the row until its transaction ends.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, response, created_at) VALUES ($1, $2, '', $3) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(Begun::Fresh(tx));
        }
        drop(tx);
        let (fingerprint, response): (String, String) =
            sqlx::query_as("SELECT fingerprint, response FROM idempotency_keys WHERE key = $1")
                .bind(&key.key)
                .fetch_one(self.db.pool())
                .await?;
        if fingerprint != key.fingerprint {
            return Err(Error::invalid(
                "Idempotency-Key",
                "was already used for a different request; send a new key for a new request",
            ));
        }
        let created = serde_json::from_str(&response).map_err(|e| corrupt("idempotent response", e))?;
        Ok(Begun::Replayed(created))
    }

    /// Ends a create begun with [`Self::begin_create`]: records `created` under the key, commits.
    pub(super) async fn finish_create<T: Serialize>(
        mut tx: Transaction<'static, Any>,
        key: Option<&IdempotencyKey>,
        created: T,
    ) -> Result<Outcome<T>> {
        if let Some(key) = key {
            sqlx::query("UPDATE idempotency_keys SET response = $2 WHERE key = $1")
                .bind(&key.key)
                .bind(encode(&created)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::Created(created))
    }

    /// Starts a write for loading demo data.
    pub(super) async fn begin_seed(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.db.begin_write().await?)
    }
}

/// A query parameter of either type the queries here bind.
pub(super) enum Param {
    Text(String),
    Int(i64),
}

/// The query `sql` (built here, from constant fragments) with `params` bound in order, reading
/// rows of `R`.
pub(super) fn query_rows<R>(sql: String, params: Vec<Param>) -> QueryAs<'static, Any, R, AnyArguments>
where
    R: for<'r> FromRow<'r, AnyRow>,
{
    params.into_iter().fold(sqlx::query_as(sqlx::AssertSqlSafe(sql)), |query, param| match param {
        Param::Text(text) => query.bind(text),
        Param::Int(number) => query.bind(number),
    })
}

/// Bumps the customer's version, which also locks the row until the transaction ends;
/// not found if there is no such customer.
pub(super) async fn lock_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<()> {
    let locked = sqlx::query("UPDATE customers SET version = version + 1 WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *connection)
        .await?;
    if locked.rows_affected() == 0 {
        return Err(Error::not_found("customer", id.as_str()));
    }
    Ok(())
}

/// Not found if there is no such customer.
pub(super) async fn ensure_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM customers WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?;
    found.map(drop).ok_or_else(|| Error::not_found("customer", id.as_str()))
}

/// `$first, $first+1, …` for `count` parameters, for an `IN (…)` list.
pub(super) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::clock::from_millis;

    #[test]
    fn cursors_carry_time_and_id() {
        let page = newest_first(vec![(5_i64, "b"), (5, "a"), (3, "c")], 2, |(at, id)| (from_millis(*at), id));
        let after = After::from_cursor(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(after, After { at: 5, id: "a".to_owned() });
        assert!(After::from_cursor(&page::encode_cursor("no-slash")).is_err());
        assert!(After::from_cursor("%%").is_err());
        assert_eq!(placeholders(3, 2), "$3, $4");
    }
}

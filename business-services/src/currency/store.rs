//! The currency service's table of reference rates.

use time::OffsetDateTime;

use super::domain::{DEMO_RATES, Rate, parse_nanos};
use crate::money::CurrencyCode;
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::{Error, Result};

/// A rate and when it was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedRate {
    /// The rate.
    pub rate: Rate,
    /// When it was published.
    pub as_of: OffsetDateTime,
}

/// Reads and writes reference rates.
#[derive(Debug, Clone)]
pub struct RateStore {
    db: Db,
}

impl RateStore {
    /// A store over `db`, which must be migrated with the currency migrations.
    pub fn new(db: Db) -> Self {
        RateStore { db }
    }

    /// Every published rate, by currency code.
    pub async fn all(&self) -> Result<Vec<PublishedRate>> {
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT currency, per_eur_nanos, as_of FROM rates ORDER BY currency")
                .fetch_all(self.db.pool())
                .await?;
        rows.into_iter().map(published).collect()
    }

    /// The rate of one currency, if published.
    pub async fn get(&self, currency: CurrencyCode) -> Result<Option<PublishedRate>> {
        let row: Option<(String, i64, i64)> =
            sqlx::query_as("SELECT currency, per_eur_nanos, as_of FROM rates WHERE currency = $1")
                .bind(currency.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        row.map(published).transpose()
    }

    /// Publishes the demo rates for currencies that have none yet; returns how many were added.
    pub async fn insert_demo_rates(&self, as_of: OffsetDateTime) -> Result<usize> {
        let mut tx = self.db.begin_write().await?;
        let mut added = 0;
        for (code, decimal) in DEMO_RATES {
            let nanos = parse_nanos(decimal).map_err(|detail| Error::Internal { detail })?;
            let result = sqlx::query(
                "INSERT INTO rates (currency, per_eur_nanos, as_of) VALUES ($1, $2, $3) ON CONFLICT (currency) DO NOTHING",
            )
            .bind(*code)
            .bind(nanos)
            .bind(to_millis(as_of))
            .execute(&mut *tx)
            .await?;
            added += usize::try_from(result.rows_affected()).unwrap_or_default();
        }
        tx.commit().await?;
        Ok(added)
    }
}

fn published((code, per_eur_nanos, as_of): (String, i64, i64)) -> Result<PublishedRate> {
    let currency = CurrencyCode::parse(&code).map_err(|detail| Error::Internal { detail })?;
    Ok(PublishedRate { rate: Rate { currency, per_eur_nanos }, as_of: from_millis(as_of) })
}

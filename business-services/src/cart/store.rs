//! The cart tables. Every change is one transaction: concurrent updates of one cart serialize
//! on the row, and a quantity over the limit is refused by the database's CHECK constraint.

use sqlx::{Any, AnyConnection, Transaction};
use time::OffsetDateTime;

use super::domain::{AbandonPolicy, Cart, CartChange, CartId, CartItem, MAX_QUANTITY};
use crate::contracts::product::ProductId;
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::Db;
use crate::platform::error::on_constraint_violation;
use crate::platform::idempotency::{self, Claim, Outcome};
use crate::platform::{Error, Result};

/// Reads and writes carts.
#[derive(Debug, Clone)]
pub struct CartStore {
    db: Db,
    policy: AbandonPolicy,
}

impl CartStore {
    /// A store over `db` (migrated with the cart migrations) that drops carts as `policy` says.
    pub fn new(db: Db, policy: AbandonPolicy) -> Self {
        CartStore { db, policy }
    }

    /// The cart `id` at `now`: empty if it does not exist or was abandoned.
    pub async fn get(&self, id: &CartId, now: OffsetDateTime) -> Result<Cart> {
        let mut connection = self.db.pool().acquire().await?;
        load(&mut connection, id, now, &self.policy).await
    }

    /// Applies `change` to the cart `id` at `now`, at most once per idempotency key.
    ///
    /// An abandoned cart is cleared first, so its old lines never come back.
    pub async fn change(
        &self,
        id: &CartId,
        now: OffsetDateTime,
        change: &CartChange,
        claim: Option<&Claim>,
    ) -> Result<Outcome<Cart>> {
        let mut tx = self.db.begin_write().await?;
        if let Some(claim) = claim
            && !idempotency::claim(&mut tx, claim, now).await?
        {
            drop(tx);
            return idempotency::replay_taken(&self.db, claim).await;
        }
        sqlx::query("DELETE FROM carts WHERE id = $1 AND updated_at < $2")
            .bind(id.as_str())
            .bind(to_millis(self.policy.cutoff(now)))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO carts (id, created_at, updated_at) VALUES ($1, $2, $2) \
             ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(id.as_str())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        apply(&mut tx, id, now, change, &self.policy).await?;
        let cart = load(&mut tx, id, now, &self.policy).await?;
        if let Some(claim) = claim {
            idempotency::record(&mut tx, claim, &cart).await?;
        }
        tx.commit().await?;
        Ok(Outcome::Done(cart))
    }

    /// Deletes carts abandoned at `now`; returns how many.
    pub async fn delete_abandoned(&self, now: OffsetDateTime) -> Result<u64> {
        let result = sqlx::query("DELETE FROM carts WHERE updated_at < $1")
            .bind(to_millis(self.policy.cutoff(now)))
            .execute(self.db.pool())
            .await?;
        Ok(result.rows_affected())
    }
}

const UPSERT_LINE: &str = "INSERT INTO cart_items (cart_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = ";

async fn apply(
    tx: &mut Transaction<'static, Any>,
    id: &CartId,
    now: OffsetDateTime,
    change: &CartChange,
    policy: &AbandonPolicy,
) -> Result<()> {
    let upsert = |product: &ProductId, quantity: u32, update: &str| {
        sqlx::query(sqlx::AssertSqlSafe(format!("{UPSERT_LINE}{update}")))
            .bind(id.as_str().to_owned())
            .bind(product.as_str().to_owned())
            .bind(i64::from(quantity))
            .bind(to_millis(now))
    };
    match change {
        CartChange::Add(product, quantity) => {
            upsert(product, *quantity, "cart_items.quantity + excluded.quantity").execute(&mut **tx).await.map_err(
                |e| {
                    on_constraint_violation(
                        e,
                        "quantity",
                        format!("a cart holds at most {MAX_QUANTITY} of one product"),
                    )
                },
            )?;
        }
        CartChange::Set(product, 0) | CartChange::Remove(product) => {
            sqlx::query("DELETE FROM cart_items WHERE cart_id = $1 AND product_id = $2")
                .bind(id.as_str())
                .bind(product.as_str())
                .execute(&mut **tx)
                .await?;
        }
        CartChange::Set(product, quantity) => {
            upsert(product, *quantity, "excluded.quantity").execute(&mut **tx).await?;
        }
        CartChange::Clear => {
            sqlx::query("DELETE FROM cart_items WHERE cart_id = $1").bind(id.as_str()).execute(&mut **tx).await?;
        }
        CartChange::Absorb(from) => {
            let source = load(tx, from, now, policy).await?;
            let capped = format!(
                "CASE WHEN cart_items.quantity + excluded.quantity > {MAX_QUANTITY} THEN {MAX_QUANTITY} \
                 ELSE cart_items.quantity + excluded.quantity END"
            );
            for item in &source.items {
                upsert(&item.product_id, item.quantity, &capped).execute(&mut **tx).await?;
            }
            sqlx::query("DELETE FROM carts WHERE id = $1").bind(from.as_str()).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

async fn load(
    connection: &mut AnyConnection,
    id: &CartId,
    now: OffsetDateTime,
    policy: &AbandonPolicy,
) -> Result<Cart> {
    let updated_at: Option<i64> = sqlx::query_scalar("SELECT updated_at FROM carts WHERE id = $1 AND updated_at >= $2")
        .bind(id.as_str())
        .bind(to_millis(policy.cutoff(now)))
        .fetch_optional(&mut *connection)
        .await?;
    let Some(updated_at) = updated_at else {
        return Ok(Cart::new(id.clone(), Vec::new(), None, policy));
    };
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT product_id, quantity FROM cart_items WHERE cart_id = $1 ORDER BY added_at, product_id")
            .bind(id.as_str())
            .fetch_all(&mut *connection)
            .await?;
    let items = rows
        .into_iter()
        .map(|(product_id, quantity)| {
            let corrupt = |why: String| Error::Internal { detail: format!("cart '{id}' holds a bad line: {why}") };
            Ok(CartItem {
                product_id: ProductId::parse(&product_id).map_err(corrupt)?,
                quantity: u32::try_from(quantity).map_err(|e| corrupt(e.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Cart::new(id.clone(), items, Some(from_millis(updated_at)), policy))
}

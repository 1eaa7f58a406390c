//! The customers, addresses and notes tables.

use std::collections::HashMap;

use sqlx::error::ErrorKind;
use sqlx::{AnyConnection, FromRow};
use time::OffsetDateTime;

use super::domain::{Address, AddressId, CountryCode, Customer, Email, NewAddress, NewCustomer, Note, NoteId};
use crate::crm::domain::{CustomerId, Standing};
use crate::crm::loyalty::domain::LoyaltyStatus;
use crate::crm::store::{
    After, Begun, CrmStore, IdempotencyKey, Outcome, Param, corrupt, ensure_customer, lock_customer, newest_first,
    placeholders, query_rows,
};
use crate::platform::clock::{from_millis, to_millis};
use crate::platform::db::like_pattern;
use crate::platform::page::Page;
use crate::platform::{Error, Result};

/// Which customers a search wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSearch {
    /// Exactly this email.
    pub email: Option<Email>,
    /// This text anywhere in the name or email, ignoring case.
    pub text: Option<String>,
    /// Continue after this customer.
    pub after: After,
}

impl CrmStore {
    /// How many customers there are.
    pub async fn count_customers(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(self.db.pool()).await?)
    }

    /// Signs up a customer; an email already in use is a conflict.
    pub async fn create_customer(
        &self,
        new: &NewCustomer,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Customer>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        let id = CustomerId::generate();
        insert_customer(&mut tx, &id, new, now).await?;
        let customer = load_customer(&mut tx, &id).await?.ok_or_else(|| Error::not_found("customer", id.as_str()))?;
        Self::finish_create(tx, key, customer).await
    }

    /// One customer with addresses and loyalty standing.
    pub async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>> {
        let mut connection = self.db.pool().acquire().await?;
        load_customer(&mut connection, id).await
    }

    /// Customers matching `search`, newest accounts first.
    pub async fn search_customers(&self, search: &CustomerSearch, limit: u32) -> Result<Page<Customer>> {
        let mut params = vec![Param::Int(search.after.at), Param::Text(search.after.id.clone())];
        let mut conditions = vec!["(c.created_at < $1 OR (c.created_at = $1 AND c.id < $2))".to_owned()];
        if let Some(email) = &search.email {
            params.push(Param::Text(email.as_str().to_owned()));
            conditions.push(format!("c.email = ${}", params.len()));
        }
        if let Some(text) = &search.text {
            params.push(Param::Text(like_pattern(&text.to_lowercase())));
            conditions.push(format!("c.search_text LIKE ${} ESCAPE '\\'", params.len()));
        }
        params.push(Param::Int(i64::from(limit) + 1));
        let sql = format!(
            "{SELECT_CUSTOMERS} WHERE {} ORDER BY c.created_at DESC, c.id DESC LIMIT ${}",
            conditions.join(" AND "),
            params.len()
        );
        let mut connection = self.db.pool().acquire().await?;
        let customers = fetch_customers(&mut connection, sql, params).await?;
        Ok(newest_first(customers, limit, |c| (c.created_at, c.id.as_str())))
    }

    /// Sets a customer's standing and the reason for it.
    pub async fn set_standing(&self, id: &CustomerId, standing: Standing, reason: &str) -> Result<Customer> {
        let mut tx = self.db.begin_write().await?;
        lock_customer(&mut tx, id).await?;
        update_standing(&mut tx, id, standing, reason).await?;
        let customer = load_customer(&mut tx, id).await?.ok_or_else(|| Error::not_found("customer", id.as_str()))?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Adds an address; the customer's first becomes both defaults, and a new default replaces
    /// the old one.
    pub async fn add_address(
        &self,
        customer: &CustomerId,
        new: &NewAddress,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Address>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        lock_customer(&mut tx, customer).await?;
        let address = insert_address(&mut tx, customer, AddressId::generate(), new, now).await?;
        Self::finish_create(tx, key, address).await
    }

    /// Appends a note about a customer.
    pub async fn add_note(
        &self,
        customer: &CustomerId,
        author: &str,
        body: &str,
        now: OffsetDateTime,
        key: Option<&IdempotencyKey>,
    ) -> Result<Outcome<Note>> {
        let mut tx = match self.begin_create(key, now).await? {
            Begun::Fresh(tx) => tx,
            Begun::Replayed(created) => return Ok(Outcome::Replayed(created)),
        };
        lock_customer(&mut tx, customer).await?;
        let note = Note {
            id: NoteId::generate(),
            customer_id: customer.clone(),
            author: author.to_owned(),
            body: body.to_owned(),
            created_at: now,
        };
        insert_note(&mut tx, &note).await?;
        Self::finish_create(tx, key, note).await
    }

    /// Notes about a customer, newest first.
    pub async fn notes(&self, customer: &CustomerId, after: &After, limit: u32) -> Result<Page<Note>> {
        let mut connection = self.db.pool().acquire().await?;
        ensure_customer(&mut connection, customer).await?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, author, body, created_at FROM notes WHERE customer_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(customer.as_str())
        .bind(after.at)
        .bind(&after.id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *connection)
        .await?;
        let notes = rows
            .into_iter()
            .map(|(id, author, body, at)| {
                let id = NoteId::parse(&id).map_err(|e| corrupt("note id", e))?;
                Ok(Note { id, customer_id: customer.clone(), author, body, created_at: from_millis(at) })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(newest_first(notes, limit, |n| (n.created_at, n.id.as_str())))
    }
}

/// Adds a customer in good standing; an email in use is a conflict.
pub(in crate::crm) async fn insert_customer(
    connection: &mut AnyConnection,
    id: &CustomerId,
    new: &NewCustomer,
    created_at: OffsetDateTime,
) -> Result<()> {
    let search_text = format!("{} {}", new.name.to_lowercase(), new.email);
    sqlx::query(
        "INSERT INTO customers (id, email, name, phone, created_at, standing, search_text) \
         VALUES ($1, $2, $3, $4, $5, 'good', $6)",
    )
    .bind(id.as_str())
    .bind(new.email.as_str())
    .bind(&new.name)
    .bind(new.phone.as_deref())
    .bind(to_millis(created_at))
    .bind(search_text)
    .execute(&mut *connection)
    .await
    .map_err(|e| match e.as_database_error().map(|d| d.kind()) {
        Some(ErrorKind::UniqueViolation) => Error::Conflict {
            detail: format!("an account with the email '{}' exists already; sign in instead", new.email),
        },
        _ => Error::Database(e),
    })?;
    Ok(())
}

/// Sets a customer's standing and its reason.
pub(in crate::crm) async fn update_standing(
    connection: &mut AnyConnection,
    id: &CustomerId,
    standing: Standing,
    reason: &str,
) -> Result<()> {
    sqlx::query("UPDATE customers SET standing = $2, standing_reason = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(standing.as_str())
        .bind(reason)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Adds an address, moving the defaults to it as asked (the first address takes both).
pub(in crate::crm) async fn insert_address(
    connection: &mut AnyConnection,
    customer: &CustomerId,
    id: AddressId,
    new: &NewAddress,
    created_at: OffsetDateTime,
) -> Result<Address> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE customer_id = $1")
        .bind(customer.as_str())
        .fetch_one(&mut *connection)
        .await?;
    let default_shipping = new.default_shipping || existing == 0;
    let default_billing = new.default_billing || existing == 0;
    for (wanted, column) in [(default_shipping, "default_shipping"), (default_billing, "default_billing")] {
        if wanted {
            let sql = format!("UPDATE addresses SET {column} = 0 WHERE customer_id = $1 AND {column} = 1");
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(customer.as_str()).execute(&mut *connection).await?;
        }
    }
    sqlx::query(
        "INSERT INTO addresses (id, customer_id, label, line1, line2, city, region, postal_code, country, \
         default_shipping, default_billing, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id.as_str())
    .bind(customer.as_str())
    .bind(&new.label)
    .bind(&new.line1)
    .bind(new.line2.as_deref())
    .bind(&new.city)
    .bind(&new.region)
    .bind(&new.postal_code)
    .bind(new.country.as_str())
    .bind(i64::from(default_shipping))
    .bind(i64::from(default_billing))
    .bind(to_millis(created_at))
    .execute(&mut *connection)
    .await?;
    Ok(Address {
        id,
        label: new.label.clone(),
        line1: new.line1.clone(),
        line2: new.line2.clone(),
        city: new.city.clone(),
        region: new.region.clone(),
        postal_code: new.postal_code.clone(),
        country: new.country.clone(),
        default_shipping,
        default_billing,
    })
}

/// Adds a note as is.
pub(in crate::crm) async fn insert_note(connection: &mut AnyConnection, note: &Note) -> Result<()> {
    sqlx::query("INSERT INTO notes (id, customer_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(note.id.as_str())
        .bind(note.customer_id.as_str())
        .bind(&note.author)
        .bind(&note.body)
        .bind(to_millis(note.created_at))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// The columns of a customer row, with the ledger sums.
const SELECT_CUSTOMERS: &str = "SELECT c.id, c.email, c.name, c.phone, c.created_at, c.standing, c.standing_reason, \
     COALESCE((SELECT CAST(SUM(e.delta) AS BIGINT) FROM loyalty_entries e WHERE e.customer_id = c.id), 0) AS points, \
     COALESCE((SELECT CAST(SUM(e.delta) AS BIGINT) FROM loyalty_entries e \
               WHERE e.customer_id = c.id AND e.delta > 0), 0) AS lifetime_points \
     FROM customers c";

#[derive(FromRow)]
struct CustomerRow {
    id: String,
    email: String,
    name: String,
    phone: Option<String>,
    created_at: i64,
    standing: String,
    standing_reason: Option<String>,
    points: i64,
    lifetime_points: i64,
}

impl CustomerRow {
    fn into_customer(self, addresses: Vec<Address>) -> Result<Customer> {
        let standing = Standing::parse(&self.standing).map_err(|e| corrupt("standing", e))?;
        let loyalty = LoyaltyStatus::new(self.points, self.lifetime_points, standing);
        Ok(Customer {
            id: CustomerId::parse(&self.id).map_err(|e| corrupt("customer id", e))?,
            email: Email::parse(&self.email).map_err(|e| corrupt("email", e))?,
            name: self.name,
            phone: self.phone,
            created_at: from_millis(self.created_at),
            standing,
            standing_reason: self.standing_reason,
            tier: loyalty.tier,
            points: loyalty.points,
            lifetime_points: loyalty.lifetime_points,
            discount_bps: loyalty.discount_bps,
            addresses,
        })
    }
}

async fn fetch_customers(connection: &mut AnyConnection, sql: String, params: Vec<Param>) -> Result<Vec<Customer>> {
    let rows = query_rows::<CustomerRow>(sql, params).fetch_all(&mut *connection).await?;
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut addresses = load_addresses(connection, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let addresses = addresses.remove(&row.id).unwrap_or_default();
            row.into_customer(addresses)
        })
        .collect()
}

/// One customer with addresses and loyalty standing, read on `connection`.
pub(in crate::crm) async fn load_customer(connection: &mut AnyConnection, id: &CustomerId) -> Result<Option<Customer>> {
    let sql = format!("{SELECT_CUSTOMERS} WHERE c.id = $1");
    let customers = fetch_customers(connection, sql, vec![Param::Text(id.as_str().to_owned())]).await?;
    Ok(customers.into_iter().next())
}

#[derive(FromRow)]
struct AddressRow {
    id: String,
    customer_id: String,
    label: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    default_shipping: i64,
    default_billing: i64,
}

/// The addresses of `customers`, oldest first, by customer id.
async fn load_addresses(connection: &mut AnyConnection, customers: &[&str]) -> Result<HashMap<String, Vec<Address>>> {
    let mut by_customer: HashMap<String, Vec<Address>> = HashMap::new();
    if customers.is_empty() {
        return Ok(by_customer);
    }
    let sql = format!(
        "SELECT id, customer_id, label, line1, line2, city, region, postal_code, country, default_shipping, \
         default_billing FROM addresses WHERE customer_id IN ({}) ORDER BY created_at, id",
        placeholders(1, customers.len())
    );
    let mut query = sqlx::query_as::<_, AddressRow>(sqlx::AssertSqlSafe(sql));
    for id in customers {
        query = query.bind(id.to_string());
    }
    for row in query.fetch_all(&mut *connection).await? {
        let address = Address {
            id: AddressId::parse(&row.id).map_err(|e| corrupt("address id", e))?,
            label: row.label,
            line1: row.line1,
            line2: row.line2,
            city: row.city,
            region: row.region,
            postal_code: row.postal_code,
            country: CountryCode::parse(&row.country).map_err(|e| corrupt("country", e))?,
            default_shipping: row.default_shipping == 1,
            default_billing: row.default_billing == 1,
        };
        by_customer.entry(row.customer_id).or_default().push(address);
    }
    Ok(by_customer)
}

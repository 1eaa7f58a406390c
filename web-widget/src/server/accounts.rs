//! The web's own store: who may sign in (customers and staff, with password hashes) and the
//! browser sessions (cart, currency, who is signed in, the open Concierge conversation).

use business_services::crm::seed::demo_logins;
use business_services::platform::db::Db;
use mcp_contract::token::Role;
use sqlx::Row;
use time::OffsetDateTime;

use super::password;

/// The web store's migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The password of every demo account (documented in the README; demo data only).
pub const DEMO_PASSWORD: &str = "boutique-demo";

/// The demo staff: (user name, role, name, email).
const DEMO_STAFF: &[(&str, Role, &str, &str)] = &[
    ("agent-ana", Role::Agent, "Ana Souza", "ana@boutique.example"),
    ("analyst-felix", Role::FraudAnalyst, "Felix Braun", "felix@boutique.example"),
    ("admin-sam", Role::Admin, "Sam Okoye", "sam@boutique.example"),
];

/// Someone who can sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Their customer id, or a staff user name.
    pub subject: String,
    /// In which role.
    pub role: Role,
    /// For customers, themselves.
    pub customer: Option<String>,
    /// How the pages greet them.
    pub display_name: String,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie, hex.
    pub id_hash: String,
    /// The storefront cart.
    pub cart_id: String,
    /// The currency prices are shown and charged in.
    pub currency: String,
    /// Who is signed in, if anyone.
    pub account: Option<Account>,
    /// The Concierge conversation, and (for staff) the customer it is about.
    pub conversation: Option<(String, Option<String>)>,
    /// When it was last used, Unix seconds.
    pub seen_at: i64,
    /// Whether the store holds it yet: a visitor's session is stored once it holds something
    /// (a cart line, a currency), so cookie-less clients' page views write nothing.
    pub stored: bool,
}

/// Accounts and sessions.
#[derive(Debug, Clone)]
pub struct AccountStore {
    db: Db,
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn role_of(name: &str) -> Result<Role, sqlx::Error> {
    Role::parse(name).map_err(|why| sqlx::Error::Decode(why.into()))
}

impl AccountStore {
    /// A store over `db`, migrated with [`MIGRATOR`].
    pub fn new(db: &Db) -> AccountStore {
        AccountStore { db: db.clone() }
    }

    /// Adds an account unless its email is taken; returns whether it was added.
    pub async fn add(&self, email: &str, account: &Account, password_hash: &str) -> Result<bool, sqlx::Error> {
        let added = sqlx::query(
            "INSERT INTO accounts (email, subject, role, customer_id, display_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(email.trim().to_lowercase())
        .bind(&account.subject)
        .bind(account.role.name())
        .bind(account.customer.as_deref())
        .bind(&account.display_name)
        .bind(password_hash)
        .bind(unix_now())
        .execute(self.db.pool())
        .await?;
        Ok(added.rows_affected() == 1)
    }

    /// The account of `email` if `password` is its password.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<Option<Account>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT subject, role, customer_id, display_name, password_hash FROM accounts WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("password_hash")?;
        if !password::verify(password, &stored) {
            return Ok(None);
        }
        Ok(Some(Account {
            subject: row.try_get("subject")?,
            role: role_of(&row.try_get::<String, _>("role")?)?,
            customer: row.try_get("customer_id")?,
            display_name: row.try_get("display_name")?,
        }))
    }

    /// Stores a session with `cart_id` and `currency`, signed in as `subject` if given (once: a
    /// session stored already is left as it is).
    pub async fn open_session(
        &self,
        id_hash: &str,
        cart_id: &str,
        currency: &str,
        subject: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let now = unix_now();
        sqlx::query(
            "INSERT INTO sessions (id_hash, cart_id, currency, subject, created_at, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        )
        .bind(id_hash)
        .bind(cart_id)
        .bind(currency)
        .bind(subject)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The session `id_hash`, with its account.
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.cart_id, s.currency, s.conversation_id, s.conversation_customer, s.seen_at, \
                    a.subject, a.role, a.customer_id, a.display_name \
             FROM sessions s LEFT JOIN accounts a ON a.subject = s.subject WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let account = match row.try_get::<Option<String>, _>("subject")? {
            Some(subject) => Some(Account {
                subject,
                role: role_of(&row.try_get::<String, _>("role")?)?,
                customer: row.try_get("customer_id")?,
                display_name: row.try_get("display_name")?,
            }),
            None => None,
        };
        let conversation = row
            .try_get::<Option<String>, _>("conversation_id")?
            .map(|id| Ok::<_, sqlx::Error>((id, row.try_get("conversation_customer")?)))
            .transpose()?;
        Ok(Some(Session {
            id_hash: id_hash.to_owned(),
            cart_id: row.try_get("cart_id")?,
            currency: row.try_get("currency")?,
            account,
            conversation,
            seen_at: row.try_get("seen_at")?,
            stored: true,
        }))
    }

    /// Marks the session used now.
    pub async fn touch(&self, id_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(unix_now())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Shows prices in `currency` from now on.
    pub async fn set_currency(&self, id_hash: &str, currency: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET currency = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(currency)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Shops on with the cart `cart_id` from now on.
    pub async fn set_cart(&self, id_hash: &str, cart_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET cart_id = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(cart_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Remembers the open Concierge conversation (about `customer`, for staff).
    pub async fn set_conversation(&self, id_hash: &str, id: &str, customer: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET conversation_id = $2, conversation_customer = $3 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(id)
            .bind(customer)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Ends the session.
    pub async fn close_session(&self, id_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(self.db.pool()).await?;
        Ok(())
    }

    /// Drops sessions unused since `before` (Unix seconds); returns how many.
    pub async fn expire_sessions(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sessions WHERE seen_at < $1").bind(before).execute(self.db.pool()).await?;
        Ok(done.rows_affected())
    }
}

/// Seeds the demo accounts (every demo CRM customer and three staff members, all with
/// [`DEMO_PASSWORD`]) into an empty store; returns how many were added.
pub async fn seed_demo_accounts(db: &Db, iterations: u32) -> Result<usize, sqlx::Error> {
    let store = AccountStore::new(db);
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(db.pool()).await?;
    if existing > 0 {
        return Ok(0);
    }
    let customers = demo_logins().map(|(id, name, email)| {
        (
            email,
            Account { subject: id.clone(), role: Role::Customer, customer: Some(id), display_name: name.to_owned() },
        )
    });
    let staff = DEMO_STAFF.iter().map(|(subject, role, name, email)| {
        let account =
            Account { subject: (*subject).to_owned(), role: *role, customer: None, display_name: (*name).to_owned() };
        (*email, account)
    });
    let mut added = 0;
    for (email, account) in customers.chain(staff) {
        added += usize::from(store.add(email, &account, &password::hash(DEMO_PASSWORD, iterations)).await?);
    }
    Ok(added)
}

//! The catalog's tables.

use sqlx::FromRow;

use super::domain::{Category, Product, ProductFilter};

use crate::contracts::product::{Dimensions, ProductId, StockClass};
use crate::money::{CurrencyCode, Money};
use crate::platform::db::{Db, like_pattern};
use crate::platform::{Error, Result};

/// A product picture as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Its media type, e.g. `image/svg+xml`.
    pub media_type: String,
    /// Its content.
    pub body: String,
}

/// How many products one category holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryCount {
    /// The category.
    pub category: Category,
    /// Products in it.
    pub products: i64,
}

/// Reads and writes products.
#[derive(Debug, Clone)]
pub struct CatalogStore {
    db: Db,
}

#[derive(FromRow)]
struct ProductRow {
    id: String,
    name: String,
    description: String,
    categories: String,
    price_minor: i64,
    currency: String,
    stock_class: String,
    weight_grams: i64,
    length_mm: i64,
    width_mm: i64,
    height_mm: i64,
}

impl TryFrom<ProductRow> for Product {
    type Error = Error;

    fn try_from(row: ProductRow) -> Result<Product> {
        let corrupt = |what: &str, why: String| Error::Internal {
            detail: format!("stored product '{}' has a bad {what}: {why}", row.id),
        };
        let number = |what: &str, value: i64| u32::try_from(value).map_err(|e| corrupt(what, e.to_string()));
        let id = ProductId::parse(&row.id).map_err(|e| corrupt("id", e))?;
        Ok(Product {
            picture_url: Product::picture_path(&id),
            categories: serde_json::from_str(&row.categories).map_err(|e| corrupt("category list", e.to_string()))?,
            price: Money::new(CurrencyCode::parse(&row.currency).map_err(|e| corrupt("currency", e))?, row.price_minor),
            stock_class: StockClass::parse(&row.stock_class).map_err(|e| corrupt("stock class", e))?,
            weight_grams: number("weight", row.weight_grams)?,
            dimensions_mm: Dimensions {
                length: number("length", row.length_mm)?,
                width: number("width", row.width_mm)?,
                height: number("height", row.height_mm)?,
            },
            id,
            name: row.name,
            description: row.description,
        })
    }
}

const PRODUCT_COLUMNS: &str = "p.id, p.name, p.description, p.categories, p.price_minor, p.currency, \
     p.stock_class, p.weight_grams, p.length_mm, p.width_mm, p.height_mm";

impl CatalogStore {
    /// A store over `db`, which must be migrated with the catalog's migrations.
    pub fn new(db: Db) -> Self {
        CatalogStore { db }
    }

    /// How many products there are.
    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM products").fetch_one(self.db.pool()).await?)
    }

    /// Adds products with their pictures, all or none; ids already present are left unchanged.
    pub async fn insert_new(&self, products: &[(Product, Picture)]) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        for (product, picture) in products {
            let categories = serde_json::to_string(&product.categories)
                .map_err(|e| Error::Internal { detail: format!("could not encode categories: {e}") })?;
            let inserted = sqlx::query(
                "INSERT INTO products (id, name, description, categories, price_minor, currency, stock_class, \
                 weight_grams, length_mm, width_mm, height_mm, search_text) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
            )
            .bind(product.id.as_str())
            .bind(&product.name)
            .bind(&product.description)
            .bind(categories)
            .bind(product.price.minor_units)
            .bind(product.price.currency.as_str())
            .bind(product.stock_class.as_str())
            .bind(i64::from(product.weight_grams))
            .bind(i64::from(product.dimensions_mm.length))
            .bind(i64::from(product.dimensions_mm.width))
            .bind(i64::from(product.dimensions_mm.height))
            .bind(product.search_text())
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                continue;
            }
            for category in &product.categories {
                sqlx::query("INSERT INTO product_categories (product_id, category) VALUES ($1, $2)")
                    .bind(product.id.as_str())
                    .bind(category.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("INSERT INTO product_pictures (product_id, media_type, body) VALUES ($1, $2, $3)")
                .bind(product.id.as_str())
                .bind(&picture.media_type)
                .bind(&picture.body)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One product.
    pub async fn get(&self, id: &ProductId) -> Result<Option<Product>> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.id = $1");
        let row: Option<ProductRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.as_str()).fetch_optional(self.db.pool()).await?;
        row.map(Product::try_from).transpose()
    }

    /// Up to `limit` products matching `filter`, in id order.
    pub async fn list(&self, filter: &ProductFilter, limit: u32) -> Result<Vec<Product>> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut bind = |value: String| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if let Some(category) = &filter.category {
            let placeholder = bind(category.as_str().to_owned());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM product_categories c WHERE c.product_id = p.id AND c.category = {placeholder})"
            ));
        }
        if let Some(class) = filter.stock_class {
            conditions.push(format!("p.stock_class = {}", bind(class.as_str().to_owned())));
        }
        for term in filter.search.iter().flat_map(|search| search.terms()) {
            conditions.push(format!("p.search_text LIKE {} ESCAPE '\\'", bind(like_pattern(term))));
        }
        if let Some(after) = &filter.after {
            conditions.push(format!("p.id > {}", bind(after.as_str().to_owned())));
        }
        let limit_placeholder = format!("${}", binds.len() + 1);
        let where_clause =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql =
            format!("SELECT {PRODUCT_COLUMNS} FROM products p {where_clause} ORDER BY p.id LIMIT {limit_placeholder}");
        let mut query = sqlx::query_as::<_, ProductRow>(sqlx::AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(value);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(self.db.pool()).await?;
        rows.into_iter().map(Product::try_from).collect()
    }

    /// Every category with its product count, by name.
    pub async fn categories(&self) -> Result<Vec<CategoryCount>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT category, COUNT(*) FROM product_categories GROUP BY category ORDER BY category")
                .fetch_all(self.db.pool())
                .await?;
        rows.into_iter()
            .map(|(name, products)| {
                let category = Category::parse(&name)
                    .map_err(|e| Error::Internal { detail: format!("stored category is invalid: {e}") })?;
                Ok(CategoryCount { category, products })
            })
            .collect()
    }

    /// A product's picture.
    pub async fn picture(&self, id: &ProductId) -> Result<Option<Picture>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT media_type, body FROM product_pictures WHERE product_id = $1")
                .bind(id.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(|(media_type, body)| Picture { media_type, body }))
    }
}

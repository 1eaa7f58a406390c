//! Products and the rules for their ids, categories and searches.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contracts::product::Dimensions;
use crate::contracts::product::ProductId;
use crate::contracts::product::StockClass;
use crate::money::Money;
use crate::platform::FieldError;
use crate::platform::id::check_slug;
use crate::platform::id::string_id;

string_id!(
    /// A category slug such as `furniture` or `kitchen` (1 to 32 of `a-z`, `0-9`, `-`).
    Category,
    example = "furniture",
    pattern = "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
    check = |name| check_slug(name, 32),
);

/// A product as the catalog sells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// Unique slug.
    pub id: ProductId,
    /// Display name.
    pub name: String,
    /// What it is made of, how big it is, what it is for.
    pub description: String,
    /// Department first (`apparel`, `home`, `furniture`), then sub-categories.
    pub categories: Vec<Category>,
    /// Unit price in the catalog's currency.
    pub price: Money,
    /// Parcel or freight.
    pub stock_class: StockClass,
    /// Packaged weight in grams.
    pub weight_grams: u32,
    /// Packaged size in millimetres.
    pub dimensions_mm: Dimensions,
    /// Path of the product's picture on the catalog service.
    pub picture_url: String,
}

impl Product {
    /// Where the catalog serves a product's picture.
    pub fn picture_path(id: &ProductId) -> String {
        format!("/v1/products/{id}/picture")
    }

    /// Checks the rules a product must satisfy before it is stored; names the first bad field.
    pub fn validate(&self) -> Result<(), FieldError> {
        let length = |field, text: &str, min, max| {
            let chars = text.chars().count();
            if (min..=max).contains(&chars) {
                Ok(())
            } else {
                Err(FieldError::new(field, format!("must be {min} to {max} characters, got {chars}")))
            }
        };
        length("name", &self.name, 1, 120)?;
        length("description", &self.description, 1, 2000)?;
        if self.categories.is_empty() || self.categories.len() > 8 {
            return Err(FieldError::new("categories", "must list 1 to 8 categories"));
        }
        if self.price.minor_units < 0 {
            return Err(FieldError::new("price.minor_units", "must not be negative"));
        }
        let Dimensions { length, width, height } = self.dimensions_mm;
        if self.weight_grams == 0 || [length, width, height].contains(&0) {
            return Err(FieldError::new("dimensions_mm", "weight and every side must be greater than zero"));
        }
        Ok(())
    }

    /// Lowercased text the keyword search matches against.
    pub fn search_text(&self) -> String {
        let categories: Vec<&str> = self.categories.iter().map(Category::as_str).collect();
        format!("{} {} {}", self.name, self.description, categories.join(" ")).to_lowercase()
    }
}

/// Keywords of a product search: every one must occur in the product's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// The most keywords one search may hold.
    pub const MAX_TERMS: usize = 8;

    /// Splits a query into lowercase keywords; `None` when it holds none.
    pub fn parse(query: &str) -> Result<Option<Self>, String> {
        let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if terms.len() > Self::MAX_TERMS {
            return Err(format!("use at most {} keywords, got {}", Self::MAX_TERMS, terms.len()));
        }
        if let Some(long) = terms.iter().find(|term| term.chars().count() > 64) {
            return Err(format!(
                "keyword '{}…' is longer than 64 characters",
                long.chars().take(16).collect::<String>()
            ));
        }
        Ok((!terms.is_empty()).then_some(SearchTerms(terms)))
    }

    /// The keywords.
    pub fn terms(&self) -> &[String] {
        &self.0
    }
}

/// Which products a list returns.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Only products in this category.
    pub category: Option<Category>,
    /// Only products of this stock class.
    pub stock_class: Option<StockClass>,
    /// Only products whose text holds every keyword.
    pub search: Option<SearchTerms>,
    /// Only products whose id sorts after this one (the page cursor).
    pub after: Option<ProductId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_only_the_documented_form() {
        assert!(ProductId::parse("walnut-dining-table").is_ok());
        assert!(ProductId::parse("tee-2").is_ok());
        for bad in ["", "Walnut", "walnut table", "-walnut", "walnut-", "wal_nut", &"a".repeat(65)] {
            assert!(ProductId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// The pattern the OpenAPI document gives `T`, anchored at both ends, without its anchors
    /// (proptest makes strings that match a regular expression whole).
    fn documented_pattern<T: utoipa::ToSchema>() -> String {
        let schema = serde_json::to_value(T::schema()).unwrap();
        let pattern = schema["pattern"].as_str().unwrap();
        pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("an anchored pattern").to_owned()
    }

    proptest::proptest! {
        #[test]
        fn ids_of_the_documented_pattern_are_accepted(
            product in proptest::string::string_regex(&documented_pattern::<ProductId>()).unwrap(),
            category in proptest::string::string_regex(&documented_pattern::<Category>()).unwrap(),
        ) {
            proptest::prop_assert!(ProductId::parse(&product).is_ok(), "{:?}", product);
            proptest::prop_assert!(Category::parse(&category).is_ok(), "{:?}", category);
        }
    }

    #[test]
    fn search_terms_are_lowercased_and_bounded() {
        let terms = SearchTerms::parse("  Oak   TABLE ").unwrap().unwrap();
        assert_eq!(terms.terms(), ["oak", "table"]);
        assert_eq!(SearchTerms::parse("   ").unwrap(), None);
        assert!(SearchTerms::parse("a b c d e f g h i").is_err());
        assert!(SearchTerms::parse(&"x".repeat(65)).is_err());
    }
}

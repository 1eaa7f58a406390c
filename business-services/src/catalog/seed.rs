//! The demo catalog that ships with the store: products written for this project, each with an
//! SVG picture, embedded in the binary so a first start needs nothing else.

use include_dir::{Dir, include_dir};
use serde::Deserialize;

use super::domain::{Category, Product};

use super::store::Picture;
use crate::contracts::product::{Dimensions, ProductId, StockClass};
use crate::money::Money;

static SEED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/seed/catalog");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedProduct {
    id: ProductId,
    name: String,
    description: String,
    categories: Vec<Category>,
    price: Money,
    stock_class: StockClass,
    weight_grams: u32,
    dimensions_mm: Dimensions,
    picture: String,
}

/// The demo products with their pictures, validated.
pub fn demo_products() -> Result<Vec<(Product, Picture)>, String> {
    let listing = SEED
        .get_file("products.json")
        .and_then(|file| file.contents_utf8())
        .ok_or("seed/catalog/products.json is missing")?;
    let seeds: Vec<SeedProduct> =
        serde_json::from_str(listing).map_err(|e| format!("seed/catalog/products.json: {e}"))?;
    seeds
        .into_iter()
        .map(|seed| {
            let body = SEED
                .get_file(format!("pictures/{}", seed.picture))
                .and_then(|file| file.contents_utf8())
                .ok_or_else(|| format!("product '{}': picture {} is missing", seed.id, seed.picture))?;
            let product = Product {
                picture_url: Product::picture_path(&seed.id),
                id: seed.id,
                name: seed.name,
                description: seed.description,
                categories: seed.categories,
                price: seed.price,
                stock_class: seed.stock_class,
                weight_grams: seed.weight_grams,
                dimensions_mm: seed.dimensions_mm,
            };
            product.validate().map_err(|error| format!("product '{}': {error}", product.id))?;
            let picture = Picture { media_type: "image/svg+xml".into(), body: body.to_owned() };
            Ok((product, picture))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn demo_catalog_is_complete_and_valid() {
        let products = demo_products().expect("the demo catalog loads");
        assert!(products.len() >= 30, "at least 30 products, got {}", products.len());
        let ids: HashSet<_> = products.iter().map(|(p, _)| p.id.clone()).collect();
        assert_eq!(ids.len(), products.len(), "ids are unique");
        let department = |name: &str| products.iter().filter(|(p, _)| p.categories[0].as_str() == name).count();
        assert!(department("apparel") > 0 && department("home") > 0 && department("furniture") > 0);
        let oversized = products
            .iter()
            .filter(|(p, _)| p.stock_class == StockClass::Oversized && p.categories[0].as_str() == "furniture")
            .count();
        assert!(oversized >= 6, "at least 6 oversized furniture items, got {oversized}");
        for (product, picture) in &products {
            assert!(picture.body.trim_start().starts_with("<svg"), "{}: picture is an SVG", product.id);
            let without_namespace = picture.body.replace("http://www.w3.org/2000/svg", "");
            for external in ["http:", "https:", "<image", "<script"] {
                assert!(!without_namespace.contains(external), "{}: picture refers outside ({external})", product.id);
            }
        }
    }
}

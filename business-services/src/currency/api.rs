//! The currency service's HTTP routes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::domain::{ConversionError, convert, cross_rate, format_nanos};
use super::store::{PublishedRate, RateStore};
use crate::money::{CurrencyCode, Money, Rounding};
use crate::platform::error::{Error, Problem, Result};
use crate::platform::extract::ApiQuery;

/// The currency service's routes over `store`.
pub fn routes(store: RateStore) -> Router {
    Router::new()
        .route("/v1/currencies", get(list_currencies))
        .route("/v1/conversions", get(get_conversion))
        .with_state(store)
}

/// The currency service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "currency", description = "Supported currencies, reference rates and exact conversion."),
    paths(list_currencies, get_conversion),
    components(schemas(Currencies, Currency, Conversion, Money, Rounding, Problem))
)]
pub struct ApiDoc;

/// Every supported currency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Currencies {
    /// By code.
    pub currencies: Vec<Currency>,
}

/// A supported currency and its reference rate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Currency {
    /// ISO 4217 code.
    pub code: CurrencyCode,
    /// English name.
    pub name: String,
    /// Symbol for display.
    pub symbol: String,
    /// Digits after the decimal point; minor units per major unit = 10^exponent.
    pub exponent: u8,
    /// Units of this currency one euro buys, as an exact decimal.
    #[schema(example = "1.0832")]
    pub per_eur: String,
    /// When the rate was published.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub as_of: OffsetDateTime,
}

/// Lists the supported currencies with their rates.
#[utoipa::path(get, path = "/v1/currencies", responses((status = 200, body = Currencies)))]
async fn list_currencies(State(store): State<RateStore>) -> Result<Json<Currencies>> {
    let currencies = store
        .all()
        .await?
        .into_iter()
        .map(|PublishedRate { rate, as_of }| {
            let info = rate.currency.info();
            Currency {
                code: rate.currency,
                name: info.name.to_owned(),
                symbol: info.symbol.to_owned(),
                exponent: info.exponent,
                per_eur: format_nanos(i128::from(rate.per_eur_nanos)),
                as_of,
            }
        })
        .collect();
    Ok(Json(Currencies { currencies }))
}

/// An amount to convert.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ConversionQuery {
    /// Currency of the amount, e.g. `USD`.
    from: String,
    /// Currency wanted, e.g. `EUR`.
    to: String,
    /// The amount in minor units of `from` (cents for USD), at most 1,000,000,000 major units
    /// either way.
    #[param(minimum = -1e11, maximum = 1e11)]
    minor_units: i64,
    /// `half_even` (default), `half_away_from_zero`, `toward_zero` or `away_from_zero`.
    rounding: Option<Rounding>,
}

/// The result of a conversion.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Conversion {
    /// The amount given.
    pub from: Money,
    /// The amount in the wanted currency.
    pub to: Money,
    /// Units of `to` per unit of `from`, to nine decimals (informative; the conversion itself
    /// is computed exactly from both reference rates).
    pub rate: String,
    /// How the result was rounded.
    pub rounding: Rounding,
}

/// Converts an amount between currencies with integer arithmetic and explicit rounding.
#[utoipa::path(get, path = "/v1/conversions", params(ConversionQuery),
    responses((status = 200, body = Conversion), (status = 422, body = Problem)))]
async fn get_conversion(
    State(store): State<RateStore>,
    ApiQuery(query): ApiQuery<ConversionQuery>,
) -> Result<Json<Conversion>> {
    let from = CurrencyCode::parse(&query.from).map_err(|e| Error::invalid("from", e))?;
    let to = CurrencyCode::parse(&query.to).map_err(|e| Error::invalid("to", e))?;
    let rounding = query.rounding.unwrap_or_default();
    let rate_of = |currency: CurrencyCode, field: &'static str| {
        let store = store.clone();
        async move {
            store
                .get(currency)
                .await?
                .map(|published| published.rate)
                .ok_or_else(|| Error::invalid(field, format!("no reference rate is published for {currency}")))
        }
    };
    let (from_rate, to_rate) = (rate_of(from, "from").await?, rate_of(to, "to").await?);
    let amount = Money::new(from, query.minor_units).check_bounds().map_err(|e| Error::invalid("minor_units", e))?;
    let converted = convert(amount, from_rate, to_rate, rounding).map_err(|error| match error {
        ConversionError::Overflow => Error::invalid("minor_units", "the converted amount is too large to represent"),
        ConversionError::BadRate(currency) => {
            Error::Internal { detail: format!("the stored rate of {currency} is not positive") }
        }
    })?;
    Ok(Json(Conversion { from: amount, to: converted, rate: cross_rate(from_rate, to_rate), rounding }))
}

//! The currency service over HTTP.

use reqwest::StatusCode;

use crate::harness::{CurrencyApp, on_each_backend};
use crate::http::{assert_problem, client, json};

#[tokio::test]
async fn lists_the_storefront_currencies_with_rates() {
    on_each_backend(|backend| async move {
        let app = CurrencyApp::start(backend).await;
        let list =
            json(client().get(format!("{}/v1/currencies", app.served.url)).send().await.unwrap(), StatusCode::OK).await;
        let currencies = list["currencies"].as_array().unwrap();
        for code in ["USD", "EUR", "CAD", "JPY", "GBP", "TRY"] {
            let currency = currencies.iter().find(|c| c["code"] == code).unwrap_or_else(|| panic!("{code} listed"));
            assert!(currency["per_eur"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
            assert!(currency["as_of"].as_str().is_some());
        }
        let yen = currencies.iter().find(|c| c["code"] == "JPY").unwrap();
        assert_eq!(yen["exponent"], 0);
        let euro = currencies.iter().find(|c| c["code"] == "EUR").unwrap();
        assert_eq!((euro["per_eur"].as_str(), euro["exponent"].as_u64()), (Some("1"), Some(2)));
    })
    .await;
}

#[tokio::test]
async fn converts_exactly_with_the_requested_rounding() {
    on_each_backend(|backend| async move {
        let app = CurrencyApp::start(backend).await;
        let convert = |query: &str| {
            let url = format!("{}/v1/conversions?{query}", app.served.url);
            async move { json(client().get(url).send().await.unwrap(), StatusCode::OK).await }
        };
        // 19.99 USD at 1.0832 USD/EUR = 18.454579… EUR.
        let nearest = convert("from=USD&to=EUR&minor_units=1999").await;
        assert_eq!(nearest["to"], serde_json::json!({"currency": "EUR", "minor_units": 1845}));
        assert_eq!(nearest["rounding"], "half_even");
        let up = convert("from=USD&to=EUR&minor_units=1999&rounding=away_from_zero").await;
        assert_eq!(up["to"]["minor_units"], 1846);
        // 10.00 EUR = 1624.7 JPY; yen have no minor digits.
        assert_eq!(convert("from=EUR&to=JPY&minor_units=1000").await["to"]["minor_units"], 1625);
        assert_eq!(convert("from=EUR&to=JPY&minor_units=1000&rounding=toward_zero").await["to"]["minor_units"], 1624);
        // Refunds convert symmetrically.
        assert_eq!(convert("from=USD&to=EUR&minor_units=-1999").await["to"]["minor_units"], -1845);
        assert_eq!(convert("from=JPY&to=JPY&minor_units=1000000000").await["to"]["minor_units"], 1_000_000_000);
        let same = convert("from=GBP&to=GBP&minor_units=12345").await;
        assert_eq!((same["to"]["minor_units"].as_i64(), same["rate"].as_str()), (Some(12345), Some("1")));
    })
    .await;
}

#[tokio::test]
async fn bad_conversions_name_the_field() {
    on_each_backend(|backend| async move {
        let app = CurrencyApp::start(backend).await;
        for (query, field) in [
            ("from=XYZ&to=EUR&minor_units=1", "from"),
            ("from=USD&to=usd&minor_units=1", "to"),
            ("from=USD&to=EUR", "minor_units"),
            ("from=USD&to=EUR&minor_units=12.5", "minor_units"),
            ("from=USD&to=EUR&minor_units=1&rounding=up", "rounding"),
            ("from=EUR&to=KRW&minor_units=9223372036854775807", "minor_units"),
            ("from=USD&to=EUR&minor_units=-9223372036854775808", "minor_units"),
            // At most 1,000,000,000 major units: JPY has no minor digits.
            ("from=USD&to=EUR&minor_units=100000000001", "minor_units"),
            ("from=JPY&to=EUR&minor_units=1000000001", "minor_units"),
        ] {
            let response = client().get(format!("{}/v1/conversions?{query}", app.served.url)).send().await.unwrap();
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_bounds_the_amount_to_convert() {
    let app = CurrencyApp::start(business_services::platform::testing::Backend::Sqlite).await;
    let document = client().get(format!("{}/openapi.json", app.served.url)).send().await.unwrap();
    let document = json(document, StatusCode::OK).await;
    let parameters = document["paths"]["/v1/conversions"]["get"]["parameters"].as_array().unwrap();
    let amount = parameters.iter().find(|parameter| parameter["name"] == "minor_units").unwrap();
    let max = business_services::money::MAX_MINOR_UNITS as f64;
    assert_eq!(amount["required"], true, "{amount}");
    assert_eq!((amount["schema"]["minimum"].as_f64(), amount["schema"]["maximum"].as_f64()), (Some(-max), Some(max)));
}

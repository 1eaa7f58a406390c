//! The furniture system over HTTP.

use std::sync::Arc;
use std::time::Duration;

use business_services::contracts::product::{Dimensions, ProductId};
use business_services::furniture::client::FurnitureClient;
use business_services::furniture::domain::{
    Destination, FreightItem, Quote, QuoteRequest, ReservationStatus, SlotReservationId, Zone,
};
use business_services::furniture::{self, Settings};
use business_services::platform::Error;
use business_services::platform::clock::ManualClock;
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json as body};
use time::{Date, Month, OffsetDateTime};

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

struct FurnitureApp {
    served: Served,
    clock: Arc<ManualClock>,
    client: FurnitureClient,
    store: TestDb,
}

impl FurnitureApp {
    /// The ERP on a clock showing Monday 2030-01-07 10:00 UTC, four reservations per slot.
    async fn start(backend: Backend) -> FurnitureApp {
        let store = TestDb::open(backend, "furniture", &furniture::MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(monday(10, 0)));
        let settings = Settings { slot_capacity: 4 };
        let served =
            Served::system(&furniture::Furniture, &store, Setup::on(clock.clone()).with_settings(&settings)).await;
        let client = FurnitureClient::new(&peer(&served.url), Duration::from_secs(5));
        FurnitureApp { served, clock, client, store }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        client().post(self.url(path)).json(body).send().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        json(client().get(self.url(path)).send().await.unwrap(), StatusCode::OK).await
    }

    async fn quote_to(&self, country: &str, postal_code: &str) -> Quote {
        self.client.quote(&request(country, postal_code)).await.unwrap()
    }

    async fn reserve(&self, quote: &str, slot: &str, reference: &str) -> reqwest::Response {
        self.post("/v1/slot-reservations", &body!({"quote_id": quote, "slot_id": slot, "reference": reference})).await
    }

    async fn remaining(&self, slot: &str) -> u64 {
        let slots = self.get("/v1/slots").await;
        let found = slots["slots"].as_array().unwrap().iter().find(|s| s["id"] == slot).cloned();
        found.unwrap_or_else(|| panic!("no slot {slot} in {slots}"))["remaining"].as_u64().unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }
}

/// Monday 2030-01-07 at `hour`:`minute` UTC.
fn monday(hour: u8, minute: u8) -> OffsetDateTime {
    Date::from_calendar_date(2030, Month::January, 7).unwrap().with_hms(hour, minute, 0).unwrap().assume_utc()
}

fn item(product: &str, quantity: u32, weight_grams: u32, (length, width, height): (u32, u32, u32)) -> FreightItem {
    FreightItem {
        product_id: ProductId::parse(product).unwrap(),
        quantity,
        weight_grams,
        dimensions_mm: Dimensions { length, width, height },
    }
}

/// A sofa (68 kg, but 2200 × 950 × 850 mm: 355.3 → 356 kg by volume, two-person handling),
/// two stools (4.5 kg, 450 × 450 × 500 mm: 20.25 → 21 kg by volume each) and a marble table
/// (45.2 → 46 kg actual, 27.5 kg by volume, two-person handling): 444 chargeable kg and two
/// handling fees.
fn request(country: &str, postal_code: &str) -> QuoteRequest {
    QuoteRequest {
        destination: Destination { country: country.into(), postal_code: postal_code.into() },
        items: vec![
            item("linen-three-seat-sofa", 1, 68_000, (2200, 950, 850)),
            item("oak-three-leg-stool", 2, 4_500, (450, 450, 500)),
            item("marble-side-table", 1, 45_200, (500, 500, 550)),
        ],
    }
}

#[tokio::test]
async fn quotes_price_each_zone_by_chargeable_weight() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        // base + rate × 444 kg + 2 × $35 handling
        let cases = [
            ("US", "94107", Zone::A, 4_900 + 80 * 444 + 7_000),
            ("US", "10001", Zone::B, 8_900 + 140 * 444 + 7_000),
            ("ca", "k1a 0b1", Zone::C, 12_900 + 190 * 444 + 7_000),
            ("DE", "10115", Zone::D, 24_900 + 320 * 444 + 7_000),
        ];
        assert_eq!(cases.map(|case| case.3), [47_420, 78_060, 104_260, 173_980]);
        for (country, postal_code, zone, cents) in cases {
            let quote = app.quote_to(country, postal_code).await;
            assert_eq!((quote.zone, quote.cost.minor_units, quote.cost.currency.as_str()), (zone, cents, "USD"));
        }

        let raw = app.post("/v1/freight-quotes", &serde_json::to_value(request("ca", "k1a 0b1")).unwrap()).await;
        let quote = json(raw, StatusCode::CREATED).await;
        assert_eq!(quote["destination"], body!({"country": "CA", "postal_code": "K1A 0B1"}));
        assert_eq!(quote["items"].as_array().unwrap().len(), 3);
        assert_eq!(quote["expires_at"], "2030-01-07T10:30:00Z");
        let slots = quote["slots"].as_array().unwrap();
        assert_eq!(slots.len(), 24, "12 days without the two Sundays, two windows each");
        assert_eq!(
            slots[0],
            body!({"id": "2030-01-08-am", "date": "2030-01-08", "window": "08:00-12:00", "remaining": 4})
        );
        assert_eq!(slots[1]["window"], "13:00-17:00");
        assert_eq!(slots[10]["id"], "2030-01-14-am", "Sunday the 13th has no slots");
        assert_eq!(slots[23]["id"], "2030-01-21-pm");

        let id = quote["id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/v1/freight-quotes/{id}")).await, quote);
        let missing = client().get(app.url("/v1/freight-quotes/fq_00000000000000000000000000000000")).send().await;
        assert_problem(missing.unwrap(), StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn bad_quote_requests_name_the_field_and_write_nothing() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let good_item = body!({"product_id": "oak-bookcase", "quantity": 1, "weight_grams": 38000,
            "dimensions_mm": {"length": 1800, "width": 900, "height": 400}});
        let with_item = |change: &dyn Fn(&mut Value)| {
            let mut item = good_item.clone();
            change(&mut item);
            body!({"destination": {"country": "US", "postal_code": "94107"}, "items": [item]})
        };
        let to = |country: &str, postal: &str| {
            body!({"destination": {"country": country, "postal_code": postal}, "items": [good_item.clone()]})
        };
        let cases = [
            (to("BR", "01000-000"), "destination.country"),
            (to("USA", "94107"), "destination.country"),
            (to("US", "9410"), "destination.postal_code"),
            (to("CA", "K1A0B1"), "destination.postal_code"),
            (to("NL", "1"), "destination.postal_code"),
            (body!({"destination": {"country": "US", "postal_code": "94107"}, "items": []}), "items"),
            (body!({"destination": {"country": "US", "postal_code": "94107"}, "items": vec![good_item.clone(); 21]}), "items"),
            (body!({"items": [good_item.clone()]}), "destination"),
            (with_item(&|item| item["quantity"] = body!(0)), "items[0].quantity"),
            (with_item(&|item| item["quantity"] = body!(11)), "items[0].quantity"),
            (with_item(&|item| item["weight_grams"] = body!(500_001)), "items[0].weight_grams"),
            (with_item(&|item| item["weight_grams"] = body!(-5)), "items[0].weight_grams"),
            (with_item(&|item| item["dimensions_mm"]["width"] = body!(5_001)), "items[0].dimensions_mm.width"),
            (with_item(&|item| item["dimensions_mm"]["height"] = body!(0)), "items[0].dimensions_mm.height"),
            (with_item(&|item| item["product_id"] = body!("Oak Bookcase")), "items[0].product_id"),
            (with_item(&|item| drop(item.as_object_mut().unwrap().remove("weight_grams"))), "items[0].weight_grams"),
        ];
        for (request, field) in cases {
            let problem =
                assert_problem(app.post("/v1/freight-quotes", &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                    .await;
            if field == "destination.country" && request["destination"]["country"] == "BR" {
                assert!(problem["detail"].as_str().unwrap().contains("freight does not ship to BR"), "{problem}");
            }
        }
        assert_eq!(app.count("freight_quotes").await, 0, "nothing was written");
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_answers_the_same_quote() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let send = |key: &'static str, country: &'static str| {
            client()
                .post(app.url("/v1/freight-quotes"))
                .header("idempotency-key", key)
                .json(&request(country, if country == "US" { "94107" } else { "10115" }))
                .send()
        };
        let first = json(send("quote-1", "US").await.unwrap(), StatusCode::CREATED).await;
        let again = send("quote-1", "US").await.unwrap();
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await, first);
        let storm = futures_util::future::join_all((0..8).map(|_| send("quote-2", "US"))).await;
        let ids: Vec<Value> = futures_util::future::join_all(
            storm.into_iter().map(|response| json(response.unwrap(), StatusCode::CREATED)),
        )
        .await
        .into_iter()
        .map(|quote| quote["id"].clone())
        .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(app.count("freight_quotes").await, 2);
        let reused = send("quote-1", "DE").await.unwrap();
        assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
    })
    .await;
}

#[tokio::test]
async fn reserve_confirm_and_cancel() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let quote = app.quote_to("US", "94107").await;
        let held = app.client.reserve_slot(&quote.id, "2030-01-09-pm", "order-1").await.unwrap();
        assert_eq!((held.status, held.reference.as_str(), held.cost), (ReservationStatus::Held, "order-1", quote.cost));
        assert_eq!((held.slot.id.as_str(), held.slot.remaining), ("2030-01-09-pm", 3));
        assert_eq!(held.expires_at, monday(10, 30));
        assert_eq!(app.client.reservation(&held.id).await.unwrap(), Some(held.clone()));

        let confirmed = app.client.confirm(&held.id).await.unwrap();
        assert_eq!(confirmed.status, ReservationStatus::Confirmed);
        assert_eq!(app.client.confirm(&held.id).await.unwrap(), confirmed, "confirming again changes nothing");
        // A confirmed reservation keeps its place after the hold time.
        app.clock.advance(time::Duration::hours(1));
        assert_eq!(app.remaining("2030-01-09-pm").await, 3);

        let cancelled = app.client.cancel(&held.id).await.unwrap();
        assert_eq!((cancelled.status, cancelled.slot.remaining), (ReservationStatus::Cancelled, 4));
        assert_eq!(app.client.cancel(&held.id).await.unwrap().status, ReservationStatus::Cancelled);
        let confirm_cancelled =
            client().post(app.url(&format!("/v1/slot-reservations/{}/confirm", held.id))).send().await.unwrap();
        assert_problem(confirm_cancelled, StatusCode::CONFLICT, None).await;
        assert!(matches!(app.client.confirm(&held.id).await, Err(Error::Conflict { .. })));

        let unknown = SlotReservationId::generate();
        assert_eq!(app.client.reservation(&unknown).await.unwrap(), None);
        assert!(matches!(app.client.cancel(&unknown).await, Err(Error::NotFound { .. })));
        let malformed = client().post(app.url("/v1/slot-reservations/nope/cancel")).send().await.unwrap();
        assert_problem(malformed, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
    })
    .await;
}

#[tokio::test]
async fn lapsed_holds_free_their_place_and_can_still_be_confirmed_while_there_is_room() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let quote = app.quote_to("US", "10001").await;
        let held = app.client.reserve_slot(&quote.id, "2030-01-08-am", "order-lapse").await.unwrap();
        assert_eq!(app.remaining("2030-01-08-am").await, 3);
        app.clock.advance(time::Duration::minutes(30));
        assert_eq!(app.remaining("2030-01-08-am").await, 4, "a hold past expires_at takes no place");

        let confirmed = app.client.confirm(&held.id).await.unwrap();
        assert_eq!((confirmed.status, confirmed.slot.remaining), (ReservationStatus::Confirmed, 3));

        // A lapsed hold whose slot has filled up since cannot be confirmed.
        let fresh = app.quote_to("US", "10001").await;
        let lapsed = app.client.reserve_slot(&fresh.id, "2030-01-08-pm", "order-late").await.unwrap();
        app.clock.advance(time::Duration::minutes(31));
        let again = app.quote_to("US", "10001").await;
        for n in 0..4 {
            app.client.reserve_slot(&again.id, "2030-01-08-pm", &format!("order-fill-{n}")).await.unwrap();
        }
        let refused = client().post(app.url(&format!("/v1/slot-reservations/{}/confirm", lapsed.id))).send().await;
        let problem = assert_problem(refused.unwrap(), StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("lapsed"), "{problem}");
        assert_eq!(app.remaining("2030-01-08-pm").await, 0);
    })
    .await;
}

#[tokio::test]
async fn the_reference_makes_a_reservation_idempotent() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let quote = app.quote_to("GB", "SW1A 1AA").await;
        let id = quote.id.as_str();
        let first = json(app.reserve(id, "2030-01-10-am", "order-7").await, StatusCode::CREATED).await;
        let again = app.reserve(id, "2030-01-10-am", "order-7").await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await["id"], first["id"]);
        assert_eq!(app.remaining("2030-01-10-am").await, 3, "one place taken");

        let storm = futures_util::future::join_all((0..10).map(|_| app.reserve(id, "2030-01-10-pm", "order-8"))).await;
        let mut ids = Vec::new();
        for response in storm {
            ids.push(json(response, StatusCode::CREATED).await["id"].clone());
        }
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        assert_eq!(app.remaining("2030-01-10-pm").await, 3, "ten concurrent retries take one place");

        let other_slot = app.reserve(id, "2030-01-11-am", "order-7").await;
        assert_problem(other_slot, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;
        let other_quote = app.quote_to("GB", "SW1A 1AA").await;
        let reused = app.reserve(other_quote.id.as_str(), "2030-01-10-am", "order-7").await;
        assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;
        assert_eq!(app.count("slot_reservations").await, 2);
    })
    .await;
}

#[tokio::test]
async fn a_slot_takes_exactly_its_capacity_under_concurrent_reservations() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let quote = app.quote_to("US", "94107").await;
        let id = quote.id.as_str();
        let references: Vec<String> = (0..10).map(|n| format!("order-{n}")).collect();
        let racing =
            futures_util::future::join_all(references.iter().map(|r| app.reserve(id, "2030-01-12-am", r))).await;
        let mut held = Vec::new();
        let mut full = Vec::new();
        for response in racing {
            match response.status() {
                StatusCode::CREATED => held.push(json(response, StatusCode::CREATED).await),
                _ => full.push(assert_problem(response, StatusCode::CONFLICT, None).await),
            }
        }
        assert_eq!((held.len(), full.len()), (4, 6));
        let detail = full[0]["detail"].as_str().unwrap();
        assert!(
            detail.contains("2030-01-12-am is full") && detail.contains("next free slot is 2030-01-12-pm"),
            "{detail}"
        );
        assert_eq!(app.remaining("2030-01-12-am").await, 0);

        // A cancelled reservation frees its place.
        let cancelled = held[0]["id"].as_str().unwrap();
        json(
            client().post(app.url(&format!("/v1/slot-reservations/{cancelled}/cancel"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(app.remaining("2030-01-12-am").await, 1);
        json(app.reserve(id, "2030-01-12-am", "order-late").await, StatusCode::CREATED).await;
        assert_problem(app.reserve(id, "2030-01-12-am", "order-later").await, StatusCode::CONFLICT, None).await;

        // The suggestion skips full slots: the last slot of the quote full, the suggestion goes back.
        for n in 0..4 {
            json(app.reserve(id, "2030-01-21-pm", &format!("last-{n}")).await, StatusCode::CREATED).await;
        }
        let problem =
            assert_problem(app.reserve(id, "2030-01-21-pm", "last-4").await, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("next free slot is 2030-01-08-am"), "{problem}");
    })
    .await;
}

#[tokio::test]
async fn reservations_need_a_live_quote_and_one_of_its_slots() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let quote = app.quote_to("NL", "1012 AB").await;
        let id = quote.id.as_str();
        let cases = [
            (app.reserve(id, "2030-01-13-am", "r").await, "slot_id"),
            (app.reserve(id, "2030-01-22-am", "r").await, "slot_id"),
            (app.reserve(id, "tomorrow", "r").await, "slot_id"),
            (app.reserve(id, "2030-01-08-am", "has space").await, "reference"),
            (app.reserve(id, "2030-01-08-am", "").await, "reference"),
            (app.reserve("fq_00000000000000000000000000000000", "2030-01-08-am", "r").await, "quote_id"),
            (app.reserve("quote-1", "2030-01-08-am", "r").await, "quote_id"),
        ];
        for (response, field) in cases {
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }

        app.clock.advance(time::Duration::minutes(30));
        let expired = assert_problem(app.reserve(id, "2030-01-08-am", "r").await, StatusCode::CONFLICT, None).await;
        assert!(expired["detail"].as_str().unwrap().contains("expired"), "{expired}");
        assert!(matches!(app.client.reserve_slot(&quote.id, "2030-01-08-am", "r").await, Err(Error::Conflict { .. })));
        assert_eq!(app.count("slot_reservations").await, 0);
    })
    .await;
}

#[tokio::test]
async fn slot_availability_lists_the_calendar() {
    on_each_backend(|backend| async move {
        let app = FurnitureApp::start(backend).await;
        let openapi = app.get("/openapi.json").await;
        assert_eq!(openapi["paths"].as_object().unwrap().len(), 7, "every route is documented");
        let slots = app.get("/v1/slots").await;
        let ids: Vec<&str> = slots["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!((ids.len(), ids[0], ids[23]), (24, "2030-01-08-am", "2030-01-21-pm"));

        let week = app.get("/v1/slots?from=2030-01-07&days=7").await;
        let dates: Vec<&str> = week["slots"].as_array().unwrap().iter().map(|s| s["date"].as_str().unwrap()).collect();
        assert_eq!(dates.len(), 12, "six days of the week are delivery days");
        assert!(!dates.contains(&"2030-01-13"));

        for (query, field) in [
            ("from=2030-01-06", "from"),
            ("from=07/01/2030", "from"),
            ("from=2031-02-01", "from"),
            ("days=0", "days"),
            ("days=63", "days"),
            ("days=many", "days"),
            ("colour=red", "colour"),
        ] {
            let response = client().get(app.url(&format!("/v1/slots?{query}"))).send().await.unwrap();
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
    })
    .await;
}

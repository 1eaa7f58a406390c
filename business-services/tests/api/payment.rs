//! The payment gateway over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use business_services::launch::{Local, Plan, launch};
use business_services::money::{CurrencyCode, Money};
use business_services::payment::client::PaymentClient;
use business_services::payment::domain::{AuthorizationStatus, AuthorizeRequest, CardDetails, DeclineCode};
use business_services::payment::{self};
use business_services::platform::Error;
use business_services::platform::clock::ManualClock;
use business_services::platform::faults::Faults;
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json as body};
use sqlx::Row;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

/// The clock the gateway reads: cards expiring before November 2026 are expired.
const NOW: OffsetDateTime = match OffsetDateTime::from_unix_timestamp(1_795_532_400) {
    Ok(now) => now,
    Err(_) => OffsetDateTime::UNIX_EPOCH,
};

/// The gateway on a manual clock.
struct PaymentApp {
    served: Served,
    clock: Arc<ManualClock>,
    store: TestDb,
    backend: Backend,
}

impl PaymentApp {
    async fn start(backend: Backend) -> PaymentApp {
        let store = TestDb::open(backend, "payment", &payment::MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(NOW));
        let served = Served::system(&payment::Payment, &store, Setup::on(clock.clone())).await;
        PaymentApp { served, clock, store, backend }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    async fn authorize(&self, key: Option<&str>, request: &Value) -> reqwest::Response {
        let mut post = client().post(self.url("/v1/authorizations")).json(request);
        if let Some(key) = key {
            post = post.header("idempotency-key", key);
        }
        post.send().await.unwrap()
    }

    async fn act(&self, authorization: &Value, action: &str) -> reqwest::Response {
        let id = authorization["id"].as_str().unwrap();
        client().post(self.url(&format!("/v1/authorizations/{id}/{action}"))).send().await.unwrap()
    }

    async fn refund(&self, authorization: &Value, key: &str, minor_units: i64) -> reqwest::Response {
        let id = authorization["id"].as_str().unwrap();
        client()
            .post(self.url(&format!("/v1/authorizations/{id}/refunds")))
            .header("idempotency-key", key)
            .json(&body!({"amount": {"currency": "USD", "minor_units": minor_units}}))
            .send()
            .await
            .unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }

    /// Every text and number stored in every table of the gateway's schema, as one string.
    async fn everything_stored(&self) -> String {
        let tables = match self.backend {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema()"
            }
        };
        let mut tables: Vec<String> = sqlx::query_scalar(tables).fetch_all(self.store.db.pool()).await.unwrap();
        // The migrator's own bookkeeping holds no payment data (and types the Any driver skips).
        tables.retain(|table| table != "_sqlx_migrations");
        assert!(tables.iter().any(|t| t == "authorizations") && tables.len() >= 3, "{tables:?}");
        let mut stored = String::new();
        for table in tables {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
                .fetch_all(self.store.db.pool())
                .await
                .unwrap();
            for row in rows {
                for i in 0..row.len() {
                    if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                        stored.push_str(&text);
                    } else if let Ok(Some(number)) = row.try_get::<Option<i64>, _>(i) {
                        stored.push_str(&number.to_string());
                    }
                    stored.push('|');
                }
            }
        }
        stored
    }
}

fn request(reference: &str, minor_units: i64, number: &str) -> Value {
    body!({
        "reference": reference,
        "amount": {"currency": "USD", "minor_units": minor_units},
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvv": "123"},
    })
}

fn usd(minor_units: i64) -> Value {
    body!({"currency": "USD", "minor_units": minor_units})
}

#[tokio::test]
async fn approve_capture_and_refund() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let created = app.authorize(Some("key-1"), &request("order-1", 1999, "4242 4242 4242 4242")).await;
        let authorized = json(created, StatusCode::CREATED).await;
        assert_eq!(authorized["status"], "authorized");
        assert_eq!((authorized["brand"].as_str(), authorized["last4"].as_str()), (Some("visa"), Some("4242")));
        assert_eq!(authorized["amount"], usd(1999));
        assert_eq!((&authorized["captured"], &authorized["refunded"]), (&usd(0), &usd(0)));
        assert!(authorized["decline_code"].is_null());
        assert!(authorized["id"].as_str().unwrap().starts_with("auth_"));
        assert_eq!(authorized["created_at"], "2026-11-24T15:00:00Z");

        let captured = json(app.act(&authorized, "capture").await, StatusCode::OK).await;
        assert_eq!((captured["status"].as_str(), &captured["captured"]), (Some("captured"), &usd(1999)));
        assert_eq!(
            json(app.act(&authorized, "capture").await, StatusCode::OK).await,
            captured,
            "capture is idempotent"
        );

        let refund = json(app.refund(&authorized, "refund-1", 500).await, StatusCode::CREATED).await;
        assert_eq!(
            (refund["amount"].clone(), refund["authorization_id"].clone()),
            (usd(500), authorized["id"].clone())
        );
        let again = app.refund(&authorized, "refund-1", 500).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await, refund, "one key, one refund");
        assert_problem(
            app.refund(&authorized, "refund-1", 600).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Idempotency-Key"),
        )
        .await;
        let problem = assert_problem(
            app.refund(&authorized, "refund-2", 1500).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("USD 14.99"), "says what is left: {problem}");
        json(app.refund(&authorized, "refund-3", 1499).await, StatusCode::CREATED).await;
        assert_problem(app.refund(&authorized, "refund-4", 1).await, StatusCode::UNPROCESSABLE_ENTITY, Some("amount"))
            .await;
        let euros = client()
            .post(app.url(&format!("/v1/authorizations/{}/refunds", authorized["id"].as_str().unwrap())))
            .header("idempotency-key", "refund-5")
            .json(&body!({"amount": {"currency": "EUR", "minor_units": 0}}))
            .send()
            .await
            .unwrap();
        assert_problem(euros, StatusCode::UNPROCESSABLE_ENTITY, Some("amount")).await;

        let id = authorized["id"].as_str().unwrap();
        let now =
            json(client().get(app.url(&format!("/v1/authorizations/{id}"))).send().await.unwrap(), StatusCode::OK)
                .await;
        assert_eq!((&now["captured"], &now["refunded"]), (&usd(1999), &usd(1999)));
        assert_eq!(app.count("refunds").await, 2);

        let problem = assert_problem(app.act(&authorized, "void").await, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("refund it instead"), "{problem}");
    })
    .await;
}

#[tokio::test]
async fn voids_cancel_holds_once() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let authorized =
            json(app.authorize(Some("k"), &request("order-2", 5000, "5555555555554444")).await, StatusCode::CREATED)
                .await;
        assert_eq!(authorized["brand"], "mastercard");
        let voided = json(app.act(&authorized, "void").await, StatusCode::OK).await;
        assert_eq!((voided["status"].as_str(), &voided["captured"]), (Some("voided"), &usd(0)));
        assert_eq!(json(app.act(&authorized, "void").await, StatusCode::OK).await, voided, "void is idempotent");
        assert_problem(app.act(&authorized, "capture").await, StatusCode::CONFLICT, None).await;
        assert_problem(app.refund(&authorized, "r", 100).await, StatusCode::CONFLICT, None).await;
        let unknown = client()
            .post(app.url("/v1/authorizations/auth_00000000000000000000000000000000/void"))
            .send()
            .await
            .unwrap();
        assert_problem(unknown, StatusCode::NOT_FOUND, None).await;
        let malformed = client().post(app.url("/v1/authorizations/order-2/capture")).send().await.unwrap();
        assert_problem(malformed, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;

        // Capture and void racing for one authorization: exactly one wins.
        let raced =
            json(app.authorize(Some("k2"), &request("order-3", 5000, "4242424242424242")).await, StatusCode::CREATED)
                .await;
        let (capture, void) = tokio::join!(app.act(&raced, "capture"), app.act(&raced, "void"));
        let statuses = [capture.status(), void.status()];
        assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::CONFLICT), "{statuses:?}");
    })
    .await;
}

#[tokio::test]
async fn each_decline_card_is_recorded_with_its_code() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        for (number, code) in [
            ("4000 0000 0000 0002", "card_declined"),
            ("4000 0000 0000 9995", "insufficient_funds"),
            ("4000 0000 0000 0069", "expired_card"),
        ] {
            app.clock.advance(time::Duration::milliseconds(1));
            let declined =
                json(app.authorize(Some(code), &request("order-4", 1000, number)).await, StatusCode::CREATED).await;
            assert_eq!(
                (declined["status"].as_str(), declined["decline_code"].as_str()),
                (Some("declined"), Some(code))
            );
            assert_eq!(declined["last4"], &number[15..]);
            let problem = assert_problem(app.act(&declined, "capture").await, StatusCode::CONFLICT, None).await;
            assert!(problem["detail"].as_str().unwrap().contains("declined"), "{problem}");
            assert_problem(app.act(&declined, "void").await, StatusCode::CONFLICT, None).await;
        }
        let listed =
            json(client().get(app.url("/v1/authorizations?reference=order-4")).send().await.unwrap(), StatusCode::OK)
                .await;
        let codes: Vec<&str> =
            listed["items"].as_array().unwrap().iter().map(|a| a["decline_code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["card_declined", "insufficient_funds", "expired_card"], "recorded, oldest first");
    })
    .await;
}

#[tokio::test]
async fn the_capture_declined_card_authorizes_but_cannot_be_captured() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let authorized =
            json(app.authorize(Some("k"), &request("order-5", 2500, "4000000000000341")).await, StatusCode::CREATED)
                .await;
        assert_eq!(authorized["status"], "authorized");
        let problem = assert_problem(app.act(&authorized, "capture").await, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().starts_with("capture_declined"), "{problem}");
        let id = authorized["id"].as_str().unwrap();
        let failed =
            json(client().get(app.url(&format!("/v1/authorizations/{id}"))).send().await.unwrap(), StatusCode::OK)
                .await;
        assert_eq!(
            (failed["status"].as_str(), failed["decline_code"].as_str()),
            (Some("authorized"), Some("capture_declined"))
        );
        assert_eq!(failed["captured"], usd(0), "nothing was charged");
        assert_problem(app.act(&authorized, "capture").await, StatusCode::CONFLICT, None).await;
        let voided = json(app.act(&authorized, "void").await, StatusCode::OK).await;
        assert_eq!(voided["status"], "voided", "the hold can still be released");
    })
    .await;
}

#[tokio::test]
async fn a_network_failure_is_a_503_and_records_nothing() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        for _ in 0..2 {
            let failed = app.authorize(Some("k"), &request("order-6", 1000, "4000 0000 0000 0119")).await;
            let problem = assert_problem(failed, StatusCode::SERVICE_UNAVAILABLE, None).await;
            assert!(problem["detail"].as_str().unwrap().contains("nothing was charged"), "{problem}");
        }
        assert_eq!((app.count("authorizations").await, app.count("idempotency_keys").await), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn bad_requests_name_the_field_and_record_nothing() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let with_card = |number: &str, exp_month: u32, exp_year: u32, cvv: &str| {
            let mut request = request("order-7", 1000, number);
            request["card"] = body!({"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvv": cvv});
            request
        };
        let cases = [
            (with_card("4242 4242 4242 4241", 12, 2030, "123"), "card.number"),
            (with_card("4242", 12, 2030, "123"), "card.number"),
            (with_card("4242 4242 4242 424x", 12, 2030, "123"), "card.number"),
            (with_card("4242424242424242", 13, 2030, "123"), "card.exp_month"),
            (with_card("4242424242424242", 10, 2026, "123"), "card.exp_month"),
            (with_card("4242424242424242", 12, 2025, "123"), "card.exp_year"),
            (with_card("4242424242424242", 12, 30, "123"), "card.exp_year"),
            (with_card("4242424242424242", 12, 2030, "12"), "card.cvv"),
            (with_card("378282246310005", 12, 2030, "123"), "card.cvv"),
            (request("order-7", 0, "4242424242424242"), "amount"),
            (request("", 1000, "4242424242424242"), "reference"),
            (body!({"reference": "o", "amount": usd(1), "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}}), "card.cvv"),
            (body!({"reference": "o", "amount": {"currency": "XXX", "minor_units": 1}, "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvv": "123"}}), "amount.currency"),
        ];
        for (request, field) in cases {
            assert_problem(app.authorize(Some("k"), &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        let no_key = app.authorize(None, &request("order-7", 1000, "4242424242424242")).await;
        assert_problem(no_key, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let no_reference = client().get(app.url("/v1/authorizations")).send().await.unwrap();
        assert_problem(no_reference, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;
        assert_eq!((app.count("authorizations").await, app.count("idempotency_keys").await), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn one_idempotency_key_charges_once() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let first = json(
            app.authorize(Some("pay-1"), &request("order-8", 4200, "4242424242424242")).await,
            StatusCode::CREATED,
        )
        .await;
        let again = app.authorize(Some("pay-1"), &request("order-8", 4200, "4242-4242-4242-4242")).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await, first, "same key, same authorization");
        let other = app.authorize(Some("pay-1"), &request("order-8", 4300, "4242424242424242")).await;
        assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;

        let declined = request("order-9", 990, "4000 0000 0000 0002");
        let storm = futures_util::future::join_all((0..20).map(|_| app.authorize(Some("pay-2"), &declined))).await;
        let mut ids = Vec::new();
        for response in storm {
            ids.push(json(response, StatusCode::CREATED).await["id"].clone());
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "20 concurrent requests, one authorization: {ids:?}");
        assert_eq!(app.count("authorizations").await, 2);
    })
    .await;
}

#[tokio::test]
async fn no_card_number_is_ever_stored() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let cards = ["4242 4242 4242 4242", "4000-0000-0000-0002", "378282246310005", "4000000000000341"];
        for (i, number) in cards.iter().enumerate() {
            let mut request = request(&format!("order-{i}"), 1000 + i as i64, number);
            if number.starts_with("37") {
                request["card"]["cvv"] = "4321".into();
            }
            let authorization =
                json(app.authorize(Some(&format!("key-{i}")), &request).await, StatusCode::CREATED).await;
            let _ = app.act(&authorization, "capture").await;
        }
        let stored = app.everything_stored().await;
        assert!(stored.contains("4242") && stored.contains("0005"), "the scan reads the stored rows");
        for number in cards {
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            assert!(!stored.contains(&digits), "{digits} is stored");
            assert!(!stored.contains(number), "{number} is stored");
            assert!(!stored.contains(&digits[..12]), "the first 12 digits of {number} are stored");
        }
        assert!(!stored.contains("4321"), "the security code is stored");
    })
    .await;
}

#[tokio::test]
async fn authorizations_are_listed_by_reference_a_page_at_a_time() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        for i in 0..5 {
            app.clock.advance(time::Duration::seconds(1));
            json(
                app.authorize(Some(&format!("k-{i}")), &request("order&co/1#2", 100 + i, "4242424242424242")).await,
                StatusCode::CREATED,
            )
            .await;
        }
        json(app.authorize(Some("other"), &request("order-2", 1, "4242424242424242")).await, StatusCode::CREATED).await;
        let (mut amounts, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let mut url = app.url("/v1/authorizations?reference=order%26co%2F1%232&limit=2");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let page = json(client().get(url).send().await.unwrap(), StatusCode::OK).await;
            amounts
                .extend(page["items"].as_array().unwrap().iter().map(|a| a["amount"]["minor_units"].as_i64().unwrap()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(amounts, [100, 101, 102, 103, 104], "every authorization of the reference, oldest first");

        let gateway = PaymentClient::new(&peer(&app.served.url), Duration::from_secs(2));
        let found = gateway.by_reference("order&co/1#2").await.unwrap();
        assert_eq!(found.iter().map(|a| a.amount.minor_units).collect::<Vec<_>>(), [100, 101, 102, 103, 104]);
        assert!(gateway.by_reference("nobody").await.unwrap().is_empty());
    })
    .await;
}

fn card(number: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        reference: "order-10".into(),
        amount: Money::new(CurrencyCode::EUR, 12_50),
        card: CardDetails { number: number.into(), exp_month: 1, exp_year: 2027, cvv: "321".into() },
    }
}

#[tokio::test]
async fn the_client_takes_a_payment_from_start_to_end() {
    on_each_backend(|backend| async move {
        let app = PaymentApp::start(backend).await;
        let gateway = PaymentClient::new(&peer(&app.served.url), Duration::from_secs(2));
        let authorized = gateway.authorize(&card("4242424242424242"), "client-1").await.unwrap();
        assert_eq!(authorized.status, AuthorizationStatus::Authorized);
        assert_eq!(gateway.authorize(&card("4242424242424242"), "client-1").await.unwrap(), authorized);
        let captured = gateway.capture(&authorized.id).await.unwrap();
        assert_eq!(captured.captured, Money::new(CurrencyCode::EUR, 12_50));
        assert!(matches!(gateway.void(&authorized.id).await, Err(Error::Conflict { .. })));
        let refund =
            gateway.refund(&authorized.id, Money::new(CurrencyCode::EUR, 250), "client-refund-1").await.unwrap();
        assert_eq!(refund.authorization_id, authorized.id);
        assert_eq!(
            gateway.authorization(&authorized.id).await.unwrap().unwrap().refunded,
            Money::new(CurrencyCode::EUR, 250)
        );

        let declined = gateway.authorize(&card("4000000000009995"), "client-2").await.unwrap();
        assert_eq!(
            (declined.status, declined.decline_code),
            (AuthorizationStatus::Declined, Some(DeclineCode::InsufficientFunds))
        );
        let capture_declined = gateway.authorize(&card("4000000000000341"), "client-3").await.unwrap();
        match gateway.capture(&capture_declined.id).await {
            Err(Error::Conflict { detail }) => assert!(detail.starts_with("capture_declined"), "{detail}"),
            other => panic!("expected a declined capture, got {other:?}"),
        }
        assert_eq!(gateway.by_reference("order-10").await.unwrap().len(), 3);
        let unknown = business_services::payment::domain::AuthorizationId::generate(NOW);
        assert_eq!(gateway.authorization(&unknown).await.unwrap(), None);
        assert!(matches!(gateway.capture(&unknown).await, Err(Error::NotFound { .. })));
    })
    .await;
}

#[tokio::test]
async fn the_hanging_card_times_out_the_caller_and_ends_with_its_request() {
    on_each_backend(|backend| async move {
        let store = TestDb::open(backend, "payment", &payment::MIGRATOR).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (_audit_store, audit) = crate::harness::open_audit(backend).await;
        let local = Local {
            system: &payment::Payment,
            listener,
            db: Some(store.db.clone()),
            faults: Faults::default(),
            settings: serde_json::Value::Null,
        };
        let plan = Plan {
            registry: vec![&payment::Payment],
            local: vec![local],
            urls: Default::default(),
            clock: Arc::new(ManualClock::new(NOW)),
            extensions: Default::default(),
            data_dir: std::env::temp_dir(),
            demo_data: false,
            trust: crate::harness::trust(),
            audit,
        };
        let shutdown = CancellationToken::new();
        let launched = launch(plan, &shutdown).await.unwrap();
        let url = launched.urls["payment"].clone();

        let gateway = PaymentClient::new(&peer(&url), Duration::from_millis(200));
        let started = Instant::now();
        let outcome = gateway.authorize(&card("4000 0000 0000 3220"), "hang-1").await;
        assert!(matches!(outcome, Err(Error::Unavailable { .. })), "{outcome:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "gave up after {:?}", started.elapsed());
        let approved = gateway.authorize(&card("4242424242424242"), "after-hang").await.unwrap();
        assert_eq!(approved.status, AuthorizationStatus::Authorized, "the gateway is not tied up");
        let recorded: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM authorizations").fetch_one(store.db.pool()).await.unwrap();
        assert_eq!(recorded, 1, "the hanging attempts recorded nothing");

        // The hang ended with the requests the caller gave up on: nothing is in flight, so a
        // graceful shutdown (which waits for in-flight requests) finishes at once.
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(2), launched.finish()).await;
        assert!(stopped.is_ok(), "a hanging request kept the server busy after its caller left");
    })
    .await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = PaymentApp::start(Backend::Sqlite).await;
    let document = json(client().get(app.url("/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    for (path, method) in [
        ("/v1/authorizations", "post"),
        ("/v1/authorizations", "get"),
        ("/v1/authorizations/{id}", "get"),
        ("/v1/authorizations/{id}/capture", "post"),
        ("/v1/authorizations/{id}/void", "post"),
        ("/v1/authorizations/{id}/refunds", "post"),
    ] {
        assert!(document["paths"][path][method].is_object(), "{method} {path} missing");
    }
    assert_eq!(document["paths"].as_object().unwrap().len(), 5);
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("4000 0000 0000 0341"), "the test cards are documented");
}

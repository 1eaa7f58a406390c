//! The fraud system over HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use business_services::fraud::client::FraudClient;
use business_services::fraud::domain::{
    AccountStanding, Assessment, AssessmentId, AssessmentRequest, CardSummary, Decision, Location,
};
use business_services::fraud::{self, Settings};
use business_services::money::{CurrencyCode, Money};
use business_services::platform::client::RequestSigner;
use business_services::platform::clock::{Clock, ManualClock};
use business_services::platform::signing::HmacSigner;
use business_services::platform::system::Settings as _;
use business_services::platform::testing::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json as body};
use time::OffsetDateTime;

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

const KEY_ID: &str = "checkout";
const SECRET: &str = "integration-test-secret-of-32-chars-or-more";

struct FraudApp {
    served: Served,
    clock: Arc<ManualClock>,
    /// Signs as checkout, on the engine's own clock.
    signer: HmacSigner,
    client: FraudClient,
    store: TestDb,
}

impl FraudApp {
    async fn start(backend: Backend) -> FraudApp {
        FraudApp::with_thresholds(backend, 50, 80).await
    }

    async fn with_thresholds(backend: Backend, review_at: u8, block_at: u8) -> FraudApp {
        let store = TestDb::open(backend, "fraud", &fraud::MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let settings = Settings {
            review_at,
            block_at,
            callers: BTreeMap::from([(KEY_ID.to_owned(), SECRET.into())]),
            ..Settings::default()
        };
        settings.validate().unwrap();
        let served = Served::system(&fraud::Fraud, &store, Setup::on(clock.clone()).with_settings(&settings)).await;
        let client = FraudClient::new(&peer(&served.url), Duration::from_secs(5), KEY_ID, SECRET);
        let signer = HmacSigner::new(KEY_ID, SECRET, clock.clone());
        FraudApp { served, clock, signer, client, store }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    /// Sends a request signed by `signer`.
    async fn send_signed(
        &self,
        signer: &dyn RequestSigner,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let bytes = body.map(|body| serde_json::to_vec(body).unwrap()).unwrap_or_default();
        let mut request = client().request(method.clone(), self.url(path));
        for (name, value) in signer.sign(&method, path, &bytes) {
            request = request.header(name, value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json").body(bytes);
        }
        request.send().await.unwrap()
    }

    /// Sends a request signed as checkout at the engine's clock.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        self.send_signed(&self.signer, method, path, body).await
    }

    async fn assess(&self, request: &AssessmentRequest) -> Assessment {
        let response = self.send(Method::POST, "/v1/assessments", Some(&serde_json::to_value(request).unwrap())).await;
        serde_json::from_value(json(response, StatusCode::CREATED).await).unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }

    /// A clean order: a customer of more than a year in good standing, billed and shipping in
    /// one country, with a card, email and postal code of its own.
    fn order(&self, reference: &str) -> AssessmentRequest {
        let place = Location { country: "US".into(), postal_code: reference.chars().take(16).collect() };
        AssessmentRequest {
            reference: reference.into(),
            customer_id: Some(format!("cus-{reference}")),
            email: format!("{reference}@example.com"),
            amount: Money::new(CurrencyCode::USD, 12_000),
            card: CardSummary { fingerprint: format!("fp-{reference}"), brand: "visa".into(), last4: "4242".into() },
            billing: place.clone(),
            shipping: place,
            account_created_at: Some(self.clock.now() - time::Duration::days(400)),
            account_standing: Some(AccountStanding::Good),
            ip: Some("203.0.113.9".into()),
        }
    }
}

fn codes(assessment: &Assessment) -> Vec<&str> {
    assessment.reasons.iter().map(|reason| reason.code.as_str()).collect()
}

#[tokio::test]
async fn unsigned_and_badly_signed_requests_are_refused() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let order = serde_json::to_value(app.order("sig-1")).unwrap();
        let refused = |response: reqwest::Response, cause: &'static str| async move {
            let problem = assert_problem(response, StatusCode::UNAUTHORIZED, None).await;
            assert!(problem["detail"].as_str().unwrap().contains(cause), "expected '{cause}': {problem}");
        };

        let unsigned = client().post(app.url("/v1/assessments")).json(&order).send().await.unwrap();
        refused(unsigned, "x-boutique-key-id is missing").await;
        let wrong_secret = HmacSigner::new(KEY_ID, "a-wrong-secret-that-is-32-chars-long", app.clock.clone());
        refused(app.send_signed(&wrong_secret, Method::POST, "/v1/assessments", Some(&order)).await, "bad signature")
            .await;
        let unknown = HmacSigner::new("partner", SECRET, app.clock.clone());
        refused(
            app.send_signed(&unknown, Method::POST, "/v1/assessments", Some(&order)).await,
            "unknown key id 'partner'",
        )
        .await;
        let behind = Arc::new(ManualClock::new(app.clock.now() - time::Duration::seconds(301)));
        let stale = HmacSigner::new(KEY_ID, SECRET, behind);
        refused(app.send_signed(&stale, Method::POST, "/v1/assessments", Some(&order)).await, "stale").await;
        let tampered = app.signer.sign(&Method::POST, "/v1/assessments", b"{}");
        let mut request = client().post(app.url("/v1/assessments")).json(&order);
        for (name, value) in tampered {
            request = request.header(name, value);
        }
        refused(request.send().await.unwrap(), "bad signature").await;
        assert_eq!(app.count("assessments").await, 0, "nothing refused was assessed");

        // The same signed request twice: the copy is refused.
        let bytes = serde_json::to_vec(&order).unwrap();
        let headers = app.signer.sign(&Method::POST, "/v1/assessments", &bytes);
        let replay = || {
            let mut request = client()
                .post(app.url("/v1/assessments"))
                .header("content-type", "application/json")
                .body(bytes.clone());
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            request.send()
        };
        json(replay().await.unwrap(), StatusCode::CREATED).await;
        refused(replay().await.unwrap(), "replayed").await;
        // A signature is remembered until its timestamp leaves the window, and refused as stale after.
        app.clock.advance(time::Duration::seconds(301));
        refused(replay().await.unwrap(), "stale").await;
        assert_eq!(app.count("assessments").await, 1);

        for open in ["/healthz", "/readyz", "/openapi.json"] {
            assert_eq!(client().get(app.url(open)).send().await.unwrap().status(), StatusCode::OK, "{open}");
        }
        refused(client().get(app.url("/v1/reviews")).send().await.unwrap(), "missing").await;
    })
    .await;
}

#[tokio::test]
async fn a_clean_order_is_allowed_with_no_reasons() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let assessment = app.client.assess(&app.order("clean-1")).await.unwrap();
        assert_eq!((assessment.score, assessment.decision, assessment.reasons.len()), (0, Decision::Allow, 0));
        assert_eq!(assessment.reference, "clean-1");
        assert_eq!(app.client.assessment(&assessment.id).await.unwrap(), Some(assessment));
        assert_eq!(app.client.assessment(&AssessmentId::generate()).await.unwrap(), None);
        let guest = AssessmentRequest {
            customer_id: None,
            account_created_at: None,
            account_standing: None,
            ..app.order("guest-1")
        };
        assert_eq!(app.client.assess(&guest).await.unwrap().decision, Decision::Allow);
    })
    .await;
}

#[tokio::test]
async fn each_risk_feature_raises_the_score_with_its_reason() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let now = app.clock.now();
        let cases = [
            (
                AssessmentRequest { account_created_at: Some(now - time::Duration::hours(2)), ..app.order("new-1") },
                "new_account",
                25,
            ),
            (
                AssessmentRequest { account_created_at: Some(now - time::Duration::days(10)), ..app.order("young-1") },
                "young_account",
                10,
            ),
            (
                AssessmentRequest {
                    billing: Location { country: "CA".into(), postal_code: "K1A 0B1".into() },
                    ..app.order("mismatch-1")
                },
                "country_mismatch",
                20,
            ),
            (
                AssessmentRequest { account_standing: Some(AccountStanding::Watch), ..app.order("watch-1") },
                "account_watch",
                30,
            ),
            (
                AssessmentRequest {
                    customer_id: None,
                    amount: Money::new(CurrencyCode::USD, 100_001),
                    ..app.order("big-1")
                },
                "large_first_purchase",
                20,
            ),
        ];
        for (request, code, points) in cases {
            let assessment = app.assess(&request).await;
            assert_eq!((codes(&assessment), assessment.score), (vec![code], points), "{assessment:?}");
            assert_eq!(assessment.reasons[0].points, points);
            assert!(!assessment.reasons[0].detail.is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn velocity_counts_assessments_within_the_hour() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        // Four orders with one card, from different customers and addresses, within an hour.
        let with_card = |n: u32| AssessmentRequest {
            card: CardSummary { fingerprint: "fp-hot".into(), brand: "visa".into(), last4: "0005".into() },
            ..app.order(&format!("card-{n}"))
        };
        for n in 0..3 {
            assert_eq!(app.assess(&with_card(n)).await.score, 0, "order {n}");
            app.clock.advance(time::Duration::minutes(10));
        }
        let fourth = app.assess(&with_card(3)).await;
        assert_eq!((codes(&fourth), fourth.score), (vec!["card_velocity_1h"], 25));
        assert!(fourth.reasons[0].detail.contains("3 earlier"), "{fourth:?}");

        // An hour later, the earliest orders fall out of the window.
        app.clock.advance(time::Duration::minutes(61));
        assert_eq!(app.assess(&with_card(4)).await.score, 0);

        // One customer ordering with different cards: the fourth within the hour is flagged.
        let as_customer = |n: u32| AssessmentRequest {
            customer_id: Some("cus-busy".into()),
            email: "busy@example.com".into(),
            ..app.order(&format!("busy-{n}"))
        };
        for n in 0..3 {
            app.assess(&as_customer(n)).await;
        }
        let busy = app.assess(&as_customer(3)).await;
        assert_eq!(codes(&busy), ["customer_velocity_1h"]);
    })
    .await;
}

#[tokio::test]
async fn an_amount_far_above_the_customers_usual_is_a_spike() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let spending = |n: u32, cents: i64| AssessmentRequest {
            customer_id: Some("cus-regular".into()),
            email: "regular@example.com".into(),
            amount: Money::new(CurrencyCode::USD, cents),
            ..app.order(&format!("spend-{n}"))
        };
        for n in 0..3 {
            assert_eq!(app.assess(&spending(n, 5_000)).await.score, 0);
            app.clock.advance(time::Duration::hours(2));
        }
        // Exactly three times the mean of $50 is not a spike.
        assert_eq!(app.assess(&spending(3, 15_000)).await.score, 0);
        app.clock.advance(time::Duration::hours(2));
        // The mean is now $75: $400 is more than three times it.
        let spike = app.assess(&spending(4, 40_000)).await;
        assert_eq!((codes(&spike), spike.score), (vec!["amount_spike"], 25));
        // Amounts in another currency are not compared with dollars.
        let euros = AssessmentRequest { amount: Money::new(CurrencyCode::EUR, 40_000), ..spending(5, 0) };
        assert_eq!(app.assess(&euros).await.score, 0);
    })
    .await;
}

#[tokio::test]
async fn suspended_accounts_are_blocked() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let suspended = AssessmentRequest { account_standing: Some(AccountStanding::Suspended), ..app.order("sus-1") };
        let assessment = app.client.assess(&suspended).await.unwrap();
        assert_eq!(
            (assessment.decision, assessment.score, codes(&assessment)),
            (Decision::Block, 100, vec!["account_suspended"])
        );
        assert_eq!(app.count("reviews").await, 0, "blocked orders are not queued for review");
    })
    .await;
}

#[tokio::test]
async fn thresholds_from_settings_decide_review_and_block() {
    on_each_backend(|backend| async move {
        let app = FraudApp::with_thresholds(backend, 20, 45).await;
        let now = app.clock.now();
        let abroad = |reference: &str| AssessmentRequest {
            billing: Location { country: "GB".into(), postal_code: "SW1A 1AA".into() },
            ..app.order(reference)
        };
        let young =
            AssessmentRequest { account_created_at: Some(now - time::Duration::days(10)), ..app.order("t-young") };
        assert_eq!(app.assess(&young).await.decision, Decision::Allow, "10 points");
        assert_eq!(app.assess(&abroad("t-abroad")).await.decision, Decision::Review, "20 points");
        let new_abroad =
            AssessmentRequest { account_created_at: Some(now - time::Duration::hours(1)), ..abroad("t-new") };
        let blocked = app.assess(&new_abroad).await;
        assert_eq!((blocked.score, blocked.decision), (45, Decision::Block));

        // With the default thresholds the same 45 points are allowed.
        let defaults = FraudApp::start(backend).await;
        let relaxed = AssessmentRequest { account_created_at: Some(now - time::Duration::hours(1)), ..abroad("d-new") };
        assert_eq!(defaults.assess(&relaxed).await.decision, Decision::Allow);
    })
    .await;
}

#[tokio::test]
async fn the_reference_makes_an_assessment_idempotent() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let order = app.order("again-1");
        let first = app.client.assess(&order).await.unwrap();
        // More orders with the card: assessing the first again must not score it anew.
        for n in 0..4 {
            app.assess(&AssessmentRequest { card: order.card.clone(), ..app.order(&format!("again-card-{n}")) }).await;
        }
        let body = serde_json::to_value(&order).unwrap();
        // The client signs on the real clock, this test's signer on the engine's: two minutes
        // apart (within the accepted skew), the two never sign the same bytes in the same
        // second, which the engine would refuse as a replayed signature.
        app.clock.advance(time::Duration::seconds(120));
        let replayed = app.send(Method::POST, "/v1/assessments", Some(&body)).await;
        if replayed.headers().get("idempotent-replayed").is_none_or(|value| value != "true") {
            panic!("not a replay: {} {}", replayed.status(), replayed.text().await.unwrap());
        }
        let replayed: Assessment = serde_json::from_value(json(replayed, StatusCode::CREATED).await).unwrap();
        assert_eq!(replayed, first);
        assert_eq!(app.client.assess(&order).await.unwrap(), first);

        let storm_order = app.order("storm-1");
        let storm = futures_util::future::join_all((0..8).map(|_| app.client.assess(&storm_order))).await;
        let ids: Vec<AssessmentId> = storm.into_iter().map(|assessment| assessment.unwrap().id).collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

        let changed = AssessmentRequest { amount: Money::new(CurrencyCode::USD, 99), ..order };
        let response = app.send(Method::POST, "/v1/assessments", Some(&serde_json::to_value(changed).unwrap())).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;
        assert_eq!(app.count("assessments").await, 6);
    })
    .await;
}

#[tokio::test]
async fn amounts_are_bounded_and_a_huge_history_still_scores() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let max = CurrencyCode::USD.max_minor_units();
        let order = |reference: &str, minor_units: i64| AssessmentRequest {
            email: "big@example.com".into(),
            customer_id: Some("cus-big".into()),
            amount: Money::new(CurrencyCode::USD, minor_units),
            ..app.order(reference)
        };
        for too_much in [max + 1, i64::MAX] {
            let request = serde_json::to_value(order("too-much", too_much)).unwrap();
            let refused = app.send(Method::POST, "/v1/assessments", Some(&request)).await;
            let problem = assert_problem(refused, StatusCode::UNPROCESSABLE_ENTITY, Some("amount.minor_units")).await;
            assert!(problem["detail"].as_str().unwrap().contains("USD 1000000000.00"), "{problem}");
        }
        assert_eq!(app.count("assessments").await, 0, "nothing written");
        // A history whose sum passes i64::MAX (recorded before amounts were bounded) leaves
        // later assessments of the customer scoring, not failing.
        for n in 0..2 {
            sqlx::query(
                "INSERT INTO orders_seen (order_id, reference, event_id, customer_id, email, amount_minor, currency, \
                 card_fingerprint, shipping_country, shipping_postal_code, created_at) \
                 VALUES ($1, $1, $1, 'cus-big', 'big@example.com', $2, 'USD', 'fp-old', 'US', '1', 0)",
            )
            .bind(format!("legacy-{n}"))
            .bind(i64::MAX - 1)
            .execute(app.store.db.pool())
            .await
            .unwrap();
        }
        let scored = app.assess(&order("after-legacy", max)).await;
        assert!(!codes(&scored).contains(&"amount_spike"), "{scored:?}");
    })
    .await;
}

#[tokio::test]
async fn bad_requests_name_the_field_and_write_nothing() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let good = serde_json::to_value(app.order("bad-1")).unwrap();
        let with = |path: &[&str], value: Value| {
            let mut body = good.clone();
            let (last, parents) = path.split_last().unwrap();
            let mut target = &mut body;
            for parent in parents {
                target = &mut target[*parent];
            }
            target[*last] = value;
            body
        };
        let cases = [
            (with(&["email"], body!("not-an-email")), "email"),
            (with(&["card", "last4"], body!("42")), "card.last4"),
            (with(&["amount", "currency"], body!("XYZ")), "amount.currency"),
            (with(&["amount", "minor_units"], body!(-1)), "amount.minor_units"),
            (with(&["shipping", "country"], body!("United States")), "shipping.country"),
            (with(&["ip"], body!("localhost")), "ip"),
            (with(&["account_standing"], body!("excellent")), "account_standing"),
            (with(&["account_created_at"], body!("yesterday")), "account_created_at"),
            (with(&["reference"], body!("")), "reference"),
            (with(&["colour"], body!("red")), "colour"),
        ];
        for (request, field) in cases {
            let response = app.send(Method::POST, "/v1/assessments", Some(&request)).await;
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        let malformed = app.send(Method::GET, "/v1/assessments/nope", None).await;
        assert_problem(malformed, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
        assert_eq!(app.count("assessments").await, 0);
    })
    .await;
}

#[tokio::test]
async fn the_review_queue_is_paged_and_each_review_decided_once() {
    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        // Watch (30) and a country mismatch (20): 50 points, review.
        let risky = |reference: &str| AssessmentRequest {
            account_standing: Some(AccountStanding::Watch),
            billing: Location { country: "FR".into(), postal_code: "75001".into() },
            ..app.order(reference)
        };
        let mut queued = Vec::new();
        for n in 0..3 {
            let assessment = app.assess(&risky(&format!("queue-{n}"))).await;
            assert_eq!((assessment.score, assessment.decision), (50, Decision::Review));
            queued.push(assessment.id);
            app.clock.advance(time::Duration::seconds(1));
        }
        let allowed = app.assess(&app.order("queue-allowed")).await;

        let first = json(app.send(Method::GET, "/v1/reviews?status=pending&limit=2", None).await, StatusCode::OK).await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let second =
            json(app.send(Method::GET, &format!("/v1/reviews?limit=2&cursor={cursor}"), None).await, StatusCode::OK)
                .await;
        assert!(second["next_cursor"].is_null());
        let listed: Vec<&Value> =
            first["items"].as_array().unwrap().iter().chain(second["items"].as_array().unwrap()).collect();
        let ids: Vec<&str> = listed.iter().map(|review| review["assessment"]["id"].as_str().unwrap()).collect();
        assert_eq!(ids, queued.iter().map(AssessmentId::as_str).collect::<Vec<_>>(), "oldest first");
        assert!(listed.iter().all(|review| review["status"] == "pending" && review["analyst"].is_null()));

        let path = format!("/v1/reviews/{}/decision", queued[1]);
        let decision = body!({"outcome": "approve", "analyst": "grace", "note": "Known customer, travelling."});
        let decided = json(app.send(Method::POST, &path, Some(&decision)).await, StatusCode::OK).await;
        assert_eq!((decided["status"].as_str(), decided["analyst"].as_str()), (Some("approved"), Some("grace")));
        assert_eq!(decided["assessment"]["id"], queued[1].as_str());
        assert!(decided["decided_at"].is_string());
        let again = body!({"outcome": "reject", "analyst": "alan", "note": ""});
        let twice = assert_problem(app.send(Method::POST, &path, Some(&again)).await, StatusCode::CONFLICT, None).await;
        assert!(twice["detail"].as_str().unwrap().contains("already decided"), "{twice}");

        let not_reviewed = format!("/v1/reviews/{}/decision", allowed.id);
        assert_problem(app.send(Method::POST, &not_reviewed, Some(&again)).await, StatusCode::CONFLICT, None).await;
        let unknown = format!("/v1/reviews/{}/decision", AssessmentId::generate());
        assert_problem(app.send(Method::POST, &unknown, Some(&again)).await, StatusCode::NOT_FOUND, None).await;
        let bad_path = format!("/v1/reviews/{}/decision", queued[0]);
        for (bad, field) in [
            (body!({"outcome": "maybe", "analyst": "grace"}), "outcome"),
            (body!({"outcome": "reject", "analyst": "  "}), "analyst"),
            (body!({"outcome": "reject", "analyst": "grace", "note": "x".repeat(2001)}), "note"),
        ] {
            assert_problem(
                app.send(Method::POST, &bad_path, Some(&bad)).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(field),
            )
            .await;
        }

        let pending = json(app.send(Method::GET, "/v1/reviews", None).await, StatusCode::OK).await;
        assert_eq!(pending["items"].as_array().unwrap().len(), 2);
        let approved = json(app.send(Method::GET, "/v1/reviews?status=approved", None).await, StatusCode::OK).await;
        assert_eq!(approved["items"][0]["note"], "Known customer, travelling.");
        for (query, field) in [("status=open", "status"), ("cursor=%25%25", "cursor"), ("limit=0", "limit")] {
            let response = app.send(Method::GET, &format!("/v1/reviews?{query}"), None).await;
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
    })
    .await;
}

/// Pushes `envelope` to the engine's orders subscription, signed as the broker would, a
/// second after the previous request (so each signature is new).
async fn push(app: &FraudApp, envelope: &business_services::platform::events::PushEnvelope) -> reqwest::Response {
    app.clock.advance(time::Duration::SECOND);
    app.send(Method::POST, "/v1/events/orders", Some(&serde_json::to_value(envelope).unwrap())).await
}

/// Card velocity features an assessment was scored on: (last hour, last day).
async fn card_velocity(app: &FraudApp, reference: &str) -> (i64, i64) {
    let features: String = sqlx::query_scalar("SELECT features FROM assessments WHERE reference = $1")
        .bind(reference)
        .fetch_one(app.store.db.pool())
        .await
        .unwrap();
    let features: Value = serde_json::from_str(&features).unwrap();
    (features["card_last_hour"].as_i64().unwrap(), features["card_last_day"].as_i64().unwrap())
}

#[tokio::test]
async fn confirmed_orders_raise_velocity_once_each() {
    use business_services::contracts::order::{ORDER_PLACED, OrderStatus};

    use crate::harness::{order_placed, push_envelope};

    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let confirmed: Vec<_> =
            (0..3).map(|_| order_placed(Some("cus-1001"), OrderStatus::Confirmed, "fp-busy", &[(2800, 1)])).collect();
        for (i, event) in confirmed.iter().enumerate() {
            let envelope = push_envelope(&format!("evt_{i}"), ORDER_PLACED, "ord", event, "fraud-orders");
            assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT);
            assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT, "a duplicate is acknowledged");
        }
        let again: Vec<_> = (0..4)
            .map(|i| push_envelope(&format!("evt_again_{i}"), ORDER_PLACED, "ord", &confirmed[0], "fraud-orders"))
            .collect();
        app.clock.advance(time::Duration::SECOND);
        let bodies: Vec<Value> = again.iter().map(|e| serde_json::to_value(e).unwrap()).collect();
        let racing = bodies.iter().map(|body| app.send(Method::POST, "/v1/events/orders", Some(body)));
        for response in futures_util::future::join_all(racing).await {
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
        let held = order_placed(Some("cus-1001"), OrderStatus::OnHold, "fp-busy", &[(2800, 1)]);
        let held = push_envelope("evt_held", ORDER_PLACED, "ord", &held, "fraud-orders");
        assert_eq!(push(&app, &held).await.status(), StatusCode::NO_CONTENT, "held orders are acknowledged");
        let other = push_envelope("evt_other", "order.cancelled", "ord", &body!({"x": 1}), "fraud-orders");
        assert_eq!(push(&app, &other).await.status(), StatusCode::NO_CONTENT, "other types are ignored");
        let malformed = push_envelope("evt_bad", ORDER_PLACED, "ord", &body!({"order": 1}), "fraud-orders");
        assert_problem(push(&app, &malformed).await, StatusCode::BAD_REQUEST, None).await;
        let unsigned = client().post(app.url("/v1/events/orders")).json(&again[0]).send().await.unwrap();
        assert_problem(unsigned, StatusCode::UNAUTHORIZED, None).await;
        assert_eq!(app.count("orders_seen").await, 3, "each confirmed order once");

        let mut busy = app.order("velocity-after-orders");
        busy.card.fingerprint = "fp-busy".into();
        let assessed = app.assess(&busy).await;
        assert!(codes(&assessed).contains(&"card_velocity_1h"), "{:?}", assessed.reasons);
        assert_eq!(card_velocity(&app, "velocity-after-orders").await, (3, 3));
        let calm = app.assess(&app.order("a-quiet-card")).await;
        assert!(!codes(&calm).contains(&"card_velocity_1h"), "{:?}", calm.reasons);
    })
    .await;
}

#[tokio::test]
async fn an_order_assessed_and_confirmed_counts_once() {
    use business_services::contracts::order::{ORDER_PLACED, OrderStatus};

    use crate::harness::{order_placed, push_envelope};

    on_each_backend(|backend| async move {
        let app = FraudApp::start(backend).await;
        let mut event = order_placed(None, OrderStatus::Confirmed, "fp-once", &[(5000, 1)]);
        let mut first = app.order("checkout-once");
        first.card.fingerprint = "fp-once".into();
        app.assess(&first).await;
        event.reference = "checkout-once".into();
        let envelope = push_envelope("evt_once", ORDER_PLACED, "ord", &event, "fraud-orders");
        assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.count("orders_seen").await, 1);

        let mut next = app.order("checkout-next");
        next.card.fingerprint = "fp-once".into();
        app.assess(&next).await;
        assert_eq!(card_velocity(&app, "checkout-next").await, (1, 1), "the order and its assessment are one order");
    })
    .await;
}

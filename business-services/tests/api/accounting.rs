//! The accounting system over HTTP.

use std::sync::Arc;
use std::time::Duration;

use business_services::accounting::client::AccountingClient;
use business_services::accounting::domain::{Account, EntryKind, Refund, Sale, Side};
use business_services::accounting::{self, MIGRATOR};
use business_services::contracts::order::{Amounts, OrderId};
use business_services::money::{CurrencyCode, Money};
use business_services::platform::Error;
use business_services::platform::clock::ManualClock;
use business_services::platform::testing::Backend;
use reqwest::StatusCode;
use serde_json::{Value, json as body};
use time::OffsetDateTime;

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

/// Accounting over a fresh ledger.
struct AccountingApp {
    served: Served,
    client: AccountingClient,
    clock: Arc<ManualClock>,
    store: TestDb,
}

impl AccountingApp {
    async fn start(backend: Backend) -> AccountingApp {
        let store = TestDb::open(backend, "accounting", &MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_772_366_400).unwrap()));
        let served = Served::system(&accounting::Accounting, &store, Setup::on(clock.clone())).await;
        let client = AccountingClient::new(&peer(&served.url), Duration::from_secs(5));
        AccountingApp { served, client, clock, store }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    /// Posts `request` to `path` a second after the previous posting.
    async fn post(&self, path: &str, request: &Value) -> reqwest::Response {
        self.clock.advance(time::Duration::SECOND);
        client().post(self.url(path)).json(request).send().await.unwrap()
    }

    async fn trial_balance(&self) -> Value {
        json(client().get(self.url("/v1/trial-balance")).send().await.unwrap(), StatusCode::OK).await
    }

    async fn entries(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM journal_entries").fetch_one(self.store.db.pool()).await.unwrap()
    }
}

fn amounts(code: &str, subtotal: i64, discount: i64, shipping: i64, freight: i64) -> Amounts {
    let currency = CurrencyCode::parse(code).unwrap();
    let money = |minor| Money::new(currency, minor);
    Amounts {
        items: Vec::new(),
        subtotal: money(subtotal),
        discount: money(discount),
        shipping: money(shipping),
        freight: money(freight),
        total: money(subtotal - discount + shipping + freight),
    }
}

fn sale(order_id: &OrderId, amounts: Amounts) -> Value {
    serde_json::to_value(Sale { order_id: order_id.clone(), amounts }).unwrap()
}

fn usd(minor: i64) -> Value {
    body!({"currency": "USD", "minor_units": minor})
}

/// (account, debit, credit) of an entry, in minor units.
fn lines(entry: &Value) -> Vec<(String, i64, i64)> {
    entry["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let amount = |side: &str| line[side]["minor_units"].as_i64().unwrap_or(0);
            (line["account"].as_str().unwrap().to_owned(), amount("debit"), amount("credit"))
        })
        .collect()
}

/// (debit, credit, balance) of `account` in the `currency` section of a trial balance.
fn account(balance: &Value, currency: &str, account: &str) -> (i64, i64, i64) {
    let section = balance["currencies"].as_array().unwrap().iter().find(|s| s["currency"] == currency).unwrap();
    let row = section["accounts"].as_array().unwrap().iter().find(|a| a["account"] == account).unwrap();
    let minor = |name: &str| row[name]["minor_units"].as_i64().unwrap();
    (minor("debit"), minor("credit"), minor("balance"))
}

#[tokio::test]
async fn a_sale_its_shipment_and_a_refund_post_balanced_entries() {
    on_each_backend(|backend| async move {
        let app = AccountingApp::start(backend).await;
        let order = OrderId::generate();
        // Subtotal 100.00, discount 10.00, shipping 8.95, freight 25.00: total 123.95.
        let recorded = app.post("/v1/journal/sales", &sale(&order, amounts("USD", 10_000, 1_000, 895, 2_500))).await;
        let recorded = json(recorded, StatusCode::CREATED).await;
        assert_eq!(recorded["kind"], "sale");
        assert_eq!(recorded["order_id"], order.as_str());
        assert!(recorded["id"].as_str().unwrap().starts_with("je_"));
        assert_eq!(
            lines(&recorded),
            vec![
                ("payment_clearing".into(), 12_395, 0),
                ("discounts".into(), 1_000, 0),
                ("deferred_revenue".into(), 0, 13_395)
            ]
        );
        let balance = app.trial_balance().await;
        assert_eq!(balance["balanced"], true);
        assert_eq!(account(&balance, "USD", "deferred_revenue"), (0, 13_395, 13_395));

        let earned =
            json(app.post("/v1/journal/revenue-recognitions", &body!({"order_id": order})).await, StatusCode::CREATED)
                .await;
        assert_eq!(earned["kind"], "revenue_recognition");
        assert_eq!(
            lines(&earned),
            vec![
                ("deferred_revenue".into(), 13_395, 0),
                ("merchandise_revenue".into(), 0, 10_000),
                ("shipping_revenue".into(), 0, 3_395)
            ]
        );

        let refund = body!({"order_id": order, "amount": usd(2_000), "reference": "re_wool_throw"});
        let refunded = json(app.post("/v1/journal/refunds", &refund).await, StatusCode::CREATED).await;
        assert_eq!(refunded["kind"], "refund");
        assert_eq!(refunded["reference"], "re_wool_throw");
        assert_eq!(lines(&refunded), vec![("refunds".into(), 2_000, 0), ("payment_clearing".into(), 0, 2_000)]);

        let balance = app.trial_balance().await;
        assert_eq!(balance["balanced"], true);
        let section = &balance["currencies"][0];
        assert_eq!(section["currency"], "USD");
        assert_eq!(section["total_debit"], usd(12_395 + 1_000 + 13_395 + 2_000));
        assert_eq!(section["total_credit"], section["total_debit"]);
        assert_eq!(account(&balance, "USD", "payment_clearing"), (12_395, 2_000, 10_395));
        assert_eq!(account(&balance, "USD", "deferred_revenue"), (13_395, 13_395, 0), "all earned at shipment");
        assert_eq!(account(&balance, "USD", "merchandise_revenue"), (0, 10_000, 10_000));
        assert_eq!(account(&balance, "USD", "shipping_revenue"), (0, 3_395, 3_395));
        assert_eq!(account(&balance, "USD", "discounts"), (1_000, 0, 1_000));
        assert_eq!(account(&balance, "USD", "refunds"), (2_000, 0, 2_000));

        let listed = json(
            client().get(app.url(&format!("/v1/journal?order_id={order}&limit=2"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        let cursor = listed["next_cursor"].as_str().unwrap();
        let rest = json(
            client().get(app.url(&format!("/v1/journal?order_id={order}&cursor={cursor}"))).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(rest["items"][0]["id"], refunded["id"]);
        assert!(rest["next_cursor"].is_null());
        let id = recorded["id"].as_str().unwrap();
        let fetched =
            json(client().get(app.url(&format!("/v1/journal/{id}"))).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(fetched, recorded);
        let missing = client().get(app.url("/v1/journal/je_00000000000000000000000000000000")).send().await.unwrap();
        assert_problem(missing, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn postings_are_idempotent_on_their_business_keys() {
    on_each_backend(|backend| async move {
        let app = AccountingApp::start(backend).await;
        let order = OrderId::generate();
        let request = sale(&order, amounts("EUR", 5_000, 250, 826, 0));
        let first = json(app.post("/v1/journal/sales", &request).await, StatusCode::CREATED).await;
        let again = app.post("/v1/journal/sales", &request).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::OK).await, first);

        let other = sale(&OrderId::generate(), amounts("EUR", 7_000, 0, 0, 0));
        let racing = futures_util::future::join_all((0..10).map(|_| app.post("/v1/journal/sales", &other))).await;
        let answers: Vec<StatusCode> = racing.iter().map(reqwest::Response::status).collect();
        let created = answers.iter().filter(|status| **status == StatusCode::CREATED).count();
        assert_eq!(created, 1, "{answers:?}");
        assert!(answers.iter().all(|status| matches!(*status, StatusCode::CREATED | StatusCode::OK)), "{answers:?}");
        assert_eq!(app.entries().await, 2);

        let changed = app.post("/v1/journal/sales", &sale(&order, amounts("EUR", 5_000, 0, 826, 0))).await;
        assert_problem(changed, StatusCode::UNPROCESSABLE_ENTITY, Some("order_id")).await;

        let recognition = body!({"order_id": order});
        let earned = json(app.post("/v1/journal/revenue-recognitions", &recognition).await, StatusCode::CREATED).await;
        let earned_again = json(app.post("/v1/journal/revenue-recognitions", &recognition).await, StatusCode::OK).await;
        assert_eq!(earned_again, earned);

        let refund = body!({"order_id": order, "amount": {"currency": "EUR", "minor_units": 100}, "reference": "re_1"});
        let refunded = json(app.post("/v1/journal/refunds", &refund).await, StatusCode::CREATED).await;
        assert_eq!(json(app.post("/v1/journal/refunds", &refund).await, StatusCode::OK).await, refunded);
        let reused = body!({"order_id": order, "amount": {"currency": "EUR", "minor_units": 200}, "reference": "re_1"});
        assert_problem(
            app.post("/v1/journal/refunds", &reused).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reference"),
        )
        .await;
        assert_eq!(app.entries().await, 4);
        assert_eq!(app.trial_balance().await["balanced"], true);
    })
    .await;
}

#[tokio::test]
async fn recognition_needs_a_sale_and_refunds_stop_at_the_total() {
    on_each_backend(|backend| async move {
        let app = AccountingApp::start(backend).await;
        let order = OrderId::generate();
        let early = app.post("/v1/journal/revenue-recognitions", &body!({"order_id": order})).await;
        let problem = assert_problem(early, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("no sale recorded for order"), "{problem}");
        let unsold = body!({"order_id": order, "amount": usd(100), "reference": "re_early"});
        assert_problem(app.post("/v1/journal/refunds", &unsold).await, StatusCode::CONFLICT, None).await;

        json(app.post("/v1/journal/sales", &sale(&order, amounts("USD", 2_800, 0, 895, 0))).await, StatusCode::CREATED)
            .await;
        let most = body!({"order_id": order, "amount": usd(3_000), "reference": "re_a"});
        json(app.post("/v1/journal/refunds", &most).await, StatusCode::CREATED).await;
        let over = body!({"order_id": order, "amount": usd(696), "reference": "re_b"});
        let problem = assert_problem(
            app.post("/v1/journal/refunds", &over).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount"),
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("USD 6.95"), "{problem}");
        let wrong_currency =
            body!({"order_id": order, "amount": {"currency": "EUR", "minor_units": 1}, "reference": "re_c"});
        assert_problem(
            app.post("/v1/journal/refunds", &wrong_currency).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("amount.currency"),
        )
        .await;
        let rest = body!({"order_id": order, "amount": usd(695), "reference": "re_d"});
        json(app.post("/v1/journal/refunds", &rest).await, StatusCode::CREATED).await;

        let mut bad = amounts("USD", 2_800, 0, 895, 0);
        bad.total = Money::new(CurrencyCode::USD, 1);
        let bad = app.post("/v1/journal/sales", &sale(&OrderId::generate(), bad)).await;
        assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, Some("amounts.total")).await;
        assert_eq!(app.entries().await, 3, "refused postings write nothing");
        let balance = app.trial_balance().await;
        assert_eq!(balance["balanced"], true);
        assert_eq!(account(&balance, "USD", "payment_clearing"), (3_695, 3_695, 0));
    })
    .await;
}

#[tokio::test]
async fn orders_in_several_currencies_balance_in_each_through_the_client() {
    on_each_backend(|backend| async move {
        let app = AccountingApp::start(backend).await;
        let orders = [("USD", 4_999, 249), ("EUR", 12_000, 1_800), ("JPY", 15_800, 0)];
        for (code, subtotal, discount) in orders {
            let order = OrderId::generate();
            let entry = app
                .client
                .record_sale(&Sale { order_id: order.clone(), amounts: amounts(code, subtotal, discount, 0, 900) })
                .await
                .unwrap();
            assert_eq!(entry.kind, EntryKind::Sale);
            assert_eq!(
                entry,
                app.client
                    .record_sale(&Sale { order_id: order.clone(), amounts: amounts(code, subtotal, discount, 0, 900) })
                    .await
                    .unwrap()
            );
            let earned = app.client.recognize_revenue(&order).await.unwrap();
            assert_eq!(earned.lines[0].account, Account::DeferredRevenue);
            assert_eq!(earned.lines[0].debit.map(|m| m.minor_units), Some(subtotal + 900));
            let refund = Refund {
                order_id: order,
                amount: Money::new(CurrencyCode::parse(code).unwrap(), 100),
                reference: format!("re_{code}"),
            };
            let refunded = app.client.record_refund(&refund).await.unwrap();
            assert_eq!(refunded.lines[0].account, Account::Refunds);
            assert!(refunded.lines[0].side_and_amount().is_some_and(|(side, _)| side == Side::Debit));
        }
        let early = app.client.recognize_revenue(&OrderId::generate()).await.unwrap_err();
        assert!(matches!(early, Error::Conflict { .. }), "{early:?}");

        let balance = app.client.trial_balance().await.unwrap();
        assert!(balance.balanced);
        let codes: Vec<&str> = balance.currencies.iter().map(|section| section.currency.as_str()).collect();
        assert_eq!(codes, ["EUR", "JPY", "USD"]);
        for section in &balance.currencies {
            assert!(section.balanced);
            assert_eq!(section.total_debit, section.total_credit);
            let deferred = section.accounts.iter().find(|a| a.account == Account::DeferredRevenue).unwrap();
            assert_eq!(deferred.balance.minor_units, 0, "{}", section.currency);
        }
        let eur = &balance.currencies[0];
        let discounts = eur.accounts.iter().find(|a| a.account == Account::Discounts).unwrap();
        assert_eq!(discounts.balance, Money::new(CurrencyCode::EUR, 1_800));
    })
    .await;
}

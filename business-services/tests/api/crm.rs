//! The CRM over HTTP: customers, loyalty, standing, notes, tickets, idempotency and demo data.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use business_services::crm::client::CrmClient;
use business_services::crm::client::{Channel, CustomerId, NewTicket, Priority, Standing, Tier, tier_for};
use business_services::crm::{self, MIGRATOR};
use business_services::platform::Error;
use business_services::platform::clock::{Clock, ManualClock};
use business_services::platform::testing::Backend;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json as body};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::harness::Setup;
use crate::harness::{Served, TestDb, on_each_backend, peer};
use crate::http::{assert_problem, client, json};

/// A CRM on a manual clock over a fresh store.
struct CrmApp {
    served: Served,
    store: TestDb,
    clock: Arc<ManualClock>,
}

impl CrmApp {
    async fn start(backend: Backend) -> CrmApp {
        let store = TestDb::open(backend, "crm", &MIGRATOR).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::from_unix_timestamp(1_772_366_400).unwrap()));
        let served = Served::system(&crm::Crm, &store, Setup::on(clock.clone())).await;
        CrmApp { served, store, clock }
    }

    async fn seeded(backend: Backend) -> CrmApp {
        let app = CrmApp::start(backend).await;
        assert_eq!(crm::seed_demo_data(&app.store.db, app.clock.now()).await.unwrap(), 12);
        app
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.served.url)
    }

    fn now(&self) -> String {
        self.clock.now().format(&Rfc3339).unwrap()
    }

    fn advance_minutes(&self, minutes: i64) {
        self.clock.advance(time::Duration::minutes(minutes));
    }

    async fn get(&self, path: &str) -> Response {
        client().get(self.url(path)).send().await.unwrap()
    }

    async fn get_ok(&self, path: &str) -> Value {
        json(self.get(path).await, StatusCode::OK).await
    }

    async fn post(&self, path: &str, request: &Value) -> Response {
        client().post(self.url(path)).json(request).send().await.unwrap()
    }

    async fn post_with_key(&self, path: &str, key: &str, request: &Value) -> Response {
        client().post(self.url(path)).header("idempotency-key", key).json(request).send().await.unwrap()
    }

    async fn put(&self, path: &str, request: &Value) -> Response {
        client().put(self.url(path)).json(request).send().await.unwrap()
    }

    async fn sign_up(&self, email: &str, name: &str) -> Value {
        json(self.post("/v1/customers", &body!({"email": email, "name": name})).await, StatusCode::CREATED).await
    }

    async fn award(&self, customer: &str, delta: i64, reference: &str) -> Response {
        let entry = body!({"delta": delta, "reason": format!("test {reference}"), "reference": reference});
        self.post(&format!("/v1/customers/{customer}/loyalty/entries"), &entry).await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(self.store.db.pool())
            .await
            .unwrap()
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect()
}

fn names(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|item| item["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn sign_up_get_and_search_customers() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let ada = app.sign_up("  Ada.Lovelace@Example.COM ", "Ada Lovelace").await;
        assert!(ada["id"].as_str().unwrap().starts_with("cus-"), "{ada}");
        assert_eq!(ada["email"], "ada.lovelace@example.com");
        assert_eq!(ada["created_at"], app.now());
        let loyalty = (&ada["standing"], &ada["standing_reason"], &ada["tier"], &ada["points"], &ada["discount_bps"]);
        assert_eq!(loyalty, (&body!("good"), &Value::Null, &body!("bronze"), &body!(0), &body!(0)));
        assert_eq!((&ada["lifetime_points"], &ada["addresses"], &ada["phone"]), (&body!(0), &body!([]), &Value::Null));
        let ada_id = ada["id"].as_str().unwrap();
        assert_eq!(app.get_ok(&format!("/v1/customers/{ada_id}")).await, ada);

        app.advance_minutes(1);
        let grace = json(
            app.post(
                "/v1/customers",
                &body!({"email": "grace@example.org", "name": "Grace Hopper", "phone": "+1 212 555 0100"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(grace["phone"], "+1 212 555 0100");
        app.advance_minutes(1);
        app.sign_up("alan@example.org", "Alan Turing").await;

        let by_email = app.get_ok("/v1/customers?email=ADA.LOVELACE%40example.com").await;
        assert_eq!(names(&by_email), vec!["Ada Lovelace"]);
        assert_eq!(names(&app.get_ok("/v1/customers?q=HOP").await), vec!["Grace Hopper"]);
        assert_eq!(names(&app.get_ok("/v1/customers?q=example.org").await), vec!["Alan Turing", "Grace Hopper"]);
        assert_eq!(names(&app.get_ok("/v1/customers?q=%25").await), Vec::<&str>::new(), "% is literal");
        assert_eq!(names(&app.get_ok("/v1/customers?email=alan%40example.org&q=grace").await), Vec::<&str>::new());

        let first = app.get_ok("/v1/customers?limit=2").await;
        assert_eq!(names(&first), vec!["Alan Turing", "Grace Hopper"], "newest accounts first");
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = app.get_ok(&format!("/v1/customers?limit=2&cursor={cursor}")).await;
        assert_eq!(names(&second), vec!["Ada Lovelace"]);
        assert!(second.get("next_cursor").is_none());

        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=garbage!", "cursor"),
            ("email=not-an-email", "email"),
            ("q=%20", "q"),
            ("colour=red", "colour"),
        ] {
            assert_problem(
                app.get(&format!("/v1/customers?{query}")).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(field),
            )
            .await;
        }
        assert_problem(app.get("/v1/customers/cus-9999").await, StatusCode::NOT_FOUND, None).await;
        assert_problem(app.get("/v1/customers/customer-1").await, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
    })
    .await;
}

#[tokio::test]
async fn addresses_keep_one_default_of_each_kind() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("oliver@example.co.uk", "Oliver Bennett").await["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/customers/{id}/addresses");
        let home = body!({"label": "Home", "line1": "14 Aldridge Road Villas", "city": "London",
            "region": "Greater London", "postal_code": "W11 1BP", "country": "gb"});
        let created = json(app.post(&path, &home).await, StatusCode::CREATED).await;
        assert_eq!(
            (&created["country"], &created["default_shipping"], &created["default_billing"]),
            (&body!("GB"), &body!(true), &body!(true))
        );
        assert!(created["id"].as_str().unwrap().starts_with("adr-"));

        app.advance_minutes(1);
        let toronto = body!({"label": "Emily's flat", "line1": "88 Harbord Street", "line2": "Apt 3", "city": "Toronto",
            "region": "ON", "postal_code": "M5S 1G6", "country": "CA", "default_shipping": true});
        json(app.post(&path, &toronto).await, StatusCode::CREATED).await;
        let customer = app.get_ok(&format!("/v1/customers/{id}")).await;
        let defaults: Vec<(&str, bool, bool)> = customer["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["country"].as_str().unwrap(), a["default_shipping"] == true, a["default_billing"] == true))
            .collect();
        assert_eq!(defaults, vec![("GB", false, true), ("CA", true, false)], "ships to Canada, bills to the UK");

        for (change, field) in [
            (body!({"country": "UK"}), "country"),
            (body!({"postal_code": ""}), "postal_code"),
            (body!({"line1": "two\nlines"}), "line1"),
            (body!({"label": "x".repeat(51)}), "label"),
            (body!({"floor": 3}), "floor"),
        ] {
            let mut bad = home.clone();
            bad.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
            let problem =
                assert_problem(app.post(&path, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
            if field == "country" {
                assert!(problem["detail"].as_str().unwrap().contains("GB"), "{problem}");
            }
        }
        assert_eq!(app.count("addresses").await, 2, "nothing written on bad input");
        assert_problem(app.post("/v1/customers/cus-9999/addresses", &home).await, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn sign_up_validation_names_the_field_and_writes_nothing() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let cases = [
            (body!({"email": "ada.example.com", "name": "Ada"}), "email"),
            (body!({"email": "ada@example", "name": "Ada"}), "email"),
            (body!({"email": "a@b@example.com", "name": "Ada"}), "email"),
            (body!({"email": format!("{}@example.com", "a".repeat(250)), "name": "Ada"}), "email"),
            (body!({"email": "ada@example.com", "name": "   "}), "name"),
            (body!({"email": "ada@example.com", "name": "x".repeat(201)}), "name"),
            (body!({"email": "ada@example.com", "name": "Ada", "phone": "call me"}), "phone"),
            (body!({"email": "ada@example.com"}), "name"),
            (body!({"name": "Ada"}), "email"),
            (body!({"email": "ada@example.com", "name": "Ada", "tier": "platinum"}), "tier"),
            (body!({"email": 42, "name": "Ada"}), "email"),
        ];
        for (request, field) in cases {
            assert_problem(app.post("/v1/customers", &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                .await;
        }
        let not_json = client()
            .post(app.url("/v1/customers"))
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_problem(not_json, StatusCode::BAD_REQUEST, None).await;
        assert_eq!(app.count("customers").await, 0, "nothing written");

        app.sign_up("ada@example.com", "Ada Lovelace").await;
        let again = app.post("/v1/customers", &body!({"email": "ADA@example.com", "name": "Someone Else"})).await;
        let problem = assert_problem(again, StatusCode::CONFLICT, None).await;
        assert!(problem["detail"].as_str().unwrap().contains("ada@example.com"), "{problem}");
        assert_eq!(app.count("customers").await, 1);
    })
    .await;
}

#[tokio::test]
async fn points_are_awarded_once_per_reference_and_tiers_follow_lifetime_points() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("ada@example.com", "Ada Lovelace").await["id"].as_str().unwrap().to_owned();
        let loyalty = format!("/v1/customers/{id}/loyalty");
        assert_eq!(
            app.get_ok(&loyalty).await,
            body!({"tier": "bronze", "points": 0, "lifetime_points": 0, "discount_bps": 0, "points_per_usd": 1,
                   "next_tier": "silver", "points_to_next_tier": 1000})
        );

        let first = json(app.award(&id, 600, "ord-1").await, StatusCode::CREATED).await;
        assert_eq!(
            (&first["points"], &first["tier"], &first["points_to_next_tier"]),
            (&body!(600), &body!("bronze"), &body!(400))
        );
        let replay = app.award(&id, 600, "ord-1").await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(json(replay, StatusCode::CREATED).await["points"], 600, "the same reference counts once");
        assert_problem(app.award(&id, 700, "ord-1").await, StatusCode::UNPROCESSABLE_ENTITY, Some("reference")).await;

        app.advance_minutes(5);
        let silver = json(app.award(&id, 400, "ord-2").await, StatusCode::CREATED).await;
        assert_eq!(
            silver,
            body!({"tier": "silver", "points": 1000, "lifetime_points": 1000, "discount_bps": 500, "points_per_usd": 2,
                   "next_tier": "gold", "points_to_next_tier": 4000}),
            "crossing 1000 lifetime points upgrades to silver"
        );
        let customer = app.get_ok(&format!("/v1/customers/{id}")).await;
        assert_eq!(
            (&customer["tier"], &customer["discount_bps"], &customer["points"]),
            (&body!("silver"), &body!(500), &body!(1000))
        );

        assert_problem(app.award(&id, -1001, "redeem-1").await, StatusCode::UNPROCESSABLE_ENTITY, Some("delta")).await;
        assert_eq!(app.count("loyalty_entries").await, 2, "a refused redemption writes nothing");
        app.advance_minutes(5);
        let spent = json(app.award(&id, -1000, "redeem-1").await, StatusCode::CREATED).await;
        assert_eq!(
            (&spent["points"], &spent["lifetime_points"], &spent["tier"]),
            (&body!(0), &body!(1000), &body!("silver"))
        );

        app.advance_minutes(5);
        let platinum = json(app.award(&id, 19_000, "ord-3").await, StatusCode::CREATED).await;
        assert_eq!((&platinum["tier"], &platinum["discount_bps"]), (&body!("platinum"), &body!(1500)));
        assert_eq!((&platinum["next_tier"], &platinum["points_to_next_tier"]), (&Value::Null, &Value::Null));

        let suspend = body!({"standing": "suspended", "reason": "confirmed card testing"});
        json(app.put(&format!("/v1/customers/{id}/standing"), &suspend).await, StatusCode::OK).await;
        let suspended = app.get_ok(&loyalty).await;
        assert_eq!(
            (&suspended["tier"], &suspended["discount_bps"]),
            (&body!("platinum"), &body!(0)),
            "no discount while suspended"
        );

        let entries_path = format!("/v1/customers/{id}/loyalty/entries");
        let entries = app.get_ok(&format!("{entries_path}?limit=3")).await;
        let references: Vec<&str> =
            entries["items"].as_array().unwrap().iter().map(|e| e["reference"].as_str().unwrap()).collect();
        assert_eq!(references, vec!["ord-3", "redeem-1", "ord-2"], "newest first");
        assert_eq!((&entries["items"][0]["delta"], &entries["items"][0]["at"]), (&body!(19_000), &body!(app.now())));
        let rest = app.get_ok(&format!("{entries_path}?cursor={}", entries["next_cursor"].as_str().unwrap())).await;
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);

        for (request, field) in [
            (body!({"delta": 0, "reason": "nothing", "reference": "r"}), "delta"),
            (body!({"delta": 1_000_001, "reason": "too much", "reference": "r"}), "delta"),
            (body!({"delta": 5, "reason": "", "reference": "r"}), "reason"),
            (body!({"delta": 5, "reason": "spaces", "reference": "has space"}), "reference"),
            (body!({"delta": 5, "reason": "missing reference"}), "reference"),
        ] {
            assert_problem(app.post(&entries_path, &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field))
                .await;
        }
        assert_problem(app.award("cus-9999", 5, "r").await, StatusCode::NOT_FOUND, None).await;
        assert_problem(app.get("/v1/customers/cus-9999/loyalty").await, StatusCode::NOT_FOUND, None).await;
        assert_problem(app.get("/v1/customers/cus-9999/loyalty/entries").await, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_redemptions_never_overdraw_and_concurrent_awards_count_once() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("ada@example.com", "Ada Lovelace").await["id"].as_str().unwrap().to_owned();
        json(app.award(&id, 1000, "ord-1").await, StatusCode::CREATED).await;

        let references: Vec<String> = (0..10).map(|i| format!("redeem-{i}")).collect();
        let redemptions = futures_util::future::join_all(references.iter().map(|r| app.award(&id, -300, r))).await;
        let accepted = redemptions.iter().filter(|r| r.status() == StatusCode::CREATED).count();
        let refused = redemptions.iter().filter(|r| r.status() == StatusCode::UNPROCESSABLE_ENTITY).count();
        assert_eq!((accepted, refused), (3, 7));
        assert_eq!(app.get_ok(&format!("/v1/customers/{id}/loyalty")).await["points"], 100);

        let awards = futures_util::future::join_all((0..10).map(|_| app.award(&id, 50, "ord-2"))).await;
        assert!(awards.iter().all(|r| r.status() == StatusCode::CREATED));
        assert_eq!(app.get_ok(&format!("/v1/customers/{id}/loyalty")).await["points"], 150);
    })
    .await;
}

#[tokio::test]
async fn standing_changes_keep_their_reason() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("marcus@example.com", "Marcus Reed").await["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/customers/{id}/standing");
        let watched =
            json(app.put(&path, &body!({"standing": "watch", "reason": "three chargebacks"})).await, StatusCode::OK)
                .await;
        assert_eq!((&watched["standing"], &watched["standing_reason"]), (&body!("watch"), &body!("three chargebacks")));
        assert_eq!(app.get_ok(&format!("/v1/customers/{id}")).await, watched);

        for (request, field) in [
            (body!({"standing": "banned", "reason": "x"}), "standing"),
            (body!({"standing": "good", "reason": " "}), "reason"),
            (body!({"standing": "good"}), "reason"),
        ] {
            assert_problem(app.put(&path, &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        assert_eq!(app.get_ok(&format!("/v1/customers/{id}")).await["standing"], "watch");
        let good =
            json(app.put(&path, &body!({"standing": "good", "reason": "disputes resolved"})).await, StatusCode::OK)
                .await;
        assert_eq!(good["standing"], "good");
        let unknown = app.put("/v1/customers/cus-9999/standing", &body!({"standing": "good", "reason": "x"})).await;
        assert_problem(unknown, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn notes_keep_authors_and_times_newest_first() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("daniel@example.de", "Daniel Weber").await["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/customers/{id}/notes");
        let first_at = app.now();
        let first = json(
            app.post(&path, &body!({"author": "Luis Ortega", "body": "Sofa delivery missed.\nRebooked."})).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (&first["author"], &first["created_at"], &first["customer_id"]),
            (&body!("Luis Ortega"), &body!(first_at), &body!(id))
        );
        app.advance_minutes(60);
        json(
            app.post(&path, &body!({"author": "Dana Whitfield", "body": "Goodwill points added."})).await,
            StatusCode::CREATED,
        )
        .await;
        app.advance_minutes(60);
        json(app.post(&path, &body!({"author": "system", "body": "Delivered."})).await, StatusCode::CREATED).await;

        let page = app.get_ok(&format!("{path}?limit=2")).await;
        let authors: Vec<&str> =
            page["items"].as_array().unwrap().iter().map(|n| n["author"].as_str().unwrap()).collect();
        assert_eq!(authors, vec!["system", "Dana Whitfield"]);
        let rest = app.get_ok(&format!("{path}?limit=2&cursor={}", page["next_cursor"].as_str().unwrap())).await;
        assert_eq!(rest["items"], body!([first]));

        for (request, field) in [
            (body!({"author": "", "body": "x"}), "author"),
            (body!({"author": "Dana", "body": "x".repeat(4001)}), "body"),
            (body!({"author": "Dana", "body": "   "}), "body"),
            (body!({"author": "Dana"}), "body"),
        ] {
            assert_problem(app.post(&path, &request).await, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        }
        json(app.post(&path, &body!({"author": "Dana", "body": "é".repeat(4000)})).await, StatusCode::CREATED).await;
        assert_eq!(app.count("notes").await, 4);
        assert_problem(
            app.post("/v1/customers/cus-9999/notes", &body!({"author": "Dana", "body": "x"})).await,
            StatusCode::NOT_FOUND,
            None,
        )
        .await;
        assert_problem(app.get("/v1/customers/cus-9999/notes").await, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn tickets_hold_conversations_and_status_changes() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let id = app.sign_up("aiko@example.jp", "Aiko Tanaka").await["id"].as_str().unwrap().to_owned();
        let tickets = format!("/v1/customers/{id}/tickets");
        let opened_at = app.now();
        let open = body!({"subject": "Lamp arrived damaged", "body": "The shade is dented.", "priority": "high",
            "channel": "email", "author": "customer"});
        let ticket = json(app.post(&tickets, &open).await, StatusCode::CREATED).await;
        let ticket_id = ticket["id"].as_str().unwrap().to_owned();
        assert!(ticket_id.starts_with("tkt-"));
        assert_eq!(
            (&ticket["status"], &ticket["priority"], &ticket["channel"]),
            (&body!("open"), &body!("high"), &body!("email"))
        );
        assert_eq!((&ticket["created_at"], &ticket["updated_at"]), (&body!(opened_at), &body!(opened_at)));
        assert_eq!(
            (&ticket["messages"][0]["author"], &ticket["messages"][0]["body"]),
            (&body!("customer"), &body!("The shade is dented."))
        );

        app.advance_minutes(30);
        let messages = format!("/v1/tickets/{ticket_id}/messages");
        let reply = json(
            app.post(&messages, &body!({"author": "Amira Haddad", "body": "Replacement on its way."})).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (&reply["author"], &reply["created_at"], &reply["ticket_id"]),
            (&body!("Amira Haddad"), &body!(app.now()), &body!(ticket_id))
        );

        app.advance_minutes(30);
        let status = format!("/v1/tickets/{ticket_id}/status");
        let pending =
            json(app.put(&status, &body!({"status": "pending", "author": "Amira Haddad"})).await, StatusCode::OK).await;
        assert_eq!((&pending["status"], &pending["updated_at"]), (&body!("pending"), &body!(app.now())));
        let conversation: Vec<(&str, &str)> = pending["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["author"].as_str().unwrap(), m["body"].as_str().unwrap()))
            .collect();
        assert_eq!(
            conversation,
            vec![
                ("customer", "The shade is dented."),
                ("Amira Haddad", "Replacement on its way."),
                ("system", "Amira Haddad changed the status from open to pending."),
            ]
        );
        let unchanged =
            json(app.put(&status, &body!({"status": "pending", "author": "Amira Haddad"})).await, StatusCode::OK).await;
        assert_eq!(unchanged, pending, "setting the same status changes nothing");

        app.advance_minutes(30);
        json(app.put(&status, &body!({"status": "closed", "author": "Amira Haddad"})).await, StatusCode::OK).await;
        let closed = app.post(&messages, &body!({"author": "customer", "body": "Thanks!"})).await;
        assert_problem(closed, StatusCode::CONFLICT, None).await;
        json(app.put(&status, &body!({"status": "open", "author": "Tom Becker"})).await, StatusCode::OK).await;
        json(app.post(&messages, &body!({"author": "customer", "body": "Thanks!"})).await, StatusCode::CREATED).await;
        let fetched = app.get_ok(&format!("/v1/tickets/{ticket_id}")).await;
        assert_eq!(fetched["messages"].as_array().unwrap().len(), 6);
        assert_eq!(fetched["status"], "open");

        app.advance_minutes(60);
        let second = body!({"subject": "Second lamp?", "body": "Do you sell the same lamp in green?", "priority": "low",
            "channel": "chat", "author": "customer"});
        let second_id =
            json(app.post(&tickets, &second).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
        let list = app.get_ok(&tickets).await;
        assert_eq!(ids(&list), vec![second_id.clone(), ticket_id.clone()], "newest first");
        assert_eq!(list["items"][1]["messages"], fetched["messages"], "listed with their conversations");
        let paged = app.get_ok(&format!("{tickets}?limit=1")).await;
        assert_eq!(ids(&paged), vec![second_id]);
        let next = app.get_ok(&format!("{tickets}?limit=1&cursor={}", paged["next_cursor"].as_str().unwrap())).await;
        assert_eq!(ids(&next), vec![ticket_id.clone()]);

        let mut bad_priority = open.clone();
        bad_priority["priority"] = body!("asap");
        assert_problem(app.post(&tickets, &bad_priority).await, StatusCode::UNPROCESSABLE_ENTITY, Some("priority"))
            .await;
        let mut bad_subject = open.clone();
        bad_subject["subject"] = body!("x".repeat(201));
        assert_problem(app.post(&tickets, &bad_subject).await, StatusCode::UNPROCESSABLE_ENTITY, Some("subject")).await;
        let bad_status = app.put(&status, &body!({"status": "solved", "author": "Dana"})).await;
        assert_problem(bad_status, StatusCode::UNPROCESSABLE_ENTITY, Some("status")).await;
        assert_eq!(app.count("tickets").await, 2);
        assert_problem(app.get("/v1/tickets/tkt-nothere").await, StatusCode::NOT_FOUND, None).await;
        assert_problem(app.get("/v1/tickets/42").await, StatusCode::UNPROCESSABLE_ENTITY, Some("id")).await;
        let missing = app.post("/v1/tickets/tkt-nothere/messages", &body!({"author": "Dana", "body": "x"})).await;
        assert_problem(missing, StatusCode::NOT_FOUND, None).await;
        assert_problem(app.post("/v1/customers/cus-9999/tickets", &open).await, StatusCode::NOT_FOUND, None).await;
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_replays_a_create() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        let sign_up = body!({"email": "ada@example.com", "name": "Ada Lovelace"});
        let first = app.post_with_key("/v1/customers", "signup-1", &sign_up).await;
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first = json(first, StatusCode::CREATED).await;
        app.advance_minutes(1);
        let again = app.post_with_key("/v1/customers", "signup-1", &sign_up).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again, StatusCode::CREATED).await, first, "same key, same customer");
        assert_eq!(app.count("customers").await, 1);
        let other =
            app.post_with_key("/v1/customers", "signup-1", &body!({"email": "bob@example.com", "name": "Bob"})).await;
        assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        let blank = app.post_with_key("/v1/customers", "", &sign_up).await;
        assert_problem(blank, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
        assert_eq!(app.count("customers").await, 1);

        let id = first["id"].as_str().unwrap();
        let notes = format!("/v1/customers/{id}/notes");
        let note = body!({"author": "Dana", "body": "Called about the sofa."});
        let storm = futures_util::future::join_all((0..10).map(|_| app.post_with_key(&notes, "note-1", &note))).await;
        let mut created = HashSet::new();
        for response in storm {
            created.insert(json(response, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(created.len(), 1, "ten concurrent retries create one note");
        assert_eq!(app.count("notes").await, 1);
        json(app.post_with_key(&notes, "note-2", &note).await, StatusCode::CREATED).await;
        assert_eq!(app.count("notes").await, 2, "a new key is a new note");

        // Keys are remembered for a day.
        app.clock.advance(time::Duration::hours(25));
        json(app.post_with_key(&notes, "note-1", &note).await, StatusCode::CREATED).await;
        assert_eq!(app.count("notes").await, 3);
    })
    .await;
}

#[tokio::test]
async fn the_client_reads_customers_awards_points_and_opens_tickets() {
    on_each_backend(|backend| async move {
        let app = CrmApp::seeded(backend).await;
        let crm = CrmClient::new(&peer(&app.served.url), Duration::from_secs(5));
        let daniel = CustomerId::parse("cus-1002").unwrap();
        let customer = crm.customer(&daniel).await.unwrap().unwrap();
        assert_eq!(
            (customer.name.as_str(), customer.tier, customer.standing),
            ("Daniel Weber", Tier::Gold, Standing::Good)
        );
        assert_eq!(customer.addresses[0].country.as_str(), "DE");
        assert!(crm.customer(&CustomerId::parse("cus-9999").unwrap()).await.unwrap().is_none());

        let before = customer.points;
        let awarded = crm.award_points(&daniel, 120, "order ord-7001", "ord-7001").await.unwrap();
        assert_eq!(awarded.points, before + 120);
        let retried = crm.award_points(&daniel, 120, "order ord-7001", "ord-7001").await.unwrap();
        assert_eq!(retried, awarded, "a retried award counts once");
        let bad = crm.award_points(&daniel, 120, "order", "ord 7002").await.unwrap_err();
        assert!(matches!(&bad, Error::Invalid { field, .. } if field == "reference"), "{bad:?}");
        let unknown = crm.award_points(&CustomerId::parse("cus-9999").unwrap(), 5, "x", "ord-1").await.unwrap_err();
        assert!(matches!(unknown, Error::NotFound { .. }), "{unknown:?}");

        let new = NewTicket {
            subject: "Payment captured twice".into(),
            body: "Checkout saw two captures for ord-7001.".into(),
            priority: Priority::Urgent,
            channel: Channel::Email,
        };
        let tickets_before = app.count("tickets").await;
        let ticket = crm.open_ticket(&daniel, &new, "checkout-ord-7001").await.unwrap();
        assert_eq!((ticket.messages[0].author.as_str(), ticket.customer_id.as_str()), ("system", "cus-1002"));
        let again = crm.open_ticket(&daniel, &new, "checkout-ord-7001").await.unwrap();
        assert_eq!(again, ticket, "the same key opens one ticket");
        assert_eq!(app.count("tickets").await, tickets_before + 1);
    })
    .await;
}

#[tokio::test]
async fn demo_data_tells_the_stories() {
    on_each_backend(|backend| async move {
        let app = CrmApp::seeded(backend).await;
        assert_eq!(crm::seed_demo_data(&app.store.db, app.clock.now()).await.unwrap(), 0, "seeds only an empty store");
        let page = app.get_ok("/v1/customers?limit=100").await;
        let customers = page["items"].as_array().unwrap();
        assert!(customers.len() >= 10);
        let mut ids: Vec<&str> = customers.iter().map(|c| c["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids[..10],
            [
                "cus-1001", "cus-1002", "cus-1003", "cus-1004", "cus-1005", "cus-1006", "cus-1007", "cus-1008",
                "cus-1009", "cus-1010"
            ]
        );

        let tiers: BTreeSet<&str> = customers.iter().map(|c| c["tier"].as_str().unwrap()).collect();
        assert_eq!(tiers, BTreeSet::from(["bronze", "silver", "gold", "platinum"]), "every tier");
        for customer in customers {
            let lifetime = customer["lifetime_points"].as_i64().unwrap();
            let tier = serde_json::from_value::<Tier>(customer["tier"].clone()).unwrap();
            assert_eq!(tier, tier_for(lifetime), "{}", customer["id"]);
            assert!(lifetime >= tier.threshold() && tier.next().is_none_or(|next| lifetime < next.threshold()));
            assert!(customer["points"].as_i64().unwrap() >= 0);
        }
        let with_standing = |standing: &str| customers.iter().filter(|c| c["standing"] == standing).collect::<Vec<_>>();
        let (watch, suspended) = (with_standing("watch"), with_standing("suspended"));
        assert_eq!((watch.len(), suspended.len()), (1, 1));
        assert!(watch[0]["standing_reason"].as_str().unwrap().contains("chargeback"));
        assert!(suspended[0]["standing_reason"].as_str().unwrap().contains("card testing"));
        assert_eq!(suspended[0]["discount_bps"], 0);

        let now = app.clock.now();
        let ages: Vec<i64> = customers
            .iter()
            .map(|c| (now - OffsetDateTime::parse(c["created_at"].as_str().unwrap(), &Rfc3339).unwrap()).whole_days())
            .collect();
        assert!(ages.iter().any(|days| *days >= 5 * 365), "a five-year-old account: {ages:?}");
        assert!(ages.iter().any(|days| *days <= 2), "a brand-new account: {ages:?}");

        let countries: BTreeSet<&str> = customers
            .iter()
            .flat_map(|c| c["addresses"].as_array().unwrap())
            .map(|a| a["country"].as_str().unwrap())
            .collect();
        for country in ["US", "CA", "GB", "DE", "JP", "TR"] {
            assert!(countries.contains(country), "{country} in {countries:?}");
        }
        let default_country = |customer: &Value, kind: &str| {
            let addresses = customer["addresses"].as_array().unwrap();
            let defaults: Vec<&Value> = addresses.iter().filter(|a| a[kind] == true).collect();
            assert_eq!(defaults.len(), 1, "{}: one default {kind}", customer["id"]);
            defaults[0]["country"].as_str().unwrap().to_owned()
        };
        let split: Vec<&Value> = customers
            .iter()
            .filter(|c| default_country(c, "default_billing") != default_country(c, "default_shipping"))
            .collect();
        assert_eq!(split.len(), 1, "one customer bills to one country and ships to another");

        let mut injected = BTreeSet::new();
        let mut all_text = String::new();
        for customer in customers {
            let id = customer["id"].as_str().unwrap();
            let notes = app.get_ok(&format!("/v1/customers/{id}/notes")).await;
            let tickets = app.get_ok(&format!("/v1/customers/{id}/tickets")).await;
            let (notes, tickets) = (notes["items"].as_array().unwrap(), tickets["items"].as_array().unwrap());
            assert!((2..=6).contains(&notes.len()), "{id}: {} notes", notes.len());
            assert!((1..=3).contains(&tickets.len()), "{id}: {} tickets", tickets.len());
            let mut text = String::new();
            for note in notes {
                assert!(!note["author"].as_str().unwrap().is_empty());
                text.push_str(note["body"].as_str().unwrap());
            }
            for ticket in tickets {
                let messages = ticket["messages"].as_array().unwrap();
                assert!(!messages.is_empty());
                assert_eq!(ticket["created_at"], messages[0]["created_at"]);
                for message in messages {
                    text.push_str(message["body"].as_str().unwrap());
                }
            }
            let lower = text.to_lowercase();
            if lower.contains("ignore previous instructions") || lower.contains("reveal the other customers' emails") {
                injected.insert(id.to_owned());
            }
            all_text.push_str(&lower);
        }
        assert_eq!(injected, BTreeSet::from(["cus-1008".to_owned(), "cus-1010".to_owned()]), "planted injection text");
        assert!(all_text.contains("4242 4242 4242 4242"));
        for story in ["sofa", "dented shade", "early access", "return", "redirect", "chargeback", "charged twice"] {
            assert!(all_text.contains(story), "the '{story}' story is told");
        }
    })
    .await;
}

#[tokio::test]
async fn serves_health_readiness_and_openapi() {
    on_each_backend(|backend| async move {
        let app = CrmApp::start(backend).await;
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
        assert_eq!(app.get_ok("/readyz").await["ready"], true);
        let openapi = app.get_ok("/openapi.json").await;
        for (path, methods) in [
            ("/v1/customers", &["get", "post"][..]),
            ("/v1/customers/{id}", &["get"]),
            ("/v1/customers/{id}/standing", &["put"]),
            ("/v1/customers/{id}/addresses", &["post"]),
            ("/v1/customers/{id}/loyalty", &["get"]),
            ("/v1/customers/{id}/loyalty/entries", &["get", "post"]),
            ("/v1/customers/{id}/notes", &["get", "post"]),
            ("/v1/customers/{id}/tickets", &["get", "post"]),
            ("/v1/tickets/{id}", &["get"]),
            ("/v1/tickets/{id}/messages", &["post"]),
            ("/v1/tickets/{id}/status", &["put"]),
            ("/v1/events/orders", &["post"]),
        ] {
            for method in methods {
                assert!(openapi["paths"][path][method].is_object(), "{method} {path} is documented");
            }
        }
        assert_eq!(openapi["paths"].as_object().unwrap().len(), 12, "every route, and only those");
        for schema in ["Customer", "LoyaltyStatus", "Ticket", "Note", "Problem"] {
            assert!(openapi["components"]["schemas"][schema].is_object(), "{schema}");
        }
    })
    .await;
}

/// Pushes `envelope` to the CRM's orders subscription.
async fn push(app: &CrmApp, envelope: &business_services::platform::events::PushEnvelope) -> Response {
    client().post(app.url("/v1/events/orders")).json(envelope).send().await.unwrap()
}

async fn points_of(app: &CrmApp, customer: &str) -> i64 {
    let loyalty = client().get(app.url(&format!("/v1/customers/{customer}/loyalty"))).send().await.unwrap();
    json(loyalty, StatusCode::OK).await["points"].as_i64().unwrap()
}

#[tokio::test]
async fn a_confirmed_order_earns_points_once() {
    use business_services::contracts::order::{ORDER_PLACED, OrderStatus};

    use crate::harness::{order_placed, push_envelope};

    on_each_backend(|backend| async move {
        let app = CrmApp::seeded(backend).await;
        let before = points_of(&app, "cus-1003").await;
        // 2 × 28.00 + 19.99 = 75.99 USD: 75 whole dollars at silver's 2 points each.
        let event = order_placed(Some("cus-1003"), OrderStatus::Confirmed, "fp", &[(2800, 2), (1999, 1)]);
        let order = event.order.order_id.to_string();
        let envelope = push_envelope("evt_1", ORDER_PLACED, &order, &event, "crm-orders");
        assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(points_of(&app, "cus-1003").await, before + 150);
        assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT, "a duplicate is acknowledged");
        let redelivered: Vec<_> = (0..5)
            .map(|i| push_envelope(&format!("evt_again_{i}"), ORDER_PLACED, &order, &event, "crm-orders"))
            .collect();
        for response in futures_util::future::join_all(redelivered.iter().map(|e| push(&app, e))).await {
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
        assert_eq!(points_of(&app, "cus-1003").await, before + 150, "one order earns once");
        let entries = client().get(app.url("/v1/customers/cus-1003/loyalty/entries")).send().await.unwrap();
        let newest = &json(entries, StatusCode::OK).await["items"][0];
        assert_eq!(
            (&newest["reference"], &newest["reason"], &newest["delta"]),
            (&body!(order), &body!("order"), &body!(150))
        );
    })
    .await;
}

#[tokio::test]
async fn guests_held_orders_unknown_customers_and_other_events_earn_nothing() {
    use business_services::contracts::order::{ORDER_PLACED, OrderStatus};

    use crate::harness::{order_placed, push_envelope};

    on_each_backend(|backend| async move {
        let app = CrmApp::seeded(backend).await;
        let before = points_of(&app, "cus-1003").await;
        let entries = |app: &CrmApp| {
            let pool = app.store.db.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM loyalty_entries").fetch_one(&pool).await.unwrap()
            }
        };
        let count = entries(&app).await;
        let held = order_placed(Some("cus-1003"), OrderStatus::OnHold, "fp", &[(10_000, 1)]);
        let guest = order_placed(None, OrderStatus::Confirmed, "fp", &[(10_000, 1)]);
        let stranger = order_placed(Some("cus-9999"), OrderStatus::Confirmed, "fp", &[(10_000, 1)]);
        let cheap = order_placed(Some("cus-1003"), OrderStatus::Confirmed, "fp", &[(99, 1)]);
        for (i, event) in [held, guest, stranger, cheap].iter().enumerate() {
            let envelope = push_envelope(&format!("evt_{i}"), ORDER_PLACED, "ord", event, "crm-orders");
            assert_eq!(push(&app, &envelope).await.status(), StatusCode::NO_CONTENT, "{i}");
        }
        let other = push_envelope("evt_other", "order.cancelled", "ord", &body!({"anything": 1}), "crm-orders");
        assert_eq!(push(&app, &other).await.status(), StatusCode::NO_CONTENT, "other types are ignored");
        assert_eq!(points_of(&app, "cus-1003").await, before);
        assert_eq!(entries(&app).await, count);

        let malformed = push_envelope("evt_bad", ORDER_PLACED, "ord", &body!({"order": 1}), "crm-orders");
        assert_problem(push(&app, &malformed).await, StatusCode::BAD_REQUEST, None).await;
    })
    .await;
}

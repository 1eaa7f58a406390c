//! Zero trust at every door: every system, started as the binary starts it with its route
//! table enforced, refuses each write route to a caller without a token, with an expired token,
//! a token for another system, a forged signature, a valid token of a caller the route does not
//! admit, a person in a role the route does not admit, and the read-only MCP server's valid
//! token; nothing is written (the store's rows are the same before and after); the callers the
//! table names get through the door; and every write a person makes is in the audit trail.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use business_services::contracts::keys::{
    BROKER_DEMO_SECRET, BROKER_KEY_ID, CHECKOUT_DEMO_SECRET, CHECKOUT_KEY_ID, MCP_DEMO_SECRET, MCP_KEY_ID,
};
use business_services::platform::audit::Filter;
use business_services::platform::client::RequestSigner;
use business_services::platform::clock::SystemClock;
use business_services::platform::db::Db;
use business_services::platform::identity::access::{Access, Grant, MCP};
use business_services::platform::identity::keys::KeyRing;
use business_services::platform::identity::mesh::{Mesh, MeshSettings};
use business_services::platform::identity::operators::{ADMIN_NAME, Account, PERSON_PREFIX, Role};
use business_services::platform::identity::{Credentials, Trust, unix_now};
use business_services::platform::signing::HmacSigner;
use business_services::platform::testing::Backend;
use business_services::{SYSTEMS, cart, catalog};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::harness::{Stack, StackSetup, strict_trust};

const ADMIN_TOKEN: &str = "an-operator-token-for-the-access-suite";

/// The name of the operator account in `role`.
fn person(role: Role) -> &'static str {
    match role {
        Role::Admin => ADMIN_NAME,
        Role::Support => "sam",
        Role::Fulfilment => "fay",
        Role::Risk => "rita",
        Role::Finance => "finn",
    }
}

/// The token of the operator in `role` (the admin token for the admin).
fn person_token(role: Role) -> String {
    match role {
        Role::Admin => ADMIN_TOKEN.to_owned(),
        role => format!("{}-s-token-for-the-access-suite", person(role)),
    }
}

/// The role a route table's caller stands for, if it stands for people.
fn role_of(caller: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|role| role.caller() == caller)
}

/// Every system on SQLite with its demo data, each door enforcing its table as in production,
/// open to one operator account per role besides the admin token.
async fn stack() -> Stack {
    let operators = Role::ALL
        .into_iter()
        .filter(|role| *role != Role::Admin)
        .map(|role| Account { name: person(role).into(), role, token: person_token(role).as_str().into() })
        .collect();
    let trust = Trust { operators, ..strict_trust() };
    let setup = StackSetup { trust, admin_token: Some(ADMIN_TOKEN.into()), ..StackSetup::default() };
    Stack::start(Backend::Sqlite, SYSTEMS, setup).await
}

/// The route with each `{parameter}` filled in.
fn concrete(path: &str) -> String {
    path.split('/').map(|segment| if segment.starts_with('{') { "x-1" } else { segment }).collect::<Vec<_>>().join("/")
}

/// A digest of every row of every table of `db` (SQLite).
async fn digest(db: &Db) -> String {
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    let mut hash = Sha256::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}')")))
                .fetch_all(db.pool())
                .await
                .unwrap()
                .iter()
                .map(|row| format!("quote(\"{}\")", row.get::<String, _>(0)))
                .collect();
        let rows = format!("SELECT group_concat({}, '|') FROM \"{table}\"", columns.join(" || ',' || "));
        let dump: Option<String> = sqlx::query(sqlx::AssertSqlSafe(rows)).fetch_one(db.pool()).await.unwrap().get(0);
        hash.update(table.as_bytes());
        hash.update(dump.unwrap_or_default().as_bytes());
    }
    hex::encode(hash.finalize())
}

/// How one refused call is made: its name and its `Authorization` header, if any.
fn intruders(system: &str, grant: &Grant) -> Vec<(&'static str, Option<String>)> {
    let keys = strict_trust();
    let allowed = grant.callers.iter().find(|caller| !caller.starts_with(PERSON_PREFIX)).copied().unwrap_or("checkout");
    let outsider = Role::ALL.into_iter().find(|role| *role != Role::Admin && !role.admitted_by(grant.callers)).unwrap();
    let stranger = ["web", "cart", "checkout", "oms", "warehouse", "broker", "concierge", "payment"]
        .into_iter()
        .find(|caller| !grant.callers.contains(caller))
        .unwrap();
    let credentials = |caller: &str| keys.credentials(caller);
    let valid = credentials(allowed).token_for(system);
    let (signed, _) = valid.rsplit_once('.').unwrap();
    let other = if system == "payment" { "inventory" } else { "payment" };
    let forged_keys = Credentials::new(allowed, Arc::new(KeyRing::ephemeral().unwrap()));
    vec![
        ("no token", None),
        ("an expired token", Some(credentials(allowed).token_at(system, unix_now() - 600, 60))),
        ("a token for another system", Some(credentials(allowed).token_for(other))),
        ("a forged signature", Some(format!("{signed}.{}", "A".repeat(86)))),
        ("a token signed by a key the store does not hold", Some(forged_keys.token_for(system))),
        ("a valid token of a caller not admitted", Some(credentials(stranger).token_for(system))),
        ("the MCP server's valid token", Some(credentials(MCP).token_for(system))),
        ("a person in a role not admitted", Some(person_token(outsider))),
    ]
}

/// The fraud engine also checks its callers' request signatures (defence in depth): the
/// signer of `caller`'s calls to it, one per key for the whole suite, since a signer never
/// repeats a signature but two signers of one key could.
fn fraud_signer(caller: &str) -> &'static HmacSigner {
    static SIGNERS: OnceLock<[HmacSigner; 3]> = OnceLock::new();
    let [broker, mcp, checkout] = SIGNERS.get_or_init(|| {
        [(BROKER_KEY_ID, BROKER_DEMO_SECRET), (MCP_KEY_ID, MCP_DEMO_SECRET), (CHECKOUT_KEY_ID, CHECKOUT_DEMO_SECRET)]
            .map(|(key_id, secret)| HmacSigner::new(key_id, secret, Arc::new(SystemClock)))
    });
    match caller {
        "broker" => broker,
        "mcp" => mcp,
        _ => checkout,
    }
}

async fn call(url: &str, method: &str, authorization: Option<&str>) -> reqwest::Response {
    call_signed(url, method, authorization, None).await
}

async fn call_signed(
    url: &str,
    method: &str,
    authorization: Option<&str>,
    signer: Option<&HmacSigner>,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new().request(method.clone(), url);
    let body = if method != Method::GET && method != Method::DELETE { b"{}".to_vec() } else { Vec::new() };
    if !body.is_empty() {
        request = request.header("content-type", "application/json").body(body.clone());
    }
    if let Some(signer) = signer {
        let path = reqwest::Url::parse(url).unwrap().path().to_owned();
        for (name, value) in signer.sign(&method, &path, &body) {
            request = request.header(name, value);
        }
    }
    if let Some(authorization) = authorization {
        request = request.bearer_auth(authorization);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_write_route_refuses_whom_its_table_does_not_admit_and_writes_nothing() {
    let stack = stack().await;
    let mut checked = 0;
    let mut audited = Vec::new();
    for system in SYSTEMS {
        let name = system.descriptor().name;
        let access = system.descriptor().access;
        if access == Access::Own {
            continue;
        }
        for grant in access.grants().filter(|grant| grant.method != "GET") {
            let url = stack.url(name, &concrete(grant.path));
            let db = stack.stores.get(name).map(|store| &store.db);
            for (who, token) in intruders(name, grant) {
                if who == "the MCP server's valid token" && grant.callers.contains(&MCP) {
                    panic!("{name}: {} {} admits the read-only MCP server to a write", grant.method, grant.path);
                }
                let before = match db {
                    Some(db) => digest(db).await,
                    None => String::new(),
                };
                let response = call(&url, grant.method, token.as_deref()).await;
                let status = response.status();
                let body = response.text().await.unwrap();
                assert!(
                    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
                    "{name}: {} {} with {who} answered {status}: {body}",
                    grant.method,
                    grant.path
                );
                if let Some(db) = db {
                    assert_eq!(digest(db).await, before, "{name}: {} {} with {who} wrote", grant.method, grant.path);
                }
                checked += 1;
            }
            let people = grant.callers.iter().filter_map(|caller| role_of(caller));
            let admin = grant.admits_people().then_some(Role::Admin);
            for role in people.clone().chain(admin) {
                audited.push((person(role), name, grant.method, concrete(grant.path)));
            }
            let callers = grant.callers.iter().map(|caller| (*caller, role_of(caller)));
            for (caller, role) in callers.chain(admin.map(|role| (role.caller(), Some(role)))) {
                let token = match role {
                    Some(role) => person_token(role),
                    None => strict_trust().credentials(caller).token_for(name),
                };
                let signer = (name == "fraud").then(|| fraud_signer(caller));
                let response = call_signed(&url, grant.method, Some(&token), signer).await;
                let status = response.status();
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{name}: {} {} refused {caller}, whom its table admits: {status} {}",
                    grant.method,
                    grant.path,
                    response.text().await.unwrap()
                );
            }
        }
    }
    assert!(checked > 300, "only {checked} refusals were checked");
    let trail = stack.audit.entries(&Filter::default(), 10_000).await.unwrap();
    let mut recorded: Vec<_> = trail
        .iter()
        .map(|entry| (entry.person.as_str(), entry.system.as_str(), entry.method.as_str(), entry.target.clone()))
        .collect();
    recorded.sort();
    audited.sort();
    assert_eq!(recorded, audited, "every person's write, and only those, is in the audit trail");
    assert!(trail.iter().all(|entry| entry.status.is_some()), "every audited write has its answer");
}

#[tokio::test]
async fn every_documented_route_has_a_table_entry_and_every_entry_a_route() {
    let stack = stack().await;
    for system in SYSTEMS {
        let name = system.descriptor().name;
        let Access::Routes(grants) = system.descriptor().access else { continue };
        let document: Value = reqwest::get(stack.url(name, "/openapi.json")).await.unwrap().json().await.unwrap();
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object().unwrap().keys().map(move |method| (method.to_uppercase(), path.clone()))
            })
            .collect();
        let granted: BTreeSet<(String, String)> =
            grants.iter().map(|grant| (grant.method.to_owned(), grant.path.to_owned())).collect();
        assert_eq!(
            documented.difference(&granted).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{name}: documented routes without an entry are refused to everyone"
        );
        assert_eq!(
            granted.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{name}: entries for routes it does not document"
        );
    }
}

#[tokio::test]
async fn reads_are_refused_without_a_token_and_probes_stay_open() {
    let stack = stack().await;
    for system in SYSTEMS {
        let name = system.descriptor().name;
        let Access::Routes(grants) = system.descriptor().access else { continue };
        for grant in grants.iter().filter(|grant| grant.method == "GET") {
            let status = call(&stack.url(name, &concrete(grant.path)), "GET", None).await.status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: GET {}", grant.path);
        }
        for probe in ["/healthz", "/openapi.json"] {
            assert_eq!(call(&stack.url(name, probe), "GET", None).await.status(), StatusCode::OK, "{name} {probe}");
        }
    }
}

/// The route tables as docs/SECURITY.md shows them.
fn route_tables() -> String {
    let mut tables = String::new();
    for system in SYSTEMS {
        let access = system.descriptor().access;
        if access == Access::Own {
            continue;
        }
        tables
            .push_str(&format!("\n### {}\n\n| Method | Route | Callers |\n|---|---|---|\n", system.descriptor().name));
        for grant in access.grants() {
            tables.push_str(&format!("| {} | `{}` | {} |\n", grant.method, grant.path, grant.callers.join(", ")));
        }
    }
    tables
}

#[test]
fn the_route_tables_in_security_md_are_the_descriptors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SECURITY.md");
    let document = std::fs::read_to_string(path).unwrap();
    let tables = route_tables();
    assert!(
        document.contains(&tables),
        "docs/SECURITY.md's route tables differ from the descriptors; they are:\n{tables}"
    );
}

#[tokio::test]
async fn a_persons_write_is_recorded_before_it_runs_and_not_made_without_the_trail() {
    let stack = stack().await;
    let notes = stack.url("crm", "/v1/customers/cus-1001/notes");
    let note = serde_json::json!({"author": "sam", "body": "Called about the spring preview."});
    let post = |token: String| reqwest::Client::new().post(&notes).bearer_auth(token).json(&note).send();
    let sams = Filter { person: Some("sam".into()), ..Filter::default() };

    let started = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    assert_eq!(post(person_token(Role::Support)).await.unwrap().status(), StatusCode::CREATED);
    let entries = stack.audit.entries(&sams, 10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(
        (entry.role.as_str(), entry.system.as_str(), entry.method.as_str(), entry.target.as_str(), entry.status),
        ("support", "crm", "POST", "/v1/customers/cus-1001/notes", Some(201))
    );
    assert!(entry.at >= started && entry.at <= time::OffsetDateTime::now_utc(), "{}", entry.at);

    let read = reqwest::Client::new().get(&notes).bearer_auth(person_token(Role::Support)).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let refused = post(person_token(Role::Risk)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("operator 'rita' (risk) may not call"));
    assert_eq!(
        stack.audit.entries(&Filter::default(), 10).await.unwrap().len(),
        1,
        "reads and refusals are not writes"
    );

    let crm = stack.db("crm");
    let before = digest(crm).await;
    stack.audit.close().await;
    let unrecorded = post(person_token(Role::Support)).await.unwrap();
    assert_eq!(unrecorded.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(unrecorded.text().await.unwrap().contains("only once it is recorded"));
    assert_eq!(digest(crm).await, before, "a write the trail could not record was made");
}

#[tokio::test]
async fn in_a_mesh_the_sidecar_vouches_for_callers_by_their_spiffe_ids() {
    let spiffe = |account: &str| format!("spiffe://cluster.local/ns/shop/sa/{account}");
    let mesh = |proxies: Vec<std::net::IpAddr>| {
        let callers = [("web", "web"), ("mcp", "mcp")].map(|(account, system)| (spiffe(account), system.to_owned()));
        Some(Arc::new(Mesh::new(MeshSettings { proxies, callers: callers.into_iter().collect() })))
    };
    let start = |mesh| async move {
        let setup = StackSetup { trust: Trust { mesh, ..strict_trust() }, ..StackSetup::default() };
        Stack::start(Backend::Sqlite, &[&catalog::Catalog, &cart::Cart], setup).await
    };
    let cert = |account: &str| format!("By={};Hash=0f1e2d;Subject=\"\";URI={}", spiffe("cart"), spiffe(account));
    let add = |stack: &Stack, cert: String| {
        reqwest::Client::new()
            .post(stack.url("cart", "/v1/carts/mesh-1/items"))
            .header("x-forwarded-client-cert", cert)
            .json(&serde_json::json!({"product_id": "oak-bookcase", "quantity": 1}))
            .send()
    };

    let meshed = start(mesh(vec!["127.0.0.1".parse().unwrap()])).await;
    let added = add(&meshed, cert("web")).await.unwrap();
    assert!(added.status().is_success(), "{}", added.text().await.unwrap());
    let refused = add(&meshed, cert("mcp")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "the mesh's word names the caller; the table still decides");
    let stranger = add(&meshed, cert("billing")).await.unwrap();
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    assert!(stranger.text().await.unwrap().contains("spiffe://cluster.local/ns/shop/sa/billing"));

    let elsewhere = start(mesh(vec!["10.0.0.7".parse().unwrap()])).await;
    let spoofed = add(&elsewhere, cert("web")).await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::UNAUTHORIZED, "only the sidecar's header counts");
    assert!(spoofed.text().await.unwrap().contains("not the mesh's sidecar"));

    let outside = start(None).await;
    assert_eq!(add(&outside, cert("web")).await.unwrap().status(), StatusCode::UNAUTHORIZED, "no mesh, no word");
}

//! The `boutique` binary as a user runs it: `up`, restarts, `serve` with peers, `chat`,
//! configuration errors.

// A failed unwrap is a failed test, with its location: what a test wants.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use boutique::config::Config;
use business_services::platform::identity::{Credentials, token};
use business_services::platform::testing::{Backend, on_each_backend, postgres_url};
use mcp_contract::token::{TokenKey, unix_now};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A `boutique` process and the URLs it printed.
struct Boutique {
    child: Child,
    urls: BTreeMap<String, String>,
}

/// A `boutique` command with a clean environment: no configuration leaks in from the machine.
fn boutique(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_boutique"));
    command.current_dir(cwd).args(args);
    for (key, _) in std::env::vars() {
        let system_key = SYSTEMS.iter().any(|system| key.starts_with(&format!("{}_", system.to_uppercase())));
        if key.starts_with("BOUTIQUE_") || system_key {
            command.env_remove(key);
        }
    }
    // The MCP server's search is keyword-only here: these tests are about the systems, and
    // embedding the corpus would only cost CPU (tests/mcp covers the model).
    command.env("RUST_LOG", "warn").env("BOUTIQUE_MCP__EMBEDDER__KIND", "none").envs(env.iter().copied());
    command
}

/// Runs `boutique <args>` with `input` on stdin; returns what it printed.
fn typed(cwd: &Path, args: &[&str], env: &[(&str, &str)], input: &str) -> String {
    let mut child = boutique(cwd, args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run boutique");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Boutique {
    /// Starts `boutique <args>` and waits until it prints that it is up.
    fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Boutique {
        Boutique::start_logging_to(cwd, args, env, Stdio::inherit())
    }

    /// The same, its log (stderr) going to `log`.
    fn start_logging_to(cwd: &Path, args: &[&str], env: &[(&str, &str)], log: impl Into<Stdio>) -> Boutique {
        let mut child = boutique(cwd, args, env).stdout(Stdio::piped()).stderr(log).spawn().expect("spawn boutique");
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut urls = BTreeMap::new();
        loop {
            let line = lines.recv_timeout(Duration::from_secs(120)).expect("boutique printed its URLs and is up");
            if line.starts_with("Press Ctrl-C") {
                break;
            }
            if let [system, url] = line.split_whitespace().collect::<Vec<_>>()[..]
                && url.starts_with("http://")
            {
                urls.insert(system.to_owned(), url.to_owned());
            }
        }
        Boutique { child, urls }
    }

    fn url(&self, system: &str) -> &str {
        &self.urls[system]
    }

    /// Sends Ctrl-C and checks that it exits cleanly.
    fn stop(mut self) {
        let interrupted = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().expect("kill");
        assert!(interrupted.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "boutique exited with {status} after Ctrl-C");
    }
}

impl Drop for Boutique {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SYSTEMS: [&str; 16] = [
    "accounting",
    "broker",
    "cart",
    "catalog",
    "checkout",
    "concierge",
    "crm",
    "currency",
    "fraud",
    "furniture",
    "inventory",
    "mcp",
    "oms",
    "payment",
    "warehouse",
    "web",
];

/// `<SYSTEM>_<suffix>=value` for every system.
fn every_system(suffix: &str, value: &str) -> Vec<(String, String)> {
    SYSTEMS.iter().map(|system| (format!("{}_{suffix}", system.to_uppercase()), value.to_owned())).collect()
}

fn as_env(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect()
}

/// The operator's admin token of the stores these tests start.
/// The MCP server's resource URL on default ports: the audience of `mcp token`'s tokens.
const MCP_AUDIENCE: &str = "http://127.0.0.1:8094/mcp";
const ADMIN_TOKEN: &str = "an-operator-token-for-the-cli-tests";

/// The credentials of the system `caller`, from the keys of the store in `data_dir`: to call a
/// system as that caller would.
fn caller(data_dir: &Path, caller: &str) -> Credentials {
    let config = Config { data_dir: data_dir.to_owned(), ..Config::default() };
    config.trust().expect("the store's keys").credentials(caller)
}

async fn add_to_cart(web: &Credentials, cart_url: &str, cart: &str, product: &str, quantity: u32) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{cart_url}/v1/carts/{cart}/items"))
        .bearer_auth(web.token_for("cart"))
        .json(&json!({"product_id": product, "quantity": quantity}))
        .send()
        .await
        .expect("cart answers");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("cart JSON")
}

/// Checks out a cart as a guest through the checkout service; returns the receipt.
async fn place_order(web: &Credentials, checkout_url: &str, cart: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{checkout_url}/v1/checkout"))
        .bearer_auth(web.token_for("checkout"))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&json!({
            "cart_id": cart,
            "email": "ana@example.com",
            "currency": "EUR",
            "shipping_address": {"name": "Ana", "line1": "1 Market St", "city": "San Francisco", "postal_code": "94105", "country": "US"},
            "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvv": "123"},
        }))
        .send()
        .await
        .expect("checkout answers");
    assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap_or_default());
    response.json().await.expect("receipt JSON")
}

/// GETs `url` with a fresh token from `token` until `done` holds of the answer, for at most 30 s.
async fn poll_json(url: String, token: impl Fn() -> String, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = reqwest::Client::new().get(&url).bearer_auth(token()).send().await.expect("answers");
        if response.status() == StatusCode::OK {
            let value: Value = response.json().await.expect("JSON");
            if done(&value) {
                return value;
            }
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting on {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// GETs `url` presenting `token`.
async fn get_json(url: String, token: String) -> Value {
    let response = reqwest::Client::new().get(&url).bearer_auth(token).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.expect("JSON")
}

/// A fresh PostgreSQL database for one test, dropped afterwards.
struct PostgresDatabase {
    name: String,
}

impl PostgresDatabase {
    async fn create() -> PostgresDatabase {
        let name = format!("boutique_cli_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&postgres_url()).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
        PostgresDatabase { name }
    }

    fn url(&self) -> String {
        let server = postgres_url();
        let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
        format!("{base}/{}", self.name)
    }

    async fn drop_database(self) {
        let admin = sqlx::PgPool::connect(&postgres_url()).await.expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {} WITH (FORCE)", self.name)))
            .execute(&admin)
            .await
            .expect("drop database");
    }
}

#[tokio::test]
async fn up_serves_every_system_and_keeps_data_across_restarts() {
    on_each_backend(|backend| async move {
        let workdir = tempfile::tempdir().expect("temp dir");
        let data_dir = workdir.path().join("store-files");
        let data_dir_arg = data_dir.to_str().expect("utf-8 path").to_owned();
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PostgresDatabase::create().await),
        };
        let mut pairs = every_system("PORT", "0");
        pairs.push(("BOUTIQUE_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()));
        if let Some(database) = &database {
            pairs.extend(every_system("DATABASE_URL", &database.url()));
            pairs.push(("BOUTIQUE_AUDIT_DATABASE_URL".into(), database.url()));
        }
        let env = as_env(&pairs);
        let args = ["up", "--data-dir", &data_dir_arg];

        let first = Boutique::start(workdir.path(), &args, &env);
        assert_eq!(first.urls.keys().collect::<Vec<_>>(), SYSTEMS);
        let (web, reader) = (caller(&data_dir, "web"), caller(&data_dir, "mcp"));
        let products =
            get_json(format!("{}/v1/products?limit=100", first.url("catalog")), web.token_for("catalog")).await;
        assert_eq!(products["items"].as_array().map(Vec::len), Some(36), "demo catalog seeded");
        let storefront = reqwest::get(first.url("web")).await.expect("the web answers");
        assert_eq!(storefront.status(), 200);
        assert!(storefront.text().await.expect("a page").contains("Walnut Dining Table"), "the storefront's grid");
        let conversion = get_json(
            format!("{}/v1/conversions?from=USD&to=EUR&minor_units=1999", first.url("currency")),
            web.token_for("currency"),
        )
        .await;
        assert_eq!(conversion["to"]["minor_units"], 1845);
        add_to_cart(&web, first.url("cart"), "session-restart", "walnut-dining-table", 1).await;
        add_to_cart(&web, first.url("cart"), "session-order", "brass-table-lamp", 1).await;
        let order = place_order(&web, first.url("checkout"), "session-order").await;
        assert_eq!(order["status"], "confirmed");
        // The order travels on: outbox, broker, order management, warehouse, accounting.
        let order_id = order["order_id"].as_str().unwrap();
        let url = format!("{}/v1/orders/{order_id}", first.url("oms"));
        let managed = poll_json(url, || reader.token_for("oms"), |o| o["state"] == "allocated").await;
        assert_eq!(managed["history"].as_array().map(Vec::len), Some(2), "{managed}");
        let shipments = get_json(
            format!("{}/v1/shipments?order_id={order_id}", first.url("warehouse")),
            reader.token_for("warehouse"),
        )
        .await;
        assert_eq!(shipments["items"].as_array().map(Vec::len), Some(1), "{shipments}");
        let balance = get_json(format!("{}/v1/trial-balance", first.url("accounting")), ADMIN_TOKEN.into()).await;
        assert_eq!(balance["balanced"], true, "{balance}");
        // A person's write is in the audit trail: who, in what role, what, and the answer.
        let switched = reqwest::Client::new()
            .put(format!("{}/admin/faults", first.url("catalog")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"rules": []}))
            .send()
            .await
            .expect("catalog answers");
        assert_eq!(switched.status(), StatusCode::OK);
        let trail = boutique(workdir.path(), &["audit-trail", "--person", "admin", "--data-dir", &data_dir_arg], &env)
            .output()
            .expect("run boutique audit-trail");
        let printed = String::from_utf8_lossy(&trail.stdout);
        assert!(trail.status.success(), "{}", String::from_utf8_lossy(&trail.stderr));
        assert_eq!(printed.lines().count(), 1, "{printed}");
        assert!(printed.contains("admin (admin)  catalog PUT /admin/faults  200"), "{printed}");
        // The audit finds the money and goods accounted for once the order has settled, and an
        // authorization no order accounts for once there is one.
        let audit = || {
            let output = boutique(workdir.path(), &["audit", "--data-dir", &data_dir_arg], &env)
                .output()
                .expect("run boutique audit");
            (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !audit().0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (clean, findings) = audit();
        assert!(clean && findings.contains("lost paid orders                 0"), "{findings}");
        let stray = json!({"reference": "stray-hold", "amount": {"currency": "USD", "minor_units": 500},
            "card": {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035, "cvv": "123"}});
        let held = reqwest::Client::new()
            .post(format!("{}/v1/authorizations", first.url("payment")))
            .bearer_auth(caller(&data_dir, "checkout").token_for("payment"))
            .header("idempotency-key", "stray-hold")
            .json(&stray)
            .send()
            .await
            .expect("payment answers");
        assert_eq!(held.status(), StatusCode::CREATED);
        let (clean, findings) = audit();
        assert!(!clean && findings.contains("open authorizations              1"), "{findings}");
        let operator = [("BROKER_URL", first.url("broker")), ("BOUTIQUE_ADMIN_TOKEN", ADMIN_TOKEN)];
        let listed =
            boutique(workdir.path(), &["dead-letters", "list"], &operator).output().expect("run boutique dead-letters");
        assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
        assert!(String::from_utf8_lossy(&listed.stdout).contains("0 dead letter(s)"));
        // The Concierge in the terminal: the running one, then one of its own with a chosen model.
        let question = "How many loyalty points do I have?\n/quit\n";
        let chat = ["chat", "--as", "cus-1001", "--data-dir", &data_dir_arg];
        let printed = typed(workdir.path(), &chat, &[("CONCIERGE_URL", first.url("concierge"))], question);
        assert!(printed.contains("with offline:rules-1") && printed.contains("[investigate]"), "{printed}");
        assert!(printed.contains(" points.") && printed.contains("tokens)"), "{printed}");
        let chat = [
            "chat",
            "--as",
            "agent-ana",
            "--customer",
            "cus-1001",
            "--provider",
            "offline",
            "--data-dir",
            &data_dir_arg,
        ];
        let peers: Vec<(String, String)> = ["mcp", "catalog", "cart", "crm"]
            .iter()
            .map(|system| (format!("{}_URL", system.to_uppercase()), first.url(system).to_owned()))
            .collect();
        let printed = typed(workdir.path(), &chat, &as_env(&peers), question);
        assert!(printed.contains("[investigate]") && printed.contains(" points."), "{printed}");
        assert!(data_dir.join("chat.db").is_file(), "its conversations are kept");
        first.stop();

        let second = Boutique::start(workdir.path(), &args, &env);
        let cart = get_json(format!("{}/v1/carts/session-restart", second.url("cart")), web.token_for("cart")).await;
        assert_eq!(cart["items"], json!([{"product_id": "walnut-dining-table", "quantity": 1}]), "the cart survived");
        let kept = get_json(
            format!("{}/v1/orders/{}", second.url("checkout"), order["order_id"].as_str().unwrap()),
            web.token_for("checkout"),
        )
        .await;
        assert_eq!(kept, order, "the order survived");
        let products =
            get_json(format!("{}/v1/products?limit=100", second.url("catalog")), web.token_for("catalog")).await;
        assert_eq!(products["items"].as_array().map(Vec::len), Some(36), "seeded once, not twice");
        second.stop();

        match database {
            None => {
                for file in ["catalog.db", "currency.db", "cart.db"] {
                    assert!(data_dir.join(file).is_file(), "{file} is in --data-dir");
                }
                assert!(!workdir.path().join("data").exists(), "nothing written to the default ./data");
            }
            Some(database) => database.drop_database().await,
        }
    })
    .await;
}

#[tokio::test]
async fn no_secret_reaches_the_logs_of_a_run() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let data_dir = workdir.path().join("data");
    let log_path = workdir.path().join("boutique.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut env = every_system("PORT", "0");
    env.push(("BOUTIQUE_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()));
    env.push(("RUST_LOG".into(), "debug,sqlx=warn".into()));
    let store = Boutique::start_logging_to(workdir.path(), &["up"], &as_env(&env), log);
    let web = caller(&data_dir, "web");
    add_to_cart(&web, store.url("cart"), "logged", "brass-table-lamp", 1).await;
    let order = place_order(&web, store.url("checkout"), "logged").await;
    let url = format!("{}/v1/orders/{}", store.url("oms"), order["order_id"].as_str().unwrap());
    poll_json(url, || caller(&data_dir, "mcp").token_for("oms"), |o| o["state"] == "allocated").await;
    get_json(format!("{}/v1/trial-balance", store.url("accounting")), ADMIN_TOKEN.into()).await;
    let refused = reqwest::Client::new()
        .post(format!("{}/v1/customers/cus-1001/notes", store.url("crm")))
        .bearer_auth(caller(&data_dir, "mcp").token_for("crm"))
        .json(&json!({"author": "x", "body": "y"}))
        .send()
        .await
        .expect("crm answers");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    store.stop();

    let logged = std::fs::read_to_string(&log_path).expect("the log");
    assert!(logged.contains("Call refused at the door"), "the run was logged at debug level");
    // A service token's header, `{"alg":`, begins every token; the demo signing secrets and the
    // admin token are the others.
    let secrets =
        [ADMIN_TOKEN, "eyJhbGci", "demo-only-checkout-to-fraud", "demo-only-broker-to-fraud", "demo-only-mcp"];
    for secret in secrets {
        assert!(
            !logged.contains(secret),
            "the log shows a secret ({secret}):\n{}",
            logged.lines().find(|line| line.contains(secret)).unwrap_or_default()
        );
    }
}

#[tokio::test]
async fn serve_runs_chosen_systems_and_finds_peers_by_url() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let catalog = Boutique::start(workdir.path(), &["serve", "catalog"], &[("CATALOG_PORT", "0")]);
    assert_eq!(catalog.urls.keys().collect::<Vec<_>>(), ["catalog"]);
    let cart = Boutique::start(
        workdir.path(),
        &["serve", "cart"],
        &[("CART_PORT", "0"), ("CATALOG_URL", catalog.url("catalog"))],
    );
    assert_eq!(cart.urls.keys().collect::<Vec<_>>(), ["cart"]);
    // Both processes sign with and trust the keys in the data folder they share.
    let web = caller(&workdir.path().join("data"), "web");
    let updated = add_to_cart(&web, cart.url("cart"), "s", "brass-table-lamp", 2).await;
    assert_eq!(updated["item_count"], 2);
    let ready = reqwest::get(format!("{}/readyz", cart.url("cart"))).await.expect("answers");
    let ready: Value = ready.json().await.expect("JSON");
    assert_eq!(ready["ready"], true);
    cart.stop();
    catalog.stop();
}

#[test]
fn configuration_errors_name_the_key_and_exit_non_zero() {
    let workdir = tempfile::tempdir().expect("temp dir");
    /// Arguments, environment, and what stderr must say.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (&["migrate"], &[("CATALOG_URL", "catalog:8080")], &["systems.catalog.url", "CATALOG_URL", "http(s) URL"]),
        (&["migrate"], &[("CART_DATABASE_URL", "mysql://x")], &["systems.cart.database_url", "sqlite://"]),
        (&["migrate"], &[("BOUTIQUE_HOST", "not-an-address")], &["host", "BOUTIQUE_HOST"]),
        (&["migrate"], &[("BOUTIQUE_CART__ABANDONED_AFTER_HOURS", "0")], &["cart.abandoned_after_hours"]),
        (&["serve", "mainframe"], &[], &["no system 'mainframe'", "catalog, currency, cart, inventory"]),
    ];
    for (args, env, expected) in cases {
        let output = boutique(workdir.path(), args, env).output().expect("run boutique");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} {env:?} should fail");
        for text in expected {
            assert!(stderr.contains(text), "{args:?} {env:?}: stderr lacks {text:?}:\n{stderr}");
        }
    }
    let file = workdir.path().join("boutique.toml");
    std::fs::write(&file, "[cart]\nabandoned_after_hours = \"soon\"\n").expect("write config");
    let output = boutique(workdir.path(), &["migrate"], &[]).output().expect("run boutique");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("cart.abandoned_after_hours"), "{stderr}");
    std::fs::write(&file, "[[operators]]\nname = \"ada\"\nrole = \"support\"\ntoken = \"short\"\n")
        .expect("write config");
    let output = boutique(workdir.path(), &["migrate"], &[]).output().expect("run boutique");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("`operators`") && stderr.contains("at least 16"), "{stderr}");
}

#[test]
fn migrate_creates_the_stores_and_reports_each() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let output = boutique(workdir.path(), &["migrate", "--data-dir", "here"], &[]).output().expect("run boutique");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The MCP server keeps no SQL store.
    for system in SYSTEMS.iter().filter(|system| **system != "mcp") {
        assert!(stdout.contains(&format!("{system:<10} migrated")), "{stdout}");
        assert!(workdir.path().join("here").join(format!("{system}.db")).is_file());
    }
}

#[test]
fn mcp_token_mints_a_token_the_data_folder_key_signs() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let mint = |args: &[&str]| boutique(workdir.path(), args, &[]).output().expect("run boutique");
    let output =
        mint(&["mcp", "token", "--subject", "agent-ana", "--role", "agent", "--customer", "cus-1008", "--ttl", "15m"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "{token}");
    let key = TokenKey::open(&workdir.path().join("data/keys/capability")).expect("the data folder's ring");
    let claims = key.verify(&token, MCP_AUDIENCE, unix_now()).expect("a valid token");
    assert_eq!((claims.sub.as_str(), claims.customer.as_deref()), ("agent-ana", Some("cus-1008")));
    assert_eq!(claims.exp - claims.iat, 900);

    let rotated = mint(&["rotate-keys"]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let rotated = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.contains("service") && rotated.contains("capability"), "{rotated}");
    let after = mint(&["mcp", "token", "--subject", "agent-ana", "--role", "agent", "--customer", "cus-1008"]);
    let after = String::from_utf8_lossy(&after.stdout).trim().to_owned();
    let kid = |token: &str| token::decode::<serde_json::Value>(token).expect("a JWS").header.kid;
    assert_ne!(kid(&after), kid(&token), "a new key signs after the rotation");
    for token in [&token, &after] {
        key.verify(token, MCP_AUDIENCE, unix_now()).expect("tokens from before the rotation stay valid");
    }

    let refused = mint(&["mcp", "token", "--subject", "cus-1001", "--role", "owner"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("expected customer, agent, fraud_analyst or admin"));
    let refused = mint(&["mcp", "token", "--subject", "cus-1001", "--role", "customer", "--customer", "cus-1002"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("reads only that customer"), "{refused:?}");
}

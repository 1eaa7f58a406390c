//! Independent MCP clients against the server: the official Python SDK and the MCP Inspector
//! CLI, over Streamable HTTP and over stdio. `scripts/mcp-clients` installs both (the README's
//! test command runs it); a test says so and skips when they are absent.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use boutique::registry::System;
use serde_json::{Value, json};

use crate::harness::{ALICE, BOB, Store};

fn clients_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    cache.join("boutique/mcp-clients")
}

fn installed(path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped: {} is missing; run scripts/mcp-clients", path.display());
        None
    }
}

fn python() -> Option<PathBuf> {
    installed(clients_dir().join("venv/bin/python"))
}

fn inspector() -> Option<PathBuf> {
    installed(clients_dir().join("node/node_modules/.bin/mcp-inspector"))
}

/// Runs the Python SDK client with `calls`; returns its JSON lines by event.
fn python_sdk(python: &PathBuf, url: &str, token: &str, calls: Value) -> (Option<i32>, Vec<Value>) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mcp-server/tests/clients/python_sdk_client.py");
    let mut child = Command::new(python)
        .arg(script)
        .args([url, token])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(calls.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let lines =
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    (output.status.code(), lines)
}

#[tokio::test]
async fn the_python_sdk_lists_and_calls_the_tools() {
    let Some(python) = python() else { return };
    let store = Store::start(|_| {}).await;
    let order = store.orders[ALICE].clone();
    let (url, token) = (store.mcp_url(), store.customer_token(ALICE));
    let calls = json!([
        {"tool": "customer_profile", "arguments": {}},
        {"tool": "order_timeline", "arguments": {"order_id": order}},
        {"tool": "order_lookup", "arguments": {"order_id": store.orders[BOB]}},
        {"tool": "search", "arguments": {"query": "how do refunds work", "kinds": ["help", "policy"]}},
    ]);
    let (status, lines) = tokio::task::spawn_blocking(move || python_sdk(&python, &url, &token, calls)).await.unwrap();
    assert_eq!(status, Some(0), "{lines:?}");
    assert_eq!(lines[0]["protocol_version"], "2025-11-25", "a client of 2025-11-25 is served");
    let tools = lines[1]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 12);
    assert!(tools.iter().all(|tool| tool["has_output_schema"] == true && tool["annotations"]["readOnlyHint"] == true));
    assert!(lines[2]["uris"].as_array().unwrap().iter().any(|uri| uri == "boutique://policy/returns-policy"));
    assert_eq!(lines[3]["names"].as_array().unwrap().len(), 3);
    let calls: Vec<&Value> = lines.iter().filter(|line| line["event"] == "call").collect();
    assert_eq!(calls[0]["structured"]["customer_id"], ALICE);
    assert!(!calls[1]["structured"]["items"].as_array().unwrap().is_empty());
    assert_eq!(calls[2]["is_error"], true, "another customer's order");
    assert_eq!(calls[3]["structured"]["ranking"], "lexical", "keyword-only without a model, and it says so");

    let python = clients_dir().join("venv/bin/python");
    let url = store.mcp_url();
    let (status, lines) =
        tokio::task::spawn_blocking(move || python_sdk(&python, &url, "forged", json!([]))).await.unwrap();
    assert_eq!((status, lines.first().map(|line| line["event"].clone())), (Some(3), Some(json!("unauthorized"))));
    store.stop().await;
}

fn run_inspector(inspector: &PathBuf, home: &std::path::Path, args: &[&str]) -> (Option<i32>, Value) {
    let output =
        Command::new(inspector).arg("--cli").args(args).env("HOME", home).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json =
        serde_json::from_str(&stdout).unwrap_or_else(|_| json!({"stderr": String::from_utf8_lossy(&output.stderr)}));
    (output.status.code(), json)
}

#[tokio::test]
async fn the_inspector_cli_lists_and_calls_the_tools_over_http_and_stdio() {
    let Some(inspector) = inspector() else { return };
    let store = Store::start(|_| {}).await;
    let home = tempfile::tempdir().unwrap();
    let url = store.mcp_url();
    let bearer =
        format!("Authorization: Bearer {}", store.token("agent-ana", mcp_contract::token::Role::Agent, Some(ALICE)));
    let order = store.orders[ALICE].clone();
    let http = |args: Vec<String>| {
        let (inspector, home, url, bearer) = (inspector.clone(), home.path().to_owned(), url.clone(), bearer.clone());
        tokio::task::spawn_blocking(move || {
            let mut all = vec![url, "--header".into(), bearer, "--stored-auth-only".into()];
            all.extend(args);
            run_inspector(&inspector, &home, &all.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let (status, listed) = http(vec!["--method".into(), "tools/list".into()]).await.unwrap();
    assert_eq!(status, Some(0), "{listed}");
    assert_eq!(listed["tools"].as_array().unwrap().len(), 12);
    let args = json!({"order_id": order}).to_string();
    let call = vec!["--method", "tools/call", "--tool-name", "payment_status", "--tool-args-json", &args];
    let (status, paid) = http(call.into_iter().map(str::to_owned).collect()).await.unwrap();
    assert_eq!(status, Some(0), "{paid}");
    assert_eq!(paid["structuredContent"]["order_id"], order.as_str());
    assert_eq!(paid["isError"], false);

    // Over stdio: the binary as a desktop client would start it, reading the running systems.
    let binary = env!("CARGO_BIN_EXE_boutique");
    let data_dir = store.config.data_dir.display().to_string();
    let token = store.token("agent-ana", mcp_contract::token::Role::Agent, Some(ALICE));
    let mut env =
        vec![format!("MCP_TOKEN={token}"), "BOUTIQUE_MCP__EMBEDDER__KIND=none".to_owned(), "RUST_LOG=warn".to_owned()];
    for system in System::all() {
        env.push(format!("{}_URL={}", system.name().to_uppercase(), store.url(*system)));
    }
    let mut args: Vec<String> = Vec::new();
    for variable in &env {
        args.extend(["-e".to_owned(), variable.clone()]);
    }
    args.extend(
        [
            "--method",
            "tools/call",
            "--tool-name",
            "support_tickets",
            "-q",
            "--",
            binary,
            "--data-dir",
            &data_dir,
            "mcp",
            "--stdio",
        ]
        .map(str::to_owned),
    );
    let (inspector, home_dir) = (inspector.clone(), home.path().to_owned());
    let (status, tickets) = tokio::task::spawn_blocking(move || {
        run_inspector(&inspector, &home_dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap();
    assert_eq!(status, Some(0), "{tickets}");
    assert!(tickets["structuredContent"]["items"].is_array(), "{tickets}");
    store.stop().await;
}

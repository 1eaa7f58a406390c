//! What a door costs: `scripts/cargo bench -p business-services --bench access`.
//!
//! Serves one trivial route twice on loopback, once as it is and once behind a system's door
//! (a fresh service token minted by the caller for every call, verified and looked up in the
//! route table by the callee), and calls each `BENCH_CALLS` times (default 5,000) one after
//! another, in alternating rounds so both see the same machine. Reports the time per call of
//! each and their ratio, and the cost of minting and of verifying one token on their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::middleware;
use axum::routing::get;
use business_services::platform::identity::access::{self, Door, Grant};
use business_services::platform::identity::keys::KeyRing;
use business_services::platform::identity::{Credentials, Trust, unix_now};

const ROUNDS: usize = 5;
static GRANTS: &[Grant] = &[Grant::get("/v1/ping", &["checkout"])];

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1/ping", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Seconds for `calls` calls to `url`, each with a token from `credentials` when given.
async fn time_calls(http: &reqwest::Client, url: &str, credentials: Option<&Credentials>, calls: usize) -> Duration {
    let started = Instant::now();
    for _ in 0..calls {
        let mut request = http.get(url);
        if let Some(credentials) = credentials {
            request = request.bearer_auth(credentials.token_for("bench"));
        }
        let response = request.send().await.expect("call");
        assert!(response.status().is_success(), "{}", response.status());
    }
    started.elapsed()
}

fn per_call(total: Duration, calls: usize) -> f64 {
    total.as_secs_f64() * 1e6 / calls as f64
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(5_000);
    let trust = Trust::local(Arc::new(KeyRing::ephemeral().expect("a key")));
    let credentials = trust.credentials("checkout");
    let route = || Router::new().route("/v1/ping", get(|| async { "pong" }));
    let door = Door::new("bench", GRANTS, Arc::new(trust.verifier("bench")));
    let open = serve(route()).await;
    let guarded = serve(route().route_layer(middleware::from_fn_with_state(door, access::guard))).await;

    let http = reqwest::Client::new();
    time_calls(&http, &open, None, calls / 10).await;
    time_calls(&http, &guarded, Some(&credentials), calls / 10).await;
    let (mut plain, mut verified) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain.push(per_call(time_calls(&http, &open, None, calls / ROUNDS).await, calls / ROUNDS));
        verified.push(per_call(time_calls(&http, &guarded, Some(&credentials), calls / ROUNDS).await, calls / ROUNDS));
    }
    plain.sort_by(f64::total_cmp);
    verified.sort_by(f64::total_cmp);
    let (plain, verified) = (plain[ROUNDS / 2], verified[ROUNDS / 2]);

    let tokens: Vec<String> = (0..calls).map(|_| credentials.token_for("bench")).collect();
    let started = Instant::now();
    let minted: Vec<String> = (0..calls).map(|_| credentials.token_for("bench")).collect();
    let mint = per_call(started.elapsed(), calls);
    drop(minted);
    let verifier = trust.verifier("bench");
    let now = unix_now();
    let started = Instant::now();
    for token in &tokens {
        verifier.verify(token, now).await.expect("a valid token");
    }
    let verify = per_call(started.elapsed(), calls);

    println!("calls over loopback HTTP, {calls} each, median of {ROUNDS} alternating rounds:");
    println!("  without a door:          {plain:8.1} µs per call");
    println!("  through the door:        {verified:8.1} µs per call (mint, send, verify, look up)");
    println!("  ratio:                   {:8.2}", verified / plain);
    println!("on their own, {calls} each:");
    println!("  mint one token:          {mint:8.1} µs");
    println!("  verify one token:        {verify:8.1} µs");
}

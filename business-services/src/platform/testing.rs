//! Test support shared by the workspace's test suites (feature `testing`): which database
//! backends can run here (databases, NATS), and running a scenario on each.

use std::future::Future;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::OnceLock;
use std::time::Duration;

/// The engines a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The server at [`postgres_url`].
    Postgres,
}

/// The PostgreSQL server tests use: `TEST_POSTGRES_URL`, else the local server.
pub fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether PostgreSQL answers. When it does not, says so once on the terminal (past the test
/// harness's output capture, so the skip shows in a passing run).
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let url = postgres_url();
        let host_port = url.split('@').next_back().and_then(|rest| rest.split('/').next()).unwrap_or_default();
        answers("PostgreSQL", host_port, "TEST_POSTGRES_URL")
    })
}

/// The NATS server (with JetStream) tests use: `TEST_NATS_URL`, else the local server.
pub fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Whether the NATS server answers. When it does not, says so once on the terminal.
pub fn nats_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let url = nats_url();
        let host_port = url.rsplit('/').next().and_then(|rest| rest.rsplit('@').next()).unwrap_or_default();
        answers("NATS", host_port, "TEST_NATS_URL")
    })
}

/// Whether something listens at `host_port`; if not, prints why `service`'s runs are skipped.
fn answers(service: &str, host_port: &str, variable: &str) -> bool {
    let reachable = host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|address| TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok());
    if !reachable {
        let _ = writeln!(
            std::io::stderr(),
            "note: skipping the {service} runs: nothing answers at {host_port} (set {variable})"
        );
    }
    reachable
}

/// Runs `scenario` on every backend that can run here.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backend == Backend::Postgres && !postgres_available() {
            continue;
        }
        // Captured, and shown with the failure if the scenario panics.
        println!("--- running on {backend:?}");
        scenario(backend).await;
    }
}

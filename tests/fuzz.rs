//! Every system's OpenAPI document is the wire: Schemathesis (`scripts/fuzz`) fuzzes each system
//! that serves one, on a store of its own with the demo data, and a server error or any answer
//! its document does not describe (status, content type, headers, body) fails the test, listed
//! with the request that provoked it. Skipped, saying why, when Schemathesis cannot be installed.

// A failed unwrap is a failed test, with its location: what a test wants.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use boutique::config::Config;
use boutique::registry::System;
use boutique::systems::{self};
use tokio_util::sync::CancellationToken;

/// Cases per operation and phase: enough to reach every documented answer, few enough that the
/// thirteen systems take a few minutes on two cores.
const MAX_EXAMPLES: &str = "20";

/// How long the whole run may take before it is stopped and failed.
const DEADLINE: Duration = Duration::from_secs(20 * 60);

/// The operator's admin token of the fuzzed store: operator routes are fuzzed with it.
const ADMIN_TOKEN: &str = "an-operator-token-for-the-fuzzer";

fn fuzz_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/fuzz")
}

/// Runs `command` to its end or until `deadline`, then kills it; `None` when it was killed.
fn run_until(mut command: Command, deadline: Duration) -> Option<Output> {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run scripts/fuzz");
    // Drain both pipes while waiting, so a chatty run never blocks on a full pipe.
    let stdout = child.stdout.take().map(|pipe| std::thread::spawn(move || read_all(pipe)));
    let stderr = child.stderr.take().map(|pipe| std::thread::spawn(move || read_all(pipe)));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for scripts/fuzz") {
            break Some(status);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let joined = |pipe: Option<std::thread::JoinHandle<Vec<u8>>>| pipe.map(|p| p.join().unwrap()).unwrap_or_default();
    let (stdout, stderr) = (joined(stdout), joined(stderr));
    status.map(|status| Output { status, stdout, stderr })
}

fn read_all(mut pipe: impl std::io::Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn every_system_answers_as_its_openapi_document_says() {
    let installed = Command::new(fuzz_script()).arg("--install").output().expect("run scripts/fuzz --install");
    if !installed.status.success() {
        eprintln!(
            "skipped: Schemathesis could not be installed (scripts/fuzz --install): {}",
            String::from_utf8_lossy(&installed.stderr).trim()
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::default().private_store(data.path());
    config.admin_token = Some(ADMIN_TOKEN.into());
    let shutdown = CancellationToken::new();
    let running = systems::start(&config, System::all(), &shutdown).await.unwrap();

    // Every system that serves a document (scripts/fuzz says which it skips, and why).
    let mut targets = Vec::new();
    for (system, address) in &running.addresses {
        let url = format!("http://{address}");
        if reqwest::get(format!("{url}/openapi.json")).await.unwrap().status() == reqwest::StatusCode::OK {
            targets.push(format!("{system}={url}"));
        }
    }
    assert!(targets.len() >= 13, "every business system serves its document: {targets:?}");
    let mut command = Command::new(fuzz_script());
    // Each request carries the credential its route admits, minted from the store's keys.
    let credential = format!(
        "env BOUTIQUE_ADMIN_TOKEN={ADMIN_TOKEN} {} credential --data-dir {}",
        env!("CARGO_BIN_EXE_boutique"),
        data.path().display()
    );
    command
        .args(&targets)
        .env("FUZZ_MAX_EXAMPLES", MAX_EXAMPLES)
        .env("FUZZ_CREDENTIAL", credential)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || run_until(command, DEADLINE)).await.unwrap();
    shutdown.cancel();
    running.finish().await.unwrap();

    let Some(output) = output else {
        panic!("scripts/fuzz did not finish within {} s", DEADLINE.as_secs());
    };
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let summary: Vec<&str> = stdout.lines().filter(|line| line.starts_with("fuzz: ")).collect();
    eprintln!("{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "Schemathesis found answers the OpenAPI documents do not describe:\n{stdout}\n{stderr}\n{}",
        summary.join("\n")
    );
    assert_eq!(summary.len(), targets.len() + 1, "one line per system and the total:\n{stdout}");
}

//! The web in a real browser: Debian's headless Chromium, driven by playwright-core
//! (`journeys.cjs`). Screenshots of every page go to `$BOUTIQUE_SCREENSHOTS`, else
//! `<target>/tmp/web-screenshots`; the test prints the folder.

use std::path::PathBuf;
use std::process::Command;

use boutique::registry::System;

use crate::harness::Store;
use crate::support::browser_modules;

fn screenshot_folder() -> PathBuf {
    std::env::var_os("BOUTIQUE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots"))
}

#[tokio::test]
async fn shopper_customer_and_agent_journeys_pass_in_chromium() {
    let modules = match browser_modules() {
        Ok(modules) => modules,
        Err(why) => return eprintln!("skipped the browser journeys: scripts/browser failed: {why}"),
    };
    let store = Store::start(|_| {}).await;
    let shots = screenshot_folder();
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    eprintln!("browser screenshots: {}", shots.display());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web/journeys.cjs");
    let base = store.url(System::named("web")).to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).arg(base).arg(&shots).env("BROWSER_MODULES", modules).output().unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the journeys failed:\n{stderr}\n{stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let passed: Vec<&str> = report["passed"].as_array().unwrap().iter().map(|check| check.as_str().unwrap()).collect();
    eprintln!("{} browser checks passed:\n  {}", passed.len(), passed.join("\n  "));
    for expected in [
        "the confirmation shows the order",
        "the Concierge answers",
        "the customer 360 page opens",
        "without JavaScript",
    ] {
        assert!(passed.iter().any(|check| check.starts_with(expected)), "no check `{expected}…` in {passed:?}");
    }
    let pictures = std::fs::read_dir(screenshot_folder()).unwrap().count();
    assert!(pictures >= 10, "a screenshot of each page: {pictures}");
    store.stop().await;
}

//! Background jobs of a system (sweepers, recovery), run on a timer until shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::error::Result;

/// Runs `job` every `interval` until `shutdown`. It returns how much it did, which is logged
/// when not zero; a failure is logged and the next tick tries again.
pub async fn every<F, Fut>(interval: Duration, shutdown: CancellationToken, name: &str, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    let mut ticks = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => match job().await {
                Ok(0) => {}
                Ok(done) => tracing::info!(job = name, done, "Background job did its work."),
                Err(error) => tracing::warn!(job = name, %error, "Background job failed; will retry."),
            },
        }
    }
}

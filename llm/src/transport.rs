//! What the HTTP providers share: retries with backoff, streaming through a channel, and SSE.

use std::time::Duration;

use futures_util::stream::{self, BoxStream};
use reqwest::{RequestBuilder, Response, StatusCode};
use tokio::sync::mpsc;

use crate::{Chunk, ModelError};
use sse_decoder::SseDecoder;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The first pause; each next one doubles, with jitter, up to 8 s.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 4, base_delay: Duration::from_millis(500) }
    }
}

impl RetryPolicy {
    /// The pause before retry `n` (1-based): a `Retry-After` the provider sent wins.
    fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(Duration::from_secs(30));
        }
        let doubled = self.base_delay.saturating_mul(1 << n.saturating_sub(1).min(4));
        let capped = doubled.min(Duration::from_secs(8));
        // Full jitter between half and all of it, so clients that failed together do not retry together.
        capped.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

/// Whether a status is worth retrying: rate limits and server errors are; other refusals are not.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Sends the request `build` makes, retrying network failures, 429s and 5xxs under `policy`.
/// `build` runs before every try, so each gets fresh credentials.
pub async fn send<F, Fut>(provider: &str, policy: RetryPolicy, build: F) -> Result<Response, ModelError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<RequestBuilder, ModelError>>,
{
    let mut attempt = 1;
    loop {
        let outcome = build().await?.send().await;
        let failure = match outcome {
            Ok(response) if response.status().is_success() => return Ok(response),
            Ok(response) if retryable(response.status()) => {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok()?.parse().ok())
                    .map(Duration::from_secs);
                let status = response.status();
                (format!("{provider} answered {status}: {}", body_of(response).await), retry_after)
            }
            Ok(response) => {
                let status = response.status().as_u16();
                return Err(ModelError::Rejected { status, detail: body_of(response).await });
            }
            Err(error) => (format!("{provider} could not be reached: {error}"), None),
        };
        if attempt >= policy.attempts {
            return Err(ModelError::Unavailable(format!("{} (after {attempt} tries)", failure.0)));
        }
        let pause = policy.delay(attempt, failure.1);
        tracing::warn!(provider, attempt, ?pause, reason = %failure.0, "Retrying the model call.");
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// The start of an error body, for messages.
async fn body_of(response: Response) -> String {
    response.text().await.unwrap_or_default().chars().take(300).collect()
}

/// Where a provider's task writes its chunks.
pub type ChunkSender = mpsc::Sender<Result<Chunk, ModelError>>;

/// Runs `produce` as a task writing chunks into a channel, and streams what it writes, then the
/// error it ends with, if any. Dropping the stream stops the task at its next write.
pub fn channel_stream<Fut>(produce: impl FnOnce(ChunkSender) -> Fut) -> BoxStream<'static, Result<Chunk, ModelError>>
where
    Fut: Future<Output = Result<(), ModelError>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(32);
    let errors = sender.clone();
    let produced = produce(sender);
    tokio::spawn(async move {
        if let Err(error) = produced.await {
            let _ = errors.send(Err(error)).await;
        }
    });
    Box::pin(stream::unfold(receiver, |mut receiver| async move { receiver.recv().await.map(|item| (item, receiver)) }))
}

/// Reads the server-sent events of a response body, one event's data at a time.
pub struct EventReader {
    response: Response,
    decoder: SseDecoder,
    ready: std::collections::VecDeque<String>,
    ended: bool,
}

impl EventReader {
    /// Reads `response`'s body as events.
    pub fn new(response: Response) -> EventReader {
        EventReader { response, decoder: SseDecoder::default(), ready: Default::default(), ended: false }
    }

    /// The next event's data; `None` once the body has ended.
    pub async fn next(&mut self) -> Result<Option<String>, ModelError> {
        while self.ready.is_empty() && !self.ended {
            let bytes = self
                .response
                .chunk()
                .await
                .map_err(|error| ModelError::Unavailable(format!("the stream broke off: {error}")))?;
            match bytes {
                Some(bytes) => self.ready.extend(self.decoder.push(&bytes)),
                None => {
                    self.ended = true;
                    self.ready.extend(self.decoder.finish());
                }
            }
        }
        Ok(self.ready.pop_front())
    }
}

/// Sends `chunk` down `sender`; `false` once the reader is gone.
pub async fn emit(sender: &ChunkSender, chunk: Chunk) -> bool {
    sender.send(Ok(chunk)).await.is_ok()
}

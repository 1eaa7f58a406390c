//! Per-subject rate limits: a token bucket for each caller, kept in memory. The MCP server limits
//! tool calls per token subject with it, and the Concierge messages per signed-in subject.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket per subject: `per_minute` calls a minute on average, bursts up to `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` calls a minute per subject, in bursts of `burst`.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter { per_minute: per_minute.max(1), burst: burst.max(1), buckets: Mutex::default() }
    }

    /// Takes one call for `subject` at `now`; `Err(wait)` when the subject must wait.
    pub fn take(&self, subject: &str, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_minute) / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget subjects that have refilled completely, so the map stays small.
        if buckets.len() > 10_000 {
            let full = Duration::from_secs_f64(f64::from(self.burst) / rate);
            buckets.retain(|_, bucket| now.duration_since(bucket.at) < full);
        }
        let bucket = buckets.entry(subject.to_owned()).or_insert(Bucket { tokens: f64::from(self.burst), at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(self.burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_subject_separately_and_refills() {
        let limiter = RateLimiter::new(60, 2);
        let start = Instant::now();
        assert!(limiter.take("ana", start).is_ok());
        assert!(limiter.take("ana", start).is_ok());
        let wait = limiter.take("ana", start).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(limiter.take("ben", start).is_ok(), "subjects have their own buckets");
        assert!(limiter.take("ana", start + Duration::from_secs(1)).is_ok(), "one call a second refills");
    }
}

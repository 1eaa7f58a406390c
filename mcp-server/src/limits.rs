//! Bounds on what one caller gets: rows and bytes per answer, calls per minute per subject.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Row and byte caps on one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The most rows a list returns.
    pub max_rows: usize,
    /// The most bytes of JSON the rows may take.
    pub max_bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps { max_rows: 20, max_bytes: 16 * 1024 }
    }
}

impl Caps {
    /// Keeps the first rows of `items` that fit both caps. Returns them and, when rows were
    /// left out, a notice saying how many and why.
    pub fn apply<T: Serialize>(&self, mut items: Vec<T>) -> (Vec<T>, Option<String>) {
        let total = items.len();
        items.truncate(self.max_rows);
        let mut bytes = 0;
        let mut fitting = 0;
        for item in &items {
            let size = serde_json::to_vec(item).map_or(0, |json| json.len());
            if bytes + size > self.max_bytes && fitting > 0 {
                break;
            }
            bytes += size;
            fitting += 1;
        }
        items.truncate(fitting);
        let notice = (items.len() < total).then(|| {
            format!(
                "showing {} of {total} rows: answers are capped at {} rows and {} KiB; narrow the request to see the rest",
                items.len(),
                self.max_rows,
                self.max_bytes / 1024
            )
        });
        (items, notice)
    }
}

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
    fn caps_rows_then_bytes_and_says_so() {
        let caps = Caps { max_rows: 3, max_bytes: 25 };
        let (rows, notice) = caps.apply(vec!["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddd"]);
        assert_eq!(rows, ["aaaaaaaaaa", "bbbbbbbbbb"], "3 rows by count, then 2 fit 25 bytes");
        assert!(notice.unwrap().starts_with("showing 2 of 4 rows"));
        let (rows, notice) = caps.apply(vec!["a"]);
        assert_eq!((rows.len(), notice), (1, None));
        let (rows, _) = Caps { max_rows: 5, max_bytes: 1 }.apply(vec!["too long for the cap"]);
        assert_eq!(rows.len(), 1, "the first row is always kept, so one huge row cannot hide everything");
    }

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

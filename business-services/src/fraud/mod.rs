//! Fraud engine (the system in another cloud): risk scores with reasons, a review queue, signed callers.

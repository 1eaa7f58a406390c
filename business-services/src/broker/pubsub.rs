//! Google Pub/Sub publisher (REST).

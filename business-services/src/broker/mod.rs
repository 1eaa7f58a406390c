//! Event broker: topics, push subscriptions, retries with backoff, dead letters. Backends:
//! embedded (durable, on the SQL store: the default), NATS JetStream, and Google Pub/Sub for
//! publishing (Pub/Sub pushes by itself, with the same envelope).

pub mod nats;
pub mod pubsub;
pub mod queue;

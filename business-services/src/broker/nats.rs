//! NATS JetStream backend.

//! Events between systems: the message a publisher sends, and the push envelope a subscriber
//! receives. The envelope is Google Pub/Sub's push format, so the same consumers run behind a
//! real Pub/Sub push subscription.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use axum::extract::{FromRequest, Request};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{Error, Result};
use super::extract::ApiJson;

/// Attribute naming the event's type, e.g. `order.placed`.
pub const TYPE: &str = "type";
/// Attribute carrying the W3C trace context of the request that caused the event.
pub const TRACEPARENT: &str = "traceparent";
/// Attribute carrying the event id through brokers that assign message ids of their own
/// (Google Pub/Sub); consumers deduplicate on it.
pub const EVENT_ID: &str = "event_id";

/// A message on a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The event's id: publishing it again changes nothing, and consumers apply it once.
    pub id: String,
    /// The topic, e.g. `orders`.
    pub topic: String,
    /// Messages with one key are delivered in order (an order id).
    pub ordering_key: String,
    /// The event, JSON.
    pub data: Vec<u8>,
    /// String attributes: the event type, trace context.
    pub attributes: BTreeMap<String, String>,
    /// When it was published.
    #[serde(with = "time::serde::rfc3339")]
    pub publish_time: OffsetDateTime,
}

/// What a push subscription POSTs to its endpoint: Pub/Sub's push envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushEnvelope {
    /// The message.
    pub message: PushMessage,
    /// The subscription's full name, e.g. `projects/boutique/subscriptions/oms-orders`.
    pub subscription: String,
}

/// The message inside a [`PushEnvelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMessage {
    /// The event, base64 of its JSON.
    pub data: String,
    /// String attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The broker's id of the message (our event id).
    pub message_id: String,
    /// RFC 3339 publication time.
    pub publish_time: String,
    /// Ordering key, when the topic orders messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
}

impl PushEnvelope {
    /// The envelope that delivers `message` for `subscription`.
    pub fn wrap(message: &Message, subscription: &str) -> Self {
        let publish_time = message
            .publish_time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| message.publish_time.unix_timestamp().to_string());
        PushEnvelope {
            message: PushMessage {
                data: STANDARD.encode(&message.data),
                attributes: message.attributes.clone(),
                message_id: message.id.clone(),
                publish_time,
                ordering_key: Some(message.ordering_key.clone()).filter(|key| !key.is_empty()),
            },
            subscription: format!("projects/boutique/subscriptions/{subscription}"),
        }
    }
}

/// A pushed event: its id, type and attributes, and its decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed<T> {
    /// The event id (consumers apply each id once).
    pub event_id: String,
    /// The event type attribute (empty when absent).
    pub event_type: String,
    /// All attributes.
    pub attributes: BTreeMap<String, String>,
    /// The payload.
    pub payload: T,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Pushed<T> {
    type Rejection = Error;

    /// A malformed envelope or payload is a 400: the broker retries it, then dead-letters it
    /// where an operator can look at it.
    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let ApiJson(envelope) = ApiJson::<PushEnvelope>::from_request(request, state).await?;
        let bad = |why: String| Error::BadRequest { detail: format!("message {}: {why}", envelope.message.message_id) };
        let data = STANDARD.decode(&envelope.message.data).map_err(|e| bad(format!("data is not base64: {e}")))?;
        let payload = serde_json::from_slice(&data).map_err(|e| bad(format!("data is not the expected event: {e}")))?;
        let attributes = envelope.message.attributes;
        Ok(Pushed {
            event_id: attributes.get(EVENT_ID).cloned().unwrap_or(envelope.message.message_id),
            event_type: attributes.get(TYPE).cloned().unwrap_or_default(),
            attributes,
            payload,
        })
    }
}

impl Pushed<serde_json::Value> {
    /// The payload as a `T` when the event is of `event_type`; `None` for other types, which a
    /// consumer acknowledges and ignores (topics gain event types), and a 400 when the payload
    /// of an event of `event_type` is not a `T`.
    pub fn payload_of<T: DeserializeOwned>(&self, event_type: &str) -> Result<Option<T>, Error> {
        if self.event_type != event_type {
            return Ok(None);
        }
        serde_json::from_value(self.payload.clone()).map(Some).map_err(|e| Error::BadRequest {
            detail: format!("message {}: data is not a {event_type} event: {e}", self.event_id),
        })
    }
}

/// A boxed future, so the traits can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Publishes messages to topics.
pub trait Publisher: Send + Sync + Debug {
    /// Publishes `message` on its topic. Publishing a message id again changes nothing on
    /// backends that can tell (embedded, NATS); consumers deduplicate on the event id anyway.
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<()>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_pubsub_field_names() {
        let message = Message {
            id: "evt_1".into(),
            topic: "orders".into(),
            ordering_key: "ord_1".into(),
            data: br#"{"a":1}"#.to_vec(),
            attributes: BTreeMap::from([(TYPE.to_owned(), "order.placed".to_owned())]),
            publish_time: OffsetDateTime::UNIX_EPOCH,
        };
        let json = serde_json::to_value(PushEnvelope::wrap(&message, "oms-orders")).unwrap();
        assert_eq!(json["message"]["messageId"], "evt_1");
        assert_eq!(json["message"]["orderingKey"], "ord_1");
        assert_eq!(json["message"]["publishTime"], "1970-01-01T00:00:00Z");
        assert_eq!(json["message"]["data"], STANDARD.encode(br#"{"a":1}"#));
        assert_eq!(json["message"]["attributes"]["type"], "order.placed");
        assert_eq!(json["subscription"], "projects/boutique/subscriptions/oms-orders");
    }

    #[test]
    fn payloads_decode_only_for_their_type() {
        let pushed = |event_type: &str, payload: serde_json::Value| Pushed {
            event_id: "evt_1".into(),
            event_type: event_type.into(),
            attributes: BTreeMap::new(),
            payload,
        };
        let decoded: Option<BTreeMap<String, u32>> =
            pushed("order.placed", serde_json::json!({"a": 1})).payload_of("order.placed").unwrap();
        assert_eq!(decoded, Some(BTreeMap::from([("a".to_owned(), 1)])));
        let other: Option<u32> = pushed("order.cancelled", serde_json::json!("x")).payload_of("order.placed").unwrap();
        assert_eq!(other, None, "other types are ignored, not refused");
        let bad = pushed("order.placed", serde_json::json!("x")).payload_of::<u32>("order.placed").unwrap_err();
        assert!(matches!(bad, Error::BadRequest { detail } if detail.contains("evt_1")));
    }
}

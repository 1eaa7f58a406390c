//! Google Pub/Sub publisher over the REST API: `POST {base}/v1/projects/{project}/topics/
//! {topic}:publish`, authenticated with an OAuth bearer token (from a service-account key file
//! or the metadata server), or with none for the emulator and our own embedded broker, which
//! speak the same call. Calls get a deadline and are retried after transient failures (429,
//! 502, 503, 504, no connection): the event id travels as the `event_id` attribute, which
//! consumers deduplicate on, so a retry that Pub/Sub already accepted applies once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gcp_auth::TokenProvider;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::platform::client::{PeerClient, RequestSigner};
use crate::platform::events::Message;
use crate::platform::events::{BoxFuture, Publisher};
use crate::platform::identity::Credentials;
use crate::platform::{Error, Result};

/// The OAuth scope that allows publishing.
pub const SCOPE: &str = "https://www.googleapis.com/auth/pubsub";
/// Google's Pub/Sub endpoint.
pub const GOOGLE: &str = "https://pubsub.googleapis.com";
/// The attribute carrying the event id (Pub/Sub assigns its own message ids).
pub const EVENT_ID: &str = "event_id";

/// How the publisher authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubSubAuth {
    /// No token: for the Pub/Sub emulator.
    None,
    /// Our broker: a service token of the publishing system.
    Service(Credentials),
    /// A service-account JSON key file.
    KeyFile(PathBuf),
    /// The metadata server of the machine (on Google Cloud).
    Metadata,
}

/// Publishes to Google Pub/Sub (or anything that speaks its publish call).
#[derive(Clone)]
pub struct PubSubPublisher {
    client: PeerClient,
    project: String,
    tokens: Option<Arc<dyn TokenProvider>>,
}

impl fmt::Debug for PubSubPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSubPublisher")
            .field("client", &self.client)
            .field("project", &self.project)
            .field("authenticated", &self.tokens.is_some())
            .finish()
    }
}

#[derive(Serialize)]
struct PublishRequest<'a> {
    messages: [OutgoingMessage<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutgoingMessage<'a> {
    data: String,
    attributes: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    ordering_key: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishResponse {
    #[serde(default)]
    message_ids: Vec<String>,
}

/// Adds the bearer token fetched for one call.
#[derive(Debug)]
struct Bearer(String);

impl RequestSigner for Bearer {
    fn sign(&self, _method: &Method, _path: &str, _body: &[u8]) -> Vec<(String, String)> {
        vec![("authorization".to_owned(), format!("Bearer {}", self.0))]
    }
}

impl PubSubPublisher {
    /// A publisher to `project` at `base_url` ([`GOOGLE`], an emulator, or our broker),
    /// authenticating with `auth`, giving each call `deadline`. Fails when the credentials
    /// cannot be read (a missing or malformed key file, no metadata server).
    pub async fn new(base_url: &str, project: &str, auth: PubSubAuth, deadline: Duration) -> Result<Self> {
        if project.is_empty() || project.contains('/') {
            return Err(Error::invalid("project", "must be a Google Cloud project id"));
        }
        let (name, credentials) = match &auth {
            PubSubAuth::Service(credentials) => ("broker", Some(credentials.clone())),
            _ => ("pubsub", None),
        };
        let tokens: Option<Arc<dyn TokenProvider>> = match auth {
            PubSubAuth::None | PubSubAuth::Service(_) => None,
            PubSubAuth::KeyFile(path) => {
                let account = gcp_auth::CustomServiceAccount::from_file(&path).map_err(|e| {
                    Error::invalid(
                        "key_file",
                        format!("{} is not a service-account key: {}", path.display(), chain(&e)),
                    )
                })?;
                Some(Arc::new(account))
            }
            PubSubAuth::Metadata => {
                let account = gcp_auth::MetadataServiceAccount::new().await.map_err(|e| Error::Unavailable {
                    dependency: "metadata server".to_owned(),
                    detail: format!("cannot get Google credentials from it: {}", chain(&e)),
                })?;
                Some(Arc::new(account))
            }
        };
        Ok(PubSubPublisher {
            client: match credentials {
                Some(credentials) => PeerClient::new(name, base_url, deadline).with_credentials(credentials),
                None => PeerClient::new(name, base_url, deadline),
            },
            project: project.to_owned(),
            tokens,
        })
    }

    async fn client(&self) -> Result<PeerClient> {
        let Some(tokens) = &self.tokens else { return Ok(self.client.clone()) };
        let token = tokens.token(&[SCOPE]).await.map_err(|e| Error::Unavailable {
            dependency: "google oauth".to_owned(),
            detail: format!("cannot get an access token for Pub/Sub: {}", chain(&e)),
        })?;
        Ok(self.client.clone().with_signer(Arc::new(Bearer(token.as_str().to_owned()))))
    }
}

impl Publisher for PubSubPublisher {
    fn publish<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if message.topic.is_empty() || message.topic.contains(['/', ':', '?', '#']) {
                return Err(Error::invalid("topic", "must be a Pub/Sub topic id"));
            }
            let mut attributes: BTreeMap<&str, &str> =
                message.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            attributes.insert(EVENT_ID, &message.id);
            let body = PublishRequest {
                messages: [OutgoingMessage {
                    data: STANDARD.encode(&message.data),
                    attributes,
                    ordering_key: &message.ordering_key,
                }],
            };
            let path = format!("/v1/projects/{}/topics/{}:publish", self.project, message.topic);
            let client = self.client().await?;
            // The event id as idempotency key: retried after transient failures.
            let answer: Option<PublishResponse> = client.post(&path, &body, Some(&message.id)).await?;
            match answer {
                Some(response) if !response.message_ids.is_empty() => Ok(()),
                Some(_) => Err(Error::Upstream {
                    dependency: "pubsub".to_owned(),
                    status: 200,
                    detail: format!("publishing {} returned no message id", message.id),
                    field: None,
                }),
                None => Err(Error::Upstream {
                    dependency: "pubsub".to_owned(),
                    status: 404,
                    detail: format!(
                        "topic projects/{}/topics/{} does not exist: create it, or check the project",
                        self.project, message.topic
                    ),
                    field: None,
                }),
            }
        })
    }
}

/// An error with its causes, which `gcp_auth` keeps out of its message.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

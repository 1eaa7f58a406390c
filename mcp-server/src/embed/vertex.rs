//! Vertex AI text embeddings over REST (`…/publishers/google/models/<model>:predict`), with
//! tokens from gcp_auth. Tested against a local fake that speaks the same JSON.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::{Embedder, Purpose, normalize};

/// The OAuth scope Vertex AI needs.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Instances per request (the API takes up to 250; smaller batches keep requests small).
const BATCH: usize = 32;

/// Where and which model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VertexSettings {
    /// API root, e.g. `https://us-central1-aiplatform.googleapis.com` (a fake in tests).
    pub endpoint: String,
    /// Google Cloud project.
    pub project: String,
    /// Region, e.g. `us-central1`.
    pub location: String,
    /// Model, e.g. `text-embedding-005`.
    pub model: String,
    /// Output width asked for (`outputDimensionality`).
    pub dimensions: usize,
}

/// Vertex AI's text-embedding models.
#[derive(Clone)]
pub struct VertexEmbedder {
    settings: VertexSettings,
    http: reqwest::Client,
    tokens: Option<Arc<dyn gcp_auth::TokenProvider>>,
}

impl std::fmt::Debug for VertexEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexEmbedder").field("settings", &self.settings).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct PredictRequest<'a> {
    instances: Vec<Instance<'a>>,
    parameters: Parameters,
}

#[derive(Serialize)]
struct Instance<'a> {
    content: &'a str,
    task_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    output_dimensionality: usize,
    auto_truncate: bool,
}

#[derive(Deserialize)]
struct PredictResponse {
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: Embeddings,
}

#[derive(Deserialize)]
struct Embeddings {
    values: Vec<f32>,
}

impl VertexEmbedder {
    /// An embedder authenticating with `tokens` (`None` for an unauthenticated fake).
    pub fn new(settings: VertexSettings, tokens: Option<Arc<dyn gcp_auth::TokenProvider>>) -> VertexEmbedder {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
        VertexEmbedder { settings, http, tokens }
    }

    /// An embedder with Application Default Credentials (a key file, gcloud, or the metadata
    /// server).
    pub async fn with_default_credentials(settings: VertexSettings) -> anyhow::Result<VertexEmbedder> {
        let tokens = gcp_auth::provider().await.context("no Google Cloud credentials found for Vertex AI")?;
        Ok(VertexEmbedder::new(settings, Some(tokens)))
    }

    fn url(&self) -> String {
        let VertexSettings { endpoint, project, location, model, .. } = &self.settings;
        format!(
            "{}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:predict",
            endpoint.trim_end_matches('/')
        )
    }

    async fn predict(&self, texts: &[String], purpose: Purpose) -> anyhow::Result<Vec<Vec<f32>>> {
        let task_type = match purpose {
            Purpose::Document => "RETRIEVAL_DOCUMENT",
            Purpose::Query => "RETRIEVAL_QUERY",
        };
        let body = PredictRequest {
            instances: texts.iter().map(|content| Instance { content, task_type }).collect(),
            parameters: Parameters { output_dimensionality: self.settings.dimensions, auto_truncate: true },
        };
        let mut request = self.http.post(self.url()).json(&body);
        if let Some(tokens) = &self.tokens {
            let token = tokens.token(&[SCOPE]).await.context("could not get a Google Cloud access token")?;
            request = request.bearer_auth(token.as_str());
        }
        let response = request.send().await.with_context(|| format!("Vertex AI at {} did not answer", self.url()))?;
        let status = response.status();
        if !status.is_success() {
            let detail: String = response.text().await.unwrap_or_default().chars().take(300).collect();
            return Err(anyhow!("Vertex AI answered {status}: {detail}"));
        }
        let predictions: PredictResponse = response.json().await.context("Vertex AI's answer is not a prediction")?;
        if predictions.predictions.len() != texts.len() {
            return Err(anyhow!(
                "Vertex AI returned {} embeddings for {} texts",
                predictions.predictions.len(),
                texts.len()
            ));
        }
        predictions
            .predictions
            .into_iter()
            .map(|prediction| {
                let mut vector = prediction.embeddings.values;
                if vector.len() != self.settings.dimensions {
                    return Err(anyhow!(
                        "Vertex AI returned {} dimensions, expected {}",
                        vector.len(),
                        self.settings.dimensions
                    ));
                }
                normalize(&mut vector);
                Ok(vector)
            })
            .collect()
    }
}

impl Embedder for VertexEmbedder {
    fn model(&self) -> &str {
        &self.settings.model
    }

    fn dimensions(&self) -> usize {
        self.settings.dimensions
    }

    fn embed<'a>(&'a self, texts: &'a [String], purpose: Purpose) -> BoxFuture<'a, anyhow::Result<Vec<Vec<f32>>>> {
        Box::pin(async move {
            let mut vectors = Vec::with_capacity(texts.len());
            for batch in texts.chunks(BATCH) {
                vectors.extend(self.predict(batch, purpose).await?);
            }
            Ok(vectors)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::{Value, json};

    const WIDTH: usize = 16;

    /// What the fake saw, and whether it fails.
    #[derive(Default)]
    struct Server {
        /// The task type of each instance, request by request.
        requests: Vec<Vec<String>>,
        /// Answers request `n` (0-based) with this status instead.
        fail: Option<(usize, StatusCode)>,
    }

    type Shared = Arc<Mutex<Server>>;

    /// A value of a text's fake embedding, from an FNV-1a hash of its content, task and position.
    fn component(content: &str, task: &str, position: usize) -> f64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in content.bytes().chain(task.bytes()).chain(position.to_le_bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        (hash % 2001) as f64 / 10.0 - 100.0
    }

    /// A fake of the predict endpoint: checks the request's shape and embeds each text as
    /// `outputDimensionality` values derived from its content and task type, not normalized.
    async fn predict(
        State(state): State<Shared>,
        Path(model): Path<String>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        assert_eq!(model, "text-embedding-005:predict");
        assert!(headers.get("authorization").is_none(), "no token provider, no header");
        assert_eq!(body["parameters"], json!({ "outputDimensionality": WIDTH, "autoTruncate": true }));
        let instances = body["instances"].as_array().unwrap();
        let mut state = state.lock().unwrap();
        state
            .requests
            .push(instances.iter().map(|instance| instance["task_type"].as_str().unwrap().to_owned()).collect());
        if let Some((at, status)) = state.fail
            && at + 1 == state.requests.len()
        {
            let error = json!({ "error": { "code": status.as_u16(), "message": "permission denied on project" } });
            return (status, Json(error)).into_response();
        }
        let predictions: Vec<Value> = instances
            .iter()
            .map(|instance| {
                let (content, task) = (instance["content"].as_str().unwrap(), instance["task_type"].as_str().unwrap());
                let values: Vec<f64> = (0..WIDTH).map(|position| component(content, task, position)).collect();
                json!({ "embeddings": { "values": values, "statistics": { "token_count": 3, "truncated": false } } })
            })
            .collect();
        Json(json!({ "predictions": predictions, "metadata": { "billableCharacterCount": 42 } })).into_response()
    }

    /// A fake of project `shop` in `europe-west1`, and an embedder talking to it.
    async fn start(server: Server) -> (Shared, VertexEmbedder) {
        let state = Arc::new(Mutex::new(server));
        let app = Router::new()
            .route("/v1/projects/shop/locations/europe-west1/publishers/google/models/{model}", post(predict))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let settings = VertexSettings {
            endpoint: format!("http://{address}"),
            project: "shop".into(),
            location: "europe-west1".into(),
            model: "text-embedding-005".into(),
            dimensions: WIDTH,
        };
        (state, VertexEmbedder::new(settings, None))
    }

    #[tokio::test]
    async fn the_vertex_embedder_passes_the_conformance_suite() {
        let (_, embedder) = start(Server::default()).await;
        crate::embed::conformance::run(&embedder).await;
    }

    #[tokio::test]
    async fn texts_go_in_batches_of_32_with_their_task_type() {
        let (state, embedder) = start(Server::default()).await;
        let texts = crate::embed::conformance::texts();
        embedder.embed(&texts, Purpose::Document).await.unwrap();
        embedder.embed(&texts[..2], Purpose::Query).await.unwrap();
        let requests = &state.lock().unwrap().requests;
        let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
        assert_eq!(sizes, [32, 8, 2]);
        assert!(requests[..2].iter().flatten().all(|task| task == "RETRIEVAL_DOCUMENT"), "{requests:?}");
        assert!(requests[2].iter().all(|task| task == "RETRIEVAL_QUERY"), "{requests:?}");
    }

    #[tokio::test]
    async fn an_error_answer_is_an_error_even_after_a_good_batch() {
        for at in [0, 1] {
            let (_, embedder) = start(Server { fail: Some((at, StatusCode::FORBIDDEN)), ..Server::default() }).await;
            let texts = crate::embed::conformance::texts();
            let error = embedder.embed(&texts, Purpose::Document).await.unwrap_err().to_string();
            assert!(error.contains("403") && error.contains("permission denied"), "batch {at}: {error}");
        }
    }
}

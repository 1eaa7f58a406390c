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
    use super::*;
    use axum::extract::Path;
    use axum::http::HeaderMap;
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::{Value, json};

    /// A fake of the predict endpoint: checks the request's shape and embeds each text as a
    /// vector of its length and task type, so the test can tell the answers apart.
    async fn predict(Path(path): Path<String>, headers: HeaderMap, Json(body): Json<Value>) -> Json<Value> {
        assert_eq!(path, "text-embedding-005:predict");
        assert!(headers.get("authorization").is_none(), "no token provider, no header");
        assert_eq!(body["parameters"]["outputDimensionality"], 3);
        let predictions: Vec<Value> = body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|instance| {
                let length = instance["content"].as_str().unwrap().len() as f64;
                let query = if instance["task_type"] == "RETRIEVAL_QUERY" { 1.0 } else { 0.0 };
                json!({ "embeddings": { "values": [length, query, 0.0], "statistics": { "token_count": 3 } } })
            })
            .collect();
        Json(json!({ "predictions": predictions }))
    }

    /// An embedder of project `shop` in `europe-west1` talking to `app`.
    async fn embedder_of(app: Router) -> VertexEmbedder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let settings = VertexSettings {
            endpoint: format!("http://{address}"),
            project: "shop".into(),
            location: "europe-west1".into(),
            model: "text-embedding-005".into(),
            dimensions: 3,
        };
        VertexEmbedder::new(settings, None)
    }

    #[tokio::test]
    async fn embeds_through_the_vertex_predict_call() {
        let app = Router::new()
            .route("/v1/projects/shop/locations/europe-west1/publishers/google/models/{model}", post(predict));
        let embedder = embedder_of(app).await;
        let texts: Vec<String> = (0..40).map(|i| "x".repeat(i + 1)).collect();
        let documents = embedder.embed(&texts, Purpose::Document).await.unwrap();
        assert_eq!(documents.len(), 40, "two batches, in order");
        assert_eq!(documents[39], [1.0, 0.0, 0.0], "normalized");
        let query = embedder.embed(&texts[..1], Purpose::Query).await.unwrap();
        let expected = 1.0 / 2f32.sqrt();
        assert!((query[0][0] - expected).abs() < 1e-6 && (query[0][1] - expected).abs() < 1e-6);
    }

    #[tokio::test]
    async fn reports_an_error_answer() {
        let app =
            Router::new().fallback(|| async { (axum::http::StatusCode::FORBIDDEN, "permission denied on project") });
        let embedder = embedder_of(app).await;
        let error = embedder.embed(&["hello".to_owned()], Purpose::Query).await.unwrap_err().to_string();
        assert!(error.contains("403") && error.contains("permission denied"), "{error}");
    }
}

//! Filtered vector search on 100k points: Qdrant Edge (HNSW after optimize) beside an exact
//! scan, in the same run. Run with `scripts/cargo bench -p mcp-server --bench vector_search`.
//!
//! Points are unit vectors of 384 dimensions (all-MiniLM-L6-v2's width) drawn around 1,000 topic
//! centres, as sentence embeddings cluster by topic (uniformly random vectors have no near
//! neighbours to find, and no index does well on them); queries are drawn the same way. They are
//! spread over 6
//! kinds and 2,000 customers plus public documents (half the points); queries filter as the `search` tool does
//! (public or one customer's, some kinds). Sizes: `BENCH_POINTS` (default 100000),
//! `BENCH_QUERIES` (default 200).

use std::time::{Duration, Instant};

use mcp_server::search::document::{DocKind, Filter, PUBLIC, customer_audience};
use mcp_server::search::edge::EdgeIndex;
use mcp_server::search::index::{ExactIndex, Point, VectorIndex};

const DIMENSIONS: usize = 384;
const CUSTOMERS: usize = 2_000;
const TOPICS: usize = 1_000;
/// How far a point strays from its topic's centre (per coordinate, before normalizing).
const SPREAD: f32 = 0.6;

/// A named way to draw a query's filter.
type Scenario = (&'static str, fn(&mut fastrand::Rng) -> Filter);

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn unit_vector(rng: &mut fastrand::Rng) -> Vec<f32> {
    let mut vector: Vec<f32> = (0..DIMENSIONS).map(|_| rng.f32() * 2.0 - 1.0).collect();
    mcp_server::embed::normalize(&mut vector);
    vector
}

/// A unit vector near one of the `centres`.
fn near_topic(centres: &[Vec<f32>], rng: &mut fastrand::Rng) -> Vec<f32> {
    let centre = &centres[rng.usize(..centres.len())];
    let noise = unit_vector(rng);
    let mut vector: Vec<f32> = centre.iter().zip(&noise).map(|(c, n)| c + SPREAD * n).collect();
    mcp_server::embed::normalize(&mut vector);
    vector
}

fn points(count: usize, centres: &[Vec<f32>], rng: &mut fastrand::Rng) -> Vec<Point> {
    (0..count)
        .map(|n| {
            let kind = DocKind::ALL[n % DocKind::ALL.len()];
            let audience = if kind.is_public() {
                PUBLIC.to_owned()
            } else {
                customer_audience(&format!("cus-{}", 1000 + rng.usize(..CUSTOMERS)))
            };
            Point { id: format!("{kind}:{n}"), vector: near_topic(centres, rng), kind, audience }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn measure(index: &dyn VectorIndex, queries: &[(Vec<f32>, Filter)]) -> (Vec<Vec<String>>, f64, f64) {
    let mut latencies = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    for (vector, filter) in queries {
        let started = Instant::now();
        let hits = index.search(vector, filter, 10).await.expect("search");
        latencies.push(started.elapsed());
        results.push(hits.into_iter().map(|hit| hit.id).collect());
    }
    latencies.sort();
    (results, percentile(&latencies, 0.5), percentile(&latencies, 0.99))
}

fn recall(found: &[Vec<String>], truth: &[Vec<String>]) -> f64 {
    let total: f64 = found
        .iter()
        .zip(truth)
        .map(|(found, truth)| {
            if truth.is_empty() {
                1.0
            } else {
                truth.iter().filter(|id| found.contains(id)).count() as f64 / truth.len() as f64
            }
        })
        .sum();
    total / truth.len() as f64
}

fn main() {
    let count = env_number("BENCH_POINTS", 100_000);
    let query_count = env_number("BENCH_QUERIES", 200);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut rng = fastrand::Rng::with_seed(7);
        let centres: Vec<Vec<f32>> = (0..TOPICS).map(|_| unit_vector(&mut rng)).collect();
        let data = points(count, &centres, &mut rng);
        let dir = tempfile::tempdir().expect("temp dir");
        let edge = EdgeIndex::open(dir.path(), DIMENSIONS).expect("edge index");
        let exact = ExactIndex::default();
        let started = Instant::now();
        for batch in data.chunks(1_000) {
            edge.upsert(batch.to_vec()).await.expect("upsert");
        }
        let upserted = started.elapsed();
        let started = Instant::now();
        edge.optimize().await.expect("optimize");
        let optimized = started.elapsed();
        exact.upsert(data).await.expect("exact upsert");
        println!(
            "{count} points of {DIMENSIONS} dimensions: Qdrant Edge upsert {:.1} s ({:.0} points/s), optimize (HNSW) {:.1} s",
            upserted.as_secs_f64(),
            count as f64 / upserted.as_secs_f64(),
            optimized.as_secs_f64()
        );
        let scenarios: [Scenario; 3] = [
            ("products only (1 in 6)", |_| Filter { kinds: vec![DocKind::Product], audiences: vec![PUBLIC.to_owned()] }),
            ("public documents", |_| Filter { kinds: vec![], audiences: vec![PUBLIC.to_owned()] }),
            ("one customer's tickets and orders + help", |rng: &mut fastrand::Rng| Filter {
                kinds: vec![DocKind::Ticket, DocKind::Order, DocKind::Help],
                audiences: vec![PUBLIC.to_owned(), customer_audience(&format!("cus-{}", 1000 + rng.usize(..CUSTOMERS)))],
            }),
        ];
        println!("\n{:<44} {:>14} {:>14} {:>14} {:>14} {:>10} {:>9}", "filter, top 10", "edge p50 ms", "edge p99 ms", "exact p50 ms", "exact p99 ms", "speed-up", "recall");
        for (name, filter) in &scenarios {
            let queries: Vec<(Vec<f32>, Filter)> = (0..query_count).map(|_| (near_topic(&centres, &mut rng), filter(&mut rng))).collect();
            let (found, edge_p50, edge_p99) = measure(&edge, &queries).await;
            let (truth, exact_p50, exact_p99) = measure(&exact, &queries).await;
            println!(
                "{name:<44} {edge_p50:>14.2} {edge_p99:>14.2} {exact_p50:>14.2} {exact_p99:>14.2} {:>9.1}x {:>9.3}",
                exact_p50 / edge_p50,
                recall(&found, &truth)
            );
        }
    });
}

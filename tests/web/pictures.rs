//! Product pictures through the web, with only the catalog beside it: a picture is served and
//! may be cached; a picture the catalog refuses keeps an error status that no cache keeps.

use boutique::config::Config;
use boutique::registry::System;
use boutique::systems::{self};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn refused_pictures_stay_uncacheable_errors() {
    let data = tempfile::tempdir().unwrap();
    let config = Config::default().private_store(data.path());
    let shutdown = CancellationToken::new();
    let running = systems::start(&config, &[System::named("catalog"), System::named("web")], &shutdown).await.unwrap();
    let web = running.addresses.iter().find(|(system, _)| *system == "web").map(|(_, at)| at).unwrap();
    let header = |response: &reqwest::Response, name| {
        response.headers().get(name).map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default()
    };

    let picture = reqwest::get(format!("http://{web}/pictures/walnut-dining-table")).await.unwrap();
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(header(&picture, CONTENT_TYPE), "image/svg+xml");
    assert!(header(&picture, CACHE_CONTROL).contains("max-age"), "a picture may be cached");

    // The catalog answers 422 to a malformed id and 404 to an unknown one.
    for (id, status) in
        [("Walnut_Dining_Table", StatusCode::UNPROCESSABLE_ENTITY), ("no-such-product", StatusCode::NOT_FOUND)]
    {
        let refused = reqwest::get(format!("http://{web}/pictures/{id}")).await.unwrap();
        assert_eq!(refused.status(), status, "{id}");
        assert_eq!(header(&refused, CACHE_CONTROL), "no-store", "{id}: a refusal must not be cached");
        assert!(!header(&refused, CONTENT_TYPE).starts_with("image/"), "{id} is no picture");
    }
    shutdown.cancel();
    running.finish().await.unwrap();
}

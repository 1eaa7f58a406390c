//! The typed client other systems use to get reference rates, to convert amounts themselves
//! with [`super::domain::convert`] (one call per checkout, whatever the number of lines).

use std::time::Duration;

use super::api::Currencies;
// The types on this client's wire, for its callers.
pub use super::domain::{ConversionError, Rate, convert, parse_nanos};
use crate::platform::client::{Peer, PeerClient};
use crate::platform::http::ReadinessCheck;
use crate::platform::{Error, Result};

/// Reads reference rates from the currency service.
#[derive(Debug, Clone)]
pub struct CurrencyClient {
    peer: PeerClient,
}

impl CurrencyClient {
    /// A client of the currency service at `peer`, giving each call `deadline`.
    pub fn new(peer: &Peer, deadline: Duration) -> Self {
        CurrencyClient { peer: PeerClient::to("currency", peer, deadline) }
    }

    /// Every published rate.
    pub async fn rates(&self) -> Result<Vec<Rate>> {
        let listing: Currencies = self.peer.get("/v1/currencies").await?.unwrap_or(Currencies { currencies: vec![] });
        listing
            .currencies
            .into_iter()
            .map(|currency| {
                let per_eur_nanos = parse_nanos(&currency.per_eur).map_err(|detail| Error::Upstream {
                    dependency: "currency".into(),
                    status: 200,
                    detail: format!("the rate of {}: {detail}", currency.code),
                    field: None,
                })?;
                Ok(Rate { currency: currency.code, per_eur_nanos })
            })
            .collect()
    }

    /// A readiness check that the currency service answers.
    pub fn readiness(&self) -> ReadinessCheck {
        ReadinessCheck::peer(&self.peer)
    }
}

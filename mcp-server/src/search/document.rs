//! What the index holds: documents of a few kinds, each public or one customer's.

use std::fmt;

use mcp_contract::content::{Article, ArticleKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kinds of document search covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A catalog product.
    Product,
    /// A help article.
    Help,
    /// A store policy.
    Policy,
    /// An agent's note on a customer (staff only).
    Note,
    /// A support ticket with its conversation.
    Ticket,
    /// An order's timeline.
    Order,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 6] =
        [DocKind::Product, DocKind::Help, DocKind::Policy, DocKind::Note, DocKind::Ticket, DocKind::Order];

    /// Its name, as in document ids (`product:…`).
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Product => "product",
            DocKind::Help => "help",
            DocKind::Policy => "policy",
            DocKind::Note => "note",
            DocKind::Ticket => "ticket",
            DocKind::Order => "order",
        }
    }

    /// Whether documents of this kind are readable by anyone (products, help, policies) rather
    /// than by one customer's scope.
    pub fn is_public(self) -> bool {
        matches!(self, DocKind::Product | DocKind::Help | DocKind::Policy)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<ArticleKind> for DocKind {
    fn from(kind: ArticleKind) -> DocKind {
        match kind {
            ArticleKind::Help => DocKind::Help,
            ArticleKind::Policy => DocKind::Policy,
        }
    }
}

/// The audience of public documents.
pub const PUBLIC: &str = "public";

/// The audience of one customer's documents.
pub fn customer_audience(customer_id: &str) -> String {
    format!("customer:{customer_id}")
}

/// One searchable document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// `<kind>:<id>`, e.g. `product:oak-bookcase` or `ticket:tkt-1003a`.
    pub id: String,
    /// Its kind.
    pub kind: DocKind,
    /// A one-line title.
    pub title: String,
    /// The text searched and shown. Text from customers and partners is untrusted data.
    pub text: String,
    /// The customer it belongs to; `None` for public documents.
    pub customer_id: Option<String>,
    /// Last change, milliseconds since the Unix epoch.
    pub updated_at: i64,
}

impl Document {
    /// Who may read it: [`PUBLIC`] or `customer:<id>`.
    pub fn audience(&self) -> String {
        self.customer_id.as_deref().map_or_else(|| PUBLIC.to_owned(), customer_audience)
    }

    /// What is embedded and matched: the title, then the text.
    pub fn searchable_text(&self) -> String {
        format!("{}\n{}", self.title, self.text)
    }

    /// A digest of what is searched: unchanged documents need no new embedding.
    pub fn content_digest(&self) -> String {
        hex::encode(Sha256::digest(self.searchable_text().as_bytes()))
    }
}

/// An article's searchable document: `help:<slug>` or `policy:<slug>`, public.
impl From<&Article> for Document {
    fn from(article: &Article) -> Document {
        let kind = DocKind::from(article.kind);
        Document {
            id: format!("{}:{}", kind.name(), article.slug),
            kind,
            title: article.title.clone(),
            text: article.body.clone(),
            customer_id: None,
            updated_at: 0,
        }
    }
}

/// The numeric point id a vector engine stores for document `id` (Qdrant ids are integers or
/// UUIDs): the first 8 bytes of its SHA-256; collisions are negligible at this scale.
pub fn point_id(id: &str) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// Which documents a search may return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Only these kinds; all when empty.
    pub kinds: Vec<DocKind>,
    /// Only documents for these audiences (always set by the caller's scope).
    pub audiences: Vec<String>,
}

impl Filter {
    /// Whether `kind` and `audience` pass.
    pub fn accepts(&self, kind: DocKind, audience: &str) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind)) && self.audiences.iter().any(|a| a == audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_are_public_documents_named_as_their_resources() {
        let articles = mcp_contract::content::articles();
        assert!(articles.iter().any(|article| article.kind == ArticleKind::Policy));
        for article in &articles {
            let document = Document::from(article);
            assert_eq!(document.id, format!("{}:{}", article.kind.name(), article.slug));
            assert_eq!(document.kind.name(), article.kind.name());
            assert!(document.kind.is_public() && document.audience() == PUBLIC);
        }
    }
}

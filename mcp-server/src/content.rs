//! Help articles and store policies: markdown files in `mcp-server/content/`, built into the
//! binary, served as MCP resources and indexed for search.

use include_dir::{Dir, include_dir};

use crate::search::document::{DocKind, Document};

static CONTENT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/content");

/// A help article or policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// `help` or `policy`.
    pub kind: DocKind,
    /// File name without `.md`.
    pub slug: String,
    /// The `# Title` line.
    pub title: String,
    /// The markdown after the title.
    pub body: String,
}

impl Article {
    /// Its resource URI, e.g. `boutique://help/refund-timing`.
    pub fn uri(&self) -> String {
        format!("boutique://{}/{}", self.kind.name(), self.slug)
    }

    /// The searchable document.
    pub fn document(&self) -> Document {
        Document {
            id: format!("{}:{}", self.kind.name(), self.slug),
            kind: self.kind,
            title: self.title.clone(),
            text: self.body.clone(),
            customer_id: None,
            updated_at: 0,
        }
    }
}

/// Every article, help first, each folder in file-name order.
pub fn articles() -> Vec<Article> {
    [("help", DocKind::Help), ("policies", DocKind::Policy)]
        .into_iter()
        .flat_map(|(folder, kind)| {
            let mut files: Vec<_> = CONTENT.get_dir(folder).map(|dir| dir.files().collect()).unwrap_or_default();
            files.sort_by_key(|file| file.path());
            files.into_iter().filter_map(move |file| {
                let slug = file.path().file_stem()?.to_str()?.to_owned();
                let text = file.contents_utf8()?;
                let (first, body) = text.split_once('\n').unwrap_or((text, ""));
                let title = first.trim_start_matches('#').trim().to_owned();
                Some(Article { kind, slug, title, body: body.trim().to_owned() })
            })
        })
        .collect()
}

/// The article at resource `uri`.
pub fn article(uri: &str) -> Option<Article> {
    articles().into_iter().find(|article| article.uri() == uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_article_has_a_title_and_a_body() {
        let articles = articles();
        assert!(articles.iter().filter(|a| a.kind == DocKind::Help).count() >= 10);
        assert!(articles.iter().filter(|a| a.kind == DocKind::Policy).count() >= 5);
        for article in &articles {
            assert!(!article.title.is_empty() && article.body.len() > 200, "{} is too thin", article.uri());
        }
        let first = &articles[0];
        assert_eq!(article(&first.uri()).as_ref(), Some(first));
    }
}

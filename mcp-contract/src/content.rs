//! Help articles and store policies: markdown files in `mcp-contract/content/`, built into the
//! binary. The MCP server serves them as resources at their [`Article::uri`] and indexes them
//! for search; the Concierge answers help questions from them and cites the same URIs.

use include_dir::{Dir, include_dir};

static CONTENT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/content");

/// Which shelf an article is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleKind {
    /// A help article: how something works, what to do.
    Help,
    /// A store policy: what the store commits to.
    Policy,
}

impl ArticleKind {
    /// Its name, as in resource URIs (`boutique://help/…`) and search document ids (`help:…`).
    pub fn name(self) -> &'static str {
        match self {
            ArticleKind::Help => "help",
            ArticleKind::Policy => "policy",
        }
    }
}

/// A help article or policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// `help` or `policy`.
    pub kind: ArticleKind,
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
}

/// Every article, help first, each folder in file-name order.
pub fn articles() -> Vec<Article> {
    [("help", ArticleKind::Help), ("policies", ArticleKind::Policy)]
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
        assert!(articles.iter().filter(|a| a.kind == ArticleKind::Help).count() >= 10);
        assert!(articles.iter().filter(|a| a.kind == ArticleKind::Policy).count() >= 5);
        for article in &articles {
            assert!(!article.title.is_empty() && article.body.len() > 200, "{} is too thin", article.uri());
        }
        let first = &articles[0];
        assert_eq!(article(&first.uri()).as_ref(), Some(first));
    }
}

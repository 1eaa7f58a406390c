//! Lexical ranking: Okapi BM25 over the documents' words, in memory. It needs no model, so
//! search works (and says so) when the embedding model is missing.

use std::collections::HashMap;

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Words too common to rank by.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "for", "from", "has", "have", "how", "i", "in", "is",
    "it", "its", "me", "my", "of", "on", "or", "our", "so", "that", "the", "their", "this", "to", "was", "we", "what",
    "when", "where", "which", "who", "will", "with", "you", "your",
];

/// The terms of `text`: lowercased words of letters and digits, stop words dropped, with a
/// light suffix stemming so "deliveries" finds "delivery".
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !STOPWORDS.contains(&word.as_str()))
        .map(|word| stem(&word))
        .collect()
}

fn stem(word: &str) -> String {
    let long_enough = |stem: &str| stem.chars().count() >= 3;
    if let Some(stem) = word.strip_suffix("ies").filter(|stem| long_enough(stem)) {
        return format!("{stem}y");
    }
    if let Some(stem) =
        word.strip_suffix("es").filter(|stem| ["x", "ch", "sh", "ss", "z"].iter().any(|end| stem.ends_with(end)))
    {
        return stem.to_owned();
    }
    for suffix in ["ing", "ed"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|stem| long_enough(stem)) {
            return stem.to_owned();
        }
    }
    match word.strip_suffix('s') {
        Some(stem) if long_enough(stem) && !["s", "u", "i"].iter().any(|end| stem.ends_with(end)) => stem.to_owned(),
        _ => word.to_owned(),
    }
}

#[derive(Debug, Default)]
struct Entry {
    frequencies: HashMap<String, u32>,
    length: u32,
}

/// A BM25 index of documents by id.
#[derive(Debug, Default)]
pub struct Lexical {
    entries: HashMap<String, Entry>,
    document_frequency: HashMap<String, u32>,
    total_length: u64,
}

impl Lexical {
    /// Adds or replaces document `id` with `text`.
    pub fn upsert(&mut self, id: &str, text: &str) {
        self.remove(id);
        let terms = terms(text);
        let mut frequencies = HashMap::new();
        for term in &terms {
            *frequencies.entry(term.clone()).or_insert(0) += 1;
        }
        for term in frequencies.keys() {
            *self.document_frequency.entry(term.clone()).or_insert(0) += 1;
        }
        let length = u32::try_from(terms.len()).unwrap_or(u32::MAX);
        self.total_length += u64::from(length);
        self.entries.insert(id.to_owned(), Entry { frequencies, length });
    }

    /// Removes document `id`, if present.
    pub fn remove(&mut self, id: &str) {
        let Some(entry) = self.entries.remove(id) else { return };
        self.total_length -= u64::from(entry.length);
        for term in entry.frequencies.keys() {
            if let Some(count) = self.document_frequency.get_mut(term) {
                *count -= 1;
                if *count == 0 {
                    self.document_frequency.remove(term);
                }
            }
        }
    }

    /// The `limit` best documents for `query` among those `accept` lets through, best first,
    /// with their BM25 scores; documents sharing no term are left out.
    pub fn search(&self, query: &str, accept: impl Fn(&str) -> bool, limit: usize) -> Vec<(String, f32)> {
        let mut query_terms = terms(query);
        query_terms.sort();
        query_terms.dedup();
        if query_terms.is_empty() || self.entries.is_empty() {
            return Vec::new();
        }
        let documents = self.entries.len() as f32;
        let average_length = (self.total_length as f32 / documents).max(1.0);
        let idf: Vec<(&str, f32)> = query_terms
            .iter()
            .filter_map(|term| {
                let df = *self.document_frequency.get(term)? as f32;
                Some((term.as_str(), ((documents - df + 0.5) / (df + 0.5) + 1.0).ln()))
            })
            .collect();
        let mut scored: Vec<(String, f32)> = self
            .entries
            .iter()
            .filter(|(id, _)| accept(id))
            .filter_map(|(id, entry)| {
                let norm = K1 * (1.0 - B + B * entry.length as f32 / average_length);
                let score: f32 = idf
                    .iter()
                    .filter_map(|(term, idf)| {
                        let tf = *entry.frequencies.get(*term)? as f32;
                        Some(idf * tf * (K1 + 1.0) / (tf + norm))
                    })
                    .sum();
                (score > 0.0).then(|| (id.clone(), score))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        scored.truncate(limit);
        scored
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_documents_sharing_rare_terms_first() {
        let mut index = Lexical::default();
        index.upsert("a", "Oak side table with a drawer");
        index.upsert("b", "Linen shirt, relaxed fit");
        index.upsert("c", "Walnut dining table for six");
        let hits = index.search("oak tables", |_| true, 10);
        assert_eq!(hits.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert!(hits[0].1 > hits[1].1);
    }

    #[test]
    fn filters_and_forgets_removed_documents() {
        let mut index = Lexical::default();
        index.upsert("a", "refund timing");
        index.upsert("b", "refund policy");
        assert_eq!(index.search("refund", |id| id == "b", 10).len(), 1);
        index.remove("b");
        index.upsert("a", "delivery slots");
        assert!(index.search("refund", |_| true, 10).is_empty());
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn stems_plurals_and_drops_stop_words() {
        assert_eq!(terms("The Deliveries are shipped in boxes"), ["delivery", "shipp", "box"]);
        assert_eq!(terms("tables dress glasses"), ["table", "dress", "glass"]);
    }
}

//! Chinese full-text search without a word segmenter: text is indexed by character
//! bigrams (and whole ASCII words), and a query matches when every one of its grams is
//! present. The store then confirms the exact substring, so bigrams only narrow the scan.
//! A two-character query like `户籍` is a single gram and finds `常住人口户籍信息`.

use std::collections::BTreeSet;

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Runs of CJK characters and runs of ASCII letters/digits, lower-cased.
fn segments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_cjk = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let cjk = is_cjk(c);
        let word = cjk || c.is_ascii_alphanumeric();
        if (!word || cjk != current_cjk) && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if word {
            current.push(c);
            current_cjk = cjk;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn segment_grams(segment: &str, grams: &mut BTreeSet<String>) {
    let chars: Vec<char> = segment.chars().collect();
    if !is_cjk(chars[0]) || chars.len() == 1 {
        grams.insert(segment.to_string());
        return;
    }
    for pair in chars.windows(2) {
        grams.insert(pair.iter().collect());
    }
}

/// The distinct grams under which a document is indexed. Single CJK characters standing
/// alone (e.g. `市` between punctuation) are indexed as themselves.
pub fn index_grams(text: &str) -> BTreeSet<String> {
    let mut grams = BTreeSet::new();
    for segment in segments(text) {
        segment_grams(&segment, &mut grams);
    }
    grams
}

/// A parsed query: the grams every match must contain, and the terms that the grams do
/// not pin down exactly, which must also be found as substrings (lower-cased). A
/// two-character Chinese word or an ASCII word is one gram and needs no substring check;
/// `常住人口` needs one (its bigrams could be scattered); a lone CJK character has no
/// bigram and is checked by substring only.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchQuery {
    pub grams: BTreeSet<String>,
    pub terms: Vec<String>,
}

impl SearchQuery {
    /// Terms that the gram index alone does not decide.
    pub fn substring_terms(&self) -> impl Iterator<Item = &String> {
        self.terms.iter().filter(|term| {
            let chars: Vec<char> = term.chars().collect();
            is_cjk(chars[0]) && chars.len() != 2
        })
    }
}

impl SearchQuery {
    pub fn parse(query: &str) -> Self {
        let mut parsed = SearchQuery::default();
        for segment in segments(query) {
            let chars: Vec<char> = segment.chars().collect();
            if !(is_cjk(chars[0]) && chars.len() == 1) {
                segment_grams(&segment, &mut parsed.grams);
            }
            parsed.terms.push(segment);
        }
        parsed
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// The text a resource is searched by, lower-cased so that a substring check is enough.
pub fn document_text(parts: &[&str]) -> String {
    parts.join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_character_query_is_one_gram_of_the_document() {
        let doc = index_grams("常住人口户籍信息");
        let query = SearchQuery::parse("户籍");
        assert_eq!(query.grams.iter().collect::<Vec<_>>(), ["户籍"]);
        assert!(query.grams.is_subset(&doc));
        assert!(!SearchQuery::parse("户口").grams.is_subset(&doc));
    }

    #[test]
    fn mixed_text_splits_into_words_and_bigrams() {
        let grams = index_grams("MySQL数据库, 市");
        assert_eq!(
            grams.into_iter().collect::<Vec<_>>(),
            ["mysql", "市", "据库", "数据"]
        );
    }

    #[test]
    fn single_character_queries_are_checked_by_substring_only() {
        let query = SearchQuery::parse("税 gaj");
        assert_eq!(query.substring_terms().collect::<Vec<_>>(), ["税"]);
        assert_eq!(query.grams.into_iter().collect::<Vec<_>>(), ["gaj"]);
        assert_eq!(query.terms, ["税", "gaj"]);
    }

    #[test]
    fn exact_grams_need_no_substring_check() {
        let query = SearchQuery::parse("户籍 常住人口 MySQL");
        assert_eq!(query.substring_terms().collect::<Vec<_>>(), ["常住人口"]);
    }
}

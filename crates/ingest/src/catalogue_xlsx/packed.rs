//! Several values packed into one cell: `code;code` and `key=value;key=value`.
//!
//! Departments type these by hand, so both `;` and the full-width `；` separate. A `\`
//! escapes a separator or `=` so that any extension value survives a round trip; a `\`
//! before anything else is kept as typed (Windows paths stay intact).

use std::collections::BTreeMap;

const SEPARATORS: [char; 2] = [';', '；'];
const ESCAPABLE: [char; 4] = ['\\', ';', '；', '='];

/// A character of the cell and whether it was escaped.
type Token = (char, bool);

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && ESCAPABLE.contains(&next) => {
                chars.next();
                out.push((next, true));
            }
            _ => out.push((c, false)),
        }
    }
    out
}

fn pieces(text: &str) -> Vec<Vec<Token>> {
    tokens(text)
        .split(|&(c, escaped)| !escaped && SEPARATORS.contains(&c))
        .map(<[Token]>::to_vec)
        .collect()
}

fn plain(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|&(c, _)| c)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The non-blank values of a `a;b；c` cell.
pub(super) fn split_list(text: &str) -> Vec<String> {
    pieces(text)
        .iter()
        .map(|piece| plain(piece))
        .filter(|value| !value.is_empty())
        .collect()
}

/// The `key=value` pairs of a cell; a piece without `=` comes back as `Err(piece)`.
pub(super) fn split_pairs(text: &str) -> Vec<Result<(String, String), String>> {
    pieces(text)
        .iter()
        .filter(|piece| !plain(piece).is_empty())
        .map(
            |piece| match piece.iter().position(|&(c, escaped)| !escaped && c == '=') {
                Some(at) => Ok((plain(&piece[..at]), plain(&piece[at + 1..]))),
                None => Err(plain(piece)),
            },
        )
        .collect()
}

fn escape(text: &str, also_equals: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || SEPARATORS.contains(&c) || (also_equals && c == '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn join_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values
        .into_iter()
        .map(|v| escape(v, false))
        .collect::<Vec<_>>()
        .join(";")
}

pub(super) fn join_pairs(pairs: &BTreeMap<String, String>) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k, true), escape(v, false)))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_both_semicolons_and_drops_blanks() {
        assert_eq!(
            split_list(" 101001/000001; 201002/000003；;"),
            ["101001/000001", "201002/000003"]
        );
    }

    #[test]
    fn pairs_round_trip_with_separators_in_values() {
        let mut map = BTreeMap::new();
        map.insert("来源".to_string(), "a;b=c".to_string());
        map.insert("路径".to_string(), r"C:\data".to_string());
        map.insert("k=1".to_string(), "x；y".to_string());
        let parsed: BTreeMap<_, _> = split_pairs(&join_pairs(&map))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(parsed, map);
    }

    #[test]
    fn a_piece_without_equals_is_an_error() {
        assert_eq!(
            split_pairs("a=1;oops"),
            [Ok(("a".into(), "1".into())), Err("oops".into())]
        );
    }

    #[test]
    fn a_backslash_before_ordinary_text_is_kept() {
        assert_eq!(
            split_pairs(r"path=C:\data"),
            [Ok(("path".into(), r"C:\data".into()))]
        );
    }
}

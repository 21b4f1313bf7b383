//! `{name}` placeholders in messages: finding them and filling them in.
//! A placeholder is a name of ASCII letters, digits and `_` between braces;
//! any other brace is text (`{ }` or `{a-b}` stay as written), so messages
//! need no escaping.

use std::collections::BTreeSet;

/// One piece of a message: text as written, or a placeholder's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// `text` cut into text and placeholders, in order.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    // `start`: where the text not yet pushed begins; `from`: where to look
    // for the next brace.
    let (mut start, mut from) = (0, 0);
    while let Some(found) = text[from..].find('{') {
        let open = from + found;
        let name_start = open + 1;
        let name_end = text[name_start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |len| name_start + len);
        if name_end > name_start && text[name_end..].starts_with('}') {
            if open > start {
                out.push(Piece::Text(&text[start..open]));
            }
            out.push(Piece::Placeholder(&text[name_start..name_end]));
            start = name_end + 1;
            from = start;
        } else {
            from = name_start;
        }
    }
    if start < text.len() {
        out.push(Piece::Text(&text[start..]));
    }
    out
}

/// The names of the placeholders of `text`, each once.
pub fn names(text: &str) -> BTreeSet<&str> {
    pieces(text)
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Placeholder(name) => Some(name),
            Piece::Text(_) => None,
        })
        .collect()
}

/// `text` with every placeholder replaced by `value(name)`; a placeholder
/// without a value stays as written.
pub fn fill(text: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => match value(name) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

//! Web addresses in message text, found so they can be shown as links. Only `http://` and
//! `https://` addresses count (never `javascript:`, `data:` or anything else), and punctuation
//! that ends a sentence is not part of the address. Everything else stays text.

/// A piece of a message: text as written, or an address to link to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits `text` into text and links, in order; joined again they are exactly `text`.
pub fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    // Where the text not yet given out starts, and where to look for the next address.
    let (mut text_from, mut search_from) = (0, 0);
    while let Some(start) = next_address(text, search_from) {
        let candidate = &text[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(candidate.len());
        let address = trim_trailing(&candidate[..end]);
        let scheme = if address.len() > 5 && address[..5].eq_ignore_ascii_case("https") {
            "https://".len()
        } else {
            "http://".len()
        };
        if address.len() <= scheme {
            // A scheme and nothing after it stays text.
            search_from = start + scheme.min(address.len()).max(1);
            continue;
        }
        if start > text_from {
            out.push(Piece::Text(&text[text_from..start]));
        }
        out.push(Piece::Link(address));
        text_from = start + address.len();
        search_from = text_from;
    }
    if text_from < text.len() {
        out.push(Piece::Text(&text[text_from..]));
    }
    out
}

/// Where the next `http://` or `https://` at the start of a word begins, from byte `from` on.
fn next_address(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = text.get(at..)?.find(['h', 'H']) {
        at += found;
        let rest = &text[at..];
        let is_scheme = ["http://", "https://"].iter().any(|scheme| {
            rest.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        });
        let starts_word = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '[' | '<' | '"' | '\''));
        if is_scheme && starts_word {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// Leaves out what ends a sentence or closes a bracket around the address, as people write them:
/// "see https://example.com." links `https://example.com`.
fn trim_trailing(address: &str) -> &str {
    let mut kept = address;
    while let Some(last) = kept.chars().next_back() {
        let unbalanced_close = last == ')' && kept.matches('(').count() < kept.matches(')').count();
        if matches!(last, '.' | ',' | ':' | ';' | '!' | '?' | '\'' | ']') || unbalanced_close {
            kept = &kept[..kept.len() - last.len_utf8()];
        } else {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::{Link, Text};

    #[test]
    fn finds_http_and_https_addresses_and_keeps_everything_else_as_text() {
        assert_eq!(
            pieces("see https://example.com/a?b=1#c and http://x.org"),
            [
                Text("see "),
                Link("https://example.com/a?b=1#c"),
                Text(" and "),
                Link("http://x.org")
            ]
        );
        assert_eq!(pieces("no links here"), [Text("no links here")]);
        assert_eq!(pieces("HTTPS://EXAMPLE.COM"), [Link("HTTPS://EXAMPLE.COM")]);
    }

    #[test]
    fn other_schemes_and_bare_schemes_stay_text() {
        for text in [
            "javascript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://example.com",
            "https://",
            "xhttps://example.com",
            "mailto:someone@example.com",
        ] {
            assert_eq!(pieces(text), [Text(text)], "{text}");
        }
    }

    #[test]
    fn sentence_punctuation_and_enclosing_brackets_are_not_part_of_the_address() {
        assert_eq!(
            pieces("look: https://example.com."),
            [Text("look: "), Link("https://example.com"), Text(".")]
        );
        assert_eq!(
            pieces("(https://example.com/x)"),
            [Text("("), Link("https://example.com/x"), Text(")")]
        );
        assert_eq!(
            pieces("https://en.wikipedia.org/wiki/Rust_(language)!"),
            [
                Link("https://en.wikipedia.org/wiki/Rust_(language)"),
                Text("!")
            ]
        );
    }

    #[test]
    fn the_pieces_join_back_into_the_text() {
        for text in [
            "a https://b.c d",
            "émoji 🎉 https://ü.example/ä ok",
            "<https://x.y>",
        ] {
            let joined: String = pieces(text)
                .into_iter()
                .map(|piece| match piece {
                    Text(t) | Link(t) => t,
                })
                .collect();
            assert_eq!(joined, text);
        }
    }
}

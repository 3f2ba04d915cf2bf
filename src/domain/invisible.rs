//! Which characters draw nothing, so that a message made only of them counts as blank.
//!
//! The set is Unicode's `Default_Ignorable_Code_Point` property (DerivedCoreProperties.txt; it
//! reserves unassigned code points too, so it rarely changes): zero-width space and joiners, the
//! word joiner, the byte-order mark, soft hyphen, bidirectional marks, variation selectors, the
//! Hangul fillers and the tag characters. Deciding emptiness with the published property, rather
//! than a hand-picked few, means the next "invisible" trick is most likely already covered. This
//! is only a test: nothing here removes characters from stored text.

/// Inclusive ranges of `Default_Ignorable_Code_Point`, in code point order.
const DEFAULT_IGNORABLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark
    ('\u{115F}', '\u{1160}'),   // Hangul choseong and jungseong fillers
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian free variation selectors, vowel separator
    ('\u{200B}', '\u{200F}'),   // zero-width space, ZWNJ, ZWJ, LRM, RLM
    ('\u{202A}', '\u{202E}'),   // bidirectional embeddings and overrides
    ('\u{2060}', '\u{206F}'),   // word joiner, invisible operators, isolates, deprecated formats
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FE00}', '\u{FE0F}'),   // variation selectors 1-16
    ('\u{FEFF}', '\u{FEFF}'),   // zero-width no-break space (byte-order mark)
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler
    ('\u{FFF0}', '\u{FFF8}'),   // reserved
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical symbol beam and phrase formats
    ('\u{E0000}', '\u{E0FFF}'), // tags, variation selectors 17-256, reserved
];

/// Whether `c` renders as nothing on its own (see the module header).
pub(crate) fn is_invisible(c: char) -> bool {
    DEFAULT_IGNORABLE
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_invisibles_are_invisible() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{3164}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn visible_characters_and_white_space_are_not() {
        // White space is a separate rule (`char::is_whitespace`), so it is deliberately absent here.
        for c in [
            'a', 'é', '😀', '\u{0301}', ' ', '\u{00A0}', '\u{2800}', '\u{200A}',
        ] {
            assert!(!is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn ranges_are_ordered_and_disjoint() {
        for pair in DEFAULT_IGNORABLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }
}

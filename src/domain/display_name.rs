//! The name a person chooses to be shown by, beside the login name that identifies them.

use super::invisible::is_invisible;
use serde::{Deserialize, Serialize};
use std::fmt;

/// 1 to 64 characters of any script, trimmed, with no control characters and no bidirectional
/// or other invisible formatting characters: those could make one name look like another (an
/// override that reverses the text after it) or look empty. Letters, marks, spaces, emoji and
/// punctuation are all fine.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    #[error("display name is empty")]
    Empty,
    #[error("display name is longer than {} characters", DisplayName::MAX_CHARS)]
    TooLong,
    #[error(
        "display name contains the character U+{code_point:04X}, which may not be used in names"
    )]
    Forbidden { code_point: u32 },
}

impl DisplayName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        if let Some(bad) = raw.chars().find(|&c| c.is_control() || is_invisible(c)) {
            return Err(DisplayNameError::Forbidden {
                code_point: bad.into(),
            });
        }
        let trimmed = raw.trim();
        match trimmed.chars().count() {
            0 => Err(DisplayNameError::Empty),
            n if n > Self::MAX_CHARS => Err(DisplayNameError::TooLong),
            _ => Ok(Self(trimmed.to_owned())),
        }
    }

    /// A field of a form or a request, where leaving it empty means "no display name".
    pub fn parse_optional(raw: Option<&str>) -> Result<Option<Self>, DisplayNameError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(name) => Self::parse(name).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = DisplayNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_script_trimmed() {
        assert_eq!(
            DisplayName::parse("  Zoë Æsir ").unwrap().as_str(),
            "Zoë Æsir"
        );
        assert_eq!(
            DisplayName::parse("山田 太郎").unwrap().as_str(),
            "山田 太郎"
        );
        assert_eq!(DisplayName::parse("سارا").unwrap().as_str(), "سارا");
        assert_eq!(
            DisplayName::parse("🦀 Ferris").unwrap().as_str(),
            "🦀 Ferris"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(DisplayName::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(65)),
            Err(DisplayNameError::TooLong)
        );
    }

    #[test]
    fn refuses_empty_control_and_invisible_characters() {
        assert_eq!(DisplayName::parse("   "), Err(DisplayNameError::Empty));
        assert_eq!(
            DisplayName::parse("Bob\nSmith"),
            Err(DisplayNameError::Forbidden { code_point: 0x0A })
        );
        assert_eq!(
            DisplayName::parse("ali\u{202E}ecila"),
            Err(DisplayNameError::Forbidden { code_point: 0x202E })
        );
        assert_eq!(
            DisplayName::parse("\u{200B}"),
            Err(DisplayNameError::Forbidden { code_point: 0x200B })
        );
    }

    #[test]
    fn an_empty_field_means_no_name() {
        assert_eq!(DisplayName::parse_optional(None), Ok(None));
        assert_eq!(DisplayName::parse_optional(Some("  ")), Ok(None));
        assert_eq!(
            DisplayName::parse_optional(Some(" Ann ")),
            Ok(Some(DisplayName::parse("Ann").unwrap()))
        );
    }
}

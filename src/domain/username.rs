use serde::{Deserialize, Serialize};
use std::fmt;

/// A login name: 3 to 32 characters of `a-z 0-9 _ . -`, compared and stored in lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username must be 3 to 32 characters long")]
    Length,
    #[error("username may contain only letters a-z, digits, '_', '.' and '-'")]
    Characters,
    #[error("usernames beginning with 'deleted.' are reserved")]
    Reserved,
}

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;
    /// A deleted account's username becomes this followed by its id once the name is freed, so
    /// no new account may take a name that begins with it.
    pub const RETIRED_PREFIX: &'static str = "deleted.";

    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let lowered = raw.trim().to_ascii_lowercase();
        // Counting chars, not bytes, so that a non-ASCII name gets the character error, not a length one.
        let len = lowered.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(UsernameError::Length);
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if !lowered.chars().all(allowed) {
            return Err(UsernameError::Characters);
        }
        Ok(Self(lowered))
    }

    /// A name for a new account: as `parse`, and not one of the names deleted accounts are given.
    pub fn parse_new(raw: &str) -> Result<Self, UsernameError> {
        let name = Self::parse(raw)?;
        if name.0.starts_with(Self::RETIRED_PREFIX) {
            return Err(UsernameError::Reserved);
        }
        Ok(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_lowercases_valid_names() {
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
        assert_eq!(Username::parse("a.b-c").unwrap().as_str(), "a.b-c");
        assert_eq!(Username::parse(&"x".repeat(32)).unwrap().as_str().len(), 32);
    }

    #[test]
    fn rejects_bad_lengths() {
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"x".repeat(33)), Err(UsernameError::Length));
        assert_eq!(Username::parse(""), Err(UsernameError::Length));
    }

    #[test]
    fn new_accounts_may_not_take_retired_names() {
        assert_eq!(
            Username::parse_new("deleted.42"),
            Err(UsernameError::Reserved)
        );
        assert_eq!(
            Username::parse_new("Deleted.x"),
            Err(UsernameError::Reserved)
        );
        assert!(
            Username::parse("deleted.42").is_ok(),
            "stored retired names still read"
        );
        assert!(Username::parse_new("deleted").is_ok());
        assert!(Username::parse_new("deletedx").is_ok());
    }

    #[test]
    fn rejects_bad_characters() {
        assert_eq!(Username::parse("al ice"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("alice!"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("émile"), Err(UsernameError::Characters));
        assert_eq!(Username::parse("<script>"), Err(UsernameError::Characters));
    }
}

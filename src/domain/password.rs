use std::fmt;

/// A candidate password, 8 to 1024 bytes. Deliberately neither `Serialize` nor `Display`, and its
/// `Debug` is redacted, so it cannot end up in a log or a response by accident.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least 8 bytes long")]
    TooShort,
    #[error("password must be at most 1024 bytes long")]
    TooLong,
}

impl Password {
    pub const MIN_BYTES: usize = 8;
    /// The upper bound keeps a hostile request from buying unbounded hashing work.
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        match raw.len() {
            n if n < Self::MIN_BYTES => Err(PasswordError::TooShort),
            n if n > Self::MAX_BYTES => Err(PasswordError::TooLong),
            _ => Ok(Self(raw)),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_byte_bounds() {
        assert_eq!(
            Password::parse("1234567".into()).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(1024)).is_ok());
        assert_eq!(
            Password::parse("x".repeat(1025)).unwrap_err(),
            PasswordError::TooLong
        );
        // Bytes, not characters: four 2-byte characters are 8 bytes.
        assert!(Password::parse("éééé".into()).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}

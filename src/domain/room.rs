use super::UserId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The name of a user's private realtime room: the lower-case MD5 hex of the decimal user id.
///
/// A room name is an address, never a credential: the server derives it from the session and a
/// client can never ask to join one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoomId(String);

impl RoomId {
    pub fn for_user(user: UserId) -> Self {
        Self(format!("{:x}", md5::compute(user.get().to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_md5_hex_of_decimal_id() {
        assert_eq!(
            RoomId::for_user(UserId::new(7)).as_str(),
            "8f14e45fceea167a5a36dedd4bea2543"
        );
        assert_eq!(
            RoomId::for_user(UserId::new(1)).as_str(),
            "c4ca4238a0b923820dcc509a6f75849b"
        );
    }
}

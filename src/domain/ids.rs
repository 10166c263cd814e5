//! Typed row ids: a `TenantId` can never be passed where a `PoolId` is meant. They are plain
//! numbers on the wire (JSON, URLs, forms) and in the database.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id of a stored row (the store is the only source of ids).
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The number, for binding in SQL.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        /// A plain integer on the wire.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <i64 as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim()
                    .parse()
                    .map(Self)
                    .map_err(|_| format!("{s:?} is not an id"))
            }
        }
    };
}

id_type!(
    /// A tenant's row id.
    TenantId
);
id_type!(
    /// A pool's row id.
    PoolId
);
id_type!(
    /// A server's row id.
    ServerId
);
id_type!(
    /// A user's row id.
    UserId
);

id_type!(
    /// A tenant move's row id.
    MoveId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_on_the_wire() {
        let id = TenantId::new(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<TenantId>("42").unwrap(), id);
        assert_eq!(id.to_string(), "42");
        assert_eq!(" 7 ".parse::<PoolId>().unwrap().get(), 7);
        assert!("abc".parse::<ServerId>().is_err());
    }
}

//! The typed ids of `domain::ids` as SQL values: stored and read as BIGINT, so a query binds a
//! `TenantId` and reads one back with no conversion at each call. (The domain stays free of
//! sqlx; these impls live with the SQL.)

use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::ids::{MoveId, PoolId, ServerId, TenantId, UserId};
use crate::domain::names::{HostName, PoolName, ServerName, TenantCode};

macro_rules! sql_id {
    ($name:ident) => {
        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <i64 as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <i64 as Type<Any>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, Any>>::encode_by_ref(&self.get(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'r, Any>>::decode(value).map($name::new)
            }
        }
    };
}

sql_id!(TenantId);
sql_id!(PoolId);
sql_id!(ServerId);
sql_id!(UserId);

/// The validated names of `domain::names` as SQL text.
macro_rules! sql_name {
    ($name:ident) => {
        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <String as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <String as Type<Any>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <String as Encode<'q, Any>>::encode_by_ref(&self.as_str().to_owned(), buf)
            }
        }
    };
}

sql_name!(TenantCode);
sql_name!(ServerName);
sql_name!(PoolName);
sql_name!(HostName);
sql_id!(MoveId);

//! Migrations embedded in the binary (`migrations/sqlite`, `migrations/postgres`), applied with
//! sqlx's migrator, which records checksums and, on PostgreSQL, holds an advisory lock so that
//! several instances starting together apply each migration once.

use sqlx::AnyPool;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use super::{Backend, Result};

const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "inventory",
        include_str!("../../migrations/sqlite/0001_inventory.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../migrations/sqlite/0002_accounts.sql"),
    ),
    (
        3,
        "registrations",
        include_str!("../../migrations/sqlite/0003_registrations.sql"),
    ),
    (
        4,
        "dns_checks",
        include_str!("../../migrations/sqlite/0004_dns_checks.sql"),
    ),
    (
        5,
        "user_time_zone",
        include_str!("../../migrations/sqlite/0005_user_time_zone.sql"),
    ),
    (
        6,
        "drop_registrations_endpoint_index",
        include_str!("../../migrations/sqlite/0006_drop_registrations_endpoint_index.sql"),
    ),
];

const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "inventory",
        include_str!("../../migrations/postgres/0001_inventory.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../migrations/postgres/0002_accounts.sql"),
    ),
    (
        3,
        "registrations",
        include_str!("../../migrations/postgres/0003_registrations.sql"),
    ),
    (
        4,
        "dns_checks",
        include_str!("../../migrations/postgres/0004_dns_checks.sql"),
    ),
    (
        5,
        "user_time_zone",
        include_str!("../../migrations/postgres/0005_user_time_zone.sql"),
    ),
    (
        6,
        "drop_registrations_endpoint_index",
        include_str!("../../migrations/postgres/0006_drop_registrations_endpoint_index.sql"),
    ),
];

#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    let source = match backend {
        Backend::Sqlite => Embedded(SQLITE),
        Backend::Postgres => Embedded(POSTGRES),
    };
    Migrator::new(source).await?.run(pool).await?;
    Ok(())
}

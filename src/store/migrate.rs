//! Migrations embedded in the binary (`migrations/sqlite`, `migrations/postgres`), applied with
//! sqlx's migrator, which records checksums and, on PostgreSQL, holds an advisory lock so that
//! several instances starting together apply each migration once.

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Connection};
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
    (
        7,
        "value_rules",
        include_str!("../../migrations/sqlite/0007_value_rules.sql"),
    ),
    (
        8,
        "data_version",
        include_str!("../../migrations/sqlite/0008_data_version.sql"),
    ),
    (
        9,
        "jobs",
        include_str!("../../migrations/sqlite/0009_jobs.sql"),
    ),
    (
        10,
        "pool_owner_unique",
        include_str!("../../migrations/sqlite/0010_pool_owner_unique.sql"),
    ),
    (
        11,
        "login_throttle",
        include_str!("../../migrations/sqlite/0011_login_throttle.sql"),
    ),
    (
        12,
        "registration_fingerprint",
        include_str!("../../migrations/sqlite/0012_registration_fingerprint.sql"),
    ),
    (
        13,
        "tenant_list_indexes",
        include_str!("../../migrations/sqlite/0013_tenant_list_indexes.sql"),
    ),
    (
        14,
        "alert_log",
        include_str!("../../migrations/sqlite/0014_alert_log.sql"),
    ),
    (
        15,
        "tenant_keys_version",
        include_str!("../../migrations/sqlite/0015_tenant_keys_version.sql"),
    ),
    (
        16,
        "pool_changes",
        include_str!("../../migrations/sqlite/0016_pool_changes.sql"),
    ),
    (
        17,
        "tenant_moves",
        include_str!("../../migrations/sqlite/0017_tenant_moves.sql"),
    ),
    (
        18,
        "two_servers",
        include_str!("../../migrations/sqlite/0018_two_servers.sql"),
    ),
    (
        19,
        "search_indexes",
        include_str!("../../migrations/sqlite/0019_search_indexes.sql"),
    ),
    (
        20,
        "series",
        include_str!("../../migrations/sqlite/0020_series.sql"),
    ),
    (
        21,
        "tenant_journal",
        include_str!("../../migrations/sqlite/0021_tenant_journal.sql"),
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
    (
        7,
        "value_rules",
        include_str!("../../migrations/postgres/0007_value_rules.sql"),
    ),
    (
        8,
        "data_version",
        include_str!("../../migrations/postgres/0008_data_version.sql"),
    ),
    (
        9,
        "jobs",
        include_str!("../../migrations/postgres/0009_jobs.sql"),
    ),
    (
        10,
        "pool_owner_unique",
        include_str!("../../migrations/postgres/0010_pool_owner_unique.sql"),
    ),
    (
        11,
        "login_throttle",
        include_str!("../../migrations/postgres/0011_login_throttle.sql"),
    ),
    (
        12,
        "registration_fingerprint",
        include_str!("../../migrations/postgres/0012_registration_fingerprint.sql"),
    ),
    (
        13,
        "tenant_list_indexes",
        include_str!("../../migrations/postgres/0013_tenant_list_indexes.sql"),
    ),
    (
        14,
        "alert_log",
        include_str!("../../migrations/postgres/0014_alert_log.sql"),
    ),
    (
        15,
        "tenant_keys_version",
        include_str!("../../migrations/postgres/0015_tenant_keys_version.sql"),
    ),
    (
        16,
        "pool_changes",
        include_str!("../../migrations/postgres/0016_pool_changes.sql"),
    ),
    (
        17,
        "tenant_moves",
        include_str!("../../migrations/postgres/0017_tenant_moves.sql"),
    ),
    (
        18,
        "two_servers",
        include_str!("../../migrations/postgres/0018_two_servers.sql"),
    ),
    (
        19,
        "search_indexes",
        include_str!("../../migrations/postgres/0019_search_indexes.sql"),
    ),
    (
        20,
        "series",
        include_str!("../../migrations/postgres/0020_series.sql"),
    ),
    (
        21,
        "tenant_journal",
        include_str!("../../migrations/postgres/0021_tenant_journal.sql"),
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

/// Applies the pending migrations up to and including `target` (all of them: `None`).
pub(super) async fn run(pool: &AnyPool, backend: Backend, target: Option<i64>) -> Result<()> {
    let all = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let upto = all
        .iter()
        .take_while(|(version, _, _)| target.is_none_or(|t| *version <= t))
        .count();
    let migrator = Migrator::new(Embedded(&all[..upto])).await?;
    let mut conn = pool.acquire().await?;
    if let Err(e) = migrator.run(&mut *conn).await {
        // sqlx releases PostgreSQL's migration lock (a session-level advisory lock) only after
        // success: back in the pool, this connection would make the next attempt wait forever.
        let _ = conn.detach().close().await;
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{POSTGRES, SQLITE};

    /// The embedded list is exactly the directory: one entry per `NNNN_description.sql` file, under
    /// the same version and description and with that file's text, versions 1, 2, 3… without a gap.
    fn assert_list_matches_dir(list: &[(i64, &str, &str)], dir: &str) {
        let mut files: Vec<(i64, String, String)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| {
                let entry = entry.unwrap();
                let name = entry.file_name().into_string().unwrap();
                let (number, description) = name
                    .strip_suffix(".sql")
                    .and_then(|stem| stem.split_once('_'))
                    .filter(|(n, d)| {
                        n.len() == 4 && n.bytes().all(|b| b.is_ascii_digit()) && !d.is_empty()
                    })
                    .unwrap_or_else(|| panic!("{dir}/{name} is not named NNNN_description.sql"));
                let sql = std::fs::read_to_string(entry.path()).unwrap();
                (number.parse().unwrap(), description.to_string(), sql)
            })
            .collect();
        files.sort();
        let listed: Vec<(i64, String, String)> = list
            .iter()
            .map(|(v, d, sql)| (*v, d.to_string(), sql.to_string()))
            .collect();
        let names = |v: &[(i64, String, String)]| -> Vec<String> {
            v.iter()
                .map(|(n, d, _)| format!("{n:04}_{d}.sql"))
                .collect()
        };
        assert_eq!(
            names(&listed),
            names(&files),
            "src/store/migrate.rs and {dir} disagree (left: the list, right: the files)"
        );
        for ((v, d, listed_sql), (_, _, file_sql)) in listed.iter().zip(&files) {
            assert!(
                listed_sql == file_sql,
                "{dir}: the entry {v} ({d}) embeds another file's text"
            );
        }
        let versions: Vec<i64> = listed.iter().map(|(v, _, _)| *v).collect();
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(
            versions, expected,
            "{dir}: versions must run 1, 2, 3… without a gap"
        );
    }

    #[test]
    fn the_sqlite_list_matches_migrations_sqlite() {
        assert_list_matches_dir(
            SQLITE,
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"),
        );
    }

    #[test]
    fn the_postgres_list_matches_migrations_postgres() {
        assert_list_matches_dir(
            POSTGRES,
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"),
        );
    }

    #[test]
    fn both_backends_have_the_same_migrations_in_order() {
        let names = |t: &[(i64, &'static str, &str)]| {
            t.iter().map(|(v, n, _)| (*v, *n)).collect::<Vec<_>>()
        };
        assert_eq!(names(SQLITE), names(POSTGRES));
        for (i, (version, _, _)) in SQLITE.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1, "versions are consecutive from 1");
        }
    }
}

//! Passwords as use cases: logging in, and checking a user's current password before they change
//! it, both under one throttle on guessing.
//!
//! Each check first counts its attempt against the user name and against the client address,
//! in the database and atomically, and only then verifies the hash: however many guesses arrive
//! at once, at most [`MAX_ATTEMPTS_PER_USER`] of them per window are ever checked.

use super::{App, Result};
use crate::domain::auth::{hash_password, verify_password};
use crate::store::{self, User};

/// Passwords checked per user name, and per client address, within one window.
pub const MAX_ATTEMPTS_PER_USER: u64 = 5;
pub const MAX_ATTEMPTS_PER_ADDRESS: u64 = 30;
pub const ATTEMPT_WINDOW_SECS: i64 = 15 * 60;

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    Wrong,
    /// Too many attempts for the user or from the address in this window: the password was not
    /// even checked.
    Throttled,
}

/// The outcome of a login.
#[derive(Debug)]
pub enum Login {
    LoggedIn(User),
    /// Wrong name or password, or a disabled account: one answer for all, so that it does not
    /// tell which names exist.
    Refused,
    Throttled,
}

/// Logs the user `name` in with `password`, for a client at `address`.
pub async fn log_in(app: &App, name: &str, password: &str, address: &str) -> Result<Login> {
    let user = match app.store().user_by_name(name).await {
        Ok(u) if !u.disabled => Some(u),
        Ok(_) | Err(store::Error::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user.as_ref().map(|u| u.password_hash.as_str());
    match (check(app, name, hash, password, address).await?, user) {
        (Verdict::Throttled, _) => Ok(Login::Throttled),
        (Verdict::Correct, Some(user)) => {
            app.store().record_login(user.id).await?;
            Ok(Login::LoggedIn(user))
        }
        _ => Ok(Login::Refused),
    }
}

/// Checks the current password `user` gives before changing it. A stolen session must not
/// become a way around the login's throttle, so it is the same throttle, on the same counters.
pub async fn check_current_password(
    app: &App,
    user: &User,
    password: &str,
    address: &str,
) -> Result<Verdict> {
    check(
        app,
        &user.name,
        Some(&user.password_hash),
        password,
        address,
    )
    .await
}

/// Counts the attempt, then checks `password` against `hash` (`None`: no such account, and the
/// same work is done against a dummy hash so that timing does not tell).
async fn check(
    app: &App,
    name: &str,
    hash: Option<&str>,
    password: &str,
    address: &str,
) -> Result<Verdict> {
    let store = app.store();
    let user_key = format!("user:{}", name.to_lowercase());
    let addr_key = format!("addr:{address}");
    let by_user = store
        .count_login_attempt(&user_key, ATTEMPT_WINDOW_SECS)
        .await?;
    let by_addr = store
        .count_login_attempt(&addr_key, ATTEMPT_WINDOW_SECS)
        .await?;
    if by_user > MAX_ATTEMPTS_PER_USER || by_addr > MAX_ATTEMPTS_PER_ADDRESS {
        return Ok(Verdict::Throttled);
    }
    let correct = match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = verify_password(password, dummy_hash());
            false
        }
    };
    if !correct {
        return Ok(Verdict::Wrong);
    }
    // The right password clears the user's count, and gives the address its attempt back:
    // colleagues logging in from behind one NAT address must not use up its budget.
    store.clear_login_attempts(&user_key).await?;
    store.uncount_login_attempt(&addr_key).await?;
    Ok(Verdict::Correct)
}

/// A real argon2id hash, verified against when the user does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default())
}

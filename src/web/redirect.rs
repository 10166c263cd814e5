//! Where a redirect may go when the request names the target (the login's `next`, the tenant
//! list's `return`): only to a path on this site. Every such redirect goes through
//! [`safe_redirect_target`].

use axum::http::Uri;

/// `target` when it is a path on this site, otherwise `/`.
///
/// Accepted: a single `/` and then a relative reference without scheme or authority, in
/// printable ASCII without whitespace or backslashes. Browsers drop tabs and newlines from a
/// `Location` (`/\t/evil.example` becomes `//evil.example`, another site) and read `\` as `/`; a
/// CR, LF or DEL cannot go into a header at all.
pub fn safe_redirect_target(target: &str) -> &str {
    if is_path_on_this_site(target) {
        target
    } else {
        "/"
    }
}

fn is_path_on_this_site(target: &str) -> bool {
    let Some(rest) = target.strip_prefix('/') else {
        return false;
    };
    if rest.starts_with(['/', '\\']) {
        return false;
    }
    // The same two in percent-encoding: harmless to a browser, but not to a proxy that decodes
    // the path before it resolves it.
    if rest
        .get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case("%2f") || s.eq_ignore_ascii_case("%5c"))
    {
        return false;
    }
    if target
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_control() || c.is_whitespace() || c == '\\')
    {
        return false;
    }
    target
        .parse::<Uri>()
        .is_ok_and(|uri| uri.scheme().is_none() && uri.authority().is_none())
}

#[cfg(test)]
mod tests {
    use super::safe_redirect_target;

    #[test]
    fn paths_on_this_site_are_kept() {
        for target in [
            "/",
            "/servers",
            "/tenants?q=acme&page=2",
            "/tenants?q=a%20b",
            "/servers/3/edit",
            "/a/b/../c",
        ] {
            assert_eq!(safe_redirect_target(target), target);
        }
    }

    #[test]
    fn anything_else_goes_to_the_overview() {
        for target in [
            "",
            "servers",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/servers\r\nSet-Cookie: x=1",
            "/servers\u{7f}",
            "/servers\u{0}",
            "/servers\u{85}",
            " /servers",
            "/servers page",
            "/servers\u{a0}",
            "/sérvers",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "/%2F/evil.example",
            "/%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/servers\\..\\evil",
        ] {
            assert_eq!(safe_redirect_target(target), "/", "{target:?}");
        }
    }
}

//! Settings admins tune: alert thresholds, the tenant-matching rule, history retention.

use serde::{Deserialize, Serialize};

use super::FieldErrors;
use super::alerts::AlertSettings;
use super::registrations::TenantMatcher;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub alerts: AlertSettings,
    /// Regular expression with a named `tenant` group, applied to SIP endpoint names.
    pub tenant_rule: String,
    /// Days of snapshot and phone-move history kept for trends, flapping and failback.
    pub retention_days: u32,
    /// How often the background DNS check runs, in minutes (0: never).
    pub dns_check_minutes: u32,
    /// Name servers the DNS check asks (`HOST:PORT` or an IP), comma-separated; empty: the
    /// system's resolver.
    pub dns_nameservers: String,
    /// Per-query timeout of the DNS check, in milliseconds, and how many times a query is sent.
    pub dns_timeout_ms: u32,
    pub dns_attempts: u32,
    /// Where alert transitions (raised, severity changed, cleared) are POSTed as JSON, `http://`
    /// or `https://`; empty: no webhook.
    pub webhook_url: String,
    /// Sent with each delivery as `Authorization: Bearer …`; empty: no such header.
    pub webhook_secret: String,
    /// Hours a tenant move may take before it is stalled and raises its alert.
    pub move_deadline_hours: u32,
    /// The rebalance planner may move tenants into multi-primary pools (which split each tenant
    /// across their top-priority servers by design); off by default, as the source document
    /// advises.
    pub plan_multi_primary: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            alerts: AlertSettings::default(),
            tenant_rule: TenantMatcher::default_rule().to_string(),
            retention_days: 14,
            dns_check_minutes: 15,
            dns_nameservers: String::new(),
            dns_timeout_ms: 3000,
            dns_attempts: 2,
            webhook_url: String::new(),
            webhook_secret: String::new(),
            move_deadline_hours: 48,
            plan_multi_primary: false,
        }
    }
}

impl Settings {
    pub fn matcher(&self) -> TenantMatcher {
        TenantMatcher::new(&self.tenant_rule).unwrap_or_default()
    }

    /// The move deadline in seconds (at least an hour).
    pub fn move_deadline_secs(&self) -> i64 {
        i64::from(self.move_deadline_hours.max(1)) * 3600
    }

    pub fn retention_secs(&self) -> i64 {
        self.retention_days.max(1) as i64 * 86_400
    }

    /// These settings as the audit log keeps them: the webhook secret is not written there.
    pub fn redacted(&self) -> Settings {
        let mut s = self.clone();
        if !s.webhook_secret.is_empty() {
            s.webhook_secret = "(set)".into();
        }
        s
    }
}

/// The settings form as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub normal_away_pct: String,
    pub capacity_warning_pct: String,
    pub stale_after_minutes: String,
    pub flap_moves: String,
    pub flap_window_minutes: String,
    pub failback_after_minutes: String,
    pub tenant_rule: String,
    pub retention_days: String,
    pub dns_check_minutes: String,
    pub dns_nameservers: String,
    pub dns_timeout_ms: String,
    pub dns_attempts: String,
    pub webhook_url: String,
    /// A new secret; empty keeps the current one (the form never shows it back).
    pub webhook_secret: String,
    /// Non-empty (a ticked box): remove the current secret.
    pub webhook_secret_clear: String,
    pub move_deadline_hours: String,
    /// Non-empty (a ticked box): the planner may move tenants into multi-primary pools.
    pub plan_multi_primary: String,
}

fn num(errors: &mut FieldErrors, field: &str, v: &str, min: f64, max: f64) -> Option<f64> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && (min..=max).contains(&x) => Some(x),
        _ => {
            errors.add(field, format!("must be a number from {min} to {max}"));
            None
        }
    }
}

impl SettingsInput {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            normal_away_pct: format!("{}", s.alerts.normal_away_share * 100.0),
            capacity_warning_pct: format!("{}", s.alerts.capacity_warning * 100.0),
            stale_after_minutes: format!("{}", s.alerts.stale_after_secs / 60),
            flap_moves: s.alerts.flap_moves.to_string(),
            flap_window_minutes: format!("{}", s.alerts.flap_window_secs / 60),
            failback_after_minutes: format!("{}", s.alerts.failback_after_secs / 60),
            tenant_rule: s.tenant_rule.clone(),
            retention_days: s.retention_days.to_string(),
            dns_check_minutes: s.dns_check_minutes.to_string(),
            dns_nameservers: s.dns_nameservers.clone(),
            dns_timeout_ms: s.dns_timeout_ms.to_string(),
            dns_attempts: s.dns_attempts.to_string(),
            webhook_url: s.webhook_url.clone(),
            webhook_secret: String::new(),
            webhook_secret_clear: String::new(),
            move_deadline_hours: s.move_deadline_hours.to_string(),
            plan_multi_primary: if s.plan_multi_primary {
                "on".into()
            } else {
                String::new()
            },
        }
    }

    pub fn validate(&self) -> Result<Settings, FieldErrors> {
        let mut e = FieldErrors::default();
        let away = num(&mut e, "normal_away_pct", &self.normal_away_pct, 0.0, 100.0);
        let cap = num(
            &mut e,
            "capacity_warning_pct",
            &self.capacity_warning_pct,
            1.0,
            100.0,
        );
        let stale = num(
            &mut e,
            "stale_after_minutes",
            &self.stale_after_minutes,
            1.0,
            10_080.0,
        );
        let flap = num(&mut e, "flap_moves", &self.flap_moves, 1.0, 1000.0);
        let window = num(
            &mut e,
            "flap_window_minutes",
            &self.flap_window_minutes,
            1.0,
            10_080.0,
        );
        let failback = num(
            &mut e,
            "failback_after_minutes",
            &self.failback_after_minutes,
            1.0,
            10_080.0,
        );
        let retention = num(&mut e, "retention_days", &self.retention_days, 1.0, 3650.0);
        let dns = num(
            &mut e,
            "dns_check_minutes",
            &self.dns_check_minutes,
            0.0,
            10_080.0,
        );
        let timeout = num(
            &mut e,
            "dns_timeout_ms",
            &self.dns_timeout_ms,
            50.0,
            60_000.0,
        );
        let attempts = num(&mut e, "dns_attempts", &self.dns_attempts, 1.0, 10.0);
        // Left out (a form or script older than the setting): the default.
        let move_deadline = if self.move_deadline_hours.trim().is_empty() {
            Some(48.0)
        } else {
            num(
                &mut e,
                "move_deadline_hours",
                &self.move_deadline_hours,
                1.0,
                8760.0,
            )
        };
        if let Err(msg) = parse_nameservers(&self.dns_nameservers) {
            e.add("dns_nameservers", msg);
        }
        if let Err(msg) = TenantMatcher::new(self.tenant_rule.trim()) {
            e.add("tenant_rule", msg);
        }
        let webhook_url = e.check("webhook_url", webhook_url(&self.webhook_url));
        let webhook_secret = e.check("webhook_secret", webhook_secret(&self.webhook_secret));
        e.finish()?;
        Ok(Settings {
            alerts: AlertSettings {
                normal_away_share: away.unwrap_or(10.0) / 100.0,
                capacity_warning: cap.unwrap_or(80.0) / 100.0,
                stale_after_secs: (stale.unwrap_or(15.0) * 60.0) as i64,
                flap_moves: flap.unwrap_or(3.0) as u32,
                flap_window_secs: (window.unwrap_or(60.0) * 60.0) as i64,
                failback_after_secs: (failback.unwrap_or(30.0) * 60.0) as i64,
            },
            tenant_rule: self.tenant_rule.trim().to_string(),
            retention_days: retention.unwrap_or(14.0) as u32,
            dns_check_minutes: dns.unwrap_or(15.0) as u32,
            dns_nameservers: self.dns_nameservers.trim().to_string(),
            dns_timeout_ms: timeout.unwrap_or(3000.0) as u32,
            dns_attempts: attempts.unwrap_or(2.0) as u32,
            webhook_url: webhook_url.unwrap_or_default(),
            webhook_secret: webhook_secret.unwrap_or_default(),
            move_deadline_hours: move_deadline.unwrap_or(48.0) as u32,
            plan_multi_primary: !self.plan_multi_primary.trim().is_empty(),
        })
    }

    /// [`Self::validate`] for an edit of `current`: the webhook secret, never shown in the form,
    /// stays as it is unless a new one is typed or its removal asked for.
    pub fn validate_over(&self, current: &Settings) -> Result<Settings, FieldErrors> {
        let mut settings = self.validate()?;
        if settings.webhook_secret.is_empty() && self.webhook_secret_clear.trim().is_empty() {
            settings.webhook_secret = current.webhook_secret.clone();
        }
        Ok(settings)
    }
}

/// The webhook's address: empty (no webhook), or an absolute `http://` or `https://` URL with a
/// host, without spaces or control characters.
pub fn webhook_url(text: &str) -> Result<String, String> {
    let url = text.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        })
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("must name a host, e.g. https://alerts.example.com/hook".into());
    }
    if url.len() > 2000 {
        return Err("must be at most 2000 characters".into());
    }
    if !url.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "must be ASCII without spaces or control characters (percent-encode the rest)".into(),
        );
    }
    Ok(url.to_string())
}

/// A bearer secret: printable ASCII without spaces (it goes into a header), at most 500
/// characters; empty for none.
pub fn webhook_secret(text: &str) -> Result<String, String> {
    let secret = text.trim();
    if secret.len() > 500 {
        return Err("must be at most 500 characters".into());
    }
    if !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err("must be printable ASCII without spaces".into());
    }
    Ok(secret.to_string())
}

/// Name servers as `IP` or `IP:PORT` (port 53 when omitted), comma- or space-separated.
pub fn parse_nameservers(text: &str) -> Result<Vec<std::net::SocketAddr>, String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<std::net::SocketAddr>()
                .or_else(|_| {
                    s.parse::<std::net::IpAddr>()
                        .map(|ip| std::net::SocketAddr::new(ip, 53))
                })
                .map_err(|_| format!("{s:?} is not an IP address or IP:PORT"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trips_and_refuses_bad_values() {
        let s = Settings::default();
        let input = SettingsInput::from_settings(&s);
        assert_eq!(input.validate().unwrap(), s);
        let mut bad = input.clone();
        bad.normal_away_pct = "150".into();
        bad.tenant_rule = "(unclosed".into();
        bad.retention_days = "zero".into();
        let e = bad.validate().unwrap_err();
        for f in ["normal_away_pct", "tenant_rule", "retention_days"] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let mut ns = input.clone();
        ns.dns_nameservers = "192.0.2.53, [2001:db8::53]:5353".into();
        assert_eq!(
            parse_nameservers(&ns.validate().unwrap().dns_nameservers)
                .unwrap()
                .len(),
            2
        );
        ns.dns_nameservers = "ns1.example.com".into();
        assert!(ns.validate().unwrap_err().get("dns_nameservers").is_some());
        let mut no_group = input.clone();
        no_group.tenant_rule = "^(.*)$".into();
        assert!(
            no_group
                .validate()
                .unwrap_err()
                .get("tenant_rule")
                .is_some()
        );
    }

    #[test]
    fn the_webhook_takes_http_urls_and_keeps_its_secret_unless_changed() {
        for ok in [
            "",
            "http://127.0.0.1:9000/hook",
            "HTTPS://alerts.example.com/in?token=a%20b",
            "https://user@alerts.example.com",
        ] {
            assert!(webhook_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://example.com/",
            "alerts.example.com/hook",
            "https://",
            "http:///path",
            "https://:443/x",
            "https://exa mple.com/",
            "javascript:alert(1)",
        ] {
            assert!(webhook_url(bad).is_err(), "{bad}");
        }
        assert!(webhook_secret("s3cr3t-token").is_ok());
        assert!(webhook_secret("two words").is_err());
        assert!(webhook_secret("line\nbreak").is_err());

        let current = Settings {
            webhook_url: "https://a.example.com/hook".into(),
            webhook_secret: "old".into(),
            ..Settings::default()
        };
        let form = SettingsInput::from_settings(&current);
        assert_eq!(form.webhook_secret, "", "the form never shows the secret");
        assert_eq!(form.validate_over(&current).unwrap(), current, "kept");
        let new = SettingsInput {
            webhook_secret: "new".into(),
            ..form.clone()
        };
        assert_eq!(new.validate_over(&current).unwrap().webhook_secret, "new");
        let cleared = SettingsInput {
            webhook_secret_clear: "on".into(),
            ..form
        };
        assert_eq!(cleared.validate_over(&current).unwrap().webhook_secret, "");
        assert_eq!(current.redacted().webhook_secret, "(set)");
        assert_eq!(Settings::default().redacted().webhook_secret, "");
    }
}

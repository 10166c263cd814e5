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
        }
    }
}

impl Settings {
    pub fn matcher(&self) -> TenantMatcher {
        TenantMatcher::new(&self.tenant_rule).unwrap_or_default()
    }

    pub fn retention_secs(&self) -> i64 {
        self.retention_days.max(1) as i64 * 86_400
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
        if let Err(msg) = parse_nameservers(&self.dns_nameservers) {
            e.add("dns_nameservers", msg);
        }
        if let Err(msg) = TenantMatcher::new(self.tenant_rule.trim()) {
            e.add("tenant_rule", msg);
        }
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
        })
    }
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
        let mut no_group = input;
        no_group.tenant_rule = "^(.*)$".into();
        assert!(
            no_group
                .validate()
                .unwrap_err()
                .get("tenant_rule")
                .is_some()
        );
    }
}

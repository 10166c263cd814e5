//! The inventory: servers, SRV pools with their members, and tenants. Types here are what the
//! store returns and the pages show; `New*` types are validated input ready to be stored.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::FieldErrors;
use super::ids::{PoolId, ServerId, TenantId};
use super::names::{HostName, MAX_NAME_LEN, PoolName, ServerName, TenantCode};
use super::names::{check_notes, check_text, not_a_page};

pub const DEFAULT_SIP_PORT: u16 = 5060;
/// The source document publishes its SRV records with a one-day TTL.
pub const DEFAULT_TTL: u32 = 86_400;
/// RFC 2181 §8: a TTL is an unsigned 31-bit number.
pub const MAX_TTL: u32 = 2_147_483_647;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ServerState {
    #[default]
    Active,
    /// Still answering, but admins are draining it: pools listing it get a lint warning.
    Maintenance,
    Retired,
}

impl ServerState {
    pub const ALL: [ServerState; 3] = [Self::Active, Self::Maintenance, Self::Retired];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Maintenance => "maintenance",
            Self::Retired => "retired",
        }
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServerState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| "must be active, maintenance or retired".to_string())
    }
}

/// SIP transports a pool is published for; each becomes its own SRV owner name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Self::Udp, Self::Tcp, Self::Tls];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
    /// RFC 3263 §4.1 service labels: SIP over TLS is `_sips._tcp`, not `_sip._tls`.
    pub fn service_prefix(self) -> &'static str {
        match self {
            Self::Udp => "_sip._udp",
            Self::Tcp => "_sip._tcp",
            Self::Tls => "_sips._tcp",
        }
    }

    /// Splits an SRV owner such as `_sip._udp.pbxa.example.com` into its transport and the
    /// pool's owner name (`pbxa.example.com`). Case-insensitive, as DNS names are.
    pub fn split_owner(owner: &str) -> Option<(Transport, &str)> {
        Self::ALL.into_iter().find_map(|transport| {
            let prefix = transport.service_prefix();
            let head = owner.get(..prefix.len())?;
            let rest = owner[prefix.len()..].strip_prefix('.')?;
            head.eq_ignore_ascii_case(prefix)
                .then_some((transport, rest))
        })
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown transport {:?}: use udp, tcp or tls", s.trim()))
    }
}

/// Checks that `owner` still makes legal SRV owner names once each of `transports`' service
/// labels is put in front (`_sips._tcp.` adds 11 characters, the others 10): a 253-character
/// host name is valid on its own but can never be published. The message says how long the
/// longest published name would be, so the admin knows how much to cut.
pub fn check_srv_owner_length(owner: &str, transports: &[Transport]) -> Result<(), String> {
    let longest = transports
        .iter()
        .map(|t| (t.service_prefix().len() + 1 + owner.len(), *t))
        .max();
    match longest {
        Some((len, transport)) if len > MAX_NAME_LEN => Err(format!(
            "is too long to publish over {transport}: with {}. in front the SRV owner name would be {len} \
             characters, over the {MAX_NAME_LEN} a domain name may have",
            transport.service_prefix()
        )),
        _ => Ok(()),
    }
}

/// Pools published at one SRV owner: their records would merge into one RRset, and nsupdate's
/// delete for one would wipe the other, so the zone export refuses them all until one moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerClash {
    pub owner: HostName,
    /// In the order the pools were given (the store lists them by name).
    pub pools: Vec<PoolName>,
}

impl fmt::Display for OwnerClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.pools.iter().map(|p| p.as_str()).collect();
        let listed = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.join(""),
        };
        write!(
            f,
            "Pools {listed} are published at the same owner {}: every DNS export is refused \
             until all but one of them get an owner of their own",
            self.owner
        )
    }
}

/// What keeps stored pools from being exported that saving them now refuses: pools sharing an
/// owner, and owners too long for a transport they publish. Rows an older release stored can
/// still be like that (migration 0010 keeps them, see its comment); the DNS page and the log
/// name them so that an admin can fix them.
pub fn publishing_problems(pools: &[Pool]) -> Vec<String> {
    let mut by_owner: Vec<OwnerClash> = Vec::new();
    for pool in pools {
        match by_owner.iter_mut().find(|c| c.owner == pool.srv_name) {
            Some(clash) => clash.pools.push(pool.name.clone()),
            None => by_owner.push(OwnerClash {
                owner: pool.srv_name.clone(),
                pools: vec![pool.name.clone()],
            }),
        }
    }
    let clashes = by_owner
        .into_iter()
        .filter(|c| c.pools.len() > 1)
        .map(|c| c.to_string());
    let too_long = pools.iter().filter_map(|pool| {
        check_srv_owner_length(&pool.srv_name, &pool.transports)
            .err()
            .map(|e| format!("Pool {}: its owner {} {e}", pool.name, pool.srv_name))
    });
    clashes.chain(too_long).collect()
}

/// Stored transports are a comma list in stable order, e.g. `udp,tcp`.
pub fn transports_to_string(list: &[Transport]) -> String {
    list.iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn transports_from_str(s: &str) -> Result<Vec<Transport>, String> {
    let mut list = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(Transport::from_str)
        .collect::<Result<Vec<_>, _>>()?;
    list.sort();
    list.dedup();
    if list.is_empty() {
        return Err("choose at least one transport".into());
    }
    Ok(list)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Server {
    pub id: ServerId,
    pub name: ServerName,
    pub host: HostName,
    pub sip_port: u16,
    pub capacity: Option<u32>,
    pub site: Option<String>,
    pub state: ServerState,
    pub version: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Pool {
    pub id: PoolId,
    pub name: PoolName,
    /// SRV owner name without the service prefix, e.g. `pbxa.example.com`.
    pub srv_name: HostName,
    pub ttl: u32,
    pub transports: Vec<Transport>,
    pub members: Vec<PoolMember>,
    pub version: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

impl Pool {
    pub fn transports_label(&self) -> String {
        transports_to_string(&self.transports)
    }

    /// The pool's SRV records as the share engine and the zone export see them.
    pub fn srv_records(&self) -> Vec<super::srv::SrvRecord> {
        self.members
            .iter()
            .map(|m| {
                super::srv::SrvRecord::new(
                    m.priority,
                    m.weight,
                    m.effective_port,
                    m.host.to_string(),
                )
            })
            .collect()
    }

    pub fn projection_ref(&self) -> super::projection::PoolRef {
        super::projection::PoolRef {
            name: self.name.to_string(),
            records: self.srv_records(),
        }
    }

    /// The pool as the zone export sees it, publishing `transports` (all of the pool's when
    /// `None`; a transport the pool does not publish is left out).
    pub fn zone_pool(&self, transports: Option<&[Transport]>) -> super::zone::ZonePool {
        super::zone::ZonePool {
            name: self.name.clone(),
            owner: self.srv_name.clone(),
            ttl: self.ttl,
            transports: self
                .transports
                .iter()
                .copied()
                .filter(|t| transports.is_none_or(|only| only.contains(t)))
                .collect(),
            left_out: self
                .transports
                .iter()
                .copied()
                .filter(|t| transports.is_some_and(|only| !only.contains(t)))
                .collect(),
            members: self
                .members
                .iter()
                .map(|m| super::zone::ZoneMember {
                    priority: m.priority,
                    weight: m.weight,
                    port: m.effective_port,
                    target: m.host.clone(),
                })
                .collect(),
        }
    }

    /// Distinct servers of the pool, in member order.
    pub fn server_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.members {
            if !names.iter().any(|n| n == m.server_name.as_str()) {
                names.push(m.server_name.to_string());
            }
        }
        names
    }
}

impl Server {
    pub fn projection_ref(&self) -> super::projection::ServerRef {
        super::projection::ServerRef {
            name: self.name.to_string(),
            host: self.host.to_string(),
            capacity: self.capacity,
        }
    }
}

/// One SRV target of a pool. The same server may be listed twice on different ports (the source
/// document's smallbox2 on 5060 and 5066).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PoolMember {
    pub server_id: ServerId,
    pub server_name: ServerName,
    pub host: HostName,
    pub priority: u16,
    pub weight: u16,
    /// Explicit port; `None` publishes the server's own SIP port.
    pub port: Option<u16>,
    pub effective_port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub code: TenantCode,
    pub name: String,
    pub expected_phones: u32,
    pub pool_id: Option<PoolId>,
    pub pool_name: Option<PoolName>,
    pub notes: String,
    pub version: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

/// A validated server, ready to insert or to replace an existing row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewServer {
    pub name: ServerName,
    pub host: HostName,
    pub sip_port: u16,
    pub capacity: Option<u32>,
    pub site: Option<String>,
    pub state: ServerState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPool {
    pub name: PoolName,
    pub srv_name: HostName,
    pub ttl: u32,
    pub transports: Vec<Transport>,
}

/// A member as entered: which server by id, and the SRV fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    pub server_id: ServerId,
    pub priority: u16,
    pub weight: u16,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTenant {
    pub code: TenantCode,
    pub name: String,
    pub expected_phones: u32,
    pub pool_id: Option<PoolId>,
    pub notes: String,
}

/// Raw text of a server form, as typed; `validate` turns it into a [`NewServer`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub sip_port: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub site: String,
    #[serde(default)]
    pub state: String,
}

impl ServerInput {
    pub fn from_server(s: &Server) -> Self {
        Self {
            name: s.name.to_string(),
            host: s.host.to_string(),
            sip_port: s.sip_port.to_string(),
            capacity: s.capacity.map(|c| c.to_string()).unwrap_or_default(),
            site: s.site.clone().unwrap_or_default(),
            state: s.state.to_string(),
        }
    }

    pub fn validate(&self) -> Result<NewServer, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", ServerName::parse(&self.name).and_then(not_a_page));
        let host = errors.check("host", HostName::parse(self.host.trim()));
        let sip_port = if self.sip_port.trim().is_empty() {
            Some(DEFAULT_SIP_PORT)
        } else {
            errors.check("sip_port", parse_port(&self.sip_port))
        };
        let capacity = errors.check(
            "capacity",
            parse_optional_range(&self.capacity, 1, 10_000_000, "a capacity in phones"),
        );
        let site = errors.check("site", check_text(&self.site, 64, false));
        let state = if self.state.trim().is_empty() {
            Some(ServerState::Active)
        } else {
            errors.check("state", self.state.parse())
        };
        let (Some(name), Some(host)) = (name, host) else {
            return Err(errors);
        };
        errors.finish()?;
        Ok(NewServer {
            name,
            host,
            sip_port: sip_port.unwrap_or(DEFAULT_SIP_PORT),
            capacity: capacity.flatten(),
            site: site.filter(|s| !s.is_empty()),
            state: state.unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PoolInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub srv_name: String,
    #[serde(default)]
    pub ttl: String,
    /// Comma-separated, or the checked boxes joined by the web layer.
    #[serde(default)]
    pub transports: String,
}

impl PoolInput {
    pub fn from_pool(p: &Pool) -> Self {
        Self {
            name: p.name.to_string(),
            srv_name: p.srv_name.to_string(),
            ttl: p.ttl.to_string(),
            transports: p.transports_label(),
        }
    }

    pub fn validate(&self) -> Result<NewPool, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.check("name", PoolName::parse(&self.name).and_then(not_a_page));
        let srv_name = errors.check("srv_name", HostName::parse(self.srv_name.trim()));
        let ttl = if self.ttl.trim().is_empty() {
            Some(DEFAULT_TTL)
        } else {
            errors.check("ttl", parse_ttl(&self.ttl))
        };
        let transports = errors.check("transports", transports_from_str(&self.transports));
        if let (Some(owner), Some(transports)) = (&srv_name, &transports)
            && let Err(e) = check_srv_owner_length(owner, transports)
        {
            errors.add("srv_name", e);
        }
        let (Some(name), Some(srv_name)) = (name, srv_name) else {
            return Err(errors);
        };
        errors.finish()?;
        Ok(NewPool {
            name,
            srv_name,
            ttl: ttl.unwrap_or(DEFAULT_TTL),
            transports: transports.unwrap_or_default(),
        })
    }
}

/// One row of the members editor, as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberInput {
    pub server: String,
    pub priority: String,
    pub weight: String,
    pub port: String,
}

/// Validates the whole member list of a pool. `servers` resolves a server name to
/// `(id, default SIP port)`. Field keys are `members[i].field` so the form can show each error
/// next to its cell.
pub fn validate_members(
    rows: &[MemberInput],
    servers: impl Fn(&str) -> Option<(ServerId, u16)>,
) -> Result<Vec<NewMember>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut members = Vec::new();
    let mut seen: Vec<(ServerId, u16, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.server.trim().is_empty()
            && row.priority.trim().is_empty()
            && row.weight.trim().is_empty()
            && row.port.trim().is_empty()
        {
            continue; // an empty spare row of the editor
        }
        let key = |f: &str| format!("members[{i}].{f}");
        let server = match servers(row.server.trim()) {
            Some(s) => Some(s),
            None => {
                errors.add(
                    &key("server"),
                    if row.server.trim().is_empty() {
                        "choose a server".to_string()
                    } else {
                        format!("no server named {:?}", row.server.trim())
                    },
                );
                None
            }
        };
        let priority = errors.check(&key("priority"), parse_u16_field(&row.priority, "priority"));
        let weight = errors.check(&key("weight"), parse_u16_field(&row.weight, "weight"));
        let port = if row.port.trim().is_empty() {
            Some(None)
        } else {
            errors.check(&key("port"), parse_port(&row.port).map(Some))
        };
        if let (Some((server_id, default_port)), Some(priority), Some(weight), Some(port)) =
            (server, priority, weight, port)
        {
            let effective = port.unwrap_or(default_port);
            if let Some((_, _, first)) = seen
                .iter()
                .find(|(id, p, _)| *id == server_id && *p == effective)
            {
                errors.add(
                    &key("port"),
                    format!(
                        "this server is already listed on port {effective} in row {}; list it twice only on different ports",
                        first + 1
                    ),
                );
            } else {
                seen.push((server_id, effective, i));
                members.push(NewMember {
                    server_id,
                    priority,
                    weight,
                    port,
                });
            }
        }
    }
    errors.finish()?;
    Ok(members)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expected_phones: String,
    /// Pool name, empty for "not placed yet".
    #[serde(default)]
    pub pool: String,
    #[serde(default)]
    pub notes: String,
}

impl TenantInput {
    pub fn from_tenant(t: &Tenant) -> Self {
        Self {
            code: t.code.to_string(),
            name: t.name.clone(),
            expected_phones: t.expected_phones.to_string(),
            pool: t
                .pool_name
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            notes: t.notes.clone(),
        }
    }

    /// `pools` resolves a pool name to its id.
    pub fn validate(
        &self,
        pools: impl Fn(&str) -> Option<PoolId>,
    ) -> Result<NewTenant, FieldErrors> {
        let mut errors = FieldErrors::default();
        let code = errors.check("code", TenantCode::parse(&self.code).and_then(not_a_page));
        let name = errors.check("name", check_text(&self.name, 200, true));
        let expected_phones = if self.expected_phones.trim().is_empty() {
            Some(0)
        } else {
            errors.check(
                "expected_phones",
                parse_range(&self.expected_phones, 0, 100_000, "a number of phones"),
            )
        };
        let pool_id = if self.pool.trim().is_empty() {
            Some(None)
        } else {
            match pools(self.pool.trim()) {
                Some(id) => Some(Some(id)),
                None => {
                    errors.add("pool", format!("no pool named {:?}", self.pool.trim()));
                    None
                }
            }
        };
        let notes = errors.check("notes", check_notes(&self.notes, 2000));
        let Some(code) = code else {
            return Err(errors);
        };
        errors.finish()?;
        Ok(NewTenant {
            code,
            name: name.unwrap_or_default(),
            expected_phones: expected_phones.unwrap_or(0),
            pool_id: pool_id.flatten(),
            notes: notes.unwrap_or_default(),
        })
    }
}

pub fn parse_port(s: &str) -> Result<u16, String> {
    parse_range(s, 1, 65_535, "a port").map(|p| p as u16)
}

pub fn parse_ttl(s: &str) -> Result<u32, String> {
    parse_range(s, 1, MAX_TTL, "a TTL in seconds")
}

fn parse_u16_field(s: &str, what: &str) -> Result<u16, String> {
    parse_range(s, 0, 65_535, &format!("a {what}")).map(|p| p as u16)
}

fn parse_range(s: &str, min: u32, max: u32, what: &str) -> Result<u32, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    match t.parse::<u64>() {
        Ok(v) if (min as u64..=max as u64).contains(&v) => Ok(v as u32),
        Ok(_) => Err(format!("must be between {min} and {max}")),
        Err(_) => Err(format!(
            "must be {what}: a whole number from {min} to {max}"
        )),
    }
}

fn parse_optional_range(s: &str, min: u32, max: u32, what: &str) -> Result<Option<u32>, String> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_range(s, min, max, what).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_input() -> ServerInput {
        ServerInput {
            name: "voip1".into(),
            host: "VOIP1.example.com.".into(),
            sip_port: "".into(),
            capacity: "500".into(),
            site: "Milan".into(),
            state: "".into(),
        }
    }

    #[test]
    fn server_defaults_and_normalisation() {
        let s = server_input().validate().unwrap();
        assert_eq!(s.host, "voip1.example.com");
        assert_eq!(s.sip_port, 5060);
        assert_eq!(s.capacity, Some(500));
        assert_eq!(s.state, ServerState::Active);
    }

    #[test]
    fn server_errors_name_each_field() {
        let mut input = server_input();
        input.host = "bad host".into();
        input.sip_port = "70000".into();
        input.capacity = "-3".into();
        input.state = "sleeping".into();
        let errors = input.validate().unwrap_err();
        for field in ["host", "sip_port", "capacity", "state"] {
            assert!(
                errors.get(field).is_some(),
                "no error for {field}: {errors:?}"
            );
        }
        assert!(errors.get("name").is_none());
    }

    #[test]
    fn pool_transports_are_parsed_sorted_and_required() {
        let mut p = PoolInput {
            name: "pbxA".into(),
            srv_name: "pbxa.example.com".into(),
            ttl: "".into(),
            transports: "tcp,udp,tcp".into(),
        };
        let ok = p.validate().unwrap();
        assert_eq!(ok.transports, vec![Transport::Udp, Transport::Tcp]);
        assert_eq!(ok.ttl, DEFAULT_TTL);
        p.transports = "".into();
        p.ttl = "0".into();
        let errors = p.validate().unwrap_err();
        assert!(errors.get("transports").is_some());
        assert!(errors.get("ttl").is_some());
    }

    /// A name of `len` characters: labels of 63 under `example.com`.
    fn owner_of_len(len: usize) -> String {
        let mut name = String::from("example.com");
        while name.len() < len {
            let room = len - name.len() - 1;
            // Never leave room for only an empty label.
            let take = if room > 63 && room - 63 < 2 {
                60
            } else {
                room.min(63)
            };
            name = format!("{}.{name}", "a".repeat(take));
        }
        assert_eq!(name.len(), len);
        name
    }

    #[test]
    fn pool_owner_must_fit_every_transports_service_label() {
        let input = |owner: String, transports: &str| PoolInput {
            name: "pbxL".into(),
            srv_name: owner,
            ttl: "".into(),
            transports: transports.into(),
        };
        // 243 + `_sip._udp.` (10) = 253 fits; `_sips._tcp.` (11) makes 254.
        assert!(input(owner_of_len(243), "udp,tcp").validate().is_ok());
        let errors = input(owner_of_len(243), "udp,tls").validate().unwrap_err();
        let message = errors.get("srv_name").expect("the owner is refused");
        assert!(message.contains("over tls"), "{message}");
        assert!(message.contains("254 characters"), "{message}");
        let errors = input(owner_of_len(253), "udp").validate().unwrap_err();
        assert!(errors.get("srv_name").unwrap().contains("263 characters"));
        assert!(input(owner_of_len(242), "udp,tcp,tls").validate().is_ok());
        // The export applies the same rule: what validation lets through, it publishes.
        assert_eq!(
            check_srv_owner_length(&owner_of_len(242), &Transport::ALL),
            Ok(())
        );
    }

    fn pool(name: &str, owner: &str, transports: &[Transport]) -> Pool {
        Pool {
            id: PoolId::new(1),
            name: name.parse().unwrap(),
            srv_name: owner.parse().unwrap(),
            ttl: DEFAULT_TTL,
            transports: transports.to_vec(),
            members: Vec::new(),
            version: 1,
            updated_at: 0,
            updated_by: "t".into(),
        }
    }

    #[test]
    fn publishing_problems_name_pools_sharing_an_owner_and_owners_too_long() {
        let udp = [Transport::Udp];
        let long = owner_of_len(243);
        let pools = [
            pool("pbxA", "pbxa.example.com", &udp),
            pool("pbxB", "PBXA.example.com.", &udp),
            pool("pbxC", "pbxc.example.com", &udp),
            pool("pbxD", "pbxa.example.com", &udp),
            pool("pbxL", &long, &[Transport::Udp, Transport::Tls]),
        ];
        let problems = publishing_problems(&pools);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with(
                "Pools pbxA, pbxB and pbxD are published at the same owner pbxa.example.com:"
            ),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].starts_with("Pool pbxL: its owner"),
            "{}",
            problems[1]
        );
        assert!(problems[1].contains("254 characters"), "{}", problems[1]);
        assert!(publishing_problems(&pools[2..3]).is_empty());
    }

    #[test]
    fn members_allow_same_server_on_two_ports_only() {
        let lookup = |name: &str| match name {
            "smallbox2" => Some((ServerId::new(3), 5060)),
            "bigbox" => Some((ServerId::new(1), 5060)),
            _ => None,
        };
        let row = |server: &str, port: &str| MemberInput {
            server: server.into(),
            priority: "10".into(),
            weight: "10".into(),
            port: port.into(),
        };
        let ok =
            validate_members(&[row("smallbox2", ""), row("smallbox2", "5066")], lookup).unwrap();
        assert_eq!(ok.len(), 2);
        let errors = validate_members(&[row("smallbox2", ""), row("smallbox2", "5060")], lookup)
            .unwrap_err();
        assert!(errors.get("members[1].port").is_some());
        let errors = validate_members(
            &[
                row("nosuch", ""),
                MemberInput {
                    server: "bigbox".into(),
                    priority: "65536".into(),
                    weight: "x".into(),
                    port: "0".into(),
                },
            ],
            lookup,
        )
        .unwrap_err();
        for f in [
            "members[0].server",
            "members[1].priority",
            "members[1].weight",
            "members[1].port",
        ] {
            assert!(errors.get(f).is_some(), "{f}");
        }
    }

    #[test]
    fn tenant_pool_must_exist() {
        let input = TenantInput {
            code: "ACME".into(),
            name: "Acme Srl".into(),
            expected_phones: "12".into(),
            pool: "pbxZ".into(),
            notes: "".into(),
        };
        let errors = input.validate(|_| None).unwrap_err();
        assert!(errors.get("pool").is_some());
        let ok = input
            .validate(|n| (n == "pbxZ").then_some(PoolId::new(7)))
            .unwrap();
        assert_eq!(ok.pool_id, Some(PoolId::new(7)));
        assert_eq!(ok.expected_phones, 12);
    }
}

//! What each kind of alert means and what to do about it, once per kind: the alerts page shows
//! these in its legend instead of repeating them on every alert.

use super::AlertKind;

impl AlertKind {
    /// What this kind of problem is and why it matters, once per kind (the alerts page shows it
    /// in its legend rather than on every alert).
    pub fn explanation(self) -> &'static str {
        match self {
            AlertKind::TenantSplit => {
                "A tenant's phones sit on more than one server, beyond the normal share away \
                 (packet loss puts about 10% on the secondary). Transfers between phones on \
                 different servers fail, and every call between them is routed from server to \
                 server."
            }
            AlertKind::TenantAway => {
                "More than the normal share of a tenant's phones sit on servers that are not home \
                 servers of its pool while a home server is up: they have lost their failover and \
                 load a backup the plan did not give them."
            }
            AlertKind::PoolDrift => {
                "More than the normal share of a pool's phones have left its home servers while \
                 they are up: a home server may be flapping or unreachable from part of the \
                 network."
            }
            AlertKind::OutsidePool => {
                "Phones registered on a server that is not a member of their tenant's pool: the \
                 pool's SRV records never send them there, so they are misconfigured and will not \
                 fail over as planned."
            }
            AlertKind::Capacity => {
                "A server carries, or is projected to carry with nothing down, more phones than \
                 its warning level or capacity."
            }
            AlertKind::CapacityN1 => {
                "If one other server fails, its phones fail over here and push this server above \
                 its warning level or capacity: one outage would become two."
            }
            AlertKind::PoolLint => {
                "A pool's SRV configuration works against keeping tenants whole with a failover: \
                 no members, a single server, several servers sharing the top priority (phones \
                 register at random and tenants split), or a member out of service."
            }
            AlertKind::TenantNoPool => {
                "A tenant without a pool has no SRV name for its phones and is left out of every \
                 projection, what-if and plan."
            }
            AlertKind::TenantNoPhones => {
                "A tenant expects phones but none is registered on any reporting server."
            }
            AlertKind::Unmatched => {
                "Registrations whose endpoint name matches no tenant are left out of every tenant \
                 count, split check and projection."
            }
            AlertKind::Flapping => {
                "Phones moving back and forth between servers are unreachable at every move and \
                 lose their in-use state during calls."
            }
            AlertKind::FailbackLag => {
                "Phones still on a backup long after their home server came back: some phone \
                 models never fail back until they re-register."
            }
            AlertKind::StaleSnapshot => {
                "A server has not reported its registrations recently: every count for it is out \
                 of date, and if it is down its phones failed over unseen."
            }
            AlertKind::DnsDrift => {
                "The live SRV records differ from what the dashboard exports: phones follow DNS, \
                 not the dashboard."
            }
            AlertKind::MoveStalled => {
                "A tenant moved to another pool, but past the move deadline (Settings) more than \
                 the normal share of its phones is still on the old pool's servers: they were not \
                 re-provisioned with the new pool's SRV name, or have not re-registered since."
            }
        }
    }

    /// What to do about this kind of problem, in general (each alert's `action` says it for its
    /// objects).
    pub fn advice(self) -> &'static str {
        match self {
            AlertKind::TenantSplit | AlertKind::TenantAway | AlertKind::PoolDrift => {
                "Check that the home server is up and reachable from the tenant's site without \
                 packet loss; check the phones' SRV pool setting; then re-register the phones \
                 that are away so they return home."
            }
            AlertKind::OutsidePool => {
                "Set the phones' SIP server to their pool's SRV name (not an IP address or another \
                 pool's name) and re-register them."
            }
            AlertKind::Capacity | AlertKind::CapacityN1 => {
                "Move a tenant or pool off the server, give its pools another secondary, or raise \
                 its capacity if the hardware allows; the Rebalance plan proposes moves."
            }
            AlertKind::PoolLint => {
                "Give each pool one primary at the lowest priority value and a backup at a higher \
                 one; share load with several pools; remove servers out of service."
            }
            AlertKind::TenantNoPool => "Assign the tenant a pool on its page or by bulk assign.",
            AlertKind::TenantNoPhones => {
                "Check the phones at the site, the registrations matching no tenant, and the \
                 tenant-matching rule in Settings."
            }
            AlertKind::Unmatched => {
                "Check the tenant-matching rule in Settings, or create the missing tenants."
            }
            AlertKind::Flapping => {
                "Check the network (packet loss, NAT or firewall timeouts), the registration \
                 expiry, and that the phones use their pool's SRV name."
            }
            AlertKind::FailbackLag => {
                "Re-register the phones; give the model a shorter registration expiry or enable \
                 its SRV re-query / failback option."
            }
            AlertKind::StaleSnapshot => {
                "Check the server's cron job that posts its registrations and its ingest token; \
                 if it is down, bring it back or set it to maintenance."
            }
            AlertKind::DnsDrift => {
                "Publish the export from the DNS page, then run the check again."
            }
            AlertKind::MoveStalled => {
                "Re-provision the phones still on the old servers with the new pool's SRV name \
                 (shown on the tenant page) and reboot them; or cancel the move there to put the \
                 tenant back in its old pool."
            }
        }
    }
}

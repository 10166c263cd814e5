//! An authoritative DNS server inside the test process: serves one zone from BIND master-file
//! text on 127.0.0.1, UDP and TCP on the same random port, until it is dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::{LowerName, Name};
use hickory_proto::serialize::txt::Parser;
use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

pub struct TestDnsServer {
    pub addr: SocketAddr,
    server: Server<Catalog>,
}

impl TestDnsServer {
    /// Serves `zone_text` (BIND master-file text: SOA, NS, SRV, A, AAAA, CNAME records; absolute
    /// or with $ORIGIN) for `origin` (e.g. "example.com.") on 127.0.0.1, UDP and TCP on the same
    /// random port. Panics with the parser's message on a bad zone: this is test setup.
    pub async fn start(origin: &str, zone_text: &str) -> Self {
        let mut origin = Name::from_ascii(origin).expect("the zone origin is a domain name");
        origin.set_fqdn(true);
        let (origin, records) = Parser::new(zone_text, None, Some(origin))
            .parse()
            .unwrap_or_else(|e| panic!("the test zone does not parse: {e}"));
        let zone: InMemoryZoneHandler<TokioRuntimeProvider> =
            InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
                .unwrap_or_else(|e| panic!("the test zone cannot be served: {e}"));
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);

        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().expect("the UDP socket has an address");
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        Self { addr, server }
    }
}

/// A UDP socket on a random port and a TCP listener on the same port. The kernel picks the UDP
/// port; TCP may already be taken there by someone else, so try a few ports.
async fn bind_same_port() -> (UdpSocket, TcpListener) {
    let mut last_error = None;
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind a UDP socket on 127.0.0.1");
        let addr = udp.local_addr().expect("the UDP socket has an address");
        match TcpListener::bind(addr).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("no port on 127.0.0.1 free for both UDP and TCP: {last_error:?}");
}

impl Drop for TestDnsServer {
    fn drop(&mut self) {
        // Cancelling stops the accept loops; dropping `server` then aborts its tasks.
        self.server.shutdown_token().cancel();
    }
}

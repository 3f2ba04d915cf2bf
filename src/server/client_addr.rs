//! Who is on the other end of the connection: the one place that decides a request's client
//! address, which every per-address limit keys on.
//!
//! The TCP peer is the client, unless that peer is a reverse proxy the operator listed in
//! `PARLEY_TRUSTED_PROXIES`. Only then is `X-Forwarded-For` read, from the right: each trusted
//! proxy appends the address it saw, so the rightmost entry that is not itself a trusted proxy is
//! the client. Anything to its left was written by the client and proves nothing.

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// The client address of a request, as decided by `resolve_client_addr` (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The key a per-address limit counts under. An IPv6 client usually holds a whole /64 (and
    /// can pick any address in it at will), so its addresses count together.
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let bits = u128::from(v6) & !(u128::MAX >> 64);
                    IpAddr::V6(Ipv6Addr::from(bits))
                }
            },
        }
    }
}

/// An address block: `10.0.0.0/8`, `fd00::/8`, or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{raw:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?} has a prefix length outside 0..={max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed (`PARLEY_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client behind `peer`: see the module header.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A malformed entry was not written by a proxy we trust: stop at the last good one.
            let Ok(ip) = hop.parse::<IpAddr>() else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(IpNet::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

/// Middleware: puts the request's `ClientAddr` into its extensions for handlers, server
/// functions and the WebSocket upgrade.
pub async fn resolve_client_addr(
    trusted: TrustedProxies,
    mut request: Request,
    next: Next,
) -> Response {
    // Every listener is served with connect info (`router::serve`, the tests); without it there
    // is no peer to speak of, and the unspecified address keeps limits working, shared.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let client = trusted.client_of(peer, request.headers());
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn parses_blocks_and_single_addresses() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")));
        assert!(!one.contains(ip("127.0.0.2")));
        assert!(one.contains(ip("::ffff:127.0.0.1")), "v4-mapped v6");
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted: TrustedProxies = "10.0.0.1".parse().unwrap();
        assert_eq!(
            trusted.client_of(ip("203.0.113.9"), &forwarded("1.2.3.4")),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client_of(ip("10.0.0.1"), &forwarded("1.2.3.4")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted: TrustedProxies = "10.0.0.0/8, 192.168.1.1".parse().unwrap();
        // The client wrote "6.6.6.6" itself; the proxies appended the real address and their own.
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.1.1.1");
        assert_eq!(
            trusted.client_of(ip("192.168.1.1"), &headers),
            ip("198.51.100.7")
        );
        // No header: the proxy itself is all we know.
        assert_eq!(
            trusted.client_of(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        // Garbage stops the walk at the last address a trusted proxy wrote.
        assert_eq!(
            trusted.client_of(ip("10.0.0.2"), &forwarded("not-an-ip, 10.3.3.3")),
            ip("10.3.3.3")
        );
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(
            ClientAddr(ip("2001:db8:1:2:aaaa::1")).limit_key(),
            ClientAddr(ip("2001:db8:1:2:bbbb::9")).limit_key()
        );
        assert_ne!(
            ClientAddr(ip("2001:db8:1:2::1")).limit_key(),
            ClientAddr(ip("2001:db8:1:3::1")).limit_key()
        );
        assert_eq!(ClientAddr(ip("::ffff:1.2.3.4")).limit_key(), ip("1.2.3.4"));
    }
}

//! The client's IP address, the key of per-IP limits and of verification waits: the TCP
//! peer, or what a trusted reverse proxy says (`proxy`).

use super::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client's IP address ("unknown" when not served over TCP).
pub(super) struct ClientIp(pub(super) String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp("unknown".to_owned()));
        };
        let proxies = &state.shared().settings.trusted_proxies;
        Ok(ClientIp(key(super::proxy::client_ip(
            peer.0.ip(),
            &parts.headers,
            proxies,
        ))))
    }
}

/// The key of an address: an IPv4 address itself; for IPv6 its /64, which one customer
/// usually has whole (else one client could take a fresh limit per address).
fn key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    #[test]
    fn an_ipv6_client_is_keyed_by_its_64() {
        let k = |s: &str| s.parse().map(key).unwrap_or_default();
        assert_eq!(k("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(k("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(k("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(k("192.0.2.1"), "192.0.2.1");
    }
}

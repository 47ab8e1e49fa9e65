//! The client's IP address, the key of per-IP limits and of verification waits: the TCP
//! peer, or what a trusted reverse proxy says (`proxy`).

use super::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

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
        Ok(ClientIp(
            super::proxy::client_ip(peer.0.ip(), &parts.headers, proxies).to_string(),
        ))
    }
}

//! The server's listening socket, with an accept queue deep enough for a burst of new
//! connections. `TcpListener::bind` queues 128 (the standard library's backlog): past that,
//! Linux drops the SYNs of a burst (`ListenOverflows`), and each dropped client waits a
//! second or more before its next try — 256 clients connecting at once lost 120 SYNs.

use std::io;
use tokio::net::{TcpListener, TcpSocket};

/// Connections the kernel may hold for `accept` (capped by `net.core.somaxconn`).
pub const BACKLOG: u32 = 4096;

/// Binds `addr` (`host:port`; the first address it resolves to) and listens with `BACKLOG`.
pub async fn listen(addr: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted server can listen at once.
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr} resolves to no address"),
        )
    }))
}

//! A burst of new connections waits in the server's accept queue instead of being dropped.

use std::time::Duration;
use tokio::net::TcpStream;

const BURST: usize = 300;

#[tokio::test(flavor = "multi_thread")]
async fn regression_a_burst_of_new_connections_is_queued_not_dropped() {
    // The kernel caps every backlog at `net.core.somaxconn`; below the burst there is
    // nothing to check here.
    let cap = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    if cap.is_none_or(|c| c < BURST) {
        eprintln!("skipped: net.core.somaxconn is below {BURST} (or unknown)");
        return;
    }
    let listener = destek::listen::listen("127.0.0.1:0").await.expect("listen");
    let addr = listener.local_addr().expect("addr");
    // Nobody accepts yet: the kernel must complete and queue every connection. With the
    // standard backlog of 128 the rest had their SYNs dropped, again on every retry.
    let connects: Vec<_> = (0..BURST)
        .map(|_| {
            tokio::spawn(tokio::time::timeout(
                Duration::from_secs(10),
                TcpStream::connect(addr),
            ))
        })
        .collect();
    let mut streams = Vec::new();
    for c in connects {
        if let Ok(Ok(Ok(s))) = c.await {
            streams.push(s);
        }
    }
    assert_eq!(
        streams.len(),
        BURST,
        "every connection of the burst is queued"
    );
    for _ in 0..BURST {
        listener.accept().await.expect("accept a queued connection");
    }
}

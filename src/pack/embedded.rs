//! The default pack, embedded at build time by `build.rs`.

include!(concat!(env!("OUT_DIR"), "/embedded_pack.rs"));

//! Gives the heap's free memory back to the operating system.
//!
//! Compiling a pack allocates several times what the compiled pack keeps (the YAML's
//! values, every example's features, the index's triples before they are sorted into
//! postings). glibc's allocator keeps most of that freed memory mapped, in holes between
//! what lives on, so without this a server holds a compile's peak for as long as it runs:
//! at 1,000 intents ~100 MiB resident instead of ~80 (`BENCHMARKS.md`).

/// Returns the free pages of every arena to the OS (`malloc_trim`), on glibc; nothing
/// elsewhere (musl and the other platforms' allocators keep little or return it themselves).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory and is safe to call from any thread
    // at any time; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

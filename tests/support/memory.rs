//! This process's memory as Linux reports it in `/proc/self/status`, for the benchmarks and
//! drills that print it (0 where there is no such file).

/// A `/proc/self/status` field in KiB: `VmRSS` (resident now) or `VmHWM` (the peak).
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

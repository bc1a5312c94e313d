//! Memory of this process from /proc (Linux), as BENCHMARKS.md measures it.

/// A field of /proc/self/status in MiB (`VmRSS`, `VmHWM`), if readable.
pub fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status(&status, field)
}

fn parse_status(status: &str, field: &str) -> Option<f64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: f64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kib / 1024.0)
    })
}

/// Total memory of this machine in GiB (`MemTotal` of /proc/meminfo).
pub fn total_gib() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_status(&info, "MemTotal").map(|mib| mib / 1024.0)
}

/// Resets `VmHWM` to the current RSS (writes 5 to /proc/self/clear_refs);
/// false where the kernel does not allow it.
pub fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let status = "Name:\tdelta-bench\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_status(status, "VmRSS"), Some(100.0));
        assert_eq!(parse_status(status, "VmHWM"), Some(200.0));
        assert_eq!(parse_status(status, "VmSwap"), None);
        assert_eq!(
            parse_status("MemTotal:       25165824 kB\n", "MemTotal"),
            Some(24576.0)
        );
        assert!(status_mib("VmRSS").is_some_and(|m| m > 0.0));
    }
}

//! Process facts from /proc and the open-files limit.

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …), in KiB.
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Raises the soft open-files limit to the hard one (the load phase holds two sockets per
/// desk; a child server inherits the raised limit). Returns the soft limit now in force.
pub fn raise_nofile() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise RLIMIT_NOFILE");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    }
}

/// The 1-minute load average (`/proc/loadavg`), if readable.
pub fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Appends the machine's 1-minute load average before and after a measurement to the notes of
/// the measured figures (the suite shares its 2 cores with other work: issue 6 asks for the
/// conditions beside each figure).
pub fn note_load(figures: &mut [crate::report::Figure], before: Option<f64>) {
    let after = loadavg_1m();
    let fmt = |v: Option<f64>| v.map_or("?".to_owned(), |v| format!("{v:.2}"));
    let text = format!("load avg (1 min) {} → {}", fmt(before), fmt(after));
    for f in figures.iter_mut().filter(|f| f.value.is_some()) {
        if f.note.is_empty() {
            f.note = text.clone();
        } else {
            f.note.push_str("; ");
            f.note.push_str(&text);
        }
    }
}

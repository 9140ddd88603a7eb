//! Figures, the machine they were measured on, and the two outputs: JSON (one record per
//! figure) and the Markdown table of BENCHMARKS.md.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A measured value's comparison partner, measured in the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub value: f64,
    pub unit: String,
    /// What was measured as the reference.
    pub what: String,
}

/// The limit a figure is held against (from issue 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// `<=` or `>=`.
    pub cmp: String,
    pub value: f64,
    pub unit: String,
}

impl Target {
    pub fn at_most(value: f64, unit: &str) -> Option<Target> {
        Some(Target {
            cmp: "<=".into(),
            value,
            unit: unit.into(),
        })
    }

    pub fn at_least(value: f64, unit: &str) -> Option<Target> {
        Some(Target {
            cmp: ">=".into(),
            value,
            unit: unit.into(),
        })
    }

    pub fn holds(&self, v: f64) -> bool {
        match self.cmp.as_str() {
            "<=" => v <= self.value,
            _ => v >= self.value,
        }
    }
}

/// `measured` or `not_yet` (the thing to measure does not exist yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureStatus {
    Measured,
    NotYet,
}

/// One figure of the suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// Part of the suite (1–8).
    pub part: u8,
    /// Stable machine name, e.g. `bootstrap.100000.items_per_s`.
    pub name: String,
    /// What a person reads in the table.
    pub label: String,
    pub value: Option<f64>,
    pub unit: String,
    pub reference: Option<Reference>,
    pub target: Option<Target>,
    /// `None` when there is no target (or nothing measured).
    pub pass: Option<bool>,
    pub status: FigureStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Figure {
    pub fn new(
        part: u8,
        name: impl Into<String>,
        label: impl Into<String>,
        value: f64,
        unit: &str,
    ) -> Figure {
        Figure {
            part,
            name: name.into(),
            label: label.into(),
            value: Some(value),
            unit: unit.into(),
            reference: None,
            target: None,
            pass: None,
            status: FigureStatus::Measured,
            note: String::new(),
        }
    }

    pub fn not_yet(part: u8, name: &str, label: &str, unit: &str, note: &str) -> Figure {
        Figure {
            part,
            name: name.into(),
            label: label.into(),
            value: None,
            unit: unit.into(),
            reference: None,
            target: None,
            pass: None,
            status: FigureStatus::NotYet,
            note: note.into(),
        }
    }

    pub fn reference(mut self, value: f64, unit: &str, what: impl Into<String>) -> Figure {
        self.reference = Some(Reference {
            value,
            unit: unit.into(),
            what: what.into(),
        });
        self
    }

    pub fn target(mut self, target: Option<Target>) -> Figure {
        self.pass = match (&target, self.value) {
            (Some(t), Some(v)) => Some(t.holds(v)),
            _ => None,
        };
        self.target = target;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub memory_gib: f64,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        Machine {
            nproc,
            memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            cpu_model,
            kernel,
        }
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub suite: String,
    pub size: String,
    /// RFC 3339, UTC.
    pub date: String,
    pub command: String,
    pub build: String,
    pub machine: Machine,
    /// How the server of parts 4–5 ran (child process or in-process).
    pub load_server: String,
    pub figures: Vec<Figure>,
    /// Phases that failed (the run exits non-zero when any did).
    pub errors: Vec<String>,
    pub elapsed_s: f64,
}

const PARTS: [&str; 8] = [
    "1. Bootstrap: server → empty encrypted cache",
    "2. Live latency: intake → desk cache → notifier",
    "3. Queue queries on the cache",
    "4. Server load: concurrent desks holding live streams (SQLite; `.pg.`: PostgreSQL)",
    "5. Push throughput (SQLite; `.pg.`: PostgreSQL)",
    "6. Desk app",
    "7. Two server instances on one PostgreSQL",
    "8. Login flood",
];

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if a >= 100_000.0 {
        // 123 456
        let s = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push('\u{202f}');
            }
            out.push(c);
        }
        out
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Report {
    /// The table; `closing_note` (analysis of missed targets, kept by people in
    /// crates/shimin-bench/CLOSING_NOTE.md) is appended as the closing note.
    pub fn to_markdown(&self, closing_note: Option<&str>) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# Benchmarks");
        let _ = writeln!(md);
        let _ = writeln!(
            md,
            "Issue 6: every figure beside its reference measured in the same run, and its target. \
             Produced by `shimin-bench` (crates/shimin-bench, see its README); do not edit by hand."
        );
        let _ = writeln!(md);
        let _ = writeln!(md, "| | |");
        let _ = writeln!(md, "|---|---|");
        let _ = writeln!(md, "| date | {} |", self.date);
        let _ = writeln!(md, "| command | `{}` |", self.command);
        let _ = writeln!(md, "| size | {} |", self.size);
        let _ = writeln!(md, "| build | {} |", self.build);
        let _ = writeln!(
            md,
            "| machine | {} cores, {} GiB, {} (Linux {}) |",
            m.nproc, m.memory_gib, m.cpu_model, m.kernel
        );
        let _ = writeln!(md, "| server of parts 4–5 | {} |", self.load_server);
        let _ = writeln!(md, "| run time | {:.0} s |", self.elapsed_s);
        let _ = writeln!(md);
        let measured: Vec<&Figure> = self
            .figures
            .iter()
            .filter(|f| f.status == FigureStatus::Measured && f.pass.is_some())
            .collect();
        let passed = measured.iter().filter(|f| f.pass == Some(true)).count();
        let _ = writeln!(
            md,
            "Targets met: **{passed} of {}** figures that have a target.",
            measured.len()
        );
        if !self.errors.is_empty() {
            let _ = writeln!(md);
            let _ = writeln!(md, "**Errors during the run:**");
            for e in &self.errors {
                let _ = writeln!(md, "- {}", cell(e));
            }
        }
        for (i, title) in PARTS.iter().enumerate() {
            let part = (i + 1) as u8;
            let figs: Vec<&Figure> = self.figures.iter().filter(|f| f.part == part).collect();
            let _ = writeln!(md);
            let _ = writeln!(md, "## {title}");
            let _ = writeln!(md);
            if figs.is_empty() {
                let _ = writeln!(md, "_No figures (phase failed or skipped; see errors)._");
                continue;
            }
            let _ = writeln!(
                md,
                "| figure | value | reference (same run) | target | met | note |"
            );
            let _ = writeln!(md, "|---|---:|---|---|:-:|---|");
            for f in figs {
                let value = match (f.status, f.value) {
                    (FigureStatus::NotYet, _) | (_, None) => "not yet".to_owned(),
                    (_, Some(v)) => format!("{} {}", fmt_num(v), f.unit),
                };
                let reference = f
                    .reference
                    .as_ref()
                    .map(|r| format!("{} {} ({})", fmt_num(r.value), r.unit, r.what))
                    .unwrap_or_else(|| "—".into());
                let target = f
                    .target
                    .as_ref()
                    .map(|t| format!("{} {} {}", t.cmp, fmt_num(t.value), t.unit))
                    .unwrap_or_else(|| "—".into());
                let met = match (f.status, f.pass) {
                    (FigureStatus::NotYet, _) => "not yet",
                    (_, Some(true)) => "yes",
                    (_, Some(false)) => "**no**",
                    (_, None) => "",
                };
                let _ = writeln!(
                    md,
                    "| {} <br><sub>`{}`</sub> | {} | {} | {} | {} | {} |",
                    cell(&f.label),
                    f.name,
                    value,
                    cell(&reference),
                    target,
                    met,
                    cell(&f.note)
                );
            }
        }
        if let Some(note) = closing_note {
            let _ = writeln!(md);
            let _ = writeln!(
                md,
                "## Closing note: missed targets, why, and what would fix them"
            );
            let _ = writeln!(md);
            let _ = writeln!(
                md,
                "_Kept by hand in `crates/shimin-bench/CLOSING_NOTE.md`; written against the figures above._"
            );
            let _ = writeln!(md);
            md.push_str(note.trim());
            md.push('\n');
        }
        md
    }
}

/// Nearest-rank percentile of an ascending slice (`p` in 0–100).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Sorts and returns (p50, p95, p99, max).
pub fn summary(mut samples: Vec<f64>) -> (f64, f64, f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let max = samples.last().copied().unwrap_or(f64::NAN);
    (
        percentile(&samples, 50.0),
        percentile(&samples, 95.0),
        percentile(&samples, 99.0),
        max,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn target_pass() {
        let f = Figure::new(1, "x", "x", 3.0, "ms").target(Target::at_most(5.0, "ms"));
        assert_eq!(f.pass, Some(true));
        let f = Figure::new(1, "x", "x", 3.0, "items/s").target(Target::at_least(5.0, "items/s"));
        assert_eq!(f.pass, Some(false));
    }
}

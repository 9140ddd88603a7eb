//! The smoke suite end to end: `shimin-bench --size smoke` must succeed and report every
//! figure with a sane value. No timing assertions (CI machines vary): only presence, finiteness
//! and sign.

use serde_json::Value;
use std::process::Command;

const COUNTS: [&str; 4] = [".errors", ".missed", ".rejected", "replay_reapplied"];

fn expected_names() -> Vec<String> {
    let mut names = Vec::new();
    for f in [
        "items_per_s",
        "ratio_to_bare_insert",
        "pull_only_items_per_s",
        "peak_rss_mib",
    ] {
        names.push(format!("bootstrap.2000.{f}"));
    }
    for mode in ["poke", "poll"] {
        for f in ["p50_ms", "p95_ms", "p99_ms", "notifier_p99_ms", "missed"] {
            names.push(format!("latency.{mode}.{f}"));
        }
    }
    for view in [
        "mine",
        "unit",
        "kind",
        "due_soon",
        "overdue",
        "all",
        "search_name",
        "search_number",
    ] {
        for f in ["p50_ms", "p99_ms"] {
            names.push(format!("queue.{view}.{f}"));
        }
    }
    for f in [
        "pull_p50_ms",
        "pull_p99_ms",
        "arrival_to_desks_p99_ms",
        "server_rss_mib",
        "errors",
    ] {
        names.push(format!("load.c20.{f}"));
    }
    for f in [
        "mutations_per_s",
        "batch_p99_ms",
        "rejected",
        "errors",
        "replay_reapplied",
    ] {
        names.push(format!("push.{f}"));
    }
    for f in ["server_rss_peak_mib", "legit_logins_ok", "errors"] {
        names.push(format!("flood.{f}"));
    }
    // On PostgreSQL too, and over two instances, when the suite has a cluster (scripts/test.sh).
    if std::env::var("SHIMIN_BENCH_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        let more: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with("load.") || n.starts_with("push."))
            .flat_map(|n| {
                let (head, rest) = n.split_once('.').unwrap();
                let mut v = vec![format!("{head}.pg.{rest}")];
                if head == "load" {
                    v.push(format!("load.two_instances.{rest}"));
                }
                v
            })
            .collect();
        names.extend(more);
    }
    names
}

#[test]
fn smoke_suite_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("bench.json");
    let md_path = dir.path().join("BENCHMARKS.md");
    let out = Command::new(env!("CARGO_BIN_EXE_shimin-bench"))
        .args(["--size", "smoke", "--out-json"])
        .arg(&json_path)
        .arg("--out-md")
        .arg(&md_path)
        .output()
        .expect("shimin-bench runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "shimin-bench --size smoke failed ({}):\n{stderr}",
        out.status
    );

    let report: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    assert_eq!(report["size"], "smoke");
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "errors: {}",
        report["errors"]
    );
    assert!(report["machine"]["nproc"].as_u64().unwrap() >= 1);
    let figures = report["figures"].as_array().unwrap();

    for name in expected_names() {
        let f = figures
            .iter()
            .find(|f| f["name"] == name.as_str())
            .unwrap_or_else(|| panic!("figure {name} missing; stderr:\n{stderr}"));
        assert_eq!(f["status"], "measured", "{name}");
        let v = f["value"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} has no value"));
        assert!(v.is_finite(), "{name} = {v}");
        if COUNTS.iter().any(|c| name.ends_with(c)) {
            assert_eq!(v, 0.0, "{name}: {}", f["note"]);
        } else {
            assert!(v > 0.0, "{name} = {v}");
        }
        if let Some(r) = f["reference"].as_object() {
            let rv = r["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}: reference without value"));
            assert!(rv.is_finite() && rv > 0.0, "{name}: reference {rv}");
        }
        if f["target"].is_object() {
            assert!(f["pass"].is_boolean(), "{name}: target without verdict");
        }
    }
    // Part 6 needs the desk app binary, which `cargo test --workspace` builds beside this one;
    // without it the figures say how to get them.
    let desk_built = std::path::Path::new(env!("CARGO_BIN_EXE_shimin-bench"))
        .with_file_name("shimin-desk")
        .is_file();
    for name in [
        "desk_app.cold_start_ms",
        "desk_app.idle_rss_mib",
        "desk_app.login_to_queue_ms",
    ] {
        let f = figures.iter().find(|f| f["name"] == name);
        if !desk_built {
            if let Some(f) = f {
                assert_eq!(f["status"], "not_yet", "{name}");
            }
            continue;
        }
        let f = f.unwrap_or_else(|| panic!("{name} missing; stderr:\n{stderr}"));
        assert_eq!(f["status"], "measured", "{name}");
        assert!(
            f["value"].as_f64().is_some_and(|v| v.is_finite() && v > 0.0),
            "{name}"
        );
    }

    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(
        md.contains("| command |") && md.contains("cores"),
        "machine/command header missing"
    );
    assert!(md.contains("desk_app.cold_start_ms"), "part 6 row missing");
    assert!(md.contains("bootstrap.2000.items_per_s"));
}

//! Part 6: the desk app itself — cold start to a usable window and idle memory, measured on the
//! real app binary in a headless desktop session (Xvfb, private session bus, gnome-keyring,
//! dunst) driven over WebDriver, against the demo-county server on loopback.

use crate::report::{summary, Figure};
use anyhow::{Context, Result};
use shimin_e2e::desktop::{machine_settings, DesktopSession, WebDriver};
use shimin_e2e::support::{TestServer, DEMO_PASSWORD};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const UI: Duration = Duration::from_secs(60);
/// How long the logged-in desk idles (syncing live) before its memory is read.
const IDLE: Duration = Duration::from_secs(10);

/// The desk app binary beside this one (`cargo build --release -p shimin-desk`).
pub fn sibling_desk_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("shimin-desk"), dir.parent()?.join("shimin-desk")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Resident memory (KiB) of every process whose environment carries `marker`, split into the
/// app process itself and WebKit's helper processes.
fn rss_with_env(marker: &str) -> (u64, u64, usize) {
    let (mut app, mut webkit, mut n) = (0, 0, 0);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return (0, 0, 0);
    };
    for e in dir.flatten() {
        let p = e.path();
        let Ok(env) = std::fs::read(p.join("environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
            continue;
        }
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        let rss_kib = std::fs::read_to_string(p.join("status"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        if comm.trim() == "shimin-desk" {
            app += rss_kib;
            n += 1;
        } else if comm.starts_with("WebKit") {
            webkit += rss_kib;
            n += 1;
        }
    }
    (app, webkit, n)
}

async fn a_clerk(ts: &TestServer) -> Result<String> {
    Ok(ts.matter_with_a_clerk_on_duty(|_| true).await.1.username)
}

/// `rounds` cold starts of the app, each in a fresh desktop session and data directory.
pub async fn run(desk_bin: &Path, rounds: usize) -> Result<Vec<Figure>> {
    let ts = TestServer::demo().await;
    let clerk = a_clerk(&ts).await.context("a demo clerk")?;
    let (mut start_ms, mut login_ms, mut rss, mut webkit_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let session = DesktopSession::start();
        let data = session.home().join(format!("desk-bench-{round}"));
        let marker = format!("SHIMIN_DESK_DATA_DIR={}", data.display());
        let t0 = Instant::now();
        let wd = WebDriver::start(
            &session,
            desk_bin,
            [
                ("SHIMIN_DESK_DATA_DIR", data.display().to_string()),
                machine_settings(&data, &format!("内网={}", ts.url()), None),
            ],
        )
        .await;
        let user = wd.wait_for_testid("login-username", UI).await;
        start_ms.push(t0.elapsed().as_secs_f64() * 1e3);

        user.send_keys(&clerk).await?;
        wd.find_testid("login-password")
            .await
            .send_keys(DEMO_PASSWORD)
            .await?;
        let t1 = Instant::now();
        wd.find_testid("login-submit").await.click().await?;
        wd.wait_for(
            fantoccini::Locator::Css(&shimin_e2e::desktop::by_testid("queue-row")),
            UI,
        )
        .await;
        login_ms.push(t1.elapsed().as_secs_f64() * 1e3);

        tokio::time::sleep(IDLE).await;
        let (app_kib, webkit_kib, procs) = rss_with_env(&marker);
        anyhow::ensure!(procs >= 2, "found {procs} desk processes to measure");
        rss.push((app_kib + webkit_kib) as f64 / 1024.0);
        webkit_rss.push(webkit_kib as f64 / 1024.0);
        wd.close().await;
    }
    let med = |v: Vec<f64>| summary(v).0;
    let n = rounds;
    Ok(vec![
        Figure::new(
            6,
            "desk_app.cold_start_ms",
            "desk app: cold start to a usable login window (Xvfb)",
            med(start_ms),
            "ms",
        )
        .note(format!(
            "median of {n}; from launching through tauri-driver/WebKitWebDriver (included) until the \
             login form is in the page; fresh data directory and keyring each time"
        )),
        Figure::new(
            6,
            "desk_app.login_to_queue_ms",
            "desk app: log in → queue listed (first sync of the demo county)",
            med(login_ms),
            "ms",
        )
        .note(format!(
            "median of {n}; includes the first snapshot pull into the encrypted cache"
        )),
        Figure::new(
            6,
            "desk_app.idle_rss_mib",
            "desk app: idle RSS, all processes (WebKit included)",
            med(rss),
            "MiB",
        )
        .reference(
            med(webkit_rss),
            "MiB",
            "of which WebKit's web and network processes",
        )
        .note(format!(
            "median of {n}; logged in, synced, live stream open, after {IDLE:?} idle"
        )),
    ])
}

//! Part 8: a login flood (issue 16, finding 1). 64 logins of unknown users and 64 of a real user
//! with wrong passwords, all at once, each from its own loopback address (so the per-address
//! limits do not simply turn them away: the password hashers are what is measured), while a
//! colleague logs in from yet another address. Measured: the server's RSS during and after the
//! flood (the server runs the real argon2 parameters, 19 MiB per check), the answers, and the
//! colleague's logins from the own desk (an installation the server knows: its lane of the
//! hashers is not the flood's). Reference: the server's RSS before.

use crate::load::PASSWORD;
use crate::report::{Figure, Target};
use crate::server_proc::LoadServer;
use crate::sys::mib;
use anyhow::Result;
use futures_util::future::join_all;
use shimin_protocol::{paths, LoginRequest, PROTOCOL_HEADER, PROTOCOL_VERSION};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How many logins of each kind.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub each: usize,
}

async fn attempt(base: &str, from: IpAddr, username: &str, password: &str, client_id: Uuid) -> Option<u16> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .local_address(from)
        .timeout(Duration::from_secs(120))
        .build()
        .ok()?;
    let r = http
        .post(format!("{base}{}", paths::LOGIN))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(&LoginRequest {
            username: username.into(),
            password: password.into(),
            client_id,
            device: "flood".into(),
        })
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

pub async fn run(server: &LoadServer, plan: &Plan) -> Result<Vec<Figure>> {
    crate::wire::check_loopback(server.url())?;
    let base = server.url().to_owned();
    let users = crate::load::office_users();
    let real = users[0].0.clone();
    let colleague = users[1].0.clone();
    // The colleague's desk has logged in before (the server knows the installation).
    let desk = Uuid::new_v4();
    let colleague_at = IpAddr::from([127, 9, 9, 9]);
    if attempt(&base, colleague_at, &colleague, PASSWORD, desk).await != Some(200) {
        anyhow::bail!("part 8: the colleague cannot log in before the flood");
    }
    let rss_before = server.rss_kib().unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling, read) = (peak.clone(), sampling.clone(), server.rss_reader());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(k) = read() {
                    peak.fetch_max(k, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let flood = join_all((0..plan.each * 2).map(|i| {
        let base = base.clone();
        let name = if i % 2 == 0 {
            format!("nobody.{i}")
        } else {
            real.clone()
        };
        let from = IpAddr::from([127, 1 + (i / 250) as u8, (i % 250) as u8, 2]);
        async move { attempt(&base, from, &name, "Wrong#123", Uuid::new_v4()).await }
    }));
    let legit = async {
        let mut ok = 0;
        for _ in 0..3 {
            if attempt(&base, colleague_at, &colleague, PASSWORD, desk).await == Some(200) {
                ok += 1;
            }
        }
        ok
    };
    let (answers, legit_ok) = tokio::join!(flood, legit);
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let rss_after = server.rss_kib().unwrap_or(0);
    let answered = answers.iter().filter(|a| a.is_some()).count();
    let server_errors = answers
        .iter()
        .filter(|a| a.is_some_and(|s| s >= 500 && s != 503))
        .count();
    let busy = answers.iter().filter(|a| *a == &Some(503)).count();
    let n = plan.each * 2;
    Ok(vec![
        Figure::new(
            8,
            "flood.server_rss_peak_mib",
            format!(
                "login flood ({n} wrong passwords at once, {} unknown names): server RSS peak",
                plan.each
            ),
            mib(peak.load(Ordering::Relaxed)),
            "MiB",
        )
        .reference(mib(rss_before), "MiB", "server RSS before the flood")
        .target(Target::at_most(300.0, "MiB"))
        .note(format!(
            "{answered} of {n} answered in {secs:.1} s ({busy} turned away as busy); {:.1} MiB 2 s after",
            mib(rss_after)
        )),
        Figure::new(
            8,
            "flood.legit_logins_ok",
            "login flood: a colleague's logins at their own desk (elsewhere) that succeeded (of 3)",
            legit_ok as f64,
            "logins",
        )
        .target(Target::at_least(3.0, "logins")),
        Figure::new(
            8,
            "flood.errors",
            "login flood: answers other than 4xx or 503 busy, and requests unanswered",
            (server_errors + (n - answered)) as f64,
            "errors",
        )
        .target(Target::at_most(0.0, "errors")),
    ])
}

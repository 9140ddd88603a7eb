//! Crash safety: a desk process killed with SIGKILL in the middle of pushing loses no mutation
//! and duplicates none after it restarts.

use crate::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COUNT: usize = 1500;

fn flood(server: &TestServer, cache: &std::path::Path, key: &str, user: &DemoUser, count: usize) -> Command {
    flood_via(&server.url(), cache, key, user, count)
}

fn flood_via(endpoint: &str, cache: &std::path::Path, key: &str, user: &DemoUser, count: usize) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_desk-flood"));
    cmd.args([
        "--cache",
        cache.to_str().unwrap(),
        "--key-hex",
        key,
        "--endpoint",
        endpoint,
    ])
    .args([
        "--user",
        &user.username,
        "--password",
        DEMO_PASSWORD,
        "--count",
        &count.to_string(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd
}

async fn flood_notes(server: &TestServer, user: i64) -> Vec<String> {
    shimin_server::inspect::events(server.store())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.actor_id == Some(user) && e.event.action == "add_note")
        .filter_map(|e| e.event.note)
        .filter(|n| n.starts_with("flood-"))
        .collect()
}

/// What the server holds of uploads of `hash` (any user): bytes received.
async fn received_of(server: &TestServer, hash: &str) -> i64 {
    shimin_server::inspect::uploads(server.store())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.hash == hash)
        .map_or(0, |u| u.received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_killed_mid_push_loses_and_duplicates_nothing() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("desk.db");
    let key = shimin_client::CacheKey::random().to_hex().unwrap();

    let mut child = flood(&server, &cache, &key, &clerk, COUNT).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let queued = tokio::task::spawn_blocking(move || lines.next()).await.unwrap();
    assert_eq!(queued.unwrap().unwrap(), format!("queued {COUNT}"));

    // Kill it as soon as the server has applied part of the push.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let applied = flood_notes(&server, clerk.id).await.len();
        if applied > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "push never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = flood_notes(&server, clerk.id).await.len();
    assert!(at_kill < COUNT, "killed mid-push ({at_kill} of {COUNT} applied)");

    // Restart: the outbox survived; the rest goes out, nothing twice.
    let out = flood(&server, &cache, &key, &clerk, 0).output().unwrap();
    assert!(out.status.success(), "restarted desk syncs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("pending 0"), "{stdout}");

    let mut notes = flood_notes(&server, clerk.id).await;
    assert_eq!(notes.len(), COUNT, "every mutation applied exactly once");
    notes.sort_by_key(|n| n["flood-".len()..].parse::<usize>().unwrap());
    let expected: Vec<String> = (0..COUNT).map(|i| format!("flood-{i}")).collect();
    assert_eq!(notes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_killed_mid_upload_resumes_without_resending_what_the_server_has() {
    use shimin_protocol::BLOB_CHUNK_BYTES;
    let server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let path = shimin_e2e::proxy::Proxy::start("127.0.0.2:0".parse().unwrap(), server.listen[0])
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("agent.db");
    let key = shimin_client::CacheKey::random().to_hex().unwrap();
    let size = 4 * BLOB_CHUNK_BYTES + 777;

    let mut child = flood_via(&path.url(), &cache, &key, &agent, 0)
        .args(["--attach-pdf", &size.to_string()])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let queued = tokio::task::spawn_blocking(move || lines.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let hash = queued
        .strip_prefix("queued attachment ")
        .expect(&queued)
        .to_owned();
    // The uplink stalls in the middle of the second chunk; the process is killed there.
    path.stall_after_bytes(BLOB_CHUNK_BYTES as u64 * 3 / 2);
    let received = || async { received_of(&server, &hash).await };
    eventually(
        Duration::from_secs(30),
        "the first chunk is stored and the uplink stalls",
        || async { received().await == BLOB_CHUNK_BYTES as i64 && path.exhausted() },
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    // The dead process's connection goes with it (what it had in flight is lost).
    path.cut();
    path.restore().await.unwrap();
    assert_eq!(
        received().await,
        BLOB_CHUNK_BYTES as i64,
        "the cut chunk stored nothing"
    );

    // Started again (same cache), on a working network: only the rest goes out.
    path.uncap();
    let before = path.bytes_up();
    let out = flood_via(&path.url(), &cache, &key, &agent, 0).output().unwrap();
    assert!(out.status.success(), "restarted desk syncs");
    let resent = path.bytes_up() - before;
    let missing = (size - BLOB_CHUNK_BYTES) as u64;
    assert!(
        resent >= missing && resent < missing + 64 * 1024,
        "after the kill {resent} bytes went out for {missing} missing"
    );
    let stored = std::fs::read(server.data.path().join("blobs").join(&hash[..2]).join(&hash)).unwrap();
    assert_eq!(
        stored,
        scan_pdf(size as u64, size),
        "the server holds exactly the file"
    );
    let attached = shimin_server::inspect::attachments(server.store())
        .await
        .unwrap()
        .iter()
        .filter(|(_, h)| *h == hash)
        .count();
    assert_eq!(attached, 1, "the case and its file arrived once");
}

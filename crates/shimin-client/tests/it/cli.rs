//! The terminal desk (`shimin-desk-cli`) as an operator uses it: error exits that never crash
//! the process (issue 16, finding 10), exit codes that say what happened, the outbox view.

use std::process::Command;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shimin-desk-cli"))
}

fn key() -> String {
    shimin_client::CacheKey::random().to_hex().unwrap()
}

/// 500 error exits (no server on the port), two processes at a time, reusing one cache file:
/// every one exits with status 1 and its JSON error, none dies of a signal (before the fix
/// about one in a few hundred aborted with "double free or corruption").
#[test]
fn five_hundred_error_exits_never_crash() {
    if shimin_server::store::postgres::test_cluster_url().is_some() {
        eprintln!("skipped here: no server involved (the SQLite pass runs this)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // The port is free again once the listener is dropped: connections are refused.
    let endpoint = format!("http://{closed}");
    let key = key();
    let runs: Vec<_> = (0..2)
        .map(|t| {
            let cache = dir.path().join(format!("desk{t}.db"));
            let (endpoint, key) = (endpoint.clone(), key.clone());
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                for _ in 0..250 {
                    let out = cli()
                        .args(["--cache", cache.to_str().unwrap(), "--key-hex", &key])
                        .args([
                            "--endpoint",
                            &endpoint,
                            "--allow-plain-http",
                            "--connect-timeout-ms",
                            "200",
                            "sync",
                        ])
                        .env("SHIMIN_USER", "nobody")
                        .env("SHIMIN_PASSWORD", "Wrong#1")
                        .output()
                        .unwrap();
                    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
                    if out.status.code() != Some(1) || !stderr.contains("\"error\"") {
                        bad.push(format!("{:?}: {stderr}", out.status));
                    }
                }
                bad
            })
        })
        .collect();
    let bad: Vec<String> = runs.into_iter().flat_map(|r| r.join().unwrap()).collect();
    assert!(
        bad.is_empty(),
        "{} of 500 exits went wrong: {:?}",
        bad.len(),
        &bad[..bad.len().min(3)]
    );
}

#[test]
fn help_names_the_credential_variables_and_the_exit_codes() {
    let out = cli().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "SHIMIN_USER",
        "SHIMIN_PASSWORD",
        "SHIMIN_CACHE_KEY",
        "3 sync finished",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[tokio::test]
async fn the_outbox_view_shows_pending_mutations_without_their_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let key_hex = key();
    let cache = dir.path().join("stuck.db");
    // Mutations queued on a desk that then cannot reach its server.
    {
        let config = shimin_client::ClientConfig::new(
            cache.clone(),
            shimin_client::CacheKey::from_hex(&key_hex).unwrap(),
            Vec::new(),
        );
        let desk = shimin_client::Desk::open(config).await.unwrap();
        let who = shimin_client::view::OpActor {
            user_id: 7,
            role: shimin_domain::role::Role::Clerk,
            unit_id: Some(1),
            name: "窗口7".into(),
        };
        let item = crate::fixtures::item(1, "consultation", 1);
        desk.store()
            .apply_pull(&crate::fixtures::items_page(vec![item.clone()], 1, false))
            .await
            .unwrap();
        for text in ["一", "二"] {
            desk.store()
                .enqueue(
                    item.id,
                    &shimin_protocol::Op::AddNote { text: text.into() },
                    &who,
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
        }
        desk.close().await;
    }
    let out = cli()
        .args([
            "--cache",
            cache.to_str().unwrap(),
            "--key-hex",
            &key_hex,
            "outbox",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["pending"], 2);
    assert_eq!(lines[0]["reveals_pending"], 0);
    assert!(lines[0]["client_id"].is_string());
    assert_eq!(lines[1]["op_type"], "add_note");
    assert_eq!(
        (lines[1]["seq"].as_i64(), lines[2]["seq"].as_i64()),
        (Some(1), Some(2))
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('一'),
        "no payloads"
    );
}

/// `queue --show-personal` prints the applicant, but the ID number and the phone masked as on
/// every screen (showing one in full is the desk app's audited 显示, issue 16).
#[tokio::test]
async fn the_queue_shows_citizens_numbers_masked_even_with_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let key_hex = key();
    let cache = dir.path().join("queue.db");
    let item = crate::fixtures::item(3, "consultation", 1);
    {
        let config = shimin_client::ClientConfig::new(
            cache.clone(),
            shimin_client::CacheKey::from_hex(&key_hex).unwrap(),
            Vec::new(),
        );
        let desk = shimin_client::Desk::open(config).await.unwrap();
        desk.store()
            .apply_pull(&crate::fixtures::items_page(vec![item.clone()], 1, false))
            .await
            .unwrap();
        desk.close().await;
    }
    let out = cli()
        .args(["--cache", cache.to_str().unwrap(), "--key-hex", &key_hex])
        .args(["queue", "--view", "all", "--show-personal"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().expect("one item")).unwrap();
    let applicant = &line["applicant"];
    assert_eq!(applicant["name"], item.applicant.name.as_str());
    assert_eq!(
        applicant["id_number"],
        shimin_protocol::mask_id_number(&item.applicant.id_number).as_str()
    );
    assert_eq!(
        applicant["phone"],
        shimin_protocol::mask_phone(&item.applicant.phone).as_str()
    );
    assert!(!stdout.contains(&item.applicant.id_number) && !stdout.contains(&item.applicant.phone));
}

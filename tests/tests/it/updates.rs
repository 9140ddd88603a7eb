//! Desk updates from the county (issue 15): IT's key pair, a package published (through the
//! CLI as IT runs it), found by a desk that has not even logged in, verified over the
//! manifest's exact bytes and the package's SHA-256; a tampered manifest, a tampered package,
//! the wrong key and an older release are refused or ignored; a desk too old for the protocol is
//! pointed to the update.

use crate::support::*;
use shimin_client::Desk;
use shimin_protocol::{codes, paths, ApiError, PROTOCOL_HEADER};
use std::process::Command;

/// The version of the desk asking (the desks' releases below are newer or older than it).
const DESK: &str = "0.1.0";

fn publish_cli(server: &TestServer, key: &std::path::Path, file: &std::path::Path, version: &str) {
    let out = Command::new(server_binary())
        .arg("--data-dir")
        .arg(server.data.path().join("cli"))
        .arg("--blob-dir")
        .arg(server.data.path().join("blobs"))
        .args([
            "update",
            "publish",
            "--version",
            version,
            "--notes",
            "修复了叫号屏显示问题",
            "--key",
        ])
        .arg(key)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_published_update_is_verified_before_anything_is_believed_or_kept() {
    let server = TestServer::demo().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = shimin_server::updates::keygen(&dir.path().join("keys")).unwrap();
    assert!(
        shimin_server::updates::keygen(&dir.path().join("keys")).is_err(),
        "a key is never overwritten"
    );
    let package = dir.path().join("shimin-desk_99.0.0_amd64.deb");
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&package, &bytes).unwrap();
    publish_cli(&server, &key, &package, "99.0.0");

    // Found and verified before login.
    let desk = Desk::open(desk_config(dir.path().join("desk.db"), &[server.url()]))
        .await
        .unwrap();
    let offer = desk
        .check_update(&public, DESK)
        .await
        .unwrap()
        .expect("a newer release");
    assert_eq!(offer.version, "99.0.0");
    assert_eq!(offer.notes, "修复了叫号屏显示问题");
    let downloads = dir.path().join("downloads");
    let got = desk.download_update(&offer, &downloads).await.unwrap();
    assert_eq!(std::fs::read(&got).unwrap(), bytes);

    // Another key's signature: refused.
    let (_, stranger) = shimin_server::updates::keygen(&dir.path().join("other-keys")).unwrap();
    let err = desk.check_update(&stranger, DESK).await.unwrap_err();
    assert_eq!(err.code(), "update_bad_signature", "{err}");

    // The manifest changed on the server after signing (another version, other notes).
    let latest = server.data.path().join("blobs/updates/latest.json");
    let original = std::fs::read_to_string(&latest).unwrap();
    std::fs::write(&latest, original.replace("修复了叫号屏显示问题", "请安装此补丁")).unwrap();
    let err = desk.check_update(&public, DESK).await.unwrap_err();
    assert_eq!(err.code(), "update_bad_signature", "{err}");
    assert!(err.to_string().contains("篡改"), "{err}");
    std::fs::write(&latest, &original).unwrap();

    // The package changed on the server: the download is refused and nothing is kept.
    let served = server
        .data
        .path()
        .join("blobs/updates/shimin-desk_99.0.0_amd64.deb");
    let mut evil = bytes.clone();
    evil[1000] ^= 0xff;
    std::fs::write(&served, &evil).unwrap();
    let fresh = dir.path().join("downloads-2");
    let err = desk.download_update(&offer, &fresh).await.unwrap_err();
    assert_eq!(err.code(), "update_corrupt", "{err}");
    assert!(!fresh.join(&offer.file).exists(), "a broken download is not kept");

    // A release older than this desk is not offered.
    let old = dir.path().join("shimin-desk_0.0.1_amd64.deb");
    std::fs::write(&old, b"old").unwrap();
    publish_cli(&server, &key, &old, "0.0.1");
    assert_eq!(desk.check_update(&public, DESK).await.unwrap(), None);
    desk.close().await;
}

#[tokio::test]
async fn a_desk_too_old_for_the_protocol_is_pointed_to_the_update() {
    let server = TestServer::demo().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = http
        .get(format!("{}{}", server.url(), paths::PULL))
        .header(PROTOCOL_HEADER, "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 426);
    let body: ApiError = resp.json().await.unwrap();
    assert_eq!(body.code, codes::PROTOCOL_UNSUPPORTED);
    assert_eq!(body.details.unwrap()["update"], paths::UPDATE_LATEST);
    // The update itself is outside the gate: an old desk reaches it (404 here: none published).
    let resp = http
        .get(format!("{}{}", server.url(), paths::UPDATE_LATEST))
        .header(PROTOCOL_HEADER, "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

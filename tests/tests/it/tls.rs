//! Encrypted transport (R-NET, issue 15) over real TLS on loopback, with a county CA the test
//! makes itself: the desk syncs over HTTPS and nothing readable crosses the path (the capture
//! of a TCP proxy in between); a certificate that is expired, for another host or from an
//! unknown CA is refused with its own code and message; an `http://` address is refused unless
//! the machine's settings mark it; a certificate reload keeps live streams up.

use crate::support::*;
use shimin_client::{Desk, Security};
use shimin_e2e::pki::{Flaw, TestCa};
use shimin_e2e::proxy::Proxy;
use std::time::Duration;

/// A desk whose only endpoint is `url`, trusting `ca` (PEM) beside the system's roots.
async fn desk_at(dir: &std::path::Path, url: String, ca: Option<&TestCa>) -> Desk {
    let mut cfg = desk_config(dir.join("desk.db"), &[url]);
    cfg.county_ca_pem = ca.map(|ca| ca.pem().into_bytes());
    cfg.poll_interval = Duration::from_secs(60); // only the live stream explains a quick arrival
    Desk::open(cfg).await.unwrap()
}

async fn proxy_to(addr: std::net::SocketAddr) -> Proxy {
    Proxy::start("127.0.0.1:0".parse().unwrap(), addr).await.unwrap()
}

#[tokio::test]
async fn a_desk_syncs_over_https_and_nothing_readable_crosses_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("测试县政务服务中心 CA");
    let server = TestServer::demo_tls(&ca.issue(dir.path(), "server", Flaw::None)).await;
    let clerk = server.user("clerk", None).await;
    let path = proxy_to(server.tls_addr()).await;
    let desk = desk_at(dir.path(), format!("https://{}", path.addr()), Some(&ca)).await;

    desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap();
    let portal = Portal::login(&server).await;
    let created = portal
        .reserve(server.matter_of(clerk.unit_id.unwrap()).await, citizen(71))
        .await;
    desk.sync_now().await.unwrap();
    assert!(
        desk.item(created.id).await.unwrap().is_some(),
        "the reservation came over HTTPS"
    );
    let status = desk.status().borrow().clone();
    assert_eq!(status.security, Some(Security::Https));
    assert_eq!(status.security_problem, None);

    let token = desk.session().expect("logged in").expose().to_owned();
    let capture = path.captured();
    // Login, push and pull went up; the snapshot of the clerk's queue came down.
    assert!(
        capture.up.len() > 500 && capture.down.len() > 10_000,
        "traffic crossed the path"
    );
    assert_eq!(capture.up[0], 0x16, "the first byte up is a TLS handshake record");
    for secret in [
        token.as_bytes(),
        DEMO_PASSWORD.as_bytes(),
        clerk.username.as_bytes(),
        b"Bearer",
        b"/api/v1/",
        "测试市民71".as_bytes(),
    ] {
        assert!(
            !capture.contains(secret),
            "{:?} crossed the path in clear",
            String::from_utf8_lossy(secret)
        );
    }
    desk.close().await;
}

#[tokio::test]
async fn refused_certificates_have_their_own_code_and_message_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let county = TestCa::new("测试县 CA");
    let stranger = TestCa::new("陌生机构 CA");
    let server = TestServer::demo_tls(&county.issue(dir.path(), "good", Flaw::None)).await;
    let clerk = server.user("clerk", None).await;
    let path = proxy_to(server.tls_addr()).await;
    let url = format!("https://{}", path.addr());

    // One server; its certificate files are replaced and reloaded for each case.
    let good = county.issue(dir.path(), "good", Flaw::None);
    let cases = [
        (
            county.issue(dir.path(), "expired", Flaw::Expired),
            "tls_expired",
            "过期",
        ),
        (
            county.issue(dir.path(), "elsewhere", Flaw::WrongHost),
            "tls_wrong_host",
            "不符",
        ),
        (
            stranger.issue(dir.path(), "stranger", Flaw::None),
            "tls_unknown_ca",
            "受信任",
        ),
    ];
    for (bad, code, words) in cases {
        std::fs::copy(&bad.cert, &good.cert).unwrap();
        std::fs::copy(&bad.key, &good.key).unwrap();
        server.running().reload_tls().unwrap();
        let case_dir = dir.path().join(code);
        std::fs::create_dir_all(&case_dir).unwrap();
        let desk = desk_at(&case_dir, url.clone(), Some(&county)).await;
        let err = desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert!(err.to_string().contains(words), "{code}: {err}");
        let problem = desk
            .status()
            .borrow()
            .security_problem
            .clone()
            .expect("shown in the status");
        assert_eq!(problem.code, code);
        desk.close().await;
        assert!(!path.captured().contains(DEMO_PASSWORD.as_bytes()));
    }

    // Back to a good certificate: the same desk setup logs in.
    let fresh = county.issue(dir.path(), "fresh", Flaw::None);
    std::fs::copy(&fresh.cert, &good.cert).unwrap();
    std::fs::copy(&fresh.key, &good.key).unwrap();
    server.running().reload_tls().unwrap();
    let ok_dir = dir.path().join("ok");
    std::fs::create_dir_all(&ok_dir).unwrap();
    let desk = desk_at(&ok_dir, url, Some(&county)).await;
    desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap();
    desk.close().await;

    // Without the county CA (system roots only) the county's certificate is unknown.
    let bare_dir = dir.path().join("bare");
    std::fs::create_dir_all(&bare_dir).unwrap();
    let desk = desk_at(&bare_dir, format!("https://{}", server.tls_addr()), None).await;
    let err = desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(err.code(), "tls_unknown_ca");
    desk.close().await;
}

#[tokio::test]
async fn an_http_address_is_refused_unless_the_machine_settings_mark_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let path = proxy_to(server.listen[0]).await;
    let url = format!("http://{}", path.addr());

    let mut cfg = desk_config(dir.path().join("unmarked.db"), std::slice::from_ref(&url));
    cfg.endpoints[0].plain_http_allowed = false;
    let desk = Desk::open(cfg).await.unwrap();
    let err = desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(err.code(), "plain_http_refused", "{err}");
    assert!(err.to_string().contains("明文"), "{err}");
    assert_eq!(path.connections(), 0, "not even a connection was opened");
    assert!(path.captured().up.is_empty());
    assert_eq!(
        desk.status()
            .borrow()
            .security_problem
            .as_ref()
            .map(|p| p.code.as_str()),
        Some("plain_http_refused")
    );
    desk.close().await;

    // Marked intranet-plain: used, and shown as plain.
    let desk = Desk::open(desk_config(dir.path().join("marked.db"), &[url]))
        .await
        .unwrap();
    desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap();
    desk.sync_now().await.unwrap();
    assert_eq!(desk.status().borrow().security, Some(Security::PlainIntranet));
    desk.close().await;
}

#[tokio::test]
async fn a_certificate_reload_keeps_live_streams_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("测试县 CA");
    let files = ca.issue(dir.path(), "server", Flaw::None);
    let server = TestServer::demo_tls(&files).await;
    let clerk = server.user("clerk", None).await;
    let desk = desk_at(dir.path(), format!("https://{}", server.tls_addr()), Some(&ca)).await;
    desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap();
    desk.sync_now().await.unwrap();
    let sync = desk.start();
    let mut status = desk.status();
    tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| s.live))
        .await
        .expect("live stream up")
        .unwrap();
    let slot = server.running().tls().expect("TLS configured").clone();
    let old_der = slot.certificate_der();

    // A renewed certificate (new key) replaces the files; SIGHUP's reload puts it in force.
    let renewed = ca.issue(dir.path(), "renewed", Flaw::None);
    std::fs::copy(&renewed.cert, &files.cert).unwrap();
    std::fs::copy(&renewed.key, &files.key).unwrap();
    server.running().reload_tls().unwrap();
    let new_der = slot.certificate_der();
    assert_ne!(old_der, new_der);
    let seen = peer_certificate(&ca, &format!("https://{}", server.tls_addr())).await;
    assert_eq!(
        seen, new_der,
        "a new connection is answered with the renewed certificate"
    );

    // The stream opened before the reload still carries pokes: a reservation arrives at once
    // (polling is a minute away).
    let portal = Portal::login(&server).await;
    let created = portal
        .reserve(server.matter_of(clerk.unit_id.unwrap()).await, citizen(72))
        .await;
    eventually(
        Duration::from_secs(5),
        "the reservation arrives over the old stream",
        || async { desk.item(created.id).await.unwrap().is_some() },
    )
    .await;
    assert!(desk.status().borrow().live);

    // A key that belongs to another certificate: refused by name, the renewed one stays.
    let other = ca.issue(dir.path(), "other", Flaw::None);
    std::fs::copy(&other.key, &files.key).unwrap();
    let err = server.running().reload_tls().unwrap_err();
    assert!(err.to_string().contains("不匹配"), "{err}");
    assert_eq!(slot.certificate_der(), new_der);
    assert_eq!(
        peer_certificate(&ca, &format!("https://{}", server.tls_addr())).await,
        new_der
    );
    sync.stop().await;
    desk.close().await;
}

/// The certificate a fresh HTTPS connection to `url` is answered with.
async fn peer_certificate(ca: &TestCa, url: &str) -> Vec<u8> {
    let resp = ca
        .client()
        .get(format!("{url}{}", shimin_protocol::paths::HEALTH))
        .send()
        .await
        .unwrap();
    shimin_e2e::pki::peer_certificate(&resp)
}

//! The `shimin-server` binary as a county's IT runs it (issue 15): from a configuration file,
//! serving HTTPS, reloading its certificate on SIGHUP, stopping cleanly on SIGTERM (systemd),
//! metrics for Prometheus; and every bad configuration stops it with the problem named before
//! anything listens.

use crate::support::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shimin_e2e::pki::{Flaw, ServerCert, TestCa};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn server(config: &Path) -> Command {
    let mut cmd = Command::new(server_binary());
    cmd.arg("--config").arg(config).env("RUST_LOG", "info");
    cmd
}

fn toml_path(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// A configuration serving plain HTTP on `plain`, HTTPS on `tls` with `cert`, metrics on
/// `metrics`, its data in `data`.
fn config_text(data: &Path, plain: u16, tls: u16, metrics: u16, cert: &ServerCert) -> String {
    format!(
        "data_dir = {}\nlisten = [\"127.0.0.1:{plain}\"]\nlisten_tls = [\"127.0.0.1:{tls}\"]\n\
         metrics_listen = \"127.0.0.1:{metrics}\"\n\n[tls]\ncert = {}\nkey = {}\n",
        toml_path(data),
        toml_path(&cert.cert),
        toml_path(&cert.key)
    )
}

/// Runs a command that must end by itself within a minute.
fn finish(mut cmd: Command) -> Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > until {
            let _ = child.kill();
            panic!("the server did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn refused(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[test]
fn bad_configurations_stop_the_server_before_anything_listens_and_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("测试县 CA");
    let good = ca.issue(dir.path(), "good", Flaw::None);
    let other = ca.issue(dir.path(), "other", Flaw::None);
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let data = dir.path().join("data");
    let (plain, tls, metrics) = (free_port(), free_port(), free_port());
    let with = |cert: &Path, key: &Path| {
        config_text(
            &data,
            plain,
            tls,
            metrics,
            &ServerCert {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "missing certificate",
            with(&dir.path().join("nope.crt"), &good.key),
            "无法读取证书文件",
        ),
        (
            "unreadable certificate (a directory)",
            with(dir.path(), &good.key),
            "无法读取证书文件",
        ),
        (
            "certificate file without a certificate",
            with(&not_pem, &good.key),
            "中没有证书",
        ),
        (
            "missing key",
            with(&good.cert, &dir.path().join("nope.key")),
            "无法读取私钥文件",
        ),
        (
            "key of another certificate",
            with(&good.cert, &other.key),
            "不匹配",
        ),
        (
            "unknown key",
            format!("listn = [\"127.0.0.1:1\"]\n{}", with(&good.cert, &good.key)),
            "unknown field",
        ),
        (
            "bad address",
            with(&good.cert, &good.key).replace(&format!("127.0.0.1:{plain}"), "127.0.0.1:99999"),
            "invalid socket address",
        ),
        (
            "listen_tls without a certificate",
            format!(
                "data_dir = {}\nlisten = [\"127.0.0.1:{plain}\"]\nlisten_tls = [\"127.0.0.1:{tls}\"]\n",
                toml_path(&data)
            ),
            "listen_tls 需要",
        ),
    ];
    for (what, text, expected) in cases {
        let file = dir.path().join("server.toml");
        std::fs::write(&file, &text).unwrap();
        let out = finish(server(&file));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: started anyway");
        assert!(
            stderr.contains(expected),
            "{what}: the message names the problem ({expected}): {stderr}"
        );
        assert!(
            refused(plain) && refused(tls) && refused(metrics),
            "{what}: something listens"
        );
        let mut check = server(&file);
        check.arg("check-config");
        let out = finish(check);
        assert!(!out.status.success(), "{what}: check-config passed");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{what}: check-config"
        );
    }
    assert!(
        !data.join("shimin.db").exists(),
        "no database was created for a bad configuration"
    );

    let file = dir.path().join("server.toml");
    std::fs::write(&file, with(&good.cert, &good.key)).unwrap();
    let mut check = server(&file);
    check.arg("check-config");
    let out = finish(check);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration OK"));
}

#[tokio::test]
async fn the_binary_serves_https_from_its_config_reloads_on_sighup_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("测试县 CA");
    let files = ca.issue(dir.path(), "server", Flaw::None);
    let (plain, tls, metrics) = (free_port(), free_port(), free_port());
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        config_text(&dir.path().join("data"), plain, tls, metrics, &files),
    )
    .unwrap();
    let mut child = tokio::process::Command::from(server(&file))
        .arg("--demo")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let https = ca.client();
    let health = format!("https://127.0.0.1:{tls}{}", shimin_protocol::paths::HEALTH);
    let peer = shimin_e2e::pki::peer_certificate;
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let first = loop {
        match https.get(&health).send().await {
            Ok(r) if r.status().is_success() => break Some(peer(&r)),
            _ if std::time::Instant::now() < until => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("the server does not answer health over HTTPS: {other:?}"),
        }
    };

    // Renewed files, then SIGHUP: new connections get the renewed certificate.
    let renewed = ca.issue(dir.path(), "renewed", Flaw::None);
    std::fs::copy(&renewed.cert, &files.cert).unwrap();
    std::fs::copy(&renewed.key, &files.key).unwrap();
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGHUP).unwrap();
    eventually(
        Duration::from_secs(10),
        "the renewed certificate is served",
        || {
            // A client of its own: no pooled connection from before the reload.
            let (health, fresh, first) = (health.clone(), ca.client(), first.clone());
            async move {
                match fresh.get(&health).send().await {
                    Ok(r) => Some(peer(&r)) != first,
                    Err(_) => false,
                }
            }
        },
    )
    .await;

    let scrape = reqwest::Client::builder().no_proxy().build().unwrap();
    let text = scrape
        .get(format!("http://127.0.0.1:{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in [
        "shimin_http_requests_total{route=\"health\",status=\"200\"}",
        "shimin_tls_reloads_total{outcome=\"ok\"} 1",
        "shimin_live_streams ",
        "shimin_database_errors_total 0",
        "shimin_request_duration_seconds",
        "shimin_sweep_runs",
    ] {
        assert!(text.contains(family), "metrics carry {family}:\n{text}");
    }
    // Metrics are not on the desks' addresses.
    let resp = https
        .get(format!("https://127.0.0.1:{tls}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "a clean stop: {status:?}");
    assert!(refused(plain) && refused(tls) && refused(metrics));
}

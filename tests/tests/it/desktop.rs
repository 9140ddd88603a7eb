//! The headless desktop session of the desk app's end-to-end tests, tested on its own: real
//! Xvfb, session bus, dunst and gnome-keyring, driven with the command-line tools.

use shimin_e2e::desktop::{tool, DesktopSession, Notification};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Sends a Notify call from inside `session` (as an app would), via `gdbus`.
fn notify(session: &DesktopSession, app: &str, summary: &str, body: &str, urgency: u8, expire_ms: i32) {
    let out = session
        .command("gdbus")
        .args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.Notifications.Notify",
            app,
            "0",
            "",
            summary,
            body,
            r#"["default", "打开"]"#,
            &format!(r#"{{"urgency": <byte {urgency}>, "category": <"im.received">}}"#),
            &expire_ms.to_string(),
        ])
        .output()
        .expect("gdbus runs");
    assert!(
        out.status.success(),
        "Notify via gdbus failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_ok(mut cmd: Command, stdin: Option<&str>) -> String {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("command starts");
    if let Some(text) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn store_secret(session: &DesktopSession, service: &str, user: &str, secret: &str) {
    let mut cmd = session.command("secret-tool");
    cmd.args([
        "store",
        "--label",
        &format!("{service} {user}"),
        "service",
        service,
        "user",
        user,
    ]);
    run_ok(cmd, Some(secret));
}

fn lookup_secret(session: &DesktopSession, service: &str, user: &str) -> String {
    let mut cmd = session.command("secret-tool");
    cmd.args(["lookup", "service", service, "user", user]);
    run_ok(cmd, None)
}

/// Width and height from a PNG file's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn notifications_are_recorded_and_delivered_to_dunst() {
    let session = DesktopSession::start();
    notify(
        &session,
        "市民网窗口端",
        "新预约 #7",
        "张三 · 户籍迁移\n第二行 \"引号\"",
        2,
        0,
    );

    let n: Notification = session
        .wait_for_notification(|n| n.summary == "新预约 #7", Duration::from_secs(5))
        .await;
    assert_eq!(n.app_name, "市民网窗口端");
    assert_eq!(n.body, "张三 · 户籍迁移\n第二行 \"引号\"");
    assert_eq!(n.urgency(), Some(2));
    assert_eq!(n.hints["category"].as_str(), Some("im.received"));
    assert_eq!(n.actions, vec![("default".to_string(), "打开".to_string())]);
    assert_eq!(n.expire_timeout, 0);
    assert_eq!(session.notifications().len(), 1);

    // Dunst shows it (critical and never expiring: it stays), and on the screen.
    assert_eq!(session.dunst_displayed(), 1);
    let shot = session.home().join("screen.png");
    session.screenshot(&shot);
    assert_eq!(png_size(&shot), shimin_e2e::desktop::SCREEN);

    // Closed, it goes to dunst's history with its texts.
    session.dunstctl(&["close-all"]);
    assert_eq!(session.dunst_displayed(), 0);
    let history = session.dunst_history();
    assert!(
        history.iter().any(|(app, summary, body)| app == "市民网窗口端"
            && summary == "新预约 #7"
            && body.starts_with("张三")),
        "dunst history: {history:?}"
    );
}

#[tokio::test]
async fn the_login_keyring_is_unlocked_and_searchable() {
    let session = DesktopSession::start();
    assert!(session.secret_items("shimin-desk-test").is_empty());

    store_secret(&session, "shimin-desk-test", "gongan.zhangwei", "cache-key-0123");
    store_secret(&session, "shimin-desk-test", "minzheng.li", "cache-key-4567");
    assert_eq!(
        lookup_secret(&session, "shimin-desk-test", "gongan.zhangwei"),
        "cache-key-0123"
    );

    let mut items = session.secret_items("shimin-desk-test");
    items.sort_by(|a, b| a.attributes["user"].cmp(&b.attributes["user"]));
    assert_eq!(items.len(), 2, "{items:#?}");
    assert_eq!(items[0].attributes["user"], "gongan.zhangwei");
    assert_eq!(items[0].attributes["service"], "shimin-desk-test");
    assert_eq!(items[0].secret, "cache-key-0123");
    assert_eq!(items[0].label, "shimin-desk-test gongan.zhangwei");
    assert_eq!(items[1].secret, "cache-key-4567");
    assert!(session.secret_items("another-service").is_empty());

    // The keyring lives in the session's own home.
    assert!(session
        .home()
        .join(".local/share/keyrings/login.keyring")
        .exists());
}

#[tokio::test]
async fn two_sessions_side_by_side_do_not_interfere() {
    let a = DesktopSession::start();
    let b = DesktopSession::start();
    assert_ne!(a.display(), b.display());
    assert_ne!(a.bus_address(), b.bus_address());
    assert_ne!(a.home(), b.home());

    notify(&a, "A", "only in A", "", 1, 0);
    store_secret(&b, "shimin-desk-test", "b-user", "only in B");

    a.wait_for_notification(|n| n.summary == "only in A", Duration::from_secs(5))
        .await;
    assert_eq!(a.dunst_displayed(), 1);
    assert!(b.notifications().is_empty());
    assert_eq!(b.dunst_displayed(), 0);
    assert_eq!(b.secret_items("shimin-desk-test").len(), 1);
    assert!(a.secret_items("shimin-desk-test").is_empty());

    // A goes away entirely (its X socket too); B goes on.
    let socket = Path::new("/tmp/.X11-unix").join(format!("X{}", &a.display()[1..]));
    let a_home = a.home().to_path_buf();
    assert!(socket.exists(), "{socket:?}");
    drop(a);
    assert!(!socket.exists(), "A's X server is still there");
    assert!(!a_home.exists());
    notify(&b, "B", "B after A", "", 1, 0);
    b.wait_for_notification(|n| n.summary == "B after A", Duration::from_secs(5))
        .await;
    assert_eq!(b.notifications().len(), 1);
}

#[test]
fn missing_tools_name_their_package() {
    let err = std::panic::catch_unwind(|| tool("no-such-tool-xyz")).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("no-such-tool-xyz") && msg.contains("scripts/setup.sh"),
        "{msg}"
    );
    // And a present one resolves to an absolute path.
    assert!(tool("Xvfb").is_absolute());
}

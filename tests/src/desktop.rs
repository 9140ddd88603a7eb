//! A headless desktop session for end-to-end tests of the desk app's real window, started from
//! Rust with no wrapper script: it works under plain `cargo test`, as root, on a machine with no
//! X server or D-Bus running.
//!
//! [`DesktopSession::start`] brings up, each in its own process group and all killed on drop:
//! - a fresh temporary `HOME` and `XDG_{DATA,CONFIG,CACHE,STATE}_HOME`, `XDG_RUNTIME_DIR` (0700);
//! - `Xvfb` on a free display (`-displayfd`), screen 1920x1080x24 (room for every window size tested);
//! - a private session bus (`dbus-daemon` with its own configuration: no service activation, so
//!   every service on the bus is one started here and nothing is spawned behind the test's back);
//! - `dbus-monitor` recording every `org.freedesktop.Notifications.Notify` call with the id
//!   the server gave it, and every `CloseNotification` call ([`DesktopSession::notifications`],
//!   [`DesktopSession::wait_for_notification`], [`DesktopSession::closed_notifications`]);
//! - `gnome-keyring-daemon` (Secret Service) with the login keyring created and unlocked;
//! - `dunst`, the notification server, drawing on the X display.
//!
//! [`WebDriver::start`] then runs `tauri-driver` (with `WebKitWebDriver`) in that session and
//! opens a WebDriver session on the app binary, which launches the app's window.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The password of the session's login keyring (it unlocks it).
pub const KEYRING_PASSWORD: &str = "shimin-desk-test";

/// How long each piece of the session may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a new WebDriver session (the app starting and showing its web view) may take.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);

/// The virtual screen's size: room for every window size the window tests set.
pub const SCREEN: (u32, u32) = (1920, 1080);

/// The interface of the signal that tells the notification recorder is listening.
const PROBE_INTERFACE: &str = "org.shimin.DesktopSessionProbe";

/// The Debian package providing each tool the session runs, for the message when one is missing.
const TOOLS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("dbus-daemon", "dbus-daemon"),
    ("dbus-send", "dbus-bin"),
    ("dbus-monitor", "dbus-bin"),
    ("gnome-keyring-daemon", "gnome-keyring"),
    ("dunst", "dunst"),
    ("dunstctl", "dunst"),
    ("secret-tool", "libsecret-tools"),
    ("import", "imagemagick"),
    ("WebKitWebDriver", "webkit2gtk-driver"),
    ("gdbus", "libglib2.0-bin"),
    ("notify-send", "libnotify-bin"),
];

/// The path of `name` on `PATH`, or a panic that names the Debian package providing it.
pub fn tool(name: &str) -> PathBuf {
    find_on_path(name).unwrap_or_else(|| {
        let install = match TOOLS.iter().find(|(t, _)| *t == name) {
            Some((_, package)) => format!("install the Debian package `{package}`"),
            None => "install it".to_string(),
        };
        panic!(
            "desktop test session: `{name}` is not on PATH; {install} (scripts/setup.sh installs \
             everything the desktop tests need)"
        )
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A child process leading its own process group; on drop the whole group gets SIGTERM, then
/// SIGKILL if the leader has not exited within a second.
#[derive(Debug)]
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` in a new process group; its stderr (and stdout unless set) go to `log`.
    fn spawn(name: &str, mut cmd: Command, log: PathBuf, stdout_set: bool) -> Proc {
        let file = File::create(&log).expect("log file");
        cmd.process_group(0).stderr(file.try_clone().expect("log file"));
        if !stdout_set {
            cmd.stdout(file);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("desktop test session: cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Panics (with the end of its log) if the process has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "desktop test session: {} exited ({status}) while starting; its log:\n{}",
                self.name,
                log_tail(&self.log)
            );
        }
    }

    fn pgid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits i32"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pgid = self.pgid();
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = killpg(pgid, Signal::SIGTERM);
            let until = Instant::now() + Duration::from_secs(1);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // The rest of the group (children the leader started), and the leader if it hung on.
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// The last 4 KiB of a log file, for panic messages.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(4096);
    String::from_utf8_lossy(&text[start..]).into_owned()
}

/// Polls `ready` until it holds, checking that `proc` still runs.
fn wait_ready(proc: &mut Proc, mut ready: impl FnMut() -> bool) {
    let until = Instant::now() + START_TIMEOUT;
    while !ready() {
        proc.assert_running();
        assert!(
            Instant::now() < until,
            "desktop test session: {} not ready within {START_TIMEOUT:?}; its log:\n{}",
            proc.name,
            log_tail(&proc.log)
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A watchdog for the case where the test process dies without running destructors (killed by
/// a timeout, SIGKILL, abort): it is told the process group of every child as it is started and
/// kills them all (and removes the session's files) when its stdin, held only by this process,
/// closes without "exit".
#[derive(Debug)]
struct Guard {
    child: Child,
    stdin: std::process::ChildStdin,
}

impl Guard {
    // dash's kill takes negative process-group ids directly (no "--").
    const SCRIPT: &str = r#"groups=""
while read -r line; do
  [ "$line" = exit ] && exit 0
  groups="$groups -$line"
done
kill -TERM $groups 2>/dev/null
sleep 1
kill -KILL $groups 2>/dev/null
rm -rf "$1"
exit 0"#;

    /// Starts the watchdog; it also removes `root` (the session's temporary directory).
    fn start(root: &Path) -> Guard {
        let mut child = Command::new(tool("sh"))
            .args(["-c", Self::SCRIPT, "guard"])
            .arg(root)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the watchdog shell starts");
        let stdin = child.stdin.take().expect("stdin is piped");
        Guard { child, stdin }
    }

    fn watch(&mut self, proc: &Proc) {
        let _ = writeln!(self.stdin, "{}", proc.child.id());
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "exit");
        let _ = self.child.wait();
    }
}

/// Reads the first line a child prints on stdout (then keeps draining it in the background),
/// waiting at most `timeout`.
fn first_line(proc: &mut Proc, timeout: Duration) -> String {
    let stdout = proc.child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match rx.recv_timeout(timeout) {
        Ok(line) if !line.trim().is_empty() => line.trim().to_string(),
        _ => {
            proc.assert_running();
            panic!(
                "desktop test session: {} printed nothing within {timeout:?}; its log:\n{}",
                proc.name,
                log_tail(&proc.log)
            )
        }
    }
}

/// One `org.freedesktop.Notifications.Notify` call seen on the session bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// When the recorder read the call.
    pub seen: Instant,
    /// Unique bus name of the caller.
    pub sender: String,
    /// The call's serial (its reply names it).
    pub serial: u32,
    /// The notification id the server answered with (once its reply was read).
    pub id: Option<u32>,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    /// (action key, label) pairs.
    pub actions: Vec<(String, String)>,
    pub hints: BTreeMap<String, DbusValue>,
    /// Milliseconds; -1: the server's default, 0: never expires.
    pub expire_timeout: i32,
}

impl Notification {
    /// The `urgency` hint: 0 low, 1 normal, 2 critical.
    pub fn urgency(&self) -> Option<u8> {
        match self.hints.get("urgency") {
            Some(DbusValue::Byte(b)) => Some(*b),
            _ => None,
        }
    }
}

/// A D-Bus value as `dbus-monitor` prints it (variants are unwrapped).
#[derive(Debug, Clone, PartialEq)]
pub enum DbusValue {
    Str(String),
    Bool(bool),
    Byte(u8),
    Int(i64),
    UInt(u64),
    Double(f64),
    Array(Vec<DbusValue>),
    Dict(Vec<(DbusValue, DbusValue)>),
    Struct(Vec<DbusValue>),
    /// Anything else (object paths, signatures, byte arrays, file descriptors), as printed.
    Other(String),
}

impl DbusValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            DbusValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A dict entry while parsing: arrays of them become [`DbusValue::Dict`].
enum Parsed {
    Value(DbusValue),
    Entry(DbusValue, DbusValue),
    Close,
}

/// Parses one value starting at `line`, reading continuation lines from `rest`.
fn parse_value(line: &str, rest: &mut dyn Iterator<Item = String>) -> Parsed {
    let s = line.trim();
    if let Some(inner) = s.strip_prefix("variant ") {
        return parse_value(inner, rest);
    }
    if matches!(s, "]" | ")" | "}") {
        return Parsed::Close;
    }
    if let Some(v) = s.strip_prefix("string \"") {
        return Parsed::Value(DbusValue::Str(v.strip_suffix('"').unwrap_or(v).to_string()));
    }
    if s == "array [" || s == "struct {" {
        let mut items = Vec::new();
        let mut entries = Vec::new();
        while let Some(next) = rest.next() {
            match parse_value(&next, rest) {
                Parsed::Close => break,
                Parsed::Value(v) => items.push(v),
                Parsed::Entry(k, v) => entries.push((k, v)),
            }
        }
        return Parsed::Value(if s == "struct {" {
            DbusValue::Struct(items)
        } else if !entries.is_empty() {
            DbusValue::Dict(entries)
        } else {
            DbusValue::Array(items)
        });
    }
    if s == "dict entry(" {
        let take = |rest: &mut dyn Iterator<Item = String>| match rest.next() {
            Some(l) => match parse_value(&l, rest) {
                Parsed::Value(v) => v,
                _ => DbusValue::Other(l),
            },
            None => DbusValue::Other(String::new()),
        };
        let key = take(rest);
        let value = take(rest);
        // The closing ")".
        let _ = rest.next();
        return Parsed::Entry(key, value);
    }
    if s.starts_with("array of bytes") {
        let mut raw = s.to_string();
        if s.ends_with('[') {
            for next in &mut *rest {
                raw.push('\n');
                raw.push_str(&next);
                if next.trim_end().ends_with(']') {
                    break;
                }
            }
        }
        return Parsed::Value(DbusValue::Other(raw));
    }
    let (ty, val) = s.split_once(' ').unwrap_or((s, ""));
    let v = match ty {
        "boolean" => DbusValue::Bool(val == "true"),
        "byte" => val
            .parse()
            .map(DbusValue::Byte)
            .unwrap_or(DbusValue::Other(s.into())),
        "int16" | "int32" | "int64" => val
            .parse()
            .map(DbusValue::Int)
            .unwrap_or(DbusValue::Other(s.into())),
        "uint16" | "uint32" | "uint64" => val
            .parse()
            .map(DbusValue::UInt)
            .unwrap_or(DbusValue::Other(s.into())),
        "double" => val
            .parse()
            .map(DbusValue::Double)
            .unwrap_or(DbusValue::Other(s.into())),
        _ => DbusValue::Other(s.to_string()),
    };
    Parsed::Value(v)
}

/// Whether a logical line opens a string value that `dbus-monitor` continues on the next line
/// (it prints string contents raw, newlines included).
fn opens_string(line: &str) -> bool {
    let mut s = line.trim_start();
    if let Some(inner) = s.strip_prefix("variant ") {
        s = inner.trim_start();
    }
    for prefix in ["string \"", "object path \"", "signature \"", "array of bytes \""] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return !rest.ends_with('"');
        }
    }
    false
}

/// The change in nesting depth a logical line brings.
fn depth_change(line: &str) -> i32 {
    let s = line.trim();
    if matches!(s, "]" | ")" | "}") {
        -1
    } else if s.ends_with('[') || s.ends_with('(') || s.ends_with('{') {
        1
    } else {
        0
    }
}

/// Reads `dbus-monitor`'s text output: records the Notify calls and notes the probe signal.
///
/// Limitation: a string argument containing a line that itself ends with `"` is cut there
/// (`dbus-monitor` prints strings unescaped).
#[derive(Debug, Default)]
struct Recorder {
    notifications: Vec<Notification>,
    /// The ids of `CloseNotification` calls, in order.
    closes: Vec<u32>,
    probes: usize,
}

/// What the recorder is reading: a Notify call, a CloseNotification call, or the server's
/// reply to a call (sender, destination and reply serial from the header).
#[derive(Debug)]
enum Reading {
    Notify(String, Instant),
    Close,
    Reply { to: String, serial: u32 },
}

fn header_field<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(|c: char| c.is_whitespace() || c == ';')
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
}

fn record(stdout: impl Read, state: Arc<Mutex<Recorder>>) {
    let mut reader = BufReader::new(stdout);
    // The current message: what it is and its logical lines, when it is one we record.
    let mut header: Option<Reading> = None;
    let mut lines: Vec<String> = Vec::new();
    let mut open_string: Option<String> = None;
    let mut depth = 0;
    let mut args = 0;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let raw = String::from_utf8_lossy(&buf);
        let raw = raw.strip_suffix('\n').unwrap_or(&raw);
        let logical = if let Some(mut s) = open_string.take() {
            s.push('\n');
            s.push_str(raw);
            if !raw.ends_with('"') {
                open_string = Some(s);
                continue;
            }
            s
        } else if !raw.starts_with(char::is_whitespace) {
            // A message header.
            header = None;
            lines.clear();
            depth = 0;
            args = 0;
            if raw.starts_with("signal ") && raw.contains(&format!("interface={PROBE_INTERFACE};")) {
                state.lock().unwrap().probes += 1;
            } else if raw.starts_with("method call ")
                && raw.contains("interface=org.freedesktop.Notifications;")
                && raw.ends_with("member=Notify")
            {
                header = Some(Reading::Notify(raw.to_string(), Instant::now()));
            } else if raw.starts_with("method call ")
                && raw.contains("interface=org.freedesktop.Notifications;")
                && raw.ends_with("member=CloseNotification")
            {
                header = Some(Reading::Close);
            } else if raw.starts_with("method return ") {
                let to = header_field(raw, "destination").unwrap_or_default().to_string();
                let serial = header_field(raw, "reply_serial").and_then(|s| s.parse().ok());
                header = serial.map(|serial| Reading::Reply { to, serial });
            }
            continue;
        } else if opens_string(raw) {
            open_string = Some(raw.to_string());
            continue;
        } else {
            raw.to_string()
        };
        let Some(reading) = header.as_ref() else {
            continue;
        };
        // One-argument messages: the id closed, or the id a Notify call got.
        let id = logical
            .trim()
            .strip_prefix("uint32 ")
            .and_then(|n| n.parse::<u32>().ok());
        match reading {
            Reading::Close => {
                if let Some(id) = id {
                    state.lock().unwrap().closes.push(id);
                }
                header = None;
                continue;
            }
            Reading::Reply { to, serial } => {
                if let Some(id) = id {
                    let mut st = state.lock().unwrap();
                    if let Some(n) = st
                        .notifications
                        .iter_mut()
                        .rev()
                        .find(|n| n.serial == *serial && n.sender == *to && n.id.is_none())
                    {
                        n.id = Some(id);
                    }
                }
                header = None;
                continue;
            }
            Reading::Notify(..) => {}
        }
        depth += depth_change(&logical);
        lines.push(logical);
        if depth == 0 {
            args += 1;
        }
        if args == 8 {
            let Some(Reading::Notify(head, seen)) = header.take() else {
                unreachable!("a Notify header")
            };
            if let Some(n) = parse_notify(&head, seen, std::mem::take(&mut lines)) {
                state.lock().unwrap().notifications.push(n);
            }
        }
    }
}

fn parse_notify(header: &str, seen: Instant, lines: Vec<String>) -> Option<Notification> {
    let sender = header_field(header, "sender").unwrap_or_default().to_string();
    let serial = header_field(header, "serial")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut it = lines.into_iter();
    let mut values = Vec::new();
    while let Some(line) = it.next() {
        if let Parsed::Value(v) = parse_value(&line, &mut it) {
            values.push(v);
        }
    }
    let [app_name, replaces_id, app_icon, summary, body, actions, hints, expire] =
        <[DbusValue; 8]>::try_from(values).ok()?;
    let string = |v: DbusValue| match v {
        DbusValue::Str(s) => s,
        other => format!("{other:?}"),
    };
    let actions = match actions {
        DbusValue::Array(a) => a
            .chunks(2)
            .map(|p| {
                let key = p[0].as_str().unwrap_or_default().to_string();
                let label = p
                    .get(1)
                    .and_then(DbusValue::as_str)
                    .unwrap_or_default()
                    .to_string();
                (key, label)
            })
            .collect(),
        _ => Vec::new(),
    };
    let hints = match hints {
        DbusValue::Dict(entries) => entries.into_iter().map(|(k, v)| (string(k), v)).collect(),
        _ => BTreeMap::new(),
    };
    Some(Notification {
        seen,
        sender,
        serial,
        id: None,
        app_name: string(app_name),
        replaces_id: match replaces_id {
            DbusValue::UInt(n) => u32::try_from(n).unwrap_or(u32::MAX),
            _ => 0,
        },
        app_icon: string(app_icon),
        summary: string(summary),
        body: string(body),
        actions,
        hints,
        expire_timeout: match expire {
            DbusValue::Int(n) => i32::try_from(n).unwrap_or(-1),
            _ => -1,
        },
    })
}

/// An item of the session's Secret Service, as `secret-tool search` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretItem {
    /// Item path inside the collection, e.g. `/1`.
    pub path: String,
    pub label: String,
    pub secret: String,
    pub schema: String,
    pub attributes: BTreeMap<String, String>,
}

fn parse_secret_items(out: &str) -> Vec<SecretItem> {
    let mut items: Vec<SecretItem> = Vec::new();
    for line in out.lines() {
        if let Some(path) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            items.push(SecretItem {
                path: path.to_string(),
                label: String::new(),
                secret: String::new(),
                schema: String::new(),
                attributes: BTreeMap::new(),
            });
            continue;
        }
        let (Some(item), Some((key, value))) = (items.last_mut(), line.split_once(" = ")) else {
            continue;
        };
        match key {
            "label" => item.label = value.to_string(),
            "secret" => item.secret = value.to_string(),
            "schema" => item.schema = value.to_string(),
            _ => {
                if let Some(attr) = key.strip_prefix("attribute.") {
                    item.attributes.insert(attr.to_string(), value.to_string());
                }
            }
        }
    }
    items
}

/// A headless desktop session: X display, session bus, keyring, notification server, all private
/// to one test. Everything it started is killed, and its temporary home deleted, on drop.
#[derive(Debug)]
pub struct DesktopSession {
    /// Started processes, in start order (stopped in reverse).
    procs: Vec<Proc>,
    guard: Arc<Mutex<Guard>>,
    display: String,
    bus_address: String,
    recorder: Arc<Mutex<Recorder>>,
    home: PathBuf,
    runtime_dir: PathBuf,
    logs: PathBuf,
    root: TempDir,
}

impl DesktopSession {
    /// Starts a fresh session (about a second). Panics with a specific message when a tool is
    /// missing or a piece does not come up.
    pub fn start() -> DesktopSession {
        let root = tempfile::Builder::new()
            .prefix("shimin-desk-")
            .tempdir()
            .expect("temporary directory");
        let home = root.path().join("home");
        let runtime_dir = root.path().join("runtime");
        let logs = root.path().join("logs");
        for d in [".local/share", ".local/state", ".config", ".cache"] {
            std::fs::create_dir_all(home.join(d)).expect("home directories");
        }
        std::fs::create_dir_all(&logs).expect("log directory");
        std::fs::create_dir(&runtime_dir).expect("runtime directory");
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700))
            .expect("runtime directory mode");

        let mut session = DesktopSession {
            procs: Vec::new(),
            guard: Arc::new(Mutex::new(Guard::start(root.path()))),
            display: String::new(),
            bus_address: String::new(),
            recorder: Arc::default(),
            home,
            runtime_dir,
            logs,
            root,
        };

        // The X server: it writes its display number to fd 1 once it accepts connections.
        let mut cmd = session.base_command("Xvfb");
        cmd.args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            &format!("{}x{}x24", SCREEN.0, SCREEN.1),
            "-nolisten",
            "tcp",
            "-noreset",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
        let mut xvfb = session.spawn("Xvfb", cmd, true);
        let display = first_line(&mut xvfb, START_TIMEOUT);
        session.procs.push(xvfb);
        session.display = format!(":{display}");

        // The session bus, with a configuration of its own (no service activation).
        let socket = session.runtime_dir.join("bus");
        let config = session.root.path().join("session-bus.conf");
        std::fs::write(&config, bus_config(&socket)).expect("bus configuration");
        let mut cmd = session.base_command("dbus-daemon");
        cmd.arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut bus = session.spawn("dbus-daemon", cmd, true);
        let address = first_line(&mut bus, START_TIMEOUT);
        session.procs.push(bus);
        session.bus_address = address;

        // The recorder of Notify calls; ready once it sees its own probe signal.
        let mut cmd = session.command("dbus-monitor");
        cmd.args([
            "--session".to_string(),
            "type='method_call',interface='org.freedesktop.Notifications',member='Notify'".to_string(),
            "type='method_call',interface='org.freedesktop.Notifications',member='CloseNotification'"
                .to_string(),
            // The server's replies: the ids it gave the notifications.
            "type='method_return',sender='org.freedesktop.Notifications'".to_string(),
            format!("type='signal',interface='{PROBE_INTERFACE}'"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
        let mut monitor = session.spawn("dbus-monitor", cmd, true);
        let stdout = monitor.child.stdout.take().expect("stdout is piped");
        let state = session.recorder.clone();
        std::thread::spawn(move || record(stdout, state));
        wait_ready(&mut monitor, || {
            let probe = session
                .command("dbus-send")
                .args([
                    "--session",
                    "--type=signal",
                    "/",
                    &format!("{PROBE_INTERFACE}.Ready"),
                ])
                .status();
            assert!(
                probe.is_ok_and(|s| s.success()),
                "dbus-send of the probe signal fails"
            );
            session.recorder.lock().unwrap().probes > 0
        });
        session.procs.push(monitor);

        // The Secret Service: the login keyring is created (fresh home) and unlocked with the
        // password read from stdin.
        let mut cmd = session.command("gnome-keyring-daemon");
        cmd.args(["--foreground", "--unlock", "--components=secrets"])
            .env_remove("DISPLAY")
            .stdin(Stdio::piped());
        let mut keyring = session.spawn("gnome-keyring-daemon", cmd, false);
        {
            let mut stdin = keyring.child.stdin.take().expect("stdin is piped");
            stdin
                .write_all(KEYRING_PASSWORD.as_bytes())
                .expect("keyring password to stdin");
        }
        wait_ready(&mut keyring, || session.name_has_owner("org.freedesktop.secrets"));
        session.procs.push(keyring);

        // The notification server, on the X display.
        let mut cmd = session.command("dunst");
        cmd.stdin(Stdio::null());
        let mut dunst = session.spawn("dunst", cmd, false);
        wait_ready(&mut dunst, || {
            session.name_has_owner("org.freedesktop.Notifications")
        });
        session.procs.push(dunst);
        session
    }

    /// The X display, e.g. `:3`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The session bus address.
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// The session's (temporary) home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Where the session's daemons write their logs (`<name>.log`).
    pub fn log_dir(&self) -> &Path {
        &self.logs
    }

    /// The environment an app in this session needs. (Commands from [`DesktopSession::command`]
    /// also drop `WAYLAND_DISPLAY` and other desktop variables the test process may carry.)
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let home = |sub: &str| self.home.join(sub).display().to_string();
        vec![
            ("DISPLAY", self.display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus_address.clone()),
            ("HOME", self.home.display().to_string()),
            ("XDG_DATA_HOME", home(".local/share")),
            ("XDG_STATE_HOME", home(".local/state")),
            ("XDG_CONFIG_HOME", home(".config")),
            ("XDG_CACHE_HOME", home(".cache")),
            ("XDG_RUNTIME_DIR", self.runtime_dir.display().to_string()),
            ("XDG_SESSION_TYPE", "x11".to_string()),
            ("GDK_BACKEND", "x11".to_string()),
            // No accessibility bus in this session: do not let GTK look for one.
            ("NO_AT_BRIDGE", "1".to_string()),
        ]
    }

    /// A command for `program` (a bare name is looked up on PATH, with a clear panic when it is
    /// missing) running in this session: its environment is [`DesktopSession::env`].
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.base_command(program);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// A command without the session's environment, but clean of the test process's desktop.
    fn base_command(&self, program: impl AsRef<OsStr>) -> Command {
        let program = program.as_ref();
        let program = match program.to_str() {
            Some(name) if !name.contains('/') => tool(name),
            _ => PathBuf::from(program),
        };
        let mut cmd = Command::new(program);
        for var in [
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "GNOME_KEYRING_CONTROL",
            "SSH_AUTH_SOCK",
            "XAUTHORITY",
            "DESKTOP_SESSION",
            "XDG_CURRENT_DESKTOP",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    fn spawn(&self, name: &str, cmd: Command, stdout_set: bool) -> Proc {
        let proc = Proc::spawn(name, cmd, self.logs.join(format!("{name}.log")), stdout_set);
        self.guard.lock().unwrap().watch(&proc);
        proc
    }

    /// Whether a service owns `name` on the session bus.
    pub fn name_has_owner(&self, name: &str) -> bool {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .expect("dbus-send runs");
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// Every Notify call seen so far, in order.
    pub fn notifications(&self) -> Vec<Notification> {
        self.recorder.lock().unwrap().notifications.clone()
    }

    /// The ids of every `CloseNotification` call seen so far, in order.
    pub fn closed_notifications(&self) -> Vec<u32> {
        self.recorder.lock().unwrap().closes.clone()
    }

    /// The first Notify call (seen so far or within `timeout`) for which `pred` holds; panics
    /// with the calls that were seen when there is none.
    pub async fn wait_for_notification(
        &self,
        pred: impl Fn(&Notification) -> bool,
        timeout: Duration,
    ) -> Notification {
        let until = Instant::now() + timeout;
        loop {
            let seen = self.notifications();
            if let Some(n) = seen.iter().find(|n| pred(n)) {
                return n.clone();
            }
            assert!(
                Instant::now() < until,
                "no matching notification within {timeout:?}; seen: {seen:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs `dunstctl` with `args` in this session and returns its stdout.
    pub fn dunstctl(&self, args: &[&str]) -> String {
        let out = self
            .command("dunstctl")
            .args(args)
            .output()
            .expect("dunstctl runs");
        assert!(
            out.status.success(),
            "dunstctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// How many notifications dunst shows now.
    pub fn dunst_displayed(&self) -> u32 {
        let out = self.dunstctl(&["count", "displayed"]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("dunstctl count displayed printed {out:?}"))
    }

    /// Dunst's history (closed or expired notifications), newest first: (app name, summary,
    /// body) of each.
    pub fn dunst_history(&self) -> Vec<(String, String, String)> {
        let out = self.dunstctl(&["history"]);
        let json: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("dunstctl history is not JSON ({e}): {out}"));
        let field = |n: &serde_json::Value, k: &str| n[k]["data"].as_str().unwrap_or_default().to_string();
        json["data"][0]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|n| (field(n, "appname"), field(n, "summary"), field(n, "body")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The items of the session's Secret Service whose attribute `service` is `service` (with
    /// their secrets), via `secret-tool search --all`.
    pub fn secret_items(&self, service: &str) -> Vec<SecretItem> {
        // secret-tool prints the attributes on stderr and the rest on stdout (each line flushed):
        // one pipe for both keeps them in order.
        let out = self
            .command("sh")
            .args(["-c", "exec \"$0\" search --all service \"$1\" 2>&1"])
            .arg(tool("secret-tool"))
            .arg(service)
            .output()
            .expect("secret-tool runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let items = parse_secret_items(&text);
        assert!(
            out.status.success() || items.is_empty() && !text.contains("rror"),
            "secret-tool search failed ({}): {text}",
            out.status
        );
        items
    }

    /// A PNG (by extension) of the whole X screen, via ImageMagick's `import`.
    pub fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        let out = self
            .command("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .output()
            .expect("import runs");
        assert!(
            out.status.success(),
            "screenshot to {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for DesktopSession {
    fn drop(&mut self) {
        while let Some(p) = self.procs.pop() {
            drop(p);
        }
    }
}

/// A session bus configuration: listens on `socket`, lets this user do everything, and has no
/// service directories, so no service is activated behind the test's back.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

/// A free TCP port on loopback (free when asked; taken by the caller right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The CSS selector of the element with `data-testid="id"`.
/// Writes the desk's machine-wide settings (what IT installs as
/// `/etc/shimin-desk/settings.toml`) for the endpoints `名称=URL,名称=URL`, each `http://` one
/// marked intranet-plain (loopback test servers), and returns the environment variable that
/// points the desk at the file.
pub fn machine_settings(dir: &Path, endpoints: &str, ca_bundle: Option<&Path>) -> (&'static str, String) {
    machine_settings_with(dir, endpoints, ca_bundle, "")
}

/// [`machine_settings`] with further top-level keys (`extra`, TOML lines).
pub fn machine_settings_with(
    dir: &Path,
    endpoints: &str,
    ca_bundle: Option<&Path>,
    extra: &str,
) -> (&'static str, String) {
    let mut toml = extra.to_owned();
    if let Some(ca) = ca_bundle {
        toml.push_str(&format!("ca_bundle = {:?}\n", ca.display().to_string()));
    }
    for (i, part) in endpoints.split(',').filter(|p| !p.trim().is_empty()).enumerate() {
        let (name, url) = part
            .split_once('=')
            .map(|(n, u)| (n.trim().to_owned(), u.trim().to_owned()))
            .unwrap_or_else(|| (format!("地址{}", i + 1), part.trim().to_owned()));
        toml.push_str(&format!("\n[[endpoint]]\nname = {name:?}\nurl = {url:?}\n"));
        if url.starts_with("http://") {
            toml.push_str("plain_http = true\n");
        }
    }
    std::fs::create_dir_all(dir).expect("settings directory");
    let path = dir.join("machine-settings.toml");
    std::fs::write(&path, toml).expect("machine settings written");
    ("SHIMIN_DESK_MACHINE_SETTINGS", path.display().to_string())
}

pub fn by_testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// `tauri-driver` from PATH, `$CARGO_HOME/bin` or `~/.cargo/bin`.
pub fn tauri_driver() -> PathBuf {
    let cargo_bins = [
        std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin")),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")),
    ];
    find_on_path("tauri-driver")
        .or_else(|| {
            cargo_bins
                .into_iter()
                .flatten()
                .map(|d| d.join("tauri-driver"))
                .find(|p| is_executable(p))
        })
        .unwrap_or_else(|| {
            panic!(
                "desktop test session: `tauri-driver` is not on PATH, in $CARGO_HOME/bin or \
                 ~/.cargo/bin; install it with `cargo install tauri-driver --locked` \
                 (scripts/setup.sh does)"
            )
        })
}

/// `tauri-driver` in a [`DesktopSession`] and a WebDriver session on the app: the app's window
/// is open while this lives. Derefs to the [`fantoccini::Client`].
#[derive(Debug)]
pub struct WebDriver {
    client: Client,
    driver: Proc,
    /// The session's watchdog stays until tauri-driver is gone.
    _guard: Arc<Mutex<Guard>>,
}

impl WebDriver {
    /// Starts `tauri-driver` with the session's environment plus `app_env` (the app inherits
    /// it), and opens a WebDriver session on `application` (made absolute), which launches it.
    pub async fn start<K, V>(
        session: &DesktopSession,
        application: impl AsRef<Path>,
        app_env: impl IntoIterator<Item = (K, V)>,
    ) -> WebDriver
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let application = std::path::absolute(application.as_ref()).expect("absolute app path");
        assert!(
            is_executable(&application),
            "the app binary {} does not exist or is not executable (build it first)",
            application.display()
        );
        let native_driver = tool("WebKitWebDriver");
        let port = free_port();
        let native_port = free_port();
        let mut cmd = session.command(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .arg("--native-driver")
        .arg(native_driver)
        .envs(app_env)
        .stdin(Stdio::null());
        let mut driver = session.spawn(&format!("tauri-driver-{port}"), cmd, false);

        let until = Instant::now() + START_TIMEOUT;
        // tauri-driver listens at once, but WebKitWebDriver (which it starts) takes a moment, and a
        // new session fails while that one does not listen yet.
        while TcpStream::connect(("127.0.0.1", port)).is_err()
            || TcpStream::connect(("127.0.0.1", native_port)).is_err()
        {
            driver.assert_running();
            assert!(
                Instant::now() < until,
                "tauri-driver (port {port}, WebKitWebDriver port {native_port}) does not listen \
                 after {START_TIMEOUT:?}; its log:\n{}",
                log_tail(&driver.log)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }

        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": application }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(caps);
        let url = format!("http://127.0.0.1:{port}");
        let connect = builder.connect(&url);
        // WebKitWebDriver waits for the app's web view to connect back: a binary that is not a
        // Tauri app (or hangs before its window) makes the new session hang.
        let client = tokio::time::timeout(SESSION_TIMEOUT, connect)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "WebDriver session on {}: no window within {SESSION_TIMEOUT:?}; tauri-driver's log:\n{}",
                    application.display(),
                    log_tail(&driver.log)
                )
            })
            .unwrap_or_else(|e| {
                panic!(
                    "WebDriver session on {} fails: {e}; tauri-driver's log:\n{}",
                    application.display(),
                    log_tail(&driver.log)
                )
            });
        WebDriver {
            client,
            driver,
            _guard: session.guard.clone(),
        }
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The element with `data-testid="id"`, now.
    pub async fn find_testid(&self, id: &str) -> Element {
        self.client
            .find(Locator::Css(&by_testid(id)))
            .await
            .unwrap_or_else(|e| panic!("no element with data-testid={id:?}: {e}"))
    }

    /// The element with `data-testid="id"`, waiting up to `timeout` for it to appear.
    pub async fn wait_for_testid(&self, id: &str, timeout: Duration) -> Element {
        self.wait_for(Locator::Css(&by_testid(id)), timeout).await
    }

    /// The element `locator` finds, waiting up to `timeout` for it to appear.
    pub async fn wait_for(&self, locator: Locator<'_>, timeout: Duration) -> Element {
        self.client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(50))
            .for_element(locator)
            .await
            .unwrap_or_else(|e| panic!("no element {locator:?} within {timeout:?}: {e}"))
    }

    /// A PNG of the app's window (its web view) to `path`.
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let png = self.client.screenshot().await.expect("WebDriver screenshot");
        std::fs::write(path.as_ref(), png).expect("write screenshot");
    }

    /// Ends the WebDriver session (the app quits), then tauri-driver. Dropping also stops
    /// everything, but without asking the app to quit first.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self.driver);
    }
}

impl std::ops::Deref for WebDriver {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(text: &str) -> (Vec<Notification>, Vec<u32>) {
        let state = Arc::new(Mutex::new(Recorder::default()));
        record(text.as_bytes(), state.clone());
        let st = state.lock().unwrap();
        (st.notifications.clone(), st.closes.clone())
    }

    #[test]
    fn parses_dbus_monitor_notify_calls() {
        let text = r#"signal time=1.0 sender=org.freedesktop.DBus -> destination=:1.1 serial=2 path=/org/freedesktop/DBus; interface=org.freedesktop.DBus; member=NameAcquired
   string ":1.1"
method call time=1.1 sender=:1.4 -> destination=org.freedesktop.Notifications serial=3 path=/org/freedesktop/Notifications; interface=org.freedesktop.Notifications; member=Notify
   string "市民网"
   uint32 0
   string ""
   string "Sum "q""
   string "Body line1
line2 "x""
   array [
      string "default"
      string "Open"
   ]
   array [
      dict entry(
         string "urgency"
         variant             byte 2
      )
      dict entry(
         string "image-data"
         variant             struct {
               int32 1
               array of bytes [
                  00 01 02
               ]
            }
      )
      dict entry(
         string "category"
         variant             string "im"
      )
   ]
   int32 5000
method return time=1.2 sender=:1.3 -> destination=:1.9 serial=7 reply_serial=3
   uint32 99
method return time=1.2 sender=:1.3 -> destination=:1.4 serial=8 reply_serial=3
   uint32 17
method call time=1.3 sender=:1.4 -> destination=org.freedesktop.Notifications serial=4 path=/org/freedesktop/Notifications; interface=org.freedesktop.Notifications; member=CloseNotification
   uint32 17
"#;
        let (seen, closes) = recorded(text);
        assert_eq!(seen.len(), 1, "{seen:#?}");
        let n = &seen[0];
        assert_eq!(n.sender, ":1.4");
        assert_eq!((n.serial, n.id), (3, Some(17)), "the reply to this caller's call");
        assert_eq!(closes, [17]);
        assert_eq!(n.app_name, "市民网");
        assert_eq!(n.summary, "Sum \"q\"");
        assert_eq!(n.body, "Body line1\nline2 \"x\"");
        assert_eq!(n.actions, vec![("default".to_string(), "Open".to_string())]);
        assert_eq!(n.urgency(), Some(2));
        assert_eq!(n.hints["category"], DbusValue::Str("im".into()));
        assert!(matches!(&n.hints["image-data"], DbusValue::Struct(v) if v.len() == 2));
        assert_eq!(n.expire_timeout, 5000);
    }

    #[test]
    fn parses_secret_tool_output() {
        let out = "[/1]\nlabel = L\nsecret = s1\ncreated = x\nmodified = x\nschema = org.freedesktop.Secret.Generic\nattribute.user = alice\nattribute.service = svc\n[/2]\nlabel = M\nsecret = a = b\nattribute.service = svc\n";
        let items = parse_secret_items(out);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].secret, "s1");
        assert_eq!(items[0].attributes["user"], "alice");
        assert_eq!(items[1].secret, "a = b");
    }
}

//! The real desk app, end to end: its window under Xvfb driven over WebDriver (tauri-driver +
//! WebKitWebDriver), against the real server on loopback, in a private desktop session with a
//! real notification daemon (dunst) and a real keyring (gnome-keyring). Screenshots are saved
//! under the target directory (`window-screenshots/`).

use fantoccini::Locator;
use shimin_domain::counter::TicketStep;
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_e2e::desktop::{by_testid, machine_settings, machine_settings_with, DesktopSession, WebDriver};
use shimin_e2e::support::{citizen, eventually, Api, Portal, TestServer, DEMO_PASSWORD};
use shimin_protocol::{Applicant, TicketReport};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One app window at a time: each is a WebKit process tree, too heavy to run side by side on a
/// small CI machine.
static ONE_WINDOW: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const UI: Duration = Duration::from_secs(20);

fn app() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shimin-desk"))
}

fn screenshot_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("window-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.png"))
}

/// A clerk who acts as A for a matter (on duty), with that matter.
async fn a_clerk(ts: &TestServer) -> (String, i64, i64) {
    let (matter, clerk) = ts.matter_with_a_clerk_on_duty(|_| true).await;
    (clerk.username, clerk.id, matter.id)
}

/// The username of a clerk of `unit` (by id).
async fn clerk_of(ts: &TestServer, unit: i64) -> String {
    ts.users_where(|u| u.colleague.role == Role::Clerk && u.colleague.unit_id == Some(unit))
        .await
        .remove(0)
        .username
}

/// The first delegated case (by number) in `status`, not yet taken when `untaken`.
async fn demo_case(ts: &TestServer, status: Status, untaken: bool) -> shimin_server::store::StoredItem {
    let mut cases: Vec<_> = ts
        .items()
        .await
        .into_iter()
        .filter(|i| i.kind == ItemKind::DelegatedCase && i.status == status)
        .filter(|i| !untaken || i.handler_id.is_none())
        .collect();
    cases.sort_by(|a, b| a.number.cmp(&b.number));
    cases.into_iter().next().expect("a demo delegated case")
}

/// What every window test starts from: the one-window lock, a demo-county server, an A clerk
/// with a matter, the citizen portal, and a fresh desktop session.
struct World {
    _one: tokio::sync::MutexGuard<'static, ()>,
    ts: TestServer,
    clerk: String,
    clerk_id: i64,
    matter: i64,
    portal: Portal,
    session: DesktopSession,
}

impl World {
    async fn new() -> World {
        let one = ONE_WINDOW.lock().await;
        let ts = TestServer::demo().await;
        let (clerk, clerk_id, matter) = a_clerk(&ts).await;
        let portal = Portal::login(&ts).await;
        World {
            _one: one,
            ts,
            clerk,
            clerk_id,
            matter,
            portal,
            session: DesktopSession::start(),
        }
    }

    /// The app, started in this session and pointed at the server.
    async fn desk(&self) -> Desk {
        open_desk(&self.session, &format!("内网={}", self.ts.url())).await
    }
}

struct Desk {
    wd: WebDriver,
    data_dir: PathBuf,
}

async fn open_desk(session: &DesktopSession, endpoints: &str) -> Desk {
    let data_dir = session.home().join("desk-data");
    let machine = machine_settings(&session.home().join("etc"), endpoints, None);
    let wd = WebDriver::start(
        session,
        app(),
        [
            ("SHIMIN_DESK_DATA_DIR", data_dir.display().to_string()),
            (machine.0, machine.1),
            ("SHIMIN_DESK_LOG", "info".to_owned()),
        ],
    )
    .await;
    Desk { wd, data_dir }
}

impl Desk {
    async fn type_into(&self, testid: &str, text: &str) {
        let el = self.wd.wait_for_testid(testid, UI).await;
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    /// The text of the element with `testid`, now; empty while there is none (a form shown in
    /// its place, a re-render replacing it), so that waiting on a text waits through those.
    async fn text(&self, testid: &str) -> String {
        match self.wd.find(Locator::Css(&by_testid(testid))).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The `data-testid` of the element that has the focus (read in the page: no element
    /// reference to go stale).
    async fn focused_testid(&self) -> Option<String> {
        let v = self
            .wd
            .execute(
                "return document.activeElement?.getAttribute('data-testid') ?? null",
                vec![],
            )
            .await
            .unwrap();
        v.as_str().map(str::to_owned)
    }

    /// Key events to whatever has the focus (no click, no element reference that a re-render
    /// could make stale): WebDriver key actions; a modifier (Ctrl, Shift, Alt) stays held for
    /// the keys after it.
    async fn press(&self, keys: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        let modifiers: Vec<char> = [Key::Control, Key::Shift, Key::Alt]
            .into_iter()
            .map(char::from)
            .collect();
        let mut actions = KeyActions::new("keyboard".to_owned());
        let mut held = Vec::new();
        for c in keys.chars() {
            actions = actions.then(KeyAction::Down { value: c });
            if modifiers.contains(&c) {
                held.push(c);
            } else {
                actions = actions.then(KeyAction::Up { value: c });
            }
        }
        for c in held.into_iter().rev() {
            actions = actions.then(KeyAction::Up { value: c });
        }
        self.wd.perform_actions(actions).await.unwrap();
        self.wd.release_actions().await.unwrap();
    }

    async fn click(&self, testid: &str) {
        self.wd.wait_for_testid(testid, UI).await.click().await.unwrap();
    }

    async fn login(&self, username: &str, remember: bool) {
        self.type_into("login-username", username).await;
        self.type_into("login-password", DEMO_PASSWORD).await;
        let remember_box = self.wd.find_testid("login-remember").await;
        if remember_box.prop("checked").await.unwrap().as_deref()
            != Some(if remember { "true" } else { "false" })
        {
            remember_box.click().await.unwrap();
        }
        self.click("login-submit").await;
        // The main screen with the first snapshot synced.
        self.wd.wait_for_testid("queue-tab-all", UI).await;
        self.wait_attr("status-online", "data-online", "true").await;
        // The first snapshot is in the cache (what arrives later is news, not backlog).
        self.wait_attr("status-online", "data-synced", "true").await;
        // The loopback server is plain HTTP, marked so in the machine-wide settings: the status
        // bar says so rather than claiming encryption.
        self.wait_attr("status-security", "data-security", "plain_intranet")
            .await;
    }

    /// Logs out and in again as `username` (the cache starts over for the new user).
    async fn relogin(&self, username: &str) {
        self.click("logout").await;
        self.wd.wait_for_testid("login-username", UI).await;
        self.login(username, false).await;
    }

    async fn wait_attr(&self, testid: &str, attr: &str, want: &str) {
        assert!(
            self.attr_becomes(testid, attr, want, UI).await,
            "{testid}[{attr}] never became {want:?}"
        );
    }

    /// Whether attribute `attr` of the element with `testid` reads `want` within `limit`.
    async fn attr_becomes(&self, testid: &str, attr: &str, want: &str, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        loop {
            if let Ok(el) = self.wd.find(Locator::Css(&by_testid(testid))).await {
                if el.attr(attr).await.ok().flatten().as_deref() == Some(want) {
                    return true;
                }
            }
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The queue row of item `number`, waiting for it to appear in the current view.
    async fn row(&self, number: &str) -> fantoccini::elements::Element {
        let css = format!("{}[data-number=\"{number}\"]", by_testid("queue-row"));
        let found = self
            .wd
            .wait()
            .at_most(UI)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(&css))
            .await;
        match found {
            Ok(el) => el,
            Err(e) => {
                let shot = screenshot_path(&format!("missing-{number}"));
                self.wd.screenshot(&shot).await;
                panic!(
                    "no queue row for {number} within {UI:?} ({e}); window: {}",
                    shot.display()
                );
            }
        }
    }

    /// Shows queue view `view`, clicking its tab again if a re-render swallowed the click
    /// (right after login the first snapshot and the alerts re-render the panel).
    async fn select_tab(&self, view: &str) {
        let tab = format!("queue-tab-{view}");
        let until = Instant::now() + UI;
        loop {
            self.click(&tab).await;
            if self
                .attr_becomes(&tab, "aria-selected", "true", Duration::from_secs(2))
                .await
            {
                return;
            }
            assert!(Instant::now() < until, "queue tab {view} never became selected");
        }
    }

    async fn open_item(&self, view: &str, number: &str) {
        self.select_tab(view).await;
        let row = self.row(number).await;
        let open = row.find(Locator::Css(&by_testid("queue-open"))).await;
        if let Err(e) = match open {
            Ok(button) => button.click().await,
            Err(e) => Err(e),
        } {
            let shot = screenshot_path(&format!("unclickable-{number}"));
            self.wd.screenshot(&shot).await;
            panic!(
                "queue row {number} cannot be clicked ({e}); window: {}",
                shot.display()
            );
        }
        // Read in the page: the detail of the item shown before may be replaced under us.
        let until = Instant::now() + UI;
        loop {
            let shown = self
                .wd
                .execute(
                    "return document.querySelector('[data-testid=\"detail\"][data-id] [data-testid=\"detail-number\"]')?.textContent ?? ''",
                    vec![],
                )
                .await
                .unwrap();
            let shown = shown.as_str().unwrap_or_default().to_owned();
            if shown.contains(number) {
                return;
            }
            assert!(Instant::now() < until, "detail shows {shown:?}, not {number}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Accepts the open reservation with the slot the citizen asked for.
    async fn accept(&self) {
        self.click("action-accept_reservation").await;
        self.wd.wait_for_testid("slot-date", UI).await;
        self.click("dialog-confirm").await;
    }
}

async fn item_status(ts: &TestServer, number: &str) -> Status {
    ts.item_by_number(number).await.status
}

/// Until the server records item `number` in `status`.
async fn wait_status(ts: &TestServer, number: &str, status: Status) {
    eventually(
        UI,
        &format!("the server records {number} as {status:?}"),
        || async { item_status(ts, number).await == status },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clerk_logs_in_sees_a_new_reservation_accepts_it_and_the_server_records_it() {
    let w = World::new().await;
    let (ts, portal, matter) = (&w.ts, &w.portal, w.matter);
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    // Live push connected: the reservation reaches the desk by a poke, not the next poll.
    desk.wait_attr("status-online", "data-live", "true").await;

    let created = portal.reserve(matter, citizen(1)).await;
    desk.open_item("reservation", &created.number).await;
    assert_eq!(desk.text("detail-applicant-name").await, citizen(1).name);
    // The ID number is masked on screen; 显示 shows it in full and the server audits the act.
    let full_id = citizen(1).id_number;
    let masked = desk.text("detail-applicant-id_number").await;
    assert!(
        masked.contains('*') && !masked.contains(&full_id),
        "shown {masked:?}"
    );
    desk.click("reveal-id_number").await;
    eventually(UI, "the full ID number is shown", || async {
        desk.text("detail-applicant-id_number").await == full_id
    })
    .await;
    eventually(UI, "the server audits the reveal", || async {
        shimin_server::inspect::audit(ts.store())
            .await
            .unwrap()
            .iter()
            .any(|e| e.action == "personal.reveal" && e.target.as_deref() == Some(created.number.as_str()))
    })
    .await;
    desk.accept().await;

    wait_status(ts, &created.number, Status::Accepted).await;
    desk.wait_attr("detail", "data-status", "accepted").await;
    let stored = ts.item_by_number(&created.number).await;
    let (handler, slot) = (stored.handler_id, stored.details.granted_slot);
    assert_eq!(handler, Some(w.clerk_id));
    assert!(slot.is_some(), "the granted slot is recorded");
    let shot = screenshot_path("accepted");
    desk.wd.screenshot(&shot).await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_reservation_pops_a_critical_notification_within_a_second() {
    let w = World::new().await;
    let (session, portal, matter) = (&w.session, &w.portal, w.matter);
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    // Live push connected: the desk hears of the reservation at once.
    desk.wait_attr("status-online", "data-live", "true").await;

    let t0 = Instant::now();
    let created = portal.reserve(matter, citizen(2)).await;
    let number = created.number.clone();
    let n = session
        .wait_for_notification(|n| n.body.contains(&number), Duration::from_secs(5))
        .await;
    let latency = n.seen.duration_since(t0);
    eprintln!("reservation → Notify call: {latency:?}");
    assert!(latency <= Duration::from_secs(1), "notified after {latency:?}");
    assert_eq!(n.app_name, "市民网窗口端");
    assert_eq!(n.urgency(), Some(2), "critical urgency");
    assert_eq!(n.expire_timeout, 0, "never expires");
    assert!(
        n.actions.iter().any(|(k, _)| k == "open"),
        "an action that opens the item: {:?}",
        n.actions
    );
    // No personal data in the notification.
    let c = citizen(2);
    for secret in [&c.name, &c.id_number, &c.phone] {
        assert!(!n.summary.contains(secret.as_str()) && !n.body.contains(secret.as_str()));
    }
    // The notification daemon really shows it, and the window shows the banner too.
    assert!(session.dunst_displayed() >= 1 || !session.dunst_history().is_empty());
    let banner = desk
        .wd
        .wait_for_testid("alert-banner", UI)
        .await
        .text()
        .await
        .unwrap();
    assert!(banner.contains(&number), "banner: {banner}");
    desk.wd.screenshot(screenshot_path("notified")).await;
    desk.wd.close().await;
}

/// A reservation from its arrival to its acceptance with key events only, no clicks (issue 13):
/// `/` to the search box, its number, Enter opens it with the first action focused, Enter opens
/// the accept dialog with a slot inside office hours already picked, Ctrl+Enter confirms.
#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_is_accepted_with_the_keyboard_alone() {
    use fantoccini::key::Key;
    let w = World::new().await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    desk.wait_attr("status-online", "data-live", "true").await;
    let created = w.portal.reserve(w.matter, citizen(31)).await;
    let number = created.number.clone();
    eventually(UI, "the reservation reached the desk", || async {
        banner_texts(&desk).await.iter().any(|t| t.contains(&number))
    })
    .await;
    desk.press(&Key::F5.to_string()).await;
    desk.open_by_keyboard(&number).await;
    assert_eq!(
        desk.focused_testid().await.as_deref(),
        Some("action-accept_reservation")
    );
    // The day and the slot are picked already: nothing to type.
    desk.dialog_by_keyboard("slot-date", "").await;
    wait_status(&w.ts, &number, Status::Accepted).await;
    let stored = w.ts.item_by_number(&number).await;
    let granted = stored.details.granted_slot.expect("a granted slot");
    let cal = shimin_domain::calendar::WorkCalendar::builtin();
    assert!(
        cal.within_hours(granted.start, granted.end),
        "granted {granted:?} inside office hours"
    );
    desk.wd.screenshot(screenshot_path("keyboard-accepted")).await;
    desk.wd.close().await;
}

/// Elements that overflow their box (scrollWidth > clientWidth): every dialog part, every queue
/// cell, the page itself. Text cut with an ellipsis inside a cell's own span is not counted:
/// the cell keeps its width and the full text is in its title.
const OVERFLOW_CHECK: &str = r#"
const bad = [];
const check = (el, what) => {
  if (el.scrollWidth > el.clientWidth + 1)
    bad.push(`${what} ${el.getAttribute('data-testid') || el.className || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`);
};
document.querySelectorAll('.modal, .modal .modal-body, .modal .field, .modal input, .modal select, .modal textarea, .modal .slot-row')
  .forEach((e) => check(e, 'dialog'));
document.querySelectorAll('[data-testid="queue-row"] td').forEach((e) => check(e, 'cell'));
check(document.documentElement, 'page');
return bad;
"#;

/// Every dialog of the desk, at the window's minimum size, at the most common county PC's
/// screen and at that screen's 125 % scaling (issue 13): the window clerk's, the unit leader's
/// complaint reply and the township agent's hand-over, collection and delivery, each opened on
/// a demo item that allows it, screenshot, and checked that nothing overflows; the queue's
/// cells too.
#[tokio::test(flavor = "multi_thread")]
async fn every_dialog_and_the_queue_fit_at_1024x640_1366x768_and_125_percent() {
    let w = World::new().await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    // The dialogs a clerk has, by the queue view where items that allow them are.
    let clerk: &[(&str, &[&str])] = &[
        ("reservation", &["accept_reservation", "reject_reservation"]),
        ("consultation", &["reply_consultation"]),
        (
            "application",
            &["request_supplement", "refuse_application", "advance", "add_note"],
        ),
        ("complaint", &["transfer"]),
    ];
    dialogs_fit(&desk, "clerk", clerk, &[]).await;

    // 投诉 are answered by the unit's leader (or its net admin): a leader of a unit with an
    // open complaint.
    let open_complaint =
        w.ts.items()
            .await
            .into_iter()
            .filter(|i| i.kind == ItemKind::Complaint && i.status != Status::Answered)
            .min_by(|a, b| a.number.cmp(&b.number))
            .expect("an open demo complaint");
    let leader =
        w.ts.users_where(|u| {
            u.colleague.role == Role::DeptLeader && u.colleague.unit_id == Some(open_complaint.unit_id)
        })
        .await
        .remove(0);
    desk.relogin(&leader.username).await;
    dialogs_fit(
        &desk,
        "leader",
        &[("complaint", &["reply_complaint"])],
        &[open_complaint.number],
    )
    .await;

    // The agents' dialogs, as whoever carries a case at that step (by case number).
    for (status, action) in [
        (Status::Registered, "hand_over"),
        (Status::Completed, "collect_result"),
        (Status::Collected, "deliver_to_citizen"),
    ] {
        let case = demo_case(&w.ts, status, false).await;
        let agent =
            w.ts.users_where(|u| Some(u.colleague.id) == case.agent_id)
                .await
                .remove(0);
        desk.relogin(&agent.username).await;
        dialogs_fit(&desk, "agent", &[("mine", &[action])], &[case.number]).await;
    }
    desk.wd.close().await;
}

/// Opens each dialog of `wanted` (queue view → actions) on the items `prefer` names, then on
/// the first items of that view, until each was opened once, at each size, with a screenshot
/// and the overflow check; the view's queue too.
async fn dialogs_fit(desk: &Desk, who: &str, wanted: &[(&str, &[&str])], prefer: &[String]) {
    // 125 % display scaling (Windows' default on a 1366×768 county PC) gives the page a
    // 1093×614 CSS-pixel window (1366/1.25 × 768/1.25; the window's minimum height is 600 for
    // it): layout and overflow are in CSS pixels, so that is the size checked. (A CSS zoom of
    // the page would confuse WebKit's WebDriver, which then cannot click anything.)
    for (width, height, label) in [
        (1024u32, 640u32, "1024x640"),
        (1366, 768, "1366x768"),
        (1093, 614, "1366x768@125%"),
    ] {
        desk.wd.set_window_size(width, height).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let size = format!("{who}-{label}");
        let mut seen: Vec<String> = Vec::new();
        for (view, actions) in wanted {
            desk.select_tab(view).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let bad: Vec<String> =
                serde_json::from_value(desk.wd.execute(OVERFLOW_CHECK, vec![]).await.unwrap()).unwrap();
            assert!(bad.is_empty(), "{size} queue {view}: {bad:?}");
            desk.wd
                .screenshot(screenshot_path(&format!("queue-{view}-{size}")))
                .await;
            let rows = desk
                .wd
                .find_all(Locator::Css(&by_testid("queue-row")))
                .await
                .unwrap();
            let numbers: Vec<String> = {
                let mut n = prefer.to_vec();
                for r in rows.iter().take(12) {
                    n.extend(r.attr("data-number").await.unwrap());
                }
                n
            };
            for number in numbers {
                if actions.iter().all(|a| seen.iter().any(|s| s == a)) {
                    break;
                }
                desk.open_item(view, &number).await;
                let todo: Vec<&str> = actions
                    .iter()
                    .copied()
                    .filter(|a| !seen.iter().any(|s| s == a))
                    .collect();
                for action in todo {
                    let Ok(button) = desk
                        .wd
                        .find(Locator::Css(&by_testid(&format!("action-{action}"))))
                        .await
                    else {
                        continue;
                    };
                    button.click().await.unwrap();
                    desk.wd.wait_for(Locator::Css(".modal"), UI).await;
                    tokio::time::sleep(Duration::from_millis(400)).await; // loaded (slots) and painted
                    desk.wd
                        .screenshot(screenshot_path(&format!("dialog-{action}-{size}")))
                        .await;
                    let bad: Vec<String> =
                        serde_json::from_value(desk.wd.execute(OVERFLOW_CHECK, vec![]).await.unwrap())
                            .unwrap();
                    assert!(bad.is_empty(), "{size} dialog {action}: {bad:?}");
                    desk.click("dialog-cancel").await;
                    eventually(UI, "the dialog closes", || async {
                        desk.wd.find(Locator::Css(".modal")).await.is_err()
                    })
                    .await;
                    seen.push(action.to_owned());
                }
            }
        }
        let all: Vec<&str> = wanted.iter().flat_map(|(_, a)| a.iter().copied()).collect();
        let missing: Vec<&&str> = all.iter().filter(|a| !seen.iter().any(|s| s == *a)).collect();
        assert!(missing.is_empty(), "{size}: no demo item offered {missing:?}");
    }
    desk.wd
        .execute("document.documentElement.style.zoom = ''; return null;", vec![])
        .await
        .unwrap();
}

/// An item of the demo county in the clerk's unit: the first (by number) of `kind` in `status`.
async fn demo_item_of(ts: &TestServer, clerk_id: i64, kind: ItemKind, status: Status) -> String {
    let unit = ts
        .users_where(|u| u.colleague.id == clerk_id)
        .await
        .remove(0)
        .unit_id;
    let mut items: Vec<_> = ts
        .items()
        .await
        .into_iter()
        .filter(|i| i.kind == kind && i.status == status && Some(i.unit_id) == unit && i.handler_id.is_none())
        .map(|i| i.number)
        .collect();
    items.sort();
    items
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a demo {kind:?} in {status:?}"))
}

impl Desk {
    /// `/`, the number, Enter: the item opens from the keyboard with its next action focused.
    async fn open_by_keyboard(&self, number: &str) {
        self.press("/").await;
        assert_eq!(self.focused_testid().await.as_deref(), Some("queue-search"));
        self.press(number).await;
        eventually(UI, "the search leaves the one row", || async {
            self.wd
                .find_all(Locator::Css(&by_testid("queue-row")))
                .await
                .is_ok_and(|rows| rows.len() == 1)
        })
        .await;
        self.press(&fantoccini::key::Key::Enter.to_string()).await;
        eventually(UI, "the item is open with an action focused", || async {
            self.focused_testid()
                .await
                .is_some_and(|t| t.starts_with("action-"))
        })
        .await;
    }

    /// Enter on the focused action opens its dialog with the focus on its first field `field`;
    /// `keys` fill it; Ctrl+Enter confirms.
    async fn dialog_by_keyboard(&self, field: &str, keys: &str) {
        use fantoccini::key::Key;
        self.press(&Key::Enter.to_string()).await;
        self.wd.wait_for_testid(field, UI).await;
        eventually(UI, &format!("the dialog's {field} has the focus"), || async {
            self.focused_testid().await.as_deref() == Some(field)
        })
        .await;
        if !keys.is_empty() {
            self.press(keys).await;
        }
        self.press(&format!("{}{}", Key::Control, Key::Enter)).await;
    }

    /// The action buttons of the open item, in their order on the screen.
    async fn action_order(&self) -> Vec<String> {
        self.page_strings(
            "return [...document.querySelectorAll('[data-testid=\"detail\"] .actions button.action')].map(b => b.getAttribute('data-testid'))",
        )
        .await
    }

    /// The list of strings a script in the page returns (read there: no element reference to
    /// go stale; nothing found is an empty list).
    async fn page_strings(&self, script: &str) -> Vec<String> {
        let v = self.wd.execute(script, vec![]).await.unwrap();
        serde_json::from_value(v).unwrap_or_default()
    }
}

/// A consultation answered and an application's one-time notice (一次性告知) sent with key
/// events only (issue 13): Tab moves along the actions, Enter opens one, Space ticks a
/// material, typing fills the answer, Ctrl+Enter confirms.
#[tokio::test(flavor = "multi_thread")]
async fn a_consultation_reply_and_a_one_time_notice_are_done_with_the_keyboard_alone() {
    use fantoccini::key::Key;
    let w = World::new().await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;

    let consultation = demo_item_of(&w.ts, w.clerk_id, ItemKind::Consultation, Status::Received).await;
    desk.press(&Key::F6.to_string()).await;
    desk.open_by_keyboard(&consultation).await;
    assert_eq!(
        desk.focused_testid().await.as_deref(),
        Some("action-reply_consultation")
    );
    desk.dialog_by_keyboard("reply-input", "您好，请携带身份证原件到县公安局窗口办理。")
        .await;
    wait_status(&w.ts, &consultation, Status::Answered).await;

    let application = demo_item_of(&w.ts, w.clerk_id, ItemKind::Application, Status::Submitted).await;
    desk.open_by_keyboard(&application).await;
    let order = desk.action_order().await;
    let focused = desk.focused_testid().await;
    let from = order
        .iter()
        .position(|a| Some(a) == focused.as_ref())
        .expect("the focused action is in the row");
    let to = order
        .iter()
        .position(|a| a == "action-request_supplement")
        .unwrap_or_else(|| panic!("一次性告知 offered: {order:?}"));
    assert!(to > from, "{order:?}");
    desk.press(&Key::Tab.to_string().repeat(to - from)).await;
    assert_eq!(
        desk.focused_testid().await.as_deref(),
        Some("action-request_supplement")
    );
    // Space ticks the first material of the list.
    desk.dialog_by_keyboard("supplement-material-0", " ").await;
    wait_status(&w.ts, &application, Status::Supplement).await;
    desk.wd.screenshot(screenshot_path("keyboard-notice")).await;
    desk.wd.close().await;
}

/// The length (seconds) and peak amplitude (0–1) of a WAV file, read by sox.
fn sox_stat(file: &std::path::Path) -> (f64, f64) {
    let out = std::process::Command::new("sox")
        .arg(file)
        .args(["-n", "stat"])
        .output()
        .expect("sox runs");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let field = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name:?} in sox's stat: {text}"))
    };
    (field("Length (seconds)"), field("Maximum amplitude"))
}

/// Hall calling (issue 13): the clerk sets the window number, issues a walk-in ticket and calls
/// it: the call is spoken (espeak-ng's Mandarin voice, offline) into a WAV that is not silence
/// and as long as such a sentence; 重呼 speaks it again; the hall screen (a second window) shows
/// it large. The citizen then sits down, is suspended (挂起) for two seconds and served to the
/// end: the server's report of the synced events has the suspended time outside the service time.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_is_spoken_and_shown_on_the_hall_screen_and_a_suspension_is_not_service_time() {
    let w = World::new().await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    desk.click("counter-window-edit").await;
    desk.type_into("counter-window-input", "3").await;
    desk.click("counter-window-save").await;
    eventually(UI, "the window number is shown", || async {
        desk.text("counter-window-no").await == "3号窗口"
    })
    .await;
    desk.click("counter-walk-in").await;
    // Calls until the walk-in ticket is served (today's accepted reservations come first).
    let wav = desk.data_dir.join("announce").join("last-call.wav");
    let mut serving = String::new();
    for _ in 0..30 {
        desk.click("counter-call-next").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        serving = desk.text("counter-serving").await;
        if serving.contains("W001") {
            break;
        }
    }
    assert!(serving.contains("W001"), "never served the walk-in: {serving}");
    eventually(
        Duration::from_secs(30),
        "the call is spoken into its WAV",
        || async { wav.exists() && sox_stat(&wav).0 > 0.0 },
    )
    .await;
    let (seconds, peak) = sox_stat(&wav);
    // "请W001号到3号窗口办理" at 140 words a minute: a few seconds, and loud.
    assert!((2.0..12.0).contains(&seconds), "{seconds} s");
    assert!(peak > 0.2, "peak {peak}: silence");
    let first = std::fs::metadata(&wav).unwrap().modified().unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    desk.click("counter-recall").await;
    eventually(Duration::from_secs(30), "重呼 speaks the call again", || async {
        std::fs::metadata(&wav)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > first)
    })
    .await;
    desk.wd.screenshot(screenshot_path("counter-called")).await;

    // The hall screen (大厅叫号屏): a window of its own, showing the call in large type.
    let main = desk.wd.window().await.unwrap();
    desk.click("counter-hall-screen").await;
    let until = Instant::now() + UI;
    let hall = loop {
        if let Some(h) = desk.wd.windows().await.unwrap().into_iter().find(|h| *h != main) {
            break h;
        }
        assert!(Instant::now() < until, "the hall screen's window never opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    desk.wd.switch_to_window(hall).await.unwrap();
    eventually(UI, "the hall screen shows the call", || async {
        let latest = desk
            .page_strings("return [...document.querySelectorAll('[data-testid=\"hall-latest\"]')].map(e => e.textContent.trim())")
            .await;
        latest == ["请W001号到3号窗口办理"]
    })
    .await;
    let windows = desk
        .page_strings(
            "return [...document.querySelectorAll('[data-testid=\"hall-window\"]')].map(w => w.textContent)",
        )
        .await;
    assert!(windows.contains(&"3号窗口W001".to_owned()), "{windows:?}");
    tokio::time::sleep(Duration::from_millis(1000)).await; // painted
    desk.wd.screenshot(screenshot_path("hall-screen")).await;
    desk.wd.switch_to_window(main).await.unwrap();

    // The citizen sits down, goes to fetch a document (挂起), comes back, and is served: the
    // suspended time is not service time in the events the server has.
    desk.click("counter-start").await;
    desk.click("counter-suspend").await;
    eventually(UI, "the suspended ticket waits aside", || async {
        desk.text("counter-serving").await.contains("当前无人办理")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    desk.click("counter-resume-W001").await;
    eventually(UI, "the ticket is served again", || async {
        desk.text("counter-serving").await.contains("正在办理：W001")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    desk.click("counter-done").await;
    let api = Api::login_as(&w.ts, &w.clerk).await;
    let today = shimin_domain::calendar::to_local(chrono::Utc::now()).date();
    let until = Instant::now() + Duration::from_secs(30);
    let w001 = loop {
        let reports: Vec<TicketReport> = api
            .get_json(
                shimin_protocol::paths::COUNTER_TICKETS,
                &[("day", today.to_string())],
            )
            .await
            .unwrap();
        if let Some(r) = reports
            .into_iter()
            .find(|r| r.ticket_no == "W001" && r.ended_at.is_some())
        {
            break r;
        }
        assert!(Instant::now() < until, "the server never reported W001 finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let steps: Vec<TicketStep> = w001.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        steps,
        [
            TicketStep::Called,
            TicketStep::Recalled,
            TicketStep::Started,
            TicketStep::Suspended,
            TicketStep::Resumed,
            TicketStep::Finished
        ]
    );
    assert_eq!(w001.window_no, Some(3));
    let at = |step: TicketStep| w001.steps.iter().find(|s| s.step == step).unwrap().at;
    let suspended = at(TicketStep::Resumed) - at(TicketStep::Suspended);
    let served = at(TicketStep::Finished) - at(TicketStep::Started) - suspended;
    assert!(suspended.num_milliseconds() >= 2000, "suspended {suspended}");
    assert_eq!(w001.suspended_ms, suspended.num_milliseconds());
    assert_eq!(
        w001.served_ms,
        Some(served.num_milliseconds()),
        "service time without the suspension"
    );
    desk.wd.close().await;
}

/// The notification id the server gave the Notify call `n` (read from its reply).
async fn notification_id(session: &DesktopSession, n: &shimin_e2e::desktop::Notification) -> u32 {
    let until = Instant::now() + UI;
    loop {
        let id = session
            .notifications()
            .iter()
            .find(|m| m.serial == n.serial && m.sender == n.sender)
            .and_then(|m| m.id);
        if let Some(id) = id {
            return id;
        }
        assert!(Instant::now() < until, "no reply to the Notify call {n:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The texts of the alert banners now (read in the page: none is no error).
async fn banner_texts(desk: &Desk) -> Vec<String> {
    desk.page_strings(
        "return [...document.querySelectorAll('[data-testid=\"alert-banner\"]')].map(b => b.textContent)",
    )
    .await
}

/// How many alert banners the window shows (0 when the group is gone).
async fn banner_count(desk: &Desk) -> usize {
    match desk.wd.find(Locator::Css(&by_testid("alert-group"))).await {
        Ok(el) => el
            .attr("data-count")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

/// Alerts leave the screen when what they announce is gone (issue 13): the open reservations
/// are one notification, updated in place (not a stack); accepting one here updates it and
/// takes its banner entry away; a colleague's acceptance on another desk closes it
/// (`CloseNotification` for its id) and clears the banner; logging out closes every
/// notification of the session, so the next user of the computer sees none of them.
#[tokio::test(flavor = "multi_thread")]
async fn alerts_are_withdrawn_when_handled_here_or_on_another_desk_and_at_logout() {
    let w = World::new().await;
    let (ts, session, portal) = (&w.ts, &w.session, &w.portal);
    // The demo county's reservations waiting in the clerk's unit are accepted first, on the
    // clerk's other desk: then the group holds exactly the test's reservations.
    let matter = w.matter;
    let clerk = ts.users_where(|u| u.colleague.id == w.clerk_id).await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let start = shimin_e2e::support::slot_start(1);
    let slot = shimin_protocol::Slot {
        start,
        end: start + chrono::Duration::minutes(20),
    };
    let own = shimin_e2e::support::desk(dir.path(), "own", &[ts.url()], &clerk).await;
    own.sync_now().await.unwrap();
    let mut q = shimin_client::QueueQuery::new(shimin_client::QueueView::Kind("reservation".into()));
    q.limit = u32::MAX;
    for v in own.queue(q).await.unwrap() {
        if v.record.status == Status::Received {
            own.act(v.record.id, shimin_protocol::Op::AcceptReservation { slot })
                .await
                .unwrap();
        }
    }
    own.sync_now().await.unwrap();
    own.close().await;
    let desk = w.desk().await;
    desk.login(&clerk.username, false).await;
    desk.wait_attr("status-online", "data-live", "true").await;

    let first = portal.reserve(matter, citizen(21)).await;
    let shown = session
        .wait_for_notification(|n| n.body.contains(&first.number), UI)
        .await;
    let id = notification_id(session, &shown).await;
    let second = portal.reserve(matter, citizen(22)).await;
    let grouped = session
        .wait_for_notification(|n| n.body.contains(&second.number), UI)
        .await;
    assert_eq!(
        grouped.replaces_id, id,
        "the same notification, updated: {grouped:#?}"
    );
    assert!(grouped.body.contains("另有 1 个预约待处理"), "{grouped:#?}");
    assert_eq!(grouped.summary, "2 个预约待处理");
    eventually(UI, "dunst shows one notification, not two", || async {
        session.dunst_displayed() == 1
    })
    .await;
    eventually(UI, "two banner entries", || async {
        banner_count(&desk).await == 2
    })
    .await;

    // Accepted here: the group says the one left; its banner entry goes.
    desk.open_item("reservation", &first.number).await;
    desk.accept().await;
    let updated = session
        .wait_for_notification(
            |n| n.replaces_id == id && n.body.contains(&second.number) && !n.body.contains("另有"),
            UI,
        )
        .await;
    assert!(!updated.body.contains(&first.number), "{updated:#?}");
    eventually(UI, "one banner entry, the second reservation's", || async {
        banner_count(&desk).await == 1
            && banner_texts(&desk)
                .await
                .iter()
                .any(|t| t.contains(&second.number))
    })
    .await;
    assert!(session.closed_notifications().is_empty(), "nothing closed yet");

    // A colleague accepts the other on their own desk: this desk hears it and withdraws.
    let unit = ts.item_by_number(&second.number).await.unit_id;
    let colleague = ts
        .users_where(|u| {
            u.colleague.role == Role::Clerk && u.colleague.unit_id == Some(unit) && u.colleague.id != clerk.id
        })
        .await
        .remove(0);
    let other = shimin_e2e::support::desk(dir.path(), "colleague", &[ts.url()], &colleague).await;
    other.sync_now().await.unwrap();
    let item = ts.item_by_number(&second.number).await;
    other
        .act(item.id, shimin_protocol::Op::AcceptReservation { slot })
        .await
        .unwrap();
    other.sync_now().await.unwrap();
    assert_eq!(item_status(ts, &second.number).await, Status::Accepted);
    eventually(UI, "the notification is closed on the bus", || async {
        session.closed_notifications().contains(&id)
    })
    .await;
    eventually(UI, "no banner left", || async { banner_count(&desk).await == 0 }).await;
    eventually(UI, "dunst shows nothing", || async {
        session.dunst_displayed() == 0
    })
    .await;
    desk.wd.screenshot(screenshot_path("alerts-withdrawn")).await;

    // A new one, then logout: its notification leaves with the session.
    let third = portal.reserve(matter, citizen(23)).await;
    let shown = session
        .wait_for_notification(|n| n.body.contains(&third.number), UI)
        .await;
    assert_eq!(
        shown.replaces_id, 0,
        "a new notification after the last was closed"
    );
    let id3 = notification_id(session, &shown).await;
    desk.click("logout").await;
    desk.wd.wait_for_testid("login-username", UI).await;
    eventually(UI, "logout closes the session's notification", || async {
        session.closed_notifications().contains(&id3)
    })
    .await;
    eventually(UI, "dunst shows nothing after logout", || async {
        session.dunst_displayed() == 0
    })
    .await;
    other.close().await;
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn remember_me_keeps_the_token_in_the_keyring_and_nothing_secret_in_files() {
    let w = World::new().await;
    let (ts, session) = (&w.ts, &w.session);
    let desk = w.desk().await;
    desk.login(&w.clerk, true).await;

    let items = session.secret_items("shimin-desk");
    let session_item = items
        .iter()
        .find(|i| {
            i.attributes
                .get("username")
                .is_some_and(|u| u.starts_with("session:"))
        })
        .unwrap_or_else(|| panic!("a session entry in the keyring: {items:#?}"));
    let token = serde_json::from_str::<serde_json::Value>(&session_item.secret).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.len() >= 20);
    let key_item = items
        .iter()
        .find(|i| {
            i.attributes
                .get("username")
                .is_some_and(|u| u.starts_with("cache-key:"))
        })
        .expect("the cache key in the keyring");
    assert_eq!(key_item.secret.len(), 64);
    // The server knows the token (its hash): it is the live session's.
    let hash = shimin_server::auth::hash_token(&token);
    let known = shimin_server::inspect::sessions(ts.store())
        .await
        .unwrap()
        .iter()
        .filter(|s| s.token_hash == hash)
        .count();
    assert_eq!(known, 1);
    desk.wd.close().await;

    // Nothing under the desk's data directory holds the token, the cache key or the password.
    let mut files = Vec::new();
    let mut stack = vec![desk.data_dir.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("settings.json")));
    assert!(files.iter().any(|f| f.ends_with("cache.sqlite")));
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for secret in [token.as_str(), key_item.secret.as_str(), DEMO_PASSWORD] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} contains a secret",
                f.display()
            );
        }
    }

    // Started again, the desk resumes the remembered session from the keyring: no password.
    let desk = w.desk().await;
    desk.wd.wait_for_testid("queue-tab-all", UI).await;
    desk.wait_attr("status-online", "data-online", "true").await;
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_the_desk_still_lists_and_handles_items_and_they_reach_the_server_later() {
    let mut w = World::new().await;
    let created = w.portal.reserve(w.matter, citizen(3)).await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    let ts = &mut w.ts;
    desk.select_tab("reservation").await;
    desk.row(&created.number).await;

    ts.stop().await;
    desk.wait_attr("status-online", "data-online", "false").await;
    desk.open_item("reservation", &created.number).await;
    desk.accept().await;
    desk.wait_attr("detail", "data-status", "accepted").await;
    desk.wd.wait_for_testid("detail-pending", UI).await;
    let row = desk.row(&created.number).await;
    assert_eq!(row.attr("data-pending").await.unwrap().as_deref(), Some("true"));
    let pending = desk.text("status-pending").await;
    assert_eq!(pending.trim(), "1");
    desk.wd.screenshot(screenshot_path("offline-pending")).await;
    // The server is down: read its database file directly.
    let stopped_db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        ts.data.path().join("shimin.db").display()
    ))
    .await
    .unwrap();
    let status: String = sqlx::query_scalar("SELECT status FROM items WHERE number = ?")
        .bind(&created.number)
        .fetch_one(&stopped_db)
        .await
        .unwrap();
    stopped_db.close().await;
    assert_eq!(status, "received", "nothing reached the server yet");

    ts.restart().await;
    let number = created.number.clone();
    eventually(
        Duration::from_secs(30),
        "the offline acceptance reaches the server",
        || {
            let (ts, number) = (&ts, number.clone());
            async move { item_status(ts, &number).await == Status::Accepted }
        },
    )
    .await;
    desk.wait_attr("status-online", "data-online", "true").await;
    let css = format!(
        "{}[data-number=\"{}\"][data-pending=\"false\"]",
        by_testid("queue-row"),
        created.number
    );
    desk.wd.wait_for(Locator::Css(&css), UI).await;
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn citizen_text_with_markup_shows_as_text() {
    let w = World::new().await;
    let markup = "<img src=x onerror=\"document.title='pwned'\"><b>加粗</b>";
    let created = w
        .portal
        .reserve_with_content(
            w.matter,
            Applicant {
                // Names may not hold < or > (the server refuses them); an entity still must
                // show as typed, not decoded.
                name: "王&amp;五".into(),
                ..citizen(4)
            },
            markup,
        )
        .await;
    let desk = w.desk().await;
    desk.login(&w.clerk, false).await;
    desk.open_item("reservation", &created.number).await;
    let content = desk.wd.find_testid("detail-content").await;
    assert_eq!(content.text().await.unwrap().trim(), markup);
    assert_eq!(desk.text("detail-applicant-name").await, "王&amp;五");
    let detail = desk.wd.find_testid("detail").await;
    for tag in ["img", "b", "i"] {
        assert!(
            detail.find_all(Locator::Css(tag)).await.unwrap().is_empty(),
            "no <{tag}> element from citizen text"
        );
    }
    assert_ne!(desk.wd.title().await.unwrap(), "pwned");
    desk.wd.screenshot(screenshot_path("markup-as-text")).await;
    desk.wd.close().await;
}

/// An ID number with a valid check digit (GB 11643, ISO 7064 MOD 11-2).
fn valid_id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_registers_a_case_photographs_a_material_and_the_server_receives_both() {
    let w = World::new().await;
    let ts = &w.ts;
    let agent_user = ts.user("agent", None).await;
    let (agent, agent_id) = (agent_user.username, agent_user.id);
    let matter = shimin_server::inspect::matters(ts.store())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == w.matter)
        .expect("the matter");
    let (matter_name, first_material) = (matter.name.clone(), matter.materials[0].clone());
    let desk = w.desk().await;
    desk.login(&agent, false).await;

    // The registration form (F2 / 登记代办件), filled as an agent does in the village.
    desk.click("agent-register").await;
    desk.wd
        .wait_for_testid("case-matter", UI)
        .await
        .select_by_label(&matter_name)
        .await
        .unwrap();
    desk.type_into("case-name", "王秀英").await;
    desk.type_into("case-id-number", &valid_id_number("13043519520304002"))
        .await;
    desk.type_into("case-phone", "13903100427").await;
    desk.type_into("case-place", "柳林村").await;
    desk.type_into("case-content", "老人行动不便，委托代办").await;
    desk.click("case-submit").await;
    desk.wd.wait_for_testid("delegation", UI).await;
    let number = desk.text("detail-number").await;

    // A phone photo of the first material, picked through the file input.
    let photo = desk.data_dir.with_file_name("IMG_0001.jpg");
    std::fs::write(&photo, shimin_e2e::support::phone_photo(1, 2200, 1400)).unwrap();
    desk.wd
        .find_testid("material-capture-input-0")
        .await
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    desk.wd
        .wait_for(Locator::Css(&format!("{} img", by_testid("attachment"))), UI)
        .await;
    let shot = screenshot_path("agent-case");
    desk.wd.screenshot(&shot).await;

    // Online, the sync loop takes case and photo to the server.
    eventually(UI, "the server holds the case with its photo", || async {
        let attached = shimin_server::inspect::attachments(ts.store()).await.unwrap();
        ts.items()
            .await
            .iter()
            .filter(|i| i.agent_id == Some(agent_id) && i.applicant.name == "王秀英")
            .filter(|i| attached.iter().any(|(item, _)| *item == i.id))
            .count()
            == 1
    })
    .await;
    let case = ts
        .items()
        .await
        .into_iter()
        .find(|i| i.agent_id == Some(agent_id) && i.applicant.name == "王秀英")
        .expect("the case");
    assert_eq!(case.status, Status::Registered);
    assert_eq!(case.details.attachments[0].material, first_material);
    assert_eq!(case.details.attachments[0].mime, "image/jpeg");
    // The desk shows the server's number once synced.
    desk.wait_attr("status-online", "data-synced", "true").await;
    assert!(number.contains("DB"), "{number}");
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_is_notified_when_the_window_asks_for_a_supplement() {
    let w = World::new().await;
    let (ts, session) = (&w.ts, &w.session);
    // A delegated case of the demo county waiting at the window for pre-review.
    let case = demo_case(ts, Status::Submitted, true).await;
    let agent = ts
        .users_where(|u| Some(u.colleague.id) == case.agent_id)
        .await
        .remove(0)
        .username;
    let clerk = clerk_of(ts, case.unit_id).await;
    let (case_id, number) = (case.id.to_string(), case.number.clone());
    let desk = w.desk().await;
    desk.login(&agent, false).await;
    desk.wait_attr("status-online", "data-live", "true").await;

    // The window's one-time notice (一次性告知), from the clerk's own session.
    let window = shimin_e2e::support::Api::login_as(ts, &clerk).await;
    let outcome = window
        .push_one(
            case_id.parse().unwrap(),
            shimin_protocol::Op::RequestSupplement {
                missing: vec!["户口本".into()],
                note: String::new(),
            },
        )
        .await;
    assert!(
        matches!(outcome, shimin_protocol::MutationOutcome::Applied { .. }),
        "{outcome:?}"
    );

    let n = session
        .wait_for_notification(|n| n.body.contains(&number), Duration::from_secs(10))
        .await;
    assert_eq!(n.summary, "代办件需补正材料");
    assert!(n.body.contains("户口本"), "{}", n.body);
    let banner = desk
        .wd
        .wait_for_testid("alert-banner", UI)
        .await
        .text()
        .await
        .unwrap();
    assert!(banner.contains(&number), "banner: {banner}");
    desk.wd.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_sees_a_delivered_cases_custody_chain_and_its_signature_image() {
    let w = World::new().await;
    let ts = &w.ts;
    let case = demo_case(ts, Status::Delivered, false).await;
    let clerk = clerk_of(ts, case.unit_id).await;
    let number = case.number.clone();
    let desk = w.desk().await;
    desk.login(&clerk, false).await;
    desk.select_tab("delegated_case").await;
    desk.click("queue-include-closed").await;
    desk.type_into("queue-search", &number).await;
    desk.open_item("delegated_case", &number).await;

    // The chain, in order, as the domain reads it from the history.
    desk.wd.wait_for_testid("custody", UI).await;
    let mut steps = Vec::new();
    for el in desk
        .wd
        .client()
        .find_all(Locator::Css(&by_testid("custody-step")))
        .await
        .unwrap()
    {
        steps.push(el.text().await.unwrap());
    }
    assert_eq!(
        steps.first().map(String::as_str),
        Some("群众 → 代办员（登记收件）")
    );
    assert_eq!(steps.last().map(String::as_str), Some("代办员 → 群众（送达）"));
    assert!(
        steps.iter().any(|s| s == "受理窗口 → 代办员（领取结果）"),
        "{steps:?}"
    );
    assert_eq!(desk.text("citizen-progress").await, "结果已送达");

    // The signature comes from the server as raw bytes and shows (blob: URL, strict CSP).
    let img = desk
        .wd
        .wait_for(Locator::Css(&format!("{} img", by_testid("delivery"))), UI)
        .await;
    let until = Instant::now() + UI;
    loop {
        let width = desk
            .wd
            .client()
            .execute(
                "return arguments[0].naturalWidth",
                vec![serde_json::to_value(&img).unwrap()],
            )
            .await
            .unwrap();
        if width == 360 {
            break;
        }
        assert!(
            Instant::now() < until,
            "the signature image never loaded (naturalWidth {width})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    desk.wd.screenshot(screenshot_path("window-delegated")).await;
    desk.wd.close().await;
}

/// The desk's name on the session bus while it runs (tauri-plugin-single-instance).
const INSTANCE_NAME: &str = "cn.gov.shimin.desk.SingleInstance";

/// Quitting never corrupts the desk's memory (issue 16, finding 10): the app is started again
/// and again on a remembered session and asked to quit the way a desktop asks (SIGTERM at
/// logout, SIGHUP, SIGINT), while it starts, once the session is resumed and syncing; and a
/// start that cannot create its data directory fails with its message. Every run exits with
/// its own code, never by a signal (SIGABRT of a double free, SIGSEGV).
#[tokio::test(flavor = "multi_thread")]
async fn the_desk_quits_cleanly_whenever_it_is_asked_to() {
    use std::os::unix::process::ExitStatusExt;

    let w = World::new().await;
    let machine = machine_settings(
        &w.session.home().join("etc"),
        &format!("内网={}", w.ts.url()),
        None,
    );
    let desk = w.desk().await;
    desk.login(&w.clerk, true).await;
    desk.wd.close().await;
    let data_dir = desk.data_dir.clone();
    let logs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desk-quits");
    std::fs::create_dir_all(&logs).unwrap();

    let run = |n: usize, data_dir: &std::path::Path| {
        let log = logs.join(format!("run-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = w
            .session
            .command(app())
            .env("SHIMIN_DESK_DATA_DIR", data_dir)
            .env(machine.0, &machine.1)
            .env("SHIMIN_DESK_LOG", "info")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the desk starts");
        (child, log)
    };
    let signals = ["TERM", "HUP", "INT"];
    const RUNS: usize = 12;
    for n in 0..RUNS {
        eventually(UI, "the previous desk has left the session bus", || async {
            !w.session.name_has_owner(INSTANCE_NAME)
        })
        .await;
        let (mut child, log) = run(n, &data_dir);
        // A third of the runs quit while starting; the others once the session is resumed
        // and the sync loop runs.
        if n % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(300 + 200 * n as u64)).await;
        } else {
            eventually(UI, "the desk resumes the remembered session", || async {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("session resumed from the keyring")
            })
            .await;
            assert!(
                w.session.name_has_owner(INSTANCE_NAME),
                "run {n} is the running desk"
            );
            tokio::time::sleep(Duration::from_millis(100 * (n % 4) as u64)).await;
        }
        let signal = signals[n % signals.len()];
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal}");
        let until = Instant::now() + UI;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > until {
                panic!(
                    "run {n} did not quit on SIG{signal}; its threads:\n{}",
                    threads_of(child.id())
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            (status.code(), status.signal()),
            (Some(0), None),
            "run {n} (SIG{signal}) ended {status:?}; log {}:\n{output}",
            log.display()
        );
        assert!(
            !output.contains("double free") && !output.contains("corrupted"),
            "run {n}: {output}"
        );
    }

    // A start that cannot create its data directory: a message and exit code 1.
    let blocked = w.session.home().join("not-a-directory");
    std::fs::write(&blocked, b"a file").unwrap();
    let (mut child, log) = run(RUNS, &blocked.join("desk-data"));
    let status = child.wait().unwrap();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!((status.code(), status.signal()), (Some(1), None), "{output}");
    assert!(output.contains("无法创建数据目录"), "{output}");

    // The cache is intact after all that: the desk still opens on the remembered session.
    let again = w.desk().await;
    again.wd.wait_for_testid("queue-tab-all", UI).await;
    again.wait_attr("status-online", "data-synced", "true").await;
    again.wd.close().await;
}

/// The stacks of a hung process's threads, when gdb is there to take them (a diagnosis only).
fn threads_of(pid: u32) -> String {
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-p", &pid.to_string(), "-ex", "thread apply all bt 12"])
        .output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).chars().take(20_000).collect(),
        Err(_) => "(no gdb here to show them)".to_owned(),
    }
}

/// PIDs of running desk processes of this build.
fn desk_pids() -> Vec<u32> {
    let out = std::process::Command::new("pgrep")
        .arg("-f")
        .arg(app())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// An update the county published reaches the running desk, which says what is new, installs
/// it with the machine's install command only after the clerk's consent (the command is handed
/// the verified package) and restarts; a tampered manifest is reported and nothing installed.
#[tokio::test(flavor = "multi_thread")]
async fn a_published_update_is_installed_after_consent_and_the_desk_restarts() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = shimin_server::updates::keygen(&dir.path().join("keys")).unwrap();
    let package = dir.path().join("shimin-desk_99.0.0_amd64.deb");
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&package, &bytes).unwrap();
    let blobs = w.ts.data.path().join("blobs");
    shimin_server::updates::publish(&blobs, &key, &package, "99.0.0", "叫号屏字体加大").unwrap();
    let installed = dir.path().join("installed.deb");
    let extra = format!(
        "update_public_key = {public:?}\nupdate_install_command = [\"/bin/sh\", \"-c\", {:?}, \"sh\"]\n",
        format!("cp \"$1\" {}", installed.display())
    );
    let machine = machine_settings_with(
        &w.session.home().join("etc"),
        &format!("内网={}", w.ts.url()),
        None,
        &extra,
    );
    let data_dir = w.session.home().join("desk-data");
    let wd = WebDriver::start(
        &w.session,
        app(),
        [
            ("SHIMIN_DESK_DATA_DIR", data_dir.display().to_string()),
            (machine.0, machine.1),
            ("SHIMIN_DESK_LOG", "info".to_owned()),
        ],
    )
    .await;
    let desk = Desk { wd, data_dir };
    let offer = desk.wd.wait_for_testid("update-offer", UI).await;
    let text = offer.text().await.unwrap();
    assert!(
        text.contains("99.0.0") && text.contains("叫号屏字体加大"),
        "{text}"
    );
    assert!(!installed.exists(), "nothing is installed before consent");
    let before = desk_pids();
    assert_eq!(before.len(), 1, "one desk running: {before:?}");
    desk.wd.wait_for_testid("login-username", UI).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // painted, not only in the DOM
    desk.wd.screenshot(&screenshot_path("update-offer")).await;
    desk.click("update-install").await;
    eventually(
        Duration::from_secs(30),
        "the install command got the verified package",
        || async { std::fs::read(&installed).is_ok_and(|b| b == bytes) },
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "the desk restarted (a new process replaced the old)",
        || async {
            let now = desk_pids();
            now.len() == 1 && now != before
        },
    )
    .await;
    // The restarted desk stays up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = desk_pids();
    assert_eq!(after.len(), 1, "{after:?}");
    for pid in after {
        let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    }
    drop(desk);
}

/// The assessment board's test ids (ui/README.md lists them all).
const BOARD_OPEN: &str = "stats-toggle";
const BOARD: &str = "stats-board";
const BOARD_PERSON_ROW: &str = "stats-person-row";
const BOARD_CHART: &str = "stats-chart-scores";
const BOARD_SCOPE: &str = "stats-title";

/// A leader's assessment board (考核统计) of the demo county: figures from the server, the
/// ranking drawn as a chart (screenshot), the persons ranked; and a supervision case (督办) of
/// the unit answered from the window, which the server then holds as answered with its cause
/// and correction.
#[tokio::test]
async fn a_leader_reads_the_units_board_with_its_chart_and_answers_a_supervision_case() {
    let w = World::new().await;
    // Overdue demo items get their cases (the sweep, once, now).
    shimin_server::supervision::tick(w.ts.running().state(), chrono::Utc::now())
        .await
        .unwrap();
    let case = shimin_server::inspect::supervision_cases(w.ts.store())
        .await
        .unwrap()
        .into_iter()
        // A 督办 of a missed deadline (the demo's bad ratings have follow-ups too).
        .filter(|c| c.stage == "open" && c.clock != "bad_rating")
        .min_by_key(|c| c.id)
        .expect("an overdue demo item has a supervision case");
    let leader = w
        .ts
        .users_where(|u| u.colleague.role == Role::DeptLeader && u.colleague.unit_id == Some(case.unit_id))
        .await
        .remove(0);
    let desk = w.desk().await;
    desk.login(&leader.username, false).await;

    desk.click(BOARD_OPEN).await;
    desk.wd.wait_for_testid(BOARD, UI).await;
    // The quarter's figures of the unit (the demo's history reaches 20 days back), with its
    // persons ranked and the chart drawn.
    desk.click("stats-period-quarter").await;
    let until = Instant::now() + UI;
    while desk
        .wd
        .find_all(Locator::Css(&by_testid(BOARD_PERSON_ROW)))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < until, "the board lists the unit's persons");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let chart = format!(
        "const c = document.querySelector('{} canvas'); return !!c && c.width > 0 && c.height > 0",
        by_testid(BOARD_CHART)
    );
    eventually(UI, "the ranking chart is drawn on its canvas", || async {
        let v = desk.wd.execute(&chart, vec![]).await;
        v.ok().and_then(|v| v.as_bool()).unwrap_or(false)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await; // the chart's entry animation
    desk.wd.screenshot(&screenshot_path("leader-board")).await;
    let scope = desk.text(BOARD_SCOPE).await;
    assert!(scope.contains("本单位考核"), "{scope}");

    // The unit's open case, answered from the window.
    let row = format!("{}:has([data-testid=\"case-answer\"])", by_testid("case-row"));
    desk.wd
        .wait()
        .at_most(UI)
        .for_element(Locator::Css(&row))
        .await
        .unwrap();
    desk.click("case-answer").await;
    desk.click("dialog-confirm").await;
    let problem = desk.text("dialog-error").await;
    assert_eq!(problem, "请填写原因；请填写整改措施");
    desk.type_into("case-cause", "窗口人员请假，未做交接").await;
    desk.type_into("case-correction", "已明确A/B角交接，当日回访群众")
        .await;
    desk.wd.screenshot(&screenshot_path("leader-case-answer")).await;
    desk.click("dialog-confirm").await;
    let answered_of_unit = || async {
        let cases = shimin_server::inspect::supervision_cases(w.ts.store())
            .await
            .unwrap();
        cases
            .into_iter()
            .find(|c| c.unit_id == case.unit_id && c.stage == "answered")
    };
    eventually(UI, "the server holds the unit's case as answered", || async {
        answered_of_unit().await.is_some()
    })
    .await;
    let answered = answered_of_unit().await.unwrap();
    let steps = shimin_server::inspect::supervision_steps(w.ts.store())
        .await
        .unwrap();
    let step = steps.iter().find(|s| s.case_id == answered.id).expect("its step");
    assert_eq!(step.cause.as_deref(), Some("窗口人员请假，未做交接"));
    assert_eq!(step.correction.as_deref(), Some("已明确A/B角交接，当日回访群众"));
    assert_eq!(step.actor_id, Some(leader.id));
    desk.wd.close().await;
}

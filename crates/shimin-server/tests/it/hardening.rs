//! What a black-box probe of the server found (issue 16), one test per finding, over real HTTP:
//! each failed on the code before the fix.

use std::net::IpAddr;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::*;
use shimin_server::demo::DEMO_PASSWORD;
use shimin_server::passwords::Lane;
use shimin_server::{inspect, HashParams};
use uuid::Uuid;

use crate::support::*;

/// A login request from the local address `from` (the loopback net has many).
async fn login_from(
    ts: &TestServer,
    from: IpAddr,
    username: &str,
    password: &str,
    client_id: Uuid,
) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .no_proxy()
        .local_address(from)
        .build()
        .unwrap();
    http.post(ts.url(paths::LOGIN))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(&LoginRequest {
            username: username.into(),
            password: password.into(),
            client_id,
            device: "probe".into(),
        })
        .send()
        .await
        .unwrap()
}

/// Waits (bounded) until `cond` holds.
async fn eventually_true(cond: impl Fn() -> bool) {
    let until = Instant::now() + std::time::Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "condition never held");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

fn local(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// Finding 1: 64 concurrent password checks of unknown users and 64 of a real user run at most
/// one per core at once, every one is answered (no 5xx), and a colleague at their own desk
/// logs in meanwhile without waiting for the flood. (The memory figure is the benchmark's,
/// part 8.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_flood_runs_a_bounded_number_of_password_checks_and_others_still_log_in() {
    let ts = start_with(|c| {
        c.hash_params = HashParams {
            m_kib: 8192,
            t: 2,
            p: 1,
        };
        c.address_limit.burst = 1000;
    })
    .await;
    // The colleague's desk has logged in before: the server knows the installation.
    let colleague = ts.demo_user(Role::Clerk, Some("县民政局"));
    let desk = Uuid::new_v4();
    let first = login_from(&ts, local(2), &colleague, DEMO_PASSWORD, desk).await;
    assert_eq!(first.status(), StatusCode::OK);
    let real = ts.demo_user(Role::Clerk, Some("县公安局"));
    let flood: Vec<_> = (0..128u8)
        .map(|i| {
            let (ts_url, real) = (ts.url(""), real.clone());
            tokio::spawn(async move {
                let name = if i % 2 == 0 { format!("nobody{i}") } else { real };
                // Each from its own address, as a distributed flood comes.
                reqwest::Client::builder()
                    .no_proxy()
                    .local_address(IpAddr::from([127, 0, 1, i]))
                    .build()
                    .unwrap()
                    .post(format!("{ts_url}{}", paths::LOGIN))
                    .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                    .json(&LoginRequest {
                        username: name,
                        password: "Wrong#123".into(),
                        client_id: Uuid::new_v4(),
                        device: String::new(),
                    })
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    // Once the flood queues for the hashers, the colleague logs in at the own desk: answered
    // while most of the flood is still waiting.
    let hasher = &ts.server.state().hasher;
    eventually_true(|| hasher.waiting(Lane::Others) >= 16).await;
    let r = login_from(&ts, local(2), &colleague, DEMO_PASSWORD, desk).await;
    assert_eq!(r.status(), StatusCode::OK, "a legitimate login during the flood");
    let unanswered = flood.iter().filter(|f| !f.is_finished()).count();
    assert!(
        unanswered >= 8,
        "the own desk waited for the flood ({unanswered} left)"
    );
    for f in flood {
        let status = f.await.unwrap();
        assert!(
            !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
        assert!(status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(
        hasher.peak_concurrency() <= hasher.permits(),
        "{} hashes at once, {} allowed",
        hasher.peak_concurrency(),
        hasher.permits()
    );
}

/// Finding 1: one address cannot keep the server hashing; another address is not affected.
#[tokio::test]
async fn password_attempts_from_one_address_are_rate_limited() {
    let ts = start_with(|c| {
        c.address_limit.burst = 5;
        c.address_limit.per_minute = 1;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = login_from(&ts, local(3), &format!("x{i}"), "Wrong#123", Uuid::new_v4()).await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let e: ApiError = r.json().await.unwrap();
            assert_eq!(e.code, codes::RATE_LIMITED);
            assert!(e.retry_after_secs.unwrap() >= 1);
        }
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        5
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        3
    );
    let name = ts.demo_user(Role::Clerk, Some("县公安局"));
    let r = login_from(&ts, local(4), &name, DEMO_PASSWORD, Uuid::new_v4()).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Finding 2: strangers guessing the sysadmin's password make strangers wait, not the
/// sysadmin's own desk; the guessing raises an alert; the sysadmin unlocks.
#[tokio::test]
async fn guessing_cannot_lock_out_an_accounts_own_desk_raises_an_alert_and_can_be_cleared() {
    let ts = start().await;
    let admin_name = ts.demo_user(Role::Sysadmin, None);
    let own_desk = Uuid::new_v4();
    ts.login_with_client(&admin_name, DEMO_PASSWORD, own_desk)
        .await
        .unwrap();
    for _ in 0..12 {
        let _ = ts.login(&admin_name, "Guess#0001").await;
    }
    let stranger = ts
        .login(&admin_name, DEMO_PASSWORD)
        .await
        .err()
        .expect("strangers wait");
    assert_eq!(stranger.error.code, codes::ACCOUNT_LOCKED);
    let admin = ts
        .login_with_client(&admin_name, DEMO_PASSWORD, own_desk)
        .await
        .expect("the sysadmin's own desk is not locked out");
    assert!(
        ts.audit().await.iter().any(|e| e.action == "login.under_attack"),
        "an account under attack raises an alert"
    );
    // A clerk may not unlock; the sysadmin may.
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let path = paths::ADMIN_UNLOCK.replace("{username}", &admin_name);
    let refused = fail(clerk.req(Method::POST, &path)).await;
    assert_eq!(
        (refused.status, refused.error.code.as_str()),
        (StatusCode::FORBIDDEN, codes::FORBIDDEN)
    );
    let r = admin.req(Method::POST, &path).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    ts.login(&admin_name, DEMO_PASSWORD).await.expect("unlocked");
    assert!(ts
        .audit()
        .await
        .iter()
        .any(|e| e.action == "user.unlock" && e.outcome.starts_with("ok")));
}

/// Finding 2: unknown and existing user names get the same status and body, before the
/// threshold and after it, and (statistically) the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_existing_names_are_indistinguishable() {
    let ts = start_with(|c| {
        c.hash_params = HashParams {
            m_kib: 4096,
            t: 1,
            p: 1,
        };
        c.address_limit.burst = 10_000;
        // Every attempt is checked (no waits) for the timing; the waits come below.
        c.login_policy.free_failures = 1_000;
    })
    .await;
    let existing = ts.demo_user(Role::Clerk, Some("县公安局"));
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..200 {
        for (name, into) in [
            ("zhangsan.nobody", &mut times.0),
            (existing.as_str(), &mut times.1),
        ] {
            let t = Instant::now();
            let f = ts.login(name, "Wrong#123").await.err().unwrap();
            into.push(t.elapsed().as_secs_f64());
            assert_eq!(
                (f.status, f.error.code.as_str()),
                (StatusCode::UNAUTHORIZED, codes::BAD_CREDENTIALS)
            );
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (unknown, known) = (median(&mut times.0), median(&mut times.1));
    let ratio = unknown / known;
    assert!(
        (0.7..1.43).contains(&ratio),
        "median {unknown:.4}s vs {known:.4}s"
    );

    // After the threshold: the same answers too.
    let ts = start().await;
    let existing = ts.demo_user(Role::Clerk, Some("县民政局"));
    for i in 0..8 {
        let a = ts.login("lisi.nobody", "Wrong#123").await.err().unwrap();
        let b = ts.login(&existing, "Wrong#123").await.err().unwrap();
        assert_eq!(
            (a.status, &a.error.code),
            (b.status, &b.error.code),
            "attempt {i}"
        );
        assert_eq!(a.error.message, b.error.message, "attempt {i}");
        let (ra, rb) = (a.error.retry_after_secs, b.error.retry_after_secs);
        assert!(
            ra.zip(rb).is_none_or(|(x, y)| x.abs_diff(y) <= 1),
            "attempt {i}: {ra:?} {rb:?}"
        );
    }
}

/// Finding 2: a stolen token cannot guess the password through the change endpoint.
#[tokio::test]
async fn the_old_password_check_of_a_password_change_counts_like_a_login() {
    let ts = start().await;
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let mut codes_seen = Vec::new();
    for i in 0..6 {
        let f = fail(s.req(Method::POST, paths::PASSWORD).json(&ChangePasswordRequest {
            old_password: format!("Guess#{i:04}"),
            new_password: "Brand#New2026".into(),
        }))
        .await;
        codes_seen.push(f.error.code);
    }
    assert_eq!(&codes_seen[..4], [codes::BAD_CREDENTIALS; 4]);
    assert_eq!(&codes_seen[4..], [codes::ACCOUNT_LOCKED; 2]);
}

/// Finding 3: untrusted input is bounded before it reaches the permanent record.
#[tokio::test]
async fn a_huge_user_name_reaches_the_audit_trail_bounded() {
    let ts = start().await;
    let huge = "甲".repeat(300_000);
    let f = ts.login(&huge, "Wrong#123").await.err().unwrap();
    assert_eq!(f.error.code, codes::BAD_CREDENTIALS);
    let with_control = "evil\u{7}\nname";
    ts.login(with_control, "Wrong#123").await.err().unwrap();
    let audit = ts.audit().await;
    let longest = audit
        .iter()
        .filter_map(|e| e.username.as_ref())
        .map(|u| u.chars().count())
        .max()
        .unwrap();
    assert!(longest <= 64, "{longest} characters stored");
    assert!(audit
        .iter()
        .filter_map(|e| e.username.as_ref())
        .all(|u| !u.chars().any(|c| c.is_control())));
}

/// Finding 4: a push names the session's own client, or is refused; no client rows appear.
#[tokio::test]
async fn a_push_under_another_client_id_is_refused_and_registers_nothing() {
    let ts = start().await;
    let portal = ts.portal().await;
    let created = new_reservation(&ts, &portal, "县公安局").await;
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let clients_before = inspect::clients(ts.store()).await.unwrap().len();
    let forged = PushRequest {
        client_id: Uuid::new_v4(),
        mutations: vec![mutation(1, created.id, Op::Claim)],
    };
    let f = fail(s.req(Method::POST, paths::PUSH).json(&forged)).await;
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::CONFLICT, codes::CLIENT_MISMATCH)
    );
    assert_eq!(inspect::clients(ts.store()).await.unwrap().len(), clients_before);
    assert_eq!(ts.item(created.id).await.handler_id, None);
}

/// Finding 5: supervision roles see a delivered case's recipient and the history note naming
/// them masked, like the applicant (the rule is the field's classification, not a list).
#[tokio::test]
async fn personal_data_in_free_text_is_masked_for_supervision() {
    let ts = start().await;
    let inspector = ts.login_as(Role::Inspector, None).await;
    let (changes, _) = inspector.pull_all(0, None).await;
    let delivered: Vec<&ItemRecord> = items(&changes)
        .into_iter()
        .filter(|i| i.kind == ItemKind::DelegatedCase && i.status == Status::Delivered)
        .collect();
    assert!(!delivered.is_empty());
    for case in delivered {
        let full = ts.item(case.id).await;
        let recipient = case.details.delivery.as_ref().unwrap().recipient.clone();
        assert!(recipient.ends_with("**"), "recipient {recipient}");
        let text = serde_json::to_string(case).unwrap();
        for personal in [
            &full.applicant.name,
            &full.applicant.id_number,
            &full.applicant.phone,
        ] {
            assert!(
                !text.contains(personal.as_str()),
                "{} leaks {personal}",
                case.number
            );
        }
        assert!(case
            .events
            .iter()
            .filter_map(|e| e.note.as_deref())
            .any(|n| n.starts_with("签收人：") && n.ends_with("**")));
    }
}

/// Finding 5, second part: showing a masked number in full is recorded once per reveal (the
/// desk may send it again), with an audit entry naming who, which installation, which item
/// and field, never the value; supervision roles have nothing to reveal.
#[tokio::test]
async fn a_reveal_of_a_masked_number_is_audited_once_and_never_holds_the_value() {
    let ts = start().await;
    let portal = ts.portal().await;
    let created = new_reservation(&ts, &portal, "县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let reveal = |field| Reveal {
        id: Uuid::new_v4(),
        item_id: created.id,
        field,
        at: chrono::Utc::now(),
    };
    let (id_number, phone) = (
        reveal(shimin_domain::identity::PersonalField::IdNumber),
        reveal(shimin_domain::identity::PersonalField::Phone),
    );
    let unknown_item = Reveal {
        item_id: Uuid::new_v4(),
        ..reveal(shimin_domain::identity::PersonalField::Phone)
    };
    let batch = RevealBatch {
        reveals: vec![id_number.clone(), phone.clone(), unknown_item],
    };
    let first: RevealReceipt = clerk.post(paths::REVEALS, &batch).await.unwrap();
    assert_eq!(first.recorded, 2, "the unknown item is settled without a record");
    let again: RevealReceipt = clerk.post(paths::REVEALS, &batch).await.unwrap();
    assert_eq!(again.recorded, 0, "sent again, counted once");

    let rows = inspect::reveals(ts.store()).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.user_id == clerk.user_id() && r.client_id == clerk.client_id.to_string()));
    let audit: Vec<_> = ts
        .audit()
        .await
        .into_iter()
        .filter(|e| e.action == "personal.reveal")
        .collect();
    assert_eq!(audit.len(), 2);
    let stored = ts.item(created.id).await;
    for e in &audit {
        assert_eq!(e.target.as_deref(), Some(created.number.as_str()));
        assert_eq!(e.user_id, Some(clerk.user_id()));
        assert!(
            !e.outcome.contains(&stored.applicant.id_number) && !e.outcome.contains(&stored.applicant.phone)
        );
    }
    assert!(audit.iter().any(|e| e.outcome.starts_with("id_number shown ")));
    assert!(audit.iter().any(|e| e.outcome.starts_with("phone shown ")));

    // Supervision roles only ever see masked data.
    let inspector = ts.login_as(Role::Inspector, None).await;
    let f = fail(inspector.req(Method::POST, paths::REVEALS).json(&batch)).await;
    assert_eq!(f.status, StatusCode::FORBIDDEN);
    // Too many at once: refused, nothing recorded.
    let flood = RevealBatch {
        reveals: (0..=MAX_REVEAL_BATCH)
            .map(|_| reveal(shimin_domain::identity::PersonalField::Phone))
            .collect(),
    };
    let f = fail(clerk.req(Method::POST, paths::REVEALS).json(&flood)).await;
    assert_eq!(f.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(inspect::reveals(ts.store()).await.unwrap().len(), 2);
    // A time the server's clock has not reached is recorded as the time it arrived.
    let ahead = Reveal {
        at: chrono::Utc::now() + chrono::Duration::hours(2),
        ..reveal(shimin_domain::identity::PersonalField::Phone)
    };
    let before = chrono::Utc::now();
    let receipt: RevealReceipt = clerk
        .post(
            paths::REVEALS,
            &RevealBatch {
                reveals: vec![ahead.clone()],
            },
        )
        .await
        .unwrap();
    assert_eq!(receipt.recorded, 1);
    let row = inspect::reveals(ts.store())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == ahead.id)
        .unwrap();
    assert!(row.revealed_at >= before - chrono::Duration::seconds(1) && row.revealed_at < ahead.at);
}

/// Finding 6: numbers from requests are checked; no input answers 5xx.
#[tokio::test]
async fn extreme_numbers_in_requests_never_answer_5xx() {
    let ts = start().await;
    let agent_name = ts
        .county
        .users_with_role(Role::Agent)
        .next()
        .unwrap()
        .username
        .clone();
    let agent = ts.login(&agent_name, DEMO_PASSWORD).await.unwrap();
    let hash = "ab".repeat(32);
    let start_req = BlobUploadStart {
        hash: hash.clone(),
        size: 100,
        mime: "image/png".into(),
    };
    let _: BlobUploadState = agent.post(paths::BLOBS, &start_req).await.unwrap();
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let chunk = vec![0u8; 10];
    let sha = shimin_server::blobs::sha256_hex(&chunk);
    let blob = paths::BLOB.replace("{hash}", &hash);
    let requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "offset u64::MAX",
            agent
                .req(Method::PUT, &format!("{blob}?offset={}", u64::MAX))
                .header(CHUNK_SHA256_HEADER, &sha)
                .body(chunk.clone()),
        ),
        (
            "offset beyond u64",
            agent
                .req(Method::PUT, &format!("{blob}?offset=99999999999999999999999"))
                .header(CHUNK_SHA256_HEADER, &sha)
                .body(chunk.clone()),
        ),
        (
            "cursor i64::MAX",
            clerk.req(Method::GET, &format!("{}?cursor={}", paths::PULL, i64::MAX)),
        ),
        (
            "cursor i64::MIN",
            clerk.req(Method::GET, &format!("{}?cursor={}", paths::PULL, i64::MIN)),
        ),
        (
            "limit u32::MAX",
            clerk.req(
                Method::GET,
                &format!("{}?cursor=0&limit={}", paths::PULL, u32::MAX),
            ),
        ),
        (
            "push seq i64::MAX",
            clerk.req(Method::POST, paths::PUSH).json(&PushRequest {
                client_id: clerk.client_id,
                mutations: vec![mutation(i64::MAX, Uuid::new_v4(), Op::Claim)],
            }),
        ),
        (
            "blob size u64::MAX",
            agent.req(Method::POST, paths::BLOBS).json(&serde_json::json!({
                "hash": hash, "size": u64::MAX, "mime": "image/png"
            })),
        ),
    ];
    for (what, req) in requests {
        let status = req.send().await.unwrap().status();
        assert!(!status.is_server_error(), "{what}: {status}");
    }
}

/// Finding 7: the server checks identifying data with the domain's rules, and a mutation id
/// sent again under a new sequence number is applied once.
#[tokio::test]
async fn the_server_checks_citizens_data_and_applies_a_mutation_id_once() {
    let ts = start().await;
    let portal = ts.portal().await;
    let matter = ts.matter_of("县公安局").await;
    let good = applicant();
    let mut wrong_check = good.clone();
    let last = wrong_check.id_number.pop().unwrap();
    wrong_check.id_number.push(if last == '0' { '1' } else { '0' });
    let cases = [
        (Applicant { ..wrong_check }, "applicant.id_number"),
        (
            Applicant {
                id_number: "ABCDEFGHIJKLMNOPQR".into(),
                ..good.clone()
            },
            "applicant.id_number",
        ),
        (
            Applicant {
                phone: "<b>138</b>".into(),
                ..good.clone()
            },
            "applicant.phone",
        ),
        (
            Applicant {
                name: "<script>".into(),
                ..good.clone()
            },
            "applicant.name",
        ),
    ];
    for (applicant, field) in cases {
        let f = fail(
            portal
                .req(Method::POST, paths::INTAKE_RESERVATION)
                .json(&NewReservation {
                    matter_id: matter,
                    applicant,
                    requested_slot: tomorrow_slot(),
                    content: String::new(),
                }),
        )
        .await;
        assert_eq!(f.error.code, codes::INVALID_FIELD);
        assert_eq!(f.error.details.unwrap()["field"], field);
    }
    // A company's unified social credit code is an ID number too.
    let company = Applicant {
        id_number: "91130400MA0CXXXXXX".to_owned(),
        ..good.clone()
    };
    let first17 = &company.id_number[..17];
    let code = format!(
        "{first17}{}",
        shimin_domain::identity::credit_check_char(first17).unwrap()
    );
    let ok: Created = portal
        .post(
            paths::INTAKE_RESERVATION,
            &NewReservation {
                matter_id: matter,
                applicant: Applicant {
                    id_number: code,
                    ..company
                },
                requested_slot: tomorrow_slot(),
                content: String::new(),
            },
        )
        .await
        .unwrap();

    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let note = mutation(
        1,
        ok.id,
        Op::AddNote {
            text: "只记一次".into(),
        },
    );
    clerk.push(vec![note.clone()]).await.unwrap();
    let again = Mutation { seq: 2, ..note };
    let r = clerk.push(vec![again]).await.unwrap();
    assert!(matches!(r.results[0].outcome, MutationOutcome::Applied { .. }));
    let notes = ts
        .history(ok.id)
        .await
        .iter()
        .filter(|e| e.note.as_deref() == Some("只记一次"))
        .count();
    assert_eq!(notes, 1, "applied once under two numbers");
}

/// Finding 8: no answer may be cached; JSON is not sniffed; a wrong method is a JSON error.
#[tokio::test]
async fn answers_carry_no_store_and_nosniff_and_a_wrong_method_is_a_json_error() {
    let ts = start().await;
    let name = ts.demo_user(Role::Clerk, Some("县公安局"));
    let login = ts
        .req(Method::POST, paths::LOGIN)
        .json(&LoginRequest {
            username: name,
            password: DEMO_PASSWORD.into(),
            client_id: Uuid::new_v4(),
            device: String::new(),
        })
        .send()
        .await
        .unwrap();
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let pull = s
        .req(Method::GET, &format!("{}?cursor=0", paths::PULL))
        .send()
        .await
        .unwrap();
    for r in [&login, &pull] {
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    let wrong = s.req(Method::DELETE, paths::PULL).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    let e: ApiError = wrong.json().await.unwrap();
    assert_eq!(e.code, codes::METHOD_NOT_ALLOWED);
}

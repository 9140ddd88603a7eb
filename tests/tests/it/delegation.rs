//! Delegated cases (代办, R-DEL) end to end: a township agent's offline day with photos, an
//! upload cut part-way and resumed, refused files, the custody chain on both sides, and who may
//! read a case or its files.

use crate::support::*;
use shimin_client::{Desk, NewCase, QueueQuery, QueueView};
use shimin_domain::item::{CustodyStep, ItemKind, Status};
use shimin_e2e::proxy::Proxy;
use shimin_protocol::{codes, ApiError, AttachmentRef, ItemRecord, Op, BLOB_CHUNK_BYTES};
use std::net::SocketAddr;
use uuid::Uuid;

/// A matter, its materials list and its A clerk (the receiving window).
async fn matter_with_window(server: &TestServer) -> (i64, Vec<String>, DemoUser) {
    let (m, clerk) = server
        .matter_with_a_clerk_on_duty(|m| m.materials.len() >= 3)
        .await;
    (m.id, m.materials, clerk)
}

/// What the server holds for a user: complete uploads, blobs, and the agent's items.
async fn holdings(server: &TestServer, user: i64) -> (usize, usize, usize) {
    let uploads = shimin_server::inspect::uploads(server.store()).await.unwrap();
    let blobs = shimin_server::inspect::blobs(server.store()).await.unwrap();
    let items = server.items().await;
    (
        uploads.iter().filter(|u| u.user_id == user && u.complete).count(),
        blobs.iter().filter(|b| b.size > 0).count(),
        items.iter().filter(|i| i.agent_id == Some(user)).count(),
    )
}

fn new_case(matter_id: i64, n: u32) -> NewCase {
    NewCase {
        matter_id,
        applicant: citizen(500 + n),
        content: format!("代办第{n}件：老人行动不便，委托代办"),
        place: "柳林村".into(),
    }
}

async fn agent_desk(server_url: &str, dir: &std::path::Path, agent: &DemoUser) -> Desk {
    let d = desk(dir, &agent.username, &[server_url.to_owned()], agent).await;
    d.sync_now().await.expect("first sync");
    d
}

async fn server_record(desk: &Desk, id: Uuid) -> ItemRecord {
    desk.item(id).await.unwrap().expect("case in the cache").record
}

#[tokio::test]
async fn an_agents_offline_day_reaches_the_server_exactly_once() {
    let mut server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let (matter, materials, _) = matter_with_window(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = agent_desk(&server.url(), dir.path(), &agent).await;
    // The demo county's agent holds photos and a delivery proof already.
    let (blobs_before, stored_before, before) = holdings(&server, agent.id).await;
    let files_before = walk_files(&server.data.path().join("blobs")).len();

    // In the village: no network.
    server.stop().await;
    let mut cases = Vec::new();
    for n in 0..20u32 {
        let case = desk
            .register_case(new_case(matter, n))
            .await
            .expect("registers offline");
        assert!(case.pending && case.record.status == Status::Registered);
        for p in 0..3u32 {
            let photo = phone_photo(n * 3 + p, 2200, 1400);
            let (att, _) = desk
                .attach_file(
                    case.record.id,
                    &materials[p as usize],
                    &format!("IMG_{n:02}{p}.jpg"),
                    photo,
                )
                .await
                .expect("photo captured offline");
            assert_eq!(att.mime, "image/jpeg");
        }
        if n % 2 == 0 {
            desk.act(
                case.record.id,
                Op::HandOver {
                    place: Some("县政务服务中心".into()),
                },
            )
            .await
            .expect("hand-over recorded offline");
        }
        cases.push(case.record.id);
    }
    // The day's work is in the cache, pending: 20 registrations, 60 photos, 10 hand-overs.
    assert_eq!(desk.pending_count().await.unwrap(), 20 + 60 + 10);
    assert_eq!(
        desk.status().borrow().uploads_pending,
        60,
        "the status bar counts the photos to send"
    );
    // At rest the photos (ID cards, household registers) are as encrypted as the rest.
    desk.store().checkpoint().await.unwrap();
    let first_photo = &server_record(&desk, cases[0]).await.details.attachments[0];
    let (_, photo) = desk.attachment(&first_photo.hash).await.unwrap();
    let (head, middle) = (&photo[..24], &photo[photo.len() / 2..photo.len() / 2 + 32]);
    for suffix in ["", "-wal"] {
        let file = dir.path().join(format!("{}.db{suffix}", agent.username));
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for plain in [head, middle, citizen(500).name.as_bytes()] {
            assert!(
                !contains(&bytes, plain),
                "{} holds plain {:?}",
                file.display(),
                plain
            );
        }
    }
    let mine = desk.queue(QueueQuery::new(QueueView::Mine)).await.unwrap();
    assert!(cases.iter().all(|id| mine.iter().any(|v| v.record.id == *id)));
    assert_eq!(server_record(&desk, cases[0]).await.details.attachments.len(), 3);

    // Back in town: the network appears.
    server.restart().await;
    let report = desk.sync_now().await.expect("syncs");
    assert_eq!((report.pushed_applied, report.pushed_rejected), (90, 0));
    assert_eq!(desk.pending_count().await.unwrap(), 0);
    assert_eq!(desk.status().borrow().uploads_pending, 0);
    let again = desk.sync_now().await.unwrap();
    assert_eq!(again.pushed_applied, 0, "nothing left to send");

    let (blobs, stored, after) = holdings(&server, agent.id).await;
    assert_eq!(after - before, 20, "every case once");
    let all_items = server.items().await;
    let attachments = shimin_server::inspect::attachments(server.store()).await.unwrap();
    for (n, id) in cases.iter().enumerate() {
        assert_eq!(all_items.iter().filter(|i| i.id == *id).count(), 1);
        assert_eq!(
            attachments.iter().filter(|(item, _)| item == id).count(),
            3,
            "three photos on case {n}"
        );
        let want = if n % 2 == 0 {
            Status::Submitted
        } else {
            Status::Registered
        };
        assert_eq!(server.item(*id).await.status, want);
        // The desk now shows the server's record with the server's number.
        let rec = server_record(&desk, cases[n]).await;
        assert!(rec.version > 0 && rec.number.starts_with("DB"), "{}", rec.number);
        assert!(!rec.number.contains("待同步"));
    }
    assert_eq!(
        (blobs - blobs_before, stored - stored_before),
        (60, 60),
        "every photo stored once"
    );
    let on_disk = walk_files(&server.data.path().join("blobs"));
    assert_eq!(
        on_disk.len() - files_before,
        60,
        "one file per photo, no partial left"
    );

    // What the server keeps is the stripped photo: no location, upright, at most 2048 px.
    let hash = shimin_server::inspect::attachments(server.store())
        .await
        .unwrap()
        .into_iter()
        .find(|(item, _)| *item == cases[0])
        .expect("the case's photo")
        .1;
    let stored = std::fs::read(server.data.path().join("blobs").join(&hash[..2]).join(&hash)).unwrap();
    assert!(!contains(&stored, GPS_MARKER) && !contains(&stored, b"Exif"));
    let img = image::load_from_memory(&stored).unwrap();
    // 2200×1400 turned upright (orientation 6) is 1400×2200, downscaled to a 2048 px edge.
    assert_eq!(img.height(), 2048, "rotated upright and downscaled");
    assert!((1303..=1304).contains(&img.width()), "{}", img.width());
}

fn walk_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn an_upload_cut_part_way_resumes_without_resending_what_the_server_has() {
    let server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let (matter, materials, _) = matter_with_window(&server).await;
    let upstream: SocketAddr = server.listen[0];
    let path = Proxy::start("127.0.0.2:0".parse().unwrap(), upstream)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let desk = agent_desk(&path.url(), dir.path(), &agent).await;

    let case = desk.register_case(new_case(matter, 1)).await.unwrap();
    let size = 3 * BLOB_CHUNK_BYTES + 1234;
    let scan = scan_pdf(7, size);
    let (att, _) = desk
        .attach_file(case.record.id, &materials[0], "户口本扫描.pdf", scan.clone())
        .await
        .unwrap();

    // The uplink dies after about 1.6 chunks of the file have gone out.
    let sent_before = path.bytes_up();
    path.cut_after_bytes((BLOB_CHUNK_BYTES as u64) * 16 / 10);
    let err = desk
        .sync_now()
        .await
        .expect_err("the connection is cut mid-upload");
    assert!(err.is_unreachable(), "{err}");
    let received = shimin_server::inspect::uploads(server.store())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.hash == att.hash)
        .expect("the upload")
        .received;
    assert_eq!(
        received as usize, BLOB_CHUNK_BYTES,
        "the whole first chunk arrived, the cut one did not"
    );
    let partial = server
        .data
        .path()
        .join("blobs/partial")
        .join(format!("{}-{}", agent.id, att.hash));
    assert_eq!(
        std::fs::metadata(&partial).unwrap().len() as usize,
        BLOB_CHUNK_BYTES
    );
    assert!(path.bytes_up() - sent_before > BLOB_CHUNK_BYTES as u64);

    // The network is back: the upload goes on from the first byte the server lacks.
    path.uncap();
    let resumed_from = path.bytes_up();
    let report = desk.sync_now().await.expect("syncs after the cut");
    assert_eq!(report.pushed_rejected, 0);
    let resent = path.bytes_up() - resumed_from;
    let missing = (size - BLOB_CHUNK_BYTES) as u64;
    assert!(
        resent >= missing && resent < missing + 64 * 1024,
        "sent {resent} bytes after the cut for {missing} missing bytes"
    );
    let stored = std::fs::read(
        server
            .data
            .path()
            .join("blobs")
            .join(&att.hash[..2])
            .join(&att.hash),
    )
    .unwrap();
    assert_eq!(stored, scan, "the server holds exactly the file");
    let attached = shimin_server::inspect::attachments(server.store()).await.unwrap();
    assert_eq!(
        attached
            .iter()
            .filter(|(item, _)| *item == case.record.id)
            .count(),
        1
    );
}

async fn api_error(res: reqwest::Response) -> (u16, ApiError) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn bad_files_are_refused_with_clear_errors_and_nothing_captured_is_lost() {
    let server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let (matter, materials, _) = matter_with_window(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = agent_desk(&server.url(), dir.path(), &agent).await;
    let case = desk.register_case(new_case(matter, 2)).await.unwrap();
    let id = case.record.id;
    let (good, _) = desk
        .attach_file(id, &materials[0], "身份证.jpg", phone_photo(1, 800, 600))
        .await
        .unwrap();

    // At capture, on the desk.
    let oversized = scan_pdf(1, 21 * 1024 * 1024);
    let e = desk
        .attach_file(id, &materials[1], "大文件.pdf", oversized)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "attachment_too_large");
    assert!(e.to_string().contains("不能超过 20 MB"), "{e}");
    let png = {
        let mut b = Vec::new();
        image::DynamicImage::new_rgb8(40, 30)
            .write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Png)
            .unwrap();
        b
    };
    let e = desk
        .attach_file(id, &materials[1], "证明.pdf", png.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "attachment_type_mismatch");
    assert!(e.to_string().contains("标称为PDF文件，实际内容为PNG图片"), "{e}");
    let e = desk
        .attach_file(id, &materials[1], "照片.jpg", b"MZ\x90\0 not a photo".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "attachment_unsupported");
    let kept = server_record(&desk, id).await.details.attachments;
    assert_eq!(
        kept,
        vec![good.clone()],
        "the good photo is still there, nothing else"
    );
    desk.sync_now().await.unwrap();
    assert_eq!(
        server_record(&desk, id).await.details.attachments,
        vec![good.clone()]
    );

    // At the server, for a client that does not check (or lies).
    let api = Api::login_as(&server, &agent.username).await;
    let big_hash = "a".repeat(64);
    let (status, body) = api_error(
        api.start_upload(&big_hash, 21 * 1024 * 1024, "application/pdf")
            .await,
    )
    .await;
    assert_eq!((status, body.code.as_str()), (413, "attachment_too_large"));
    let (status, body) = api_error(api.start_upload(&big_hash, 100, "text/html").await).await;
    assert_eq!((status, body.code.as_str()), (415, "attachment_unsupported"));

    // A PNG declared as a PDF: refused when the content is seen.
    let png_hash = shimin_client::attachment::sha256_hex(&png);
    assert!(api
        .start_upload(&png_hash, png.len() as u64, "application/pdf")
        .await
        .status()
        .is_success());
    let (status, body) = api_error(api.put_chunk(&png_hash, 0, &png, None).await).await;
    assert_eq!(
        (status, body.code.as_str()),
        (415, "attachment_type_mismatch"),
        "{}",
        body.message
    );

    // A chunk that does not match its hash (cut or damaged in transit): nothing stored.
    let pdf = scan_pdf(3, 2 * BLOB_CHUNK_BYTES);
    let pdf_hash = shimin_client::attachment::sha256_hex(&pdf);
    assert!(api
        .start_upload(&pdf_hash, pdf.len() as u64, "application/pdf")
        .await
        .status()
        .is_success());
    let first = &pdf[..BLOB_CHUNK_BYTES];
    let truncated = &first[..1000];
    let (status, body) = api_error(
        api.put_chunk(
            &pdf_hash,
            0,
            truncated,
            Some(&shimin_client::attachment::sha256_hex(first)),
        )
        .await,
    )
    .await;
    assert_eq!((status, body.code.as_str()), (422, codes::CHUNK_CORRUPT));
    // A chunk from the wrong place is told where to continue.
    let (status, body) = api_error(api.put_chunk(&pdf_hash, 4096, &pdf[4096..8192], None).await).await;
    assert_eq!((status, body.code.as_str()), (409, codes::UPLOAD_OFFSET));
    assert_eq!(body.details.unwrap()["received"], 0);

    // A truncated upload (half the file, then the case refers to it) is refused by the push.
    assert!(api
        .put_chunk(&pdf_hash, 0, first, None)
        .await
        .status()
        .is_success());
    let half = AttachmentRef {
        hash: pdf_hash.clone(),
        size: pdf.len() as u64,
        mime: "application/pdf".into(),
        file_name: "半截.pdf".into(),
        material: materials[2].clone(),
    };
    let e = push_one(&api, id, Op::AddAttachment { attachment: half }).await;
    assert_eq!(e, codes::BLOB_MISSING);
    // Content whose hash is not its address.
    let liar = "b".repeat(64);
    let small = scan_pdf(9, 5000);
    assert!(api
        .start_upload(&liar, small.len() as u64, "application/pdf")
        .await
        .status()
        .is_success());
    let (status, body) = api_error(api.put_chunk(&liar, 0, &small, None).await).await;
    assert_eq!((status, body.code.as_str()), (422, codes::HASH_MISMATCH));
    assert_eq!(
        shimin_server::inspect::blobs(server.store())
            .await
            .unwrap()
            .iter()
            .filter(|b| b.hash == liar)
            .count(),
        0
    );
}

/// Pushes one mutation from a fresh client id; returns the rejection code ("" when applied).
async fn push_one(api: &Api, item: Uuid, op: Op) -> String {
    match api.push_one(item, op).await {
        shimin_protocol::MutationOutcome::Applied { .. } => String::new(),
        shimin_protocol::MutationOutcome::Rejected { code, .. } => code,
    }
}

/// The custody chain as a desk shows it: (step, actor, place), in order.
fn chain(rec: &ItemRecord) -> Vec<(CustodyStep, String, Option<String>, chrono::DateTime<chrono::Utc>)> {
    rec.events
        .iter()
        .filter_map(|e| {
            let step = CustodyStep::of_event(&e.action, e.status)?;
            Some((step, e.actor_name.clone(), e.place.clone(), e.at))
        })
        .collect()
}

#[tokio::test]
async fn the_full_custody_chain_is_visible_on_both_sides_in_order() {
    let server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let (matter, materials, clerk) = matter_with_window(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let agent_desk = agent_desk(&server.url(), dir.path(), &agent).await;
    let window = desk(dir.path(), "window", &[server.url()], &clerk).await;
    window.sync_now().await.unwrap();

    let case = agent_desk.register_case(new_case(matter, 3)).await.unwrap();
    let id = case.record.id;
    let (photo, _) = agent_desk
        .attach_file(id, &materials[0], "材料1.jpg", phone_photo(30, 1200, 900))
        .await
        .unwrap();
    agent_desk
        .act(
            id,
            Op::HandOver {
                place: Some("县政务服务中心".into()),
            },
        )
        .await
        .unwrap();
    agent_desk.sync_now().await.unwrap();

    // The window sees the delegated case with its materials and reads the photo.
    window.sync_now().await.unwrap();
    let seen = server_record(&window, id).await;
    assert_eq!(
        (seen.kind, seen.status),
        (ItemKind::DelegatedCase, Status::Submitted)
    );
    assert_eq!(seen.agent_id, Some(agent.id));
    assert_eq!(seen.details.attachments, vec![photo.clone()]);
    let (mime, bytes) = window.attachment(&photo.hash).await.unwrap();
    assert_eq!(mime, "image/jpeg");
    assert_eq!(shimin_client::attachment::sha256_hex(&bytes), photo.hash);

    // One-time notice back to the agent, who supplements and hands over again.
    let missing = vec![materials[1].clone()];
    window
        .act(
            id,
            Op::RequestSupplement {
                missing: missing.clone(),
                note: "请补充".into(),
            },
        )
        .await
        .unwrap();
    window.sync_now().await.unwrap();
    agent_desk.sync_now().await.unwrap();
    let back = server_record(&agent_desk, id).await;
    assert_eq!(back.status, Status::Supplement);
    assert_eq!(back.details.missing_materials, missing);
    agent_desk
        .attach_file(id, &materials[1], "补正.jpg", phone_photo(31, 1000, 800))
        .await
        .unwrap();
    agent_desk
        .act(
            id,
            Op::Resubmit {
                place: Some("县政务服务中心".into()),
            },
        )
        .await
        .unwrap();
    agent_desk.sync_now().await.unwrap();

    // Accepted (受理), finished (办结): the result waits for the agent.
    window.sync_now().await.unwrap();
    window.act(id, Op::PassPreReview).await.unwrap();
    window
        .act(
            id,
            Op::Advance {
                to: "completed".into(),
            },
        )
        .await
        .unwrap();
    let refused = window
        .act(
            id,
            Op::Advance {
                to: "delivered".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        "invalid_state",
        "the agent delivers a delegated case's result"
    );
    window.sync_now().await.unwrap();

    agent_desk.sync_now().await.unwrap();
    agent_desk
        .act(
            id,
            Op::CollectResult {
                place: Some("县政务服务中心".into()),
            },
        )
        .await
        .unwrap();
    let proof = agent_desk
        .store_file("签收.jpg", "送达凭证", phone_photo(32, 600, 400))
        .await
        .unwrap();
    agent_desk
        .act(
            id,
            Op::DeliverToCitizen {
                recipient: citizen(503).name,
                place: "柳林村".into(),
                proof: proof.clone(),
            },
        )
        .await
        .unwrap();
    agent_desk.sync_now().await.unwrap();
    window.sync_now().await.unwrap();

    let on_agent = server_record(&agent_desk, id).await;
    let on_window = server_record(&window, id).await;
    assert_eq!(on_agent.status, Status::Delivered);
    assert_eq!(on_agent.details.delivery.as_ref().unwrap().proof, proof);
    let a = chain(&on_agent);
    assert_eq!(a, chain(&on_window), "the same chain on both sides");
    let steps: Vec<CustodyStep> = a.iter().map(|c| c.0).collect();
    use CustodyStep::*;
    assert_eq!(
        steps,
        vec![
            CitizenToAgent,
            AgentToWindow,
            WindowToAgentForSupplement,
            AgentToWindowAgain,
            WindowToUnit,
            ResultReady,
            WindowToAgent,
            AgentToCitizen
        ]
    );
    assert!(a.windows(2).all(|w| w[0].3 <= w[1].3), "in time order");
    let window_site = server.site_of(clerk.id).await;
    let agent_name = a[0].1.clone();
    let clerk_actor = a[2].1.clone();
    assert_ne!(agent_name, clerk_actor);
    for (step, actor, place, _) in &a {
        let by_agent = matches!(
            step,
            CitizenToAgent | AgentToWindow | AgentToWindowAgain | WindowToAgent | AgentToCitizen
        );
        assert_eq!(
            actor,
            if by_agent { &agent_name } else { &clerk_actor },
            "{step:?}"
        );
        let want = match step {
            CitizenToAgent | AgentToCitizen => "柳林村",
            AgentToWindow | AgentToWindowAgain | WindowToAgent => "县政务服务中心",
            // The window's own steps: where its unit sits.
            _ => window_site.as_str(),
        };
        assert_eq!(place.as_deref(), Some(want), "{step:?}");
    }
    // The window reads the delivery proof too; the citizen's progress query follows the chain.
    assert!(window.attachment(&proof.hash).await.is_ok());
    let portal = Portal::login(&server).await;
    let progress: shimin_protocol::CitizenProgress = portal
        .request(
            reqwest::Method::GET,
            &shimin_protocol::paths::INTAKE_PROGRESS.replace("{number}", &on_agent.number),
        )
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(progress.progress, "结果已送达");
    assert_eq!(progress.steps.first().unwrap().step, CitizenToAgent.name_zh());
    assert_eq!(progress.steps.last().unwrap().step, AgentToCitizen.name_zh());
    let text = serde_json::to_string(&progress).unwrap();
    assert!(
        !text.contains(&agent_name) && !text.contains(&clerk_actor),
        "no staff names for citizens"
    );
}

#[tokio::test]
async fn an_agent_cannot_read_another_agents_case_or_its_files() {
    let server = TestServer::demo().await;
    let agent = server.user("agent", None).await;
    let other: DemoUser = {
        let other = server
            .users_where(|u| u.colleague.role.code() == "agent" && u.colleague.id != agent.id)
            .await
            .remove(0);
        DemoUser {
            username: other.username,
            id: other.id,
            unit_id: other.unit_id,
        }
    };
    let (matter, materials, _) = matter_with_window(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let mine = agent_desk(&server.url(), dir.path(), &agent).await;
    let case = mine.register_case(new_case(matter, 4)).await.unwrap();
    let photo_bytes = phone_photo(40, 900, 700);
    let (photo, _) = mine
        .attach_file(case.record.id, &materials[0], "户口本.jpg", photo_bytes)
        .await
        .unwrap();
    mine.sync_now().await.unwrap();

    let theirs = agent_desk(&server.url(), dir.path(), &other).await;
    assert!(theirs.item(case.record.id).await.unwrap().is_none(), "not pulled");
    let all = theirs.queue(QueueQuery::new(QueueView::All)).await.unwrap();
    assert!(all.iter().all(|v| v.record.agent_id == Some(other.id)));
    // By id: acting on it is refused as if it did not exist.
    let api = Api::login_as(&server, &other.username).await;
    assert_eq!(
        push_one(&api, case.record.id, Op::Resubmit { place: None }).await,
        codes::NOT_FOUND
    );
    // By hash: the blob is not there for them, through the desk or the API.
    assert_eq!(
        theirs.attachment(&photo.hash).await.unwrap_err().code(),
        codes::NOT_FOUND
    );
    assert_eq!(api.get_blob(&photo.hash).await.status(), 404);
    assert_eq!(
        api.get_blob(&"c".repeat(64)).await.status(),
        404,
        "same answer as no such blob"
    );
    // Knowing the hash is no licence to attach it to an own case and read it that way.
    let own = theirs.register_case(new_case(matter, 5)).await.unwrap();
    theirs.sync_now().await.unwrap();
    assert_eq!(
        push_one(
            &api,
            own.record.id,
            Op::AddAttachment {
                attachment: photo.clone()
            }
        )
        .await,
        codes::BLOB_MISSING
    );
    assert_eq!(api.get_blob(&photo.hash).await.status(), 404);
    // The upload state is the own one only: no oracle of who holds what.
    let state: shimin_protocol::BlobUploadState = api
        .start_upload(&photo.hash, photo.size, &photo.mime)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((state.received, state.complete), (0, false));
    // A clerk of another unit and a supervisor do not read it either; the owner does.
    let matter_unit = shimin_server::inspect::matters(server.store())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == matter)
        .expect("the matter")
        .unit_id;
    let outsider = server
        .users_where(|u| u.colleague.role.code() == "clerk" && u.colleague.unit_id != Some(matter_unit))
        .await
        .remove(0)
        .username;
    assert_eq!(
        Api::login_as(&server, &outsider)
            .await
            .get_blob(&photo.hash)
            .await
            .status(),
        404
    );
    let inspector = server.user("inspector", None).await;
    assert_eq!(
        Api::login_as(&server, &inspector.username)
            .await
            .get_blob(&photo.hash)
            .await
            .status(),
        403
    );
    let owner = Api::login_as(&server, &agent.username).await;
    let res = owner.get_blob(&photo.hash).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
}

/// The virus check of uploads (§21.6) with a stand-in clamd: a clean file is readable by the
/// window once checked; an infected one is quarantined, answered `attachment_infected`, and a
/// case referring to it is rejected with that code; while the scanner is down a new file stays
/// pending — its uploader reads it, nobody else — until the check is done.
#[tokio::test]
async fn uploads_are_virus_checked_before_anyone_else_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut clamd = FakeClamd::start(dir.path().join("clamd.sock"));
    let socket = clamd.socket.clone();
    let server = TestServer::demo_configured(|c, _| {
        c.scanner = Some(shimin_server::scan::ScannerConfig {
            clamd_socket: Some(socket),
            command: None,
            timeout_secs: Some(10),
        })
    })
    .await;
    let agent = server.user("agent", None).await;
    let (matter, materials, clerk) = matter_with_window(&server).await;
    let desk = agent_desk(&server.url(), dir.path(), &agent).await;
    let id = desk.register_case(new_case(matter, 40)).await.unwrap().record.id;
    desk.sync_now().await.unwrap();
    let api = Api::login_as(&server, &agent.username).await;
    let window = Api::login_as(&server, &clerk.username).await;
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let api = &api;
        let material = materials[0].clone();
        async move {
            let hash = shimin_client::attachment::sha256_hex(&bytes);
            assert!(api
                .start_upload(&hash, bytes.len() as u64, "application/pdf")
                .await
                .status()
                .is_success());
            let res = api.put_chunk(&hash, 0, &bytes, None).await;
            let att = AttachmentRef {
                hash: hash.clone(),
                size: bytes.len() as u64,
                mime: "application/pdf".into(),
                file_name: name.into(),
                material,
            };
            (res, att)
        }
    };

    // Clean: checked at once, then readable through the case.
    let (res, clean) = upload(scan_pdf(41, 4000), "清白.pdf").await;
    assert!(res.status().is_success());
    assert_eq!(
        push_one(
            &api,
            id,
            Op::AddAttachment {
                attachment: clean.clone()
            }
        )
        .await,
        ""
    );
    assert_eq!(window.get_blob(&clean.hash).await.status(), 200);

    // Infected: quarantined, refused, never read.
    let mut bad = scan_pdf(42, 4000);
    bad.extend_from_slice(b"\n% ");
    bad.extend_from_slice(TEST_VIRUS);
    bad.push(b'\n');
    let (res, infected) = upload(bad, "可疑.pdf").await;
    let (status, body) = api_error(res).await;
    assert_eq!((status, body.code.as_str()), (422, codes::ATTACHMENT_INFECTED));
    assert!(body.message.contains("Shimin.Test.Signature"), "{}", body.message);
    let blobs = server.data.path().join("blobs");
    assert!(
        blobs.join("quarantine").join(&infected.hash).is_file(),
        "kept in quarantine"
    );
    assert!(
        !blobs.join(&infected.hash[..2]).join(&infected.hash).exists(),
        "not among the blobs"
    );
    assert_eq!(
        push_one(
            &api,
            id,
            Op::AddAttachment {
                attachment: infected.clone()
            }
        )
        .await,
        codes::ATTACHMENT_INFECTED
    );
    assert_eq!(api.get_blob(&infected.hash).await.status(), 404);
    let audit = shimin_server::inspect::audit(server.store()).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "blob.scan" && e.outcome.contains("infected Shimin.Test.Signature")));

    // The scanner down: held as pending, readable by the uploader only; checked once it is back.
    clamd.stop();
    let (res, later) = upload(scan_pdf(43, 4000), "稍后.pdf").await;
    assert!(res.status().is_success(), "the upload itself completes");
    assert_eq!(
        push_one(
            &api,
            id,
            Op::AddAttachment {
                attachment: later.clone()
            }
        )
        .await,
        ""
    );
    assert_eq!(api.get_blob(&later.hash).await.status(), 200);
    assert_eq!(
        window.get_blob(&later.hash).await.status(),
        404,
        "not let through unchecked"
    );
    let scan = |hash: String| {
        let store = server.store();
        async move {
            shimin_server::inspect::blob_scans(store)
                .await
                .unwrap()
                .into_iter()
                .find(|s| s.hash == hash)
                .map(|s| s.status)
        }
    };
    assert_eq!(
        scan(later.hash.clone()).await,
        Some(shimin_server::store::ScanStatus::Pending)
    );
    assert_eq!(
        shimin_server::scan::retry_pending(server.running().state())
            .await
            .unwrap(),
        0
    );
    clamd.up();
    assert_eq!(
        shimin_server::scan::retry_pending(server.running().state())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        scan(later.hash.clone()).await,
        Some(shimin_server::store::ScanStatus::Clean)
    );
    assert_eq!(window.get_blob(&later.hash).await.status(), 200);
    desk.close().await;
}

//! R-SEC: the cache file on disk holds no citizen's name, ID number or phone in the clear.

use crate::support::*;

#[tokio::test]
async fn cache_file_contains_no_personal_data_in_the_clear() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();
    let cached = desk.queue(shimin_client::QueueQuery {
        view: shimin_client::QueueView::All,
        search: None,
        include_closed: true,
        limit: 100_000,
    });
    let cached = cached.await.unwrap();
    assert!(cached.len() > 10);
    desk.close().await;

    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(
        !bytes.windows(16).any(|w| w == b"SQLite format 3\0"),
        "cache is not a plain SQLite file"
    );
    let needles: Vec<String> = server
        .items()
        .await
        .into_iter()
        .flat_map(|i| [i.applicant.name, i.applicant.id_number, i.applicant.phone])
        .collect();
    assert!(needles.len() > 100);
    let finder = aho_corasick::AhoCorasick::new(&needles).unwrap();
    if let Some(m) = finder.find(&bytes) {
        panic!(
            "personal data #{} found in the cache file at byte {}",
            m.pattern().as_usize(),
            m.start()
        );
    }
    // The personal data was there to be found: the desk shows it when asked.
    assert!(cached.iter().all(|v| !v.record.applicant.name.is_empty()));
}

//! A desk process for the crash-safety test: logs in, queues `--count` notes on open items of
//! the clerk's unit (each durably in the outbox before the next), then pushes them. The test
//! kills it with SIGKILL in the middle of pushing and runs it again with `--count 0`.
//! With `--attach-pdf N` (an agent), it registers a delegated case with an N-byte scan instead
//! (`support::scan_pdf(N as seed, N)`), then syncs: the upload test kills it mid-upload.

use clap::Parser;
use shimin_client::{CacheKey, ClientConfig, Desk, Endpoint, QueueQuery, QueueView};
use shimin_protocol::Op;
use std::io::Write;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    cache: std::path::PathBuf,
    #[arg(long)]
    key_hex: String,
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    user: String,
    #[arg(long)]
    password: String,
    #[arg(long)]
    count: usize,
    #[arg(long, default_value_t = 0)]
    attach_pdf: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = CacheKey::from_hex(&args.key_hex).ok_or_else(|| anyhow::anyhow!("bad key"))?;
    let desk = Desk::open(ClientConfig::new(
        &args.cache,
        key,
        vec![Endpoint::new("内网", args.endpoint, false).allowing_plain_http()],
    ))
    .await?;
    desk.login(&args.user, &args.password).await?;
    if args.attach_pdf > 0 {
        desk.sync_now().await?;
        let matter = desk
            .matters()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no matters"))?;
        let case = desk
            .register_case(shimin_client::NewCase {
                matter_id: matter.id,
                applicant: shimin_e2e::support::citizen(77),
                content: String::new(),
                place: "河西村".into(),
            })
            .await?;
        let scan = shimin_e2e::support::scan_pdf(args.attach_pdf as u64, args.attach_pdf);
        let (att, _) = desk
            .attach_file(case.record.id, &matter.materials[0], "扫描件.pdf", scan)
            .await?;
        let mut out = std::io::stdout();
        writeln!(out, "queued attachment {}", att.hash)?;
        out.flush()?;
    }
    if args.count > 0 {
        desk.sync_now().await?;
        let items = desk
            .queue(QueueQuery {
                view: QueueView::Unit,
                search: None,
                include_closed: false,
                limit: 50,
            })
            .await?;
        anyhow::ensure!(!items.is_empty(), "no open items");
        for i in 0..args.count {
            let item = &items[i % items.len()];
            desk.act(
                item.record.id,
                Op::AddNote {
                    text: format!("flood-{i}"),
                },
            )
            .await?;
        }
        let mut out = std::io::stdout();
        writeln!(out, "queued {}", args.count)?;
        out.flush()?;
    }
    let report = desk.sync_now().await?;
    writeln!(
        std::io::stdout(),
        "pushed {} pending {}",
        report.pushed_applied,
        desk.pending_count().await?
    )?;
    Ok(())
}

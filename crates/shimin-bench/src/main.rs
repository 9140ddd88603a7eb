//! `shimin-bench`: the benchmark suite of issue 6. Every figure is measured beside its
//! reference in the same run and held against its target; results go to JSON (one record per
//! figure) and to a Markdown table (BENCHMARKS.md).
//!
//! ```text
//! shimin-bench [--size smoke|full] [--out-json PATH] [--out-md PATH] [--server-bin PATH] [--strict]
//! shimin-bench --size full --only-queue       # part 3 alone, merged into BENCHMARKS.json/.md
//! shimin-bench --size full --only-bootstrap   # part 1 alone, merged likewise
//! shimin-bench --size full --only-load        # part 4 alone, merged likewise
//! shimin-bench --only-desk                    # part 6 alone, merged likewise
//! ```
//!
//! Parts (see each module): 1 [`bootstrap`], 2 [`latency`], 3 [`queue`], 4 [`load`],
//! 5 [`push`], 6 [`desk`] (the desk app, "not measured" without its binary).
//!
//! Everything runs on loopback (127.0.0.1, ports chosen by the OS); the production addresses
//! are never contacted ([`wire::check_loopback`] refuses any other base URL).
//!
//! Exit status: non-zero when a phase fails (and, with `--size smoke`, when any error count is
//! above zero). Targets never fail a smoke run; `--strict` makes a missed target fail a full run.

mod bootstrap;
mod desk;
mod flood;
mod latency;
mod load;
mod push;
mod queue;
mod report;
mod seed;
mod server_proc;
mod sys;
mod wire;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use report::{Figure, FigureStatus, Machine, Report};
use shimin_domain::role::{Role, UnitKind};
use shimin_server::{inspect, Config, DemoOptions, HashParams, RunningServer};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Size {
    /// Small sizes, well under a minute: the CI check.
    Smoke,
    /// The sizes of issue 6 (10k/100k items, 200 arrivals, 100/500/1000 desks).
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phase {
    /// Internal: the desk side of part 1, in its own process (for its peak RSS).
    Bootstrap,
}

#[derive(Debug, Parser)]
#[command(
    name = "shimin-bench",
    version,
    about = "Shimin Desk benchmark suite (issue 6)"
)]
struct Cli {
    #[arg(long, value_enum, default_value = "smoke")]
    size: Size,
    /// JSON results (default with --size full: BENCHMARKS.json at the workspace root).
    #[arg(long)]
    out_json: Option<PathBuf>,
    /// Markdown table (default with --size full: BENCHMARKS.md at the workspace root).
    #[arg(long)]
    out_md: Option<PathBuf>,
    /// The `shimin-server` binary for parts 4–5 (default: beside this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Run the server of parts 4–5 in this process even if the binary is there.
    #[arg(long)]
    in_process_server: bool,
    /// Exit with status 2 when a target is missed (not with --size smoke).
    #[arg(long)]
    strict: bool,

    /// Measure only part 6 (the desk app) and merge it into the existing JSON result file
    /// (--out-json, default BENCHMARKS.json) and its Markdown, keeping parts 1–5.
    #[arg(long)]
    only_desk: bool,
    /// Measure only part 3 (queue queries) at --size, on a freshly seeded and bootstrapped
    /// cache, and merge it into the existing JSON result file (--out-json, default
    /// BENCHMARKS.json) and its Markdown, keeping the other parts.
    #[arg(long)]
    only_queue: bool,
    /// Measure only part 1 (bootstrap) at --size and merge it into the existing JSON result
    /// file (--out-json, default BENCHMARKS.json) and its Markdown, keeping the other parts.
    #[arg(long)]
    only_bootstrap: bool,
    /// Measure only part 4 (server load) at --size against the server binary (as a full run
    /// does) and merge it into the existing JSON result file and its Markdown.
    #[arg(long)]
    only_load: bool,
    /// The `shimin-desk` app binary for part 6 (default: beside this binary).
    #[arg(long)]
    desk_bin: Option<PathBuf>,
    /// A PostgreSQL cluster (an admin URL that may create databases, loopback only) for parts
    /// 4–5 on PostgreSQL and part 7 (two instances). Default: $SHIMIN_TEST_DATABASE; without
    /// one those figures are reported as not measured.
    #[arg(long, env = "SHIMIN_BENCH_POSTGRES")]
    postgres: Option<String>,

    /// Only re-render the Markdown (--out-md, default BENCHMARKS.md) from a JSON result file,
    /// e.g. after editing CLOSING_NOTE.md; measures nothing.
    #[arg(long, value_name = "JSON")]
    render: Option<PathBuf>,

    #[arg(long, value_enum, hide = true)]
    phase: Option<Phase>,
    #[arg(long, hide = true)]
    items: Option<usize>,
    #[arg(long, hide = true)]
    url: Option<String>,
    #[arg(long, hide = true)]
    username: Option<String>,
    #[arg(long, hide = true)]
    password: Option<String>,
    #[arg(long, hide = true)]
    cache: Option<PathBuf>,
    #[arg(long, hide = true)]
    key: Option<String>,
}

struct Sizes {
    /// Cold starts of the desk app (part 6).
    desk_rounds: usize,
    bootstrap: Vec<usize>,
    arrivals: usize,
    queue_reps: usize,
    queue_budget: Duration,
    load: load::Plan,
    push: push::Plan,
    /// Part 7: desks over two instances on one PostgreSQL.
    instances: load::Plan,
    /// Part 8: the login flood.
    flood: flood::Plan,
}

impl Sizes {
    fn of(size: Size) -> Sizes {
        match size {
            Size::Smoke => Sizes {
                desk_rounds: 1,
                bootstrap: vec![2_000],
                arrivals: 20,
                queue_reps: 20,
                queue_budget: Duration::from_secs(2),
                load: load::Plan {
                    steps: vec![20],
                    items_per_step: 10,
                    rate_per_s: 10.0,
                },
                push: push::Plan {
                    pushers: 4,
                    batches: 2,
                    batch_size: 50,
                    reference_commits: 200,
                },
                instances: load::Plan {
                    steps: vec![20],
                    items_per_step: 10,
                    rate_per_s: 10.0,
                },
                flood: flood::Plan { each: 8 },
            },
            Size::Full => Sizes {
                desk_rounds: 5,
                bootstrap: vec![10_000, 100_000],
                arrivals: 200,
                queue_reps: 200,
                queue_budget: Duration::from_secs(15),
                load: load::Plan {
                    steps: vec![100, 500, 1000],
                    items_per_step: 30,
                    rate_per_s: 5.0,
                },
                push: push::Plan {
                    pushers: 50,
                    batches: 4,
                    batch_size: 50,
                    reference_commits: 2_000,
                },
                instances: load::Plan {
                    steps: vec![1000, 3000],
                    items_per_step: 30,
                    rate_per_s: 5.0,
                },
                flood: flood::Plan { each: 64 },
            },
        }
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx::query=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.phase {
        Some(Phase::Bootstrap) => rt.block_on(child_bootstrap(&cli)),
        None if cli.render.is_some() => render(&cli),
        None if cli.only_queue => {
            let code = rt.block_on(only_queue(&cli))?;
            rt.shutdown_timeout(Duration::from_secs(5));
            std::process::exit(code);
        }
        None if cli.only_bootstrap => {
            let code = rt.block_on(only_bootstrap(&cli))?;
            rt.shutdown_timeout(Duration::from_secs(5));
            std::process::exit(code);
        }
        None if cli.only_load => {
            let code = rt.block_on(only_load(&cli))?;
            rt.shutdown_timeout(Duration::from_secs(5));
            std::process::exit(code);
        }
        None if cli.only_desk => {
            let code = rt.block_on(only_desk(&cli))?;
            rt.shutdown_timeout(Duration::from_secs(5));
            std::process::exit(code);
        }
        None => {
            let code = rt.block_on(suite(&cli))?;
            rt.shutdown_timeout(Duration::from_secs(5));
            std::process::exit(code);
        }
    }
}

async fn child_bootstrap(cli: &Cli) -> Result<()> {
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .with_context(|| format!("--phase bootstrap needs --{name}"))
    };
    let args = bootstrap::ChildArgs {
        url: need(&cli.url, "url")?,
        username: need(&cli.username, "username")?,
        password: need(&cli.password, "password")?,
        cache: cli.cache.clone().context("--phase bootstrap needs --cache")?,
        key_hex: need(&cli.key, "key")?,
        items: cli.items.context("--phase bootstrap needs --items")?,
    };
    let out = bootstrap::child(args).await?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(serde_json::to_string(&out)?.as_bytes())?;
    stdout.write_all(b"\n")?;
    Ok(())
}

fn closing_note() -> Option<String> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CLOSING_NOTE.md")).ok()
}

fn render(cli: &Cli) -> Result<()> {
    let json = cli.render.as_ref().context("--render")?;
    let report: Report = serde_json::from_slice(&std::fs::read(json)?)
        .with_context(|| format!("reading {}", json.display()))?;
    let out = cli
        .out_md
        .clone()
        .unwrap_or_else(|| workspace_root().join("BENCHMARKS.md"));
    std::fs::write(&out, report.to_markdown(closing_note().as_deref()))?;
    eprintln!("shimin-bench: wrote {}", out.display());
    Ok(())
}

fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.to_path_buf())
}

/// Runs the whole suite; returns the exit status.
async fn suite(cli: &Cli) -> Result<i32> {
    let started = Instant::now();
    let sizes = Sizes::of(cli.size);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = !cfg!(debug_assertions);
    let command = format!(
        "cargo run {}-p shimin-bench -- {}",
        if release { "--release " } else { "" },
        args.join(" ")
    );
    let (out_json, out_md) = match cli.size {
        Size::Full => (
            Some(
                cli.out_json
                    .clone()
                    .unwrap_or_else(|| workspace_root().join("BENCHMARKS.json")),
            ),
            Some(
                cli.out_md
                    .clone()
                    .unwrap_or_else(|| workspace_root().join("BENCHMARKS.md")),
            ),
        ),
        Size::Smoke => (cli.out_json.clone(), cli.out_md.clone()),
    };
    let mut figures: Vec<Figure> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let work = tempfile::tempdir()?;

    // Parts 1–3 against an in-process server on loopback.
    eprintln!("shimin-bench: parts 1–3 (in-process server)…");
    match start_local_server(work.path()).await {
        Ok(server) => {
            if let Err(e) = client_parts(cli, &sizes, &server, work.path(), &mut figures, &mut errors).await {
                errors.push(format!("parts 1–3: {e:#}"));
            }
            server.shutdown().await;
        }
        Err(e) => errors.push(format!("starting the in-process server: {e:#}")),
    }

    // Parts 4–5 against the server binary as a child process (or in-process as a fallback).
    let bin = if cli.in_process_server {
        None
    } else {
        cli.server_bin.clone().or_else(server_proc::sibling_server_bin)
    };
    eprintln!(
        "shimin-bench: parts 4–5 (server: {})…",
        bin.as_ref()
            .map(|b| b.display().to_string())
            .unwrap_or("in-process".into())
    );
    let mut load_server_desc = String::from("not started");
    match server_proc::LoadServer::start(bin.as_deref()).await {
        Ok(server) => {
            load_server_desc = server.describe();
            let before = sys::loadavg_1m();
            match load::run(&[&server], &sizes.load).await {
                Ok(mut f) => {
                    sys::note_load(&mut f, before);
                    figures.extend(f)
                }
                Err(e) => errors.push(format!(
                    "part 4 (server load): {e:#}; server log: {}",
                    server.log_tail().join(" / ")
                )),
            }
            eprintln!("shimin-bench: part 5…");
            let before = sys::loadavg_1m();
            match push::run(&server, &sizes.push, &push::Backend::Sqlite).await {
                Ok(mut f) => {
                    sys::note_load(&mut f, before);
                    figures.extend(f)
                }
                Err(e) => errors.push(format!("part 5 (push): {e:#}")),
            }
            eprintln!("shimin-bench: part 8, login flood…");
            let before = sys::loadavg_1m();
            match flood::run(&server, &sizes.flood).await {
                Ok(mut f) => {
                    sys::note_load(&mut f, before);
                    figures.extend(f)
                }
                Err(e) => errors.push(format!("part 8 (login flood): {e:#}")),
            }
            if !server.is_child() {
                tracing::warn!("server ran in-process: its RSS includes the load generator");
            }
            server.stop().await;
        }
        Err(e) => errors.push(format!("starting the load server: {e:#}")),
    }

    figures.extend(postgres_parts(cli, &sizes, bin.as_deref(), &mut errors).await);
    figures.extend(desk_part(cli, &sizes, &mut errors).await);
    figures.sort_by_key(|f| f.part);

    // A smoke run is a correctness check: any error count above zero fails it.
    if cli.size == Size::Smoke {
        for f in &figures {
            let is_count = f.name.ends_with(".errors")
                || f.name.ends_with(".missed")
                || f.name.ends_with("replay_reapplied");
            if is_count && f.value.is_some_and(|v| v > 0.0) {
                errors.push(format!(
                    "{} = {} ({})",
                    f.name,
                    f.value.unwrap_or_default(),
                    f.note
                ));
            }
        }
    }
    let report = Report {
        suite: "shimin-bench (issue 6)".into(),
        size: format!("{:?}", cli.size).to_lowercase(),
        date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command,
        build: if release {
            "release".into()
        } else {
            "debug (figures not representative)".into()
        },
        machine: Machine::detect(),
        load_server: load_server_desc,
        figures,
        errors,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let md = report.to_markdown(closing_note().as_deref());
    if let Some(p) = &out_json {
        std::fs::write(p, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
        eprintln!("shimin-bench: wrote {}", p.display());
    }
    if let Some(p) = &out_md {
        std::fs::write(p, &md).with_context(|| format!("writing {}", p.display()))?;
        eprintln!("shimin-bench: wrote {}", p.display());
    } else {
        eprintln!("{md}");
    }
    for e in &report.errors {
        eprintln!("shimin-bench: ERROR: {e}");
    }
    let missed = report
        .figures
        .iter()
        .filter(|f| f.status == FigureStatus::Measured && f.pass == Some(false))
        .count();
    eprintln!(
        "shimin-bench: {} figures, {missed} targets missed, {:.0} s",
        report.figures.len(),
        report.elapsed_s
    );
    Ok(if !report.errors.is_empty() {
        1
    } else if cli.strict && cli.size == Size::Full && missed > 0 {
        2
    } else {
        0
    })
}

async fn start_local_server(dir: &Path) -> Result<RunningServer> {
    let config = Config {
        data_dir: dir.join("server"),
        listen: vec!["127.0.0.1:0".parse()?],
        demo: Some(DemoOptions::default()),
        // Logins are not measured in parts 1–3.
        hash_params: HashParams::insecure_fast(),
        ..Config::default()
    };
    Ok(shimin_server::start(config).await?)
}

/// A department clerk: (unit id, user id, username).
async fn department_clerks(server: &RunningServer) -> Result<Vec<(i64, i64, String)>> {
    let store = server.store();
    let mut units = inspect::units(store).await?;
    units.sort_by_key(|u| u.id);
    let mut users = inspect::users(store).await?;
    users.sort_by_key(|u| u.colleague.id);
    let matters = inspect::matters(store).await?;
    Ok(units
        .into_iter()
        .filter(|u| u.kind == UnitKind::Department && matters.iter().any(|m| m.unit_id == u.id))
        .filter_map(|u| {
            let clerk = users
                .iter()
                .find(|c| c.colleague.role == Role::Clerk && c.colleague.unit_id == Some(u.id))?;
            Some((u.id, clerk.colleague.id, clerk.colleague.username.clone()))
        })
        .collect())
}

async fn client_parts(
    cli: &Cli,
    sizes: &Sizes,
    server: &RunningServer,
    dir: &Path,
    figures: &mut Vec<Figure>,
    errors: &mut Vec<String>,
) -> Result<()> {
    let _ = cli;
    let url = server.base_url();
    let password = shimin_server::demo::DEMO_PASSWORD;
    let clerks = department_clerks(server).await?;
    if clerks.len() < sizes.bootstrap.len() + 1 {
        bail!(
            "the demo county has {} departments, need {}",
            clerks.len(),
            sizes.bootstrap.len() + 1
        );
    }

    // Part 1.
    let mut largest: Option<(PathBuf, String, seed::Seeded, u64)> = None;
    for (i, &n) in sizes.bootstrap.iter().enumerate() {
        eprintln!("shimin-bench: part 1, {n} items…");
        let result: Result<()> = async {
            let before = sys::loadavg_1m();
            let (cache, key, seeded, out) = seeded_cache(server, &clerks[i], n, dir).await?;
            let mut f = bootstrap::figures(n, &out, seeded.secs);
            sys::note_load(&mut f, before);
            figures.extend(f);
            largest = Some((cache, key, seeded, out.items));
            Ok(())
        }
        .await;
        if let Err(e) = result {
            errors.push(format!("part 1 ({n} items): {e:#}"));
        }
    }

    // Part 3, on the largest cache part 1 left.
    if let Some((cache, key, seeded, items)) = &largest {
        eprintln!("shimin-bench: part 3, queue queries on {items} items…");
        let before = sys::loadavg_1m();
        match queue::run(cache, key, &url, &queue_setup(sizes, seeded)).await {
            Ok(mut f) => {
                sys::note_load(&mut f, before);
                figures.extend(f)
            }
            Err(e) => errors.push(format!("part 3 (queue queries): {e:#}")),
        }
    } else {
        errors.push("part 3 skipped: part 1 left no cache".into());
    }

    // Part 2, a department with only the demo's items.
    eprintln!("shimin-bench: part 2, live latency…");
    let (unit, _, clerk) = clerks.last().context("no department")?.clone();
    let portal = inspect::users(server.store())
        .await?
        .into_iter()
        .filter(|u| u.colleague.role == Role::Portal)
        .min_by_key(|u| u.colleague.id)
        .context("no portal account")?
        .colleague
        .username;
    let matter_id = inspect::matters(server.store())
        .await?
        .into_iter()
        .filter(|m| m.unit_id == unit)
        .map(|m| m.id)
        .min()
        .context("no matter of the unit")?;
    let setup = latency::Setup {
        server_url: url.clone(),
        clerk,
        password: password.into(),
        portal,
        matter_id,
        arrivals: sizes.arrivals,
    };
    let before = sys::loadavg_1m();
    match latency::run(dir, &setup).await {
        Ok(mut f) => {
            sys::note_load(&mut f, before);
            figures.extend(f)
        }
        Err(e) => errors.push(format!("part 2 (live latency): {e:#}")),
    }
    Ok(())
}

/// Runs the desk side of part 1 in a child process of this binary.
async fn run_child(
    url: &str,
    user: &str,
    password: &str,
    cache: &Path,
    key: &str,
    n: usize,
) -> Result<bootstrap::ChildOut> {
    let exe = std::env::current_exe()?;
    let child = tokio::process::Command::new(exe)
        .args([
            "--phase",
            "bootstrap",
            "--items",
            &n.to_string(),
            "--url",
            url,
            "--username",
            user,
        ])
        .args(["--password", password, "--key", key, "--cache"])
        .arg(cache)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let out = tokio::time::timeout(Duration::from_secs(900), child.wait_with_output())
        .await
        .context("bootstrap child timed out")??;
    if !out.status.success() {
        bail!("bootstrap child failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("bootstrap child printed no result")?;
    Ok(serde_json::from_str(line)?)
}

/// Part 6, or a "not measured" line saying how to get it.
async fn desk_part(cli: &Cli, sizes: &Sizes, errors: &mut Vec<String>) -> Vec<Figure> {
    let Some(bin) = cli.desk_bin.clone().or_else(desk::sibling_desk_bin) else {
        let why = "no shimin-desk binary beside this one: cargo build --release -p shimin-desk";
        return vec![
            Figure::not_yet(
                6,
                "desk_app.cold_start_ms",
                "desk app: cold start to a usable login window (Xvfb)",
                "ms",
                why,
            ),
            Figure::not_yet(
                6,
                "desk_app.idle_rss_mib",
                "desk app: idle RSS, all processes (WebKit included)",
                "MiB",
                why,
            ),
        ];
    };
    eprintln!("shimin-bench: part 6 (desk app {})…", bin.display());
    let before = sys::loadavg_1m();
    let measured = desk::run(&bin, sizes.desk_rounds).await.map(|mut f| {
        sys::note_load(&mut f, before);
        f
    });
    match measured {
        Ok(mut f) if cfg!(debug_assertions) => {
            for fig in &mut f {
                fig.note
                    .push_str("; debug build of the app and the suite: not representative");
            }
            f
        }
        Ok(f) => f,
        Err(e) => {
            errors.push(format!("part 6 (desk app): {e:#}"));
            Vec::new()
        }
    }
}

/// `--only-queue`: part 3 measured now (on a cache of the size's largest bootstrap), merged
/// into an earlier full run's results.
async fn only_queue(cli: &Cli) -> Result<i32> {
    let sizes = Sizes::of(cli.size);
    let work = tempfile::tempdir()?;
    let server = start_local_server(work.path()).await?;
    let measured = queue_only_part(&sizes, &server, work.path()).await;
    server.shutdown().await;
    merge_part(cli, 3, "--only-queue", measured?, &[], |_| {})?;
    Ok(0)
}

/// Seeds and bootstraps a cache as part 1 does for its largest size (not measured), then
/// measures part 3 on it.
async fn queue_only_part(sizes: &Sizes, server: &RunningServer, dir: &Path) -> Result<Vec<Figure>> {
    let clerks = department_clerks(server).await?;
    let i = sizes.bootstrap.len() - 1;
    let n = sizes.bootstrap[i];
    let clerk = clerks.get(i).context("the demo county has too few departments")?;
    eprintln!("shimin-bench: seeding {n} items and bootstrapping a cache (not measured)…");
    let (cache, key, seeded, out) = seeded_cache(server, clerk, n, dir).await?;
    eprintln!(
        "shimin-bench: (bootstrap {} items in {:.1} s, {:.0} items/s; not merged)",
        out.items,
        out.desk_secs,
        out.items as f64 / out.desk_secs
    );
    eprintln!("shimin-bench: part 3, queue queries on {} items…", out.items);
    let before = sys::loadavg_1m();
    let mut figures = queue::run(&cache, &key, &server.base_url(), &queue_setup(sizes, &seeded)).await?;
    sys::note_load(&mut figures, before);
    Ok(figures)
}

/// Seeds `n` items for the department of `clerk` (unit, clerk id, username) and bootstraps a
/// fresh encrypted cache from the server in a child process (part 1's measurement).
async fn seeded_cache(
    server: &RunningServer,
    clerk: &(i64, i64, String),
    n: usize,
    dir: &Path,
) -> Result<(PathBuf, String, seed::Seeded, bootstrap::ChildOut)> {
    let (unit, clerk_id, username) = clerk;
    let seeded = seed::seed_items(
        server.store(),
        &seed::SeedSpec {
            unit_id: *unit,
            items: n,
            mine_user_id: *clerk_id,
            seed: 6_000 + n as u64,
        },
    )
    .await
    .context("seeding")?;
    let cache = dir.join(format!("bootstrap-{n}.db"));
    let key = shimin_client::CacheKey::random().to_hex().context("raw key")?;
    let password = shimin_server::demo::DEMO_PASSWORD;
    let out = run_child(&server.base_url(), username, password, &cache, &key, n).await?;
    Ok((cache, key, seeded, out))
}

fn queue_setup(sizes: &Sizes, seeded: &seed::Seeded) -> queue::Setup {
    queue::Setup {
        reps: sizes.queue_reps,
        budget: sizes.queue_budget,
        sample_name: seeded.sample_name.clone(),
        sample_number: seeded.sample_number.clone(),
    }
}

fn merge_paths(cli: &Cli) -> (PathBuf, PathBuf) {
    (
        cli.out_json
            .clone()
            .unwrap_or_else(|| workspace_root().join("BENCHMARKS.json")),
        cli.out_md
            .clone()
            .unwrap_or_else(|| workspace_root().join("BENCHMARKS.md")),
    )
}

/// `--only-desk`: part 6 measured now, merged into an earlier full run's results.
async fn only_desk(cli: &Cli) -> Result<i32> {
    let (json, md) = merge_paths(cli);
    let mut report: Report = serde_json::from_slice(
        &std::fs::read(&json).with_context(|| format!("reading {}", json.display()))?,
    )?;
    let mut errors = Vec::new();
    let figures = desk_part(cli, &Sizes::of(cli.size), &mut errors).await;
    report.figures.retain(|f| f.part != 6);
    report.figures.extend(figures);
    report.figures.sort_by_key(|f| f.part);
    report.errors.extend(errors.iter().cloned());
    report.command.push_str(&format!(
        "; part 6: cargo run {}-p shimin-bench -- --only-desk ({})",
        release_flag(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")?;
    std::fs::write(&md, report.to_markdown(closing_note().as_deref()))?;
    eprintln!(
        "shimin-bench: part 6 merged into {} and {}",
        json.display(),
        md.display()
    );
    for e in &errors {
        eprintln!("shimin-bench: ERROR: {e}");
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// `--release ` in a release build of the suite, nothing in a debug one (for the command line
/// a merged part records).
fn release_flag() -> &'static str {
    if cfg!(debug_assertions) {
        ""
    } else {
        "--release "
    }
}

/// Replaces part `part` of the stored report with `figures` (and `errors`), records the
/// command, and rewrites the JSON and Markdown.
fn merge_part(
    cli: &Cli,
    part: u8,
    flag: &str,
    figures: Vec<Figure>,
    errors: &[String],
    edit: impl FnOnce(&mut Report),
) -> Result<()> {
    let (json, md) = merge_paths(cli);
    let mut report: Report = serde_json::from_slice(
        &std::fs::read(&json).with_context(|| format!("reading {}", json.display()))?,
    )?;
    report.figures.retain(|f| f.part != part);
    report.figures.extend(figures);
    report.figures.sort_by_key(|f| f.part);
    report.errors.extend(errors.iter().cloned());
    edit(&mut report);
    report.command.push_str(&format!(
        "; part {part}: cargo run {}-p shimin-bench -- --size {} {flag} ({})",
        release_flag(),
        format!("{:?}", cli.size).to_lowercase(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")?;
    std::fs::write(&md, report.to_markdown(closing_note().as_deref()))?;
    eprintln!(
        "shimin-bench: part {part} merged into {} and {}",
        json.display(),
        md.display()
    );
    for e in errors {
        eprintln!("shimin-bench: ERROR: {e}");
    }
    Ok(())
}

/// `--only-bootstrap`: part 1 measured now at every bootstrap size, merged into an earlier full
/// run's results.
async fn only_bootstrap(cli: &Cli) -> Result<i32> {
    let sizes = Sizes::of(cli.size);
    let work = tempfile::tempdir()?;
    let server = start_local_server(work.path()).await?;
    let mut figures = Vec::new();
    let mut errors = Vec::new();
    match department_clerks(&server).await {
        Ok(clerks) => {
            for (i, &n) in sizes.bootstrap.iter().enumerate() {
                eprintln!("shimin-bench: part 1, {n} items…");
                let Some(clerk) = clerks.get(i) else {
                    errors.push("the demo county has too few departments".into());
                    break;
                };
                let before = sys::loadavg_1m();
                match seeded_cache(&server, clerk, n, work.path()).await {
                    Ok((_, _, seeded, out)) => {
                        let mut f = bootstrap::figures(n, &out, seeded.secs);
                        sys::note_load(&mut f, before);
                        figures.extend(f);
                    }
                    Err(e) => errors.push(format!("part 1 ({n} items): {e:#}")),
                }
            }
        }
        Err(e) => errors.push(format!("part 1: {e:#}")),
    }
    server.shutdown().await;
    merge_part(cli, 1, "--only-bootstrap", figures, &errors, |_| {})?;
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// `--only-load`: part 4 measured now against the server binary (or in-process, as a full run
/// would), merged into an earlier full run's results.
async fn only_load(cli: &Cli) -> Result<i32> {
    let sizes = Sizes::of(cli.size);
    let bin = if cli.in_process_server {
        None
    } else {
        cli.server_bin.clone().or_else(server_proc::sibling_server_bin)
    };
    let server = server_proc::LoadServer::start(bin.as_deref()).await?;
    let desc = server.describe();
    let mut figures = Vec::new();
    let mut errors = Vec::new();
    let before = sys::loadavg_1m();
    match load::run(&[&server], &sizes.load).await {
        Ok(mut f) => {
            sys::note_load(&mut f, before);
            figures.extend(f)
        }
        Err(e) => errors.push(format!(
            "part 4 (server load): {e:#}; server log: {}",
            server.log_tail().join(" / ")
        )),
    }
    server.stop().await;
    merge_part(cli, 4, "--only-load", figures, &errors, |r| {
        // Part 5's server as the full run described it, once (not one wrapper per re-run).
        let part5 = match r.load_server.split_once(" (part 4 re-run; part 5: ") {
            Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest).to_owned(),
            None => r.load_server.clone(),
        };
        r.load_server = if part5 == desc {
            desc
        } else {
            format!("{desc} (part 4 re-run; part 5: {part5})")
        };
    })?;
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// The PostgreSQL cluster for parts 4–5 on PostgreSQL and part 7, if any (never off loopback).
fn postgres_cluster(cli: &Cli) -> Option<String> {
    cli.postgres
        .clone()
        .or_else(shimin_server::store::postgres::test_cluster_url)
        .filter(|url| url.contains("@127.") || url.contains("@localhost"))
}

/// Figures of a run on another backend or set-up: the same names with `tag` after their first
/// segment (`load.pg.c100.pull_p99_ms`), labels saying where they were measured.
fn tagged(figures: Vec<Figure>, tag: &str, place: &str, part: Option<u8>) -> Vec<Figure> {
    figures
        .into_iter()
        .map(|mut f| {
            f.name = match f.name.split_once('.') {
                Some((head, rest)) => format!("{head}.{tag}.{rest}"),
                None => format!("{}.{tag}", f.name),
            };
            f.label = format!("{}（{place}）", f.label);
            if let Some(p) = part {
                f.part = p;
            }
            f
        })
        .collect()
}

/// Parts 4–5 again with the server on PostgreSQL, and part 7: two instances on one
/// PostgreSQL sharing the desks (issue 10).
async fn postgres_parts(
    cli: &Cli,
    sizes: &Sizes,
    bin: Option<&Path>,
    errors: &mut Vec<String>,
) -> Vec<Figure> {
    let Some(admin) = postgres_cluster(cli) else {
        eprintln!("shimin-bench: parts 4–5 on PostgreSQL and part 7 not measured: no cluster (--postgres)");
        return Vec::new();
    };
    let mut figures = Vec::new();
    let result: Result<()> = async {
        eprintln!("shimin-bench: parts 4–5 on PostgreSQL…");
        let db = shimin_server::store::postgres::create_scratch_database(&admin, "bench").await?;
        let server = server_proc::LoadServer::start_on(
            bin,
            &server_proc::Instance {
                database: Some(db),
                ..Default::default()
            },
        )
        .await?;
        let before = sys::loadavg_1m();
        let mut f = load::run(&[&server], &sizes.load)
            .await
            .context("part 4 on PostgreSQL")?;
        sys::note_load(&mut f, before);
        figures.extend(tagged(f, "pg", "PostgreSQL", None));
        let before = sys::loadavg_1m();
        let mut f = push::run(&server, &sizes.push, &push::Backend::Postgres(admin.clone()))
            .await
            .context("part 5 on PostgreSQL")?;
        sys::note_load(&mut f, before);
        figures.extend(tagged(f, "pg", "PostgreSQL", None));
        server.stop().await;

        eprintln!("shimin-bench: part 7, two instances on one PostgreSQL…");
        let db = shimin_server::store::postgres::create_scratch_database(&admin, "bench2").await?;
        let blobs = tempfile::tempdir()?;
        let instance = |no_demo| server_proc::Instance {
            database: Some(db.clone()),
            blob_dir: Some(blobs.path().to_path_buf()),
            no_demo,
        };
        let a = server_proc::LoadServer::start_on(bin, &instance(false)).await?;
        let b = server_proc::LoadServer::start_on(bin, &instance(true)).await?;
        let before = sys::loadavg_1m();
        let mut f = load::run(&[&a, &b], &sizes.instances).await.context("part 7")?;
        sys::note_load(&mut f, before);
        for fig in &mut f {
            if fig.name.ends_with("pull_p99_ms") {
                *fig = fig.clone().target(report::Target::at_most(100.0, "ms"));
            }
        }
        figures.extend(tagged(f, "two_instances", "两个实例、同一 PostgreSQL", Some(7)));
        a.stop().await;
        b.stop().await;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        errors.push(format!("PostgreSQL parts: {e:#}"));
    }
    figures
}

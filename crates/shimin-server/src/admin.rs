//! Operators' commands on a whole store (`shimin-server migrate | backup | restore | audit
//! verify`): moving a county from SQLite to PostgreSQL, consistent backups while serving, and
//! restores. Every one refuses, naming the cause, before it changes anything.
//!
//! The rules a restore follows (ARCHITECTURE.md, "Restore"): a restored database gets a new
//! epoch (`crate::epoch`); desks that synced with the lost timeline see the new epoch on their
//! next pull, bootstrap again and renumber their pending mutations when the server says where
//! its numbering of them stands. Nothing pending on a desk is lost; what the server had
//! acknowledged after the backup is gone with the server's state (the backup's point in time).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::store::dump::{Table, TableSummary};
use crate::store::{Announcer, Backend, Database, OpenOptions, Store};
use crate::{audit, epoch, Error, Result};

/// The lock file of a data directory a server serves from.
pub const LOCK_FILE: &str = "shimin.lock";

/// Holds a data directory for one process (a serving server, a migration): dropped, released.
/// Another server or an offline tool (`migrate`, `restore`) on the same directory is refused.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Config(format!("无法创建数据目录 {}：{e}", data_dir.display())))?;
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Config(format!("无法打开 {}：{e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(format!(
                "数据目录 {} 正被另一个 shimin-server 进程使用（请先停止它）",
                data_dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::Config(format!("无法锁定 {}：{e}", path.display())))
            }
        }
    }
}

/// Opens a store for an operator's command (migrated to the current schema).
pub async fn open(database: Database) -> Result<Store> {
    Store::open(
        &OpenOptions {
            database,
            instance: uuid::Uuid::new_v4(),
            migrate: true,
        },
        Announcer {
            local: tokio::sync::broadcast::channel(1).0,
        },
    )
    .await
}

/// Copies every table of `source` into the empty `target`, then compares both table by table
/// (rows counted and hashed) and verifies the audit chain on the target.
pub async fn migrate(source: &Store, target: &Store, with_sessions: bool) -> Result<Vec<TableSummary>> {
    if !target.is_empty().await? {
        return Err(Error::Config(
            "目标数据库已有数据：迁移只写入空数据库（可能已迁移过一次）".into(),
        ));
    }
    let tables: Vec<Table> = Table::ALL
        .into_iter()
        .filter(|t| with_sessions || !t.is_optional())
        .collect();
    for &table in &tables {
        copy_table(source, target, table).await?;
    }
    target.finish_import().await?;
    let mut summaries = Vec::new();
    let mut differ = Vec::new();
    for &table in &tables {
        let (a, b) = (source.summary(table).await?, target.summary(table).await?);
        if a != b {
            differ.push(format!("{}（{} 行 / {} 行）", table.name(), a.rows, b.rows));
        }
        summaries.push(b);
    }
    if !differ.is_empty() {
        return Err(Error::Config(format!("迁移后核对不一致：{}", differ.join("、"))));
    }
    let chain = audit::verify(target).await?;
    if let Some((id, why)) = chain.broken {
        return Err(Error::Config(format!("迁移后审计链校验失败：第{id}条 {why}")));
    }
    Ok(summaries)
}

async fn copy_table(source: &Store, target: &Store, table: Table) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let export = source.export_into(table, tx);
    let import = async {
        while let Some(rows) = rx.recv().await {
            target.import(&rows).await?;
        }
        Ok::<_, Error>(())
    };
    let (exported, imported) = tokio::join!(export, import);
    exported?;
    imported
}

/// What a backup holds, written beside it as `backup.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub created_at: DateTime<Utc>,
    /// `sqlite` (the database file `shimin.db`) or `postgres` (`shimin.pgdump`, pg_dump's
    /// custom format).
    pub backend: String,
    /// The epoch and the newest change number of the backed-up database.
    pub epoch: String,
    pub seq: i64,
    pub items: u64,
    pub audit_entries: u64,
    /// The audit chain's head at the backup.
    pub audit_head: String,
    /// Blob files copied.
    pub blobs: u64,
}

/// The manifest file of a backup.
pub const MANIFEST: &str = "backup.json";
/// The database file of a SQLite backup.
pub const SQLITE_FILE: &str = "shimin.db";
/// The dump of a PostgreSQL backup.
pub const PG_DUMP_FILE: &str = "shimin.pgdump";

/// Checks a backup destination: it must not exist, its parent must be a writable directory.
fn check_destination(dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(Error::Config(format!(
            "备份目标 {} 已存在：请指定一个新的目录（不会覆盖已有备份）",
            dest.display()
        )));
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let meta = std::fs::metadata(parent)
        .map_err(|e| Error::Config(format!("备份目标的上级目录 {} 不可用：{e}", parent.display())))?;
    if !meta.is_dir() {
        return Err(Error::Config(format!("{} 不是目录", parent.display())));
    }
    let probe = parent.join(format!(".shimin-backup-probe-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&probe, b"")
        .map_err(|e| Error::Config(format!("备份目标的上级目录 {} 不可写：{e}", parent.display())))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Makes a consistent copy of the database and the blobs into the new directory `dest`, while
/// the server serves: SQLite through `VACUUM INTO` (one read snapshot), PostgreSQL through
/// `pg_dump` (one snapshot too). Blob files are immutable and written before any row refers to
/// them, so copying them after the database snapshot covers everything it refers to.
pub async fn backup(database: &Database, blob_dir: &Path, dest: &Path) -> Result<Manifest> {
    check_destination(dest)?;
    let store = open(database.clone()).await?;
    let result = backup_into(&store, database, blob_dir, dest).await;
    store.close().await;
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

async fn backup_into(store: &Store, database: &Database, blob_dir: &Path, dest: &Path) -> Result<Manifest> {
    std::fs::create_dir_all(dest).map_err(|e| Error::Config(format!("无法创建 {}：{e}", dest.display())))?;
    // The manifest describes the copy itself, not the database that went on changing.
    let manifest_base = match database {
        Database::Sqlite(dir) => {
            crate::store::sqlite::SqliteStore::vacuum_into(dir, &dest.join(SQLITE_FILE)).await?;
            let copy = open(Database::Sqlite(dest.to_path_buf())).await?;
            let described = describe(&copy).await;
            copy.close().await;
            // Opening the copy made side files: the backup is the one database file.
            let _ = std::fs::remove_file(dest.join("shimin.db-wal"));
            let _ = std::fs::remove_file(dest.join("shimin.db-shm"));
            Manifest {
                backend: "sqlite".into(),
                ..described?
            }
        }
        Database::Postgres(url) => {
            // The epoch exists before the snapshot is taken.
            epoch::ensure(store).await?;
            let file = dest.join(PG_DUMP_FILE);
            let facts = crate::store::postgres::dump_in_snapshot(url, |snapshot| async move {
                let snapshot = format!("--snapshot={snapshot}");
                pg_tool(
                    "pg_dump",
                    &["--format=custom", "--no-owner", &snapshot, "--file"],
                    file,
                    url,
                )
                .await
            })
            .await?;
            Manifest {
                created_at: Utc::now(),
                backend: "postgres".into(),
                epoch: facts.epoch.unwrap_or_default(),
                seq: facts.seq,
                items: facts.items as u64,
                audit_entries: facts.audit_entries as u64,
                audit_head: facts.audit_head,
                blobs: 0,
            }
        }
    };
    let blobs = copy_blobs(blob_dir, &dest.join("blobs"))?;
    let manifest = Manifest {
        blobs,
        ..manifest_base
    };
    std::fs::write(
        dest.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest).map_err(Error::internal)?,
    )
    .map_err(|e| Error::Config(format!("无法写入备份清单：{e}")))?;
    Ok(manifest)
}

async fn describe(store: &Store) -> Result<Manifest> {
    let chain = audit::verify(store).await?;
    if let Some((id, why)) = chain.broken {
        return Err(Error::Config(format!("审计链校验失败：第{id}条 {why}")));
    }
    Ok(Manifest {
        created_at: Utc::now(),
        backend: String::new(),
        epoch: epoch::ensure(store).await?,
        seq: store.reader().await?.current_seq().await?,
        items: store.summary(Table::Items).await?.rows,
        audit_entries: chain.entries,
        audit_head: chain.head,
        blobs: 0,
    })
}

/// Runs a PostgreSQL client tool (`pg_dump`, `pg_restore`) with the URL's password in the
/// environment, never on the command line.
async fn pg_tool(tool: &str, args: &[&str], file: PathBuf, url: &str) -> Result<()> {
    let out = tokio::process::Command::new(tool)
        .args(args)
        .arg(&file)
        .arg(url_arg(tool, url))
        .output()
        .await
        .map_err(|e| Error::Config(format!("无法运行 {tool}（请安装 postgresql-client）：{e}")))?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "{tool} 失败：{}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn url_arg(tool: &str, url: &str) -> String {
    match tool {
        "pg_restore" => format!("--dbname={url}"),
        _ => url.to_owned(),
    }
}

/// Copies the blob files (not partial uploads) from `from` into the new directory `to`.
fn copy_blobs(from: &Path, to: &Path) -> Result<u64> {
    let mut n = 0;
    std::fs::create_dir_all(to).map_err(|e| Error::Config(format!("无法创建 {}：{e}", to.display())))?;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(0);
    };
    for shard in entries.flatten() {
        let name = shard.file_name();
        if name == "partial" || !shard.path().is_dir() {
            continue;
        }
        let target = to.join(&name);
        std::fs::create_dir_all(&target)
            .map_err(|e| Error::Config(format!("无法创建 {}：{e}", target.display())))?;
        for file in std::fs::read_dir(shard.path())
            .map_err(Error::internal)?
            .flatten()
        {
            std::fs::copy(file.path(), target.join(file.file_name()))
                .map_err(|e| Error::Config(format!("无法复制附件 {}：{e}", file.path().display())))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Reads a backup's manifest.
pub fn read_manifest(backup: &Path) -> Result<Manifest> {
    let text = std::fs::read(backup.join(MANIFEST)).map_err(|e| {
        Error::Config(format!(
            "{} 不是 shimin-server 备份（缺少 {MANIFEST}）：{e}",
            backup.display()
        ))
    })?;
    serde_json::from_slice(&text).map_err(|e| Error::Config(format!("备份清单无法读取：{e}")))
}

/// Brings a backup back into a new place: `database` must be empty (a fresh data directory, or
/// an empty PostgreSQL database) and `blob_dir` must hold no blobs. The restored database gets
/// a new epoch, so desks that synced with the lost timeline start over (keeping what they
/// have pending). Checks the audit chain against the manifest.
pub async fn restore(backup: &Path, database: &Database, blob_dir: &Path) -> Result<Manifest> {
    let manifest = read_manifest(backup)?;
    let holds_blobs =
        std::fs::read_dir(blob_dir).is_ok_and(|d| d.flatten().any(|e| e.file_name() != "partial"));
    if holds_blobs {
        return Err(Error::Config(format!("附件目录 {} 不为空", blob_dir.display())));
    }
    match (database, manifest.backend.as_str()) {
        (Database::Sqlite(dir), "sqlite") => {
            let target = crate::store::sqlite::db_path(dir);
            if target.exists() {
                return Err(Error::Config(format!(
                    "{} 已存在：恢复只写入新的数据目录（不会覆盖现有数据）",
                    target.display()
                )));
            }
            let _lock = DataDirLock::acquire(dir)?;
            std::fs::copy(backup.join(SQLITE_FILE), &target)
                .map_err(|e| Error::Config(format!("无法复制数据库：{e}")))?;
        }
        (Database::Postgres(url), "postgres") => {
            let store = open(database.clone()).await?;
            let empty = store.is_empty().await;
            store.close().await;
            if !empty? {
                return Err(Error::Config("目标数据库已有数据：恢复只写入空数据库".into()));
            }
            // pg_restore recreates the schema and rows; our migrations ran on the empty
            // database already, so drop their objects first by restoring with --clean.
            pg_tool(
                "pg_restore",
                &["--clean", "--if-exists", "--no-owner", "--single-transaction"],
                backup.join(PG_DUMP_FILE),
                url,
            )
            .await?;
        }
        (_, b) => {
            return Err(Error::Config(format!(
                "备份来自 {b} 数据库，与目标数据库类型不同（跨类型请用 migrate）"
            )))
        }
    }
    copy_blobs(&backup.join("blobs"), blob_dir)?;
    let store = open(database.clone()).await?;
    let result = async {
        let restored = describe(&store).await?;
        if (restored.seq, restored.audit_entries, restored.audit_head.as_str())
            != (manifest.seq, manifest.audit_entries, manifest.audit_head.as_str())
        {
            return Err(Error::Config("恢复后的数据与备份清单不符".into()));
        }
        let new_epoch = epoch::renew(&store).await?;
        Ok(Manifest {
            epoch: new_epoch,
            ..manifest
        })
    }
    .await;
    store.close().await;
    result
}

/// The backend of a database, for messages.
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    }
}

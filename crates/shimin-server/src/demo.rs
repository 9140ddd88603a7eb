//! The demo county (`--demo`): sites, units, matters, users of every role and a few hundred work
//! items in every state. Deterministic (fixed RNG seed; times are relative to the seeding
//! instant) and idempotent (seeding twice changes nothing).
//!
//! Every demo account's password is [`DEMO_PASSWORD`] and none must change it. Tests find
//! accounts through [`DemoCounty`] instead of hard-coding names.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shimin_domain::calendar::{to_local, WorkCalendar};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::{Applicant, ItemDetails, ItemEvent, NewReservation, Slot};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{next_seq, ts};
use crate::intake::{self, Intake, PORTAL_ACTOR_NAME};
use crate::items::{insert_item, load_item, NewItem};
use crate::users::{add_user, NewUser};
use crate::{auth, deadline, Error, Result, SharedState};

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "Demo#2026";
/// Seed of the demo's random generator.
pub const DEMO_SEED: u64 = 20_261_129;
/// Number of work items the demo creates (besides evaluations of them).
pub const DEMO_ITEMS: usize = 320;

/// A demo unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUnit {
    pub name: &'static str,
    /// `department` or `township`.
    pub kind: &'static str,
    /// Pinyin used in user names.
    pub pinyin: &'static str,
    pub site: &'static str,
    /// Catalogue code prefix of its matters (departments).
    pub code: &'static str,
}

/// A demo account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    pub username: String,
    pub display_name: &'static str,
    pub role: Role,
    /// Unit name; `None` for supervision and portal accounts.
    pub unit: Option<&'static str>,
    /// 'A' or 'B' for the clerks of a department's matters.
    pub ab: Option<char>,
}

/// A demo matter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoMatter {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub promised_days: u32,
    pub fee_fen: i64,
    pub materials: &'static [&'static str],
}

/// Everything the demo county holds, as data.
#[derive(Debug, Clone)]
pub struct DemoCounty {
    pub sites: Vec<&'static str>,
    pub units: Vec<DemoUnit>,
    pub users: Vec<DemoUser>,
    pub matters: Vec<DemoMatter>,
}

const CENTER: &str = "县政务服务中心";
const SITES: [&str; 4] = [
    CENTER,
    "城关镇便民服务中心",
    "柳林乡便民服务中心",
    "河西镇便民服务中心",
];

const UNITS: [DemoUnit; 9] = [
    DemoUnit {
        name: "县公安局",
        kind: "department",
        pinyin: "gongan",
        site: CENTER,
        code: "GA",
    },
    DemoUnit {
        name: "县人力资源和社会保障局",
        kind: "department",
        pinyin: "renshe",
        site: CENTER,
        code: "RS",
    },
    DemoUnit {
        name: "县市场监督管理局",
        kind: "department",
        pinyin: "shijian",
        site: CENTER,
        code: "SJ",
    },
    DemoUnit {
        name: "县自然资源和规划局",
        kind: "department",
        pinyin: "ziran",
        site: CENTER,
        code: "ZR",
    },
    DemoUnit {
        name: "县民政局",
        kind: "department",
        pinyin: "minzheng",
        site: CENTER,
        code: "MZ",
    },
    DemoUnit {
        name: "县不动产登记中心",
        kind: "department",
        pinyin: "budongchan",
        site: CENTER,
        code: "BDC",
    },
    DemoUnit {
        name: "城关镇",
        kind: "township",
        pinyin: "chengguan",
        site: "城关镇便民服务中心",
        code: "CG",
    },
    DemoUnit {
        name: "柳林乡",
        kind: "township",
        pinyin: "liulin",
        site: "柳林乡便民服务中心",
        code: "LL",
    },
    DemoUnit {
        name: "河西镇",
        kind: "township",
        pinyin: "hexi",
        site: "河西镇便民服务中心",
        code: "HX",
    },
];

/// Office staff names (汉字, pinyin), handed out in order.
const STAFF: [(&str, &str); 42] = [
    ("张伟", "zhangwei"),
    ("王芳", "wangfang"),
    ("李娜", "lina"),
    ("刘洋", "liuyang"),
    ("陈静", "chenjing"),
    ("杨磊", "yanglei"),
    ("赵敏", "zhaomin"),
    ("黄强", "huangqiang"),
    ("周杰", "zhoujie"),
    ("吴霞", "wuxia"),
    ("徐丽", "xuli"),
    ("孙涛", "suntao"),
    ("马超", "machao"),
    ("朱琳", "zhulin"),
    ("胡斌", "hubin"),
    ("郭丹", "guodan"),
    ("何平", "heping"),
    ("高峰", "gaofeng"),
    ("林颖", "linying"),
    ("罗刚", "luogang"),
    ("郑红", "zhenghong"),
    ("梁勇", "liangyong"),
    ("谢婷", "xieting"),
    ("宋健", "songjian"),
    ("唐娟", "tangjuan"),
    ("许军", "xujun"),
    ("韩雪", "hanxue"),
    ("冯波", "fengbo"),
    ("邓超", "dengchao"),
    ("曹颖", "caoying"),
    ("彭亮", "pengliang"),
    ("曾敏", "zengmin"),
    ("肖鹏", "xiaopeng"),
    ("田甜", "tiantian"),
    ("董明", "dongming"),
    ("潘悦", "panyue"),
    ("袁华", "yuanhua"),
    ("蒋欣", "jiangxin"),
    ("蔡杰", "caijie"),
    ("余洁", "yujie"),
    ("杜宇", "duyu"),
    ("叶青", "yeqing"),
];

const ID_CARD: &str = "居民身份证原件及复印件";
const HOUSEHOLD: &str = "户口簿";
const PHOTO: &str = "近期免冠二寸证件照片";

const MATTERS: [DemoMatter; 24] = [
    DemoMatter {
        code: "GA-001",
        name: "居民身份证换领",
        unit: "县公安局",
        promised_days: 15,
        fee_fen: 2000,
        materials: &["居民身份证原件", HOUSEHOLD, PHOTO],
    },
    DemoMatter {
        code: "GA-002",
        name: "户口迁移（县内）",
        unit: "县公安局",
        promised_days: 5,
        fee_fen: 0,
        materials: &[HOUSEHOLD, ID_CARD, "房屋产权证明或租赁合同"],
    },
    DemoMatter {
        code: "GA-003",
        name: "出生登记",
        unit: "县公安局",
        promised_days: 3,
        fee_fen: 0,
        materials: &[
            "出生医学证明",
            "父母双方户口簿",
            "父母双方居民身份证原件及复印件",
            "结婚证",
        ],
    },
    DemoMatter {
        code: "GA-004",
        name: "居住证申领",
        unit: "县公安局",
        promised_days: 10,
        fee_fen: 0,
        materials: &[ID_CARD, "居住证明材料", PHOTO],
    },
    DemoMatter {
        code: "RS-001",
        name: "社会保障卡申领",
        unit: "县人力资源和社会保障局",
        promised_days: 10,
        fee_fen: 0,
        materials: &[ID_CARD, PHOTO],
    },
    DemoMatter {
        code: "RS-002",
        name: "城乡居民基本养老保险参保登记",
        unit: "县人力资源和社会保障局",
        promised_days: 1,
        fee_fen: 0,
        materials: &[ID_CARD, HOUSEHOLD],
    },
    DemoMatter {
        code: "RS-003",
        name: "失业保险金申领",
        unit: "县人力资源和社会保障局",
        promised_days: 5,
        fee_fen: 0,
        materials: &[ID_CARD, "解除或终止劳动合同证明", "本人银行卡"],
    },
    DemoMatter {
        code: "RS-004",
        name: "就业创业证申领",
        unit: "县人力资源和社会保障局",
        promised_days: 3,
        fee_fen: 0,
        materials: &[ID_CARD, PHOTO],
    },
    DemoMatter {
        code: "SJ-001",
        name: "个体工商户设立登记",
        unit: "县市场监督管理局",
        promised_days: 3,
        fee_fen: 0,
        materials: &[
            "个体工商户开业登记申请书",
            "经营者居民身份证原件及复印件",
            "经营场所使用证明",
        ],
    },
    DemoMatter {
        code: "SJ-002",
        name: "食品经营许可",
        unit: "县市场监督管理局",
        promised_days: 10,
        fee_fen: 0,
        materials: &[
            "食品经营许可申请书",
            "营业执照复印件",
            "经营场所平面图",
            "食品安全管理制度文本",
        ],
    },
    DemoMatter {
        code: "SJ-003",
        name: "企业名称变更登记",
        unit: "县市场监督管理局",
        promised_days: 3,
        fee_fen: 0,
        materials: &["变更登记申请书", "股东会决议", "营业执照正副本"],
    },
    DemoMatter {
        code: "SJ-004",
        name: "药品零售企业经营许可",
        unit: "县市场监督管理局",
        promised_days: 15,
        fee_fen: 0,
        materials: &[
            "药品经营许可证申请表",
            "营业执照复印件",
            "执业药师资格证书",
            "经营场所产权证明",
        ],
    },
    DemoMatter {
        code: "ZR-001",
        name: "建设工程规划许可证核发",
        unit: "县自然资源和规划局",
        promised_days: 20,
        fee_fen: 0,
        materials: &[
            "建设工程规划许可申请表",
            "建设项目用地批准文件",
            "设计方案总平面图",
        ],
    },
    DemoMatter {
        code: "ZR-002",
        name: "农村宅基地用地审批",
        unit: "县自然资源和规划局",
        promised_days: 20,
        fee_fen: 0,
        materials: &[
            "农村宅基地和建房（规划许可）申请表",
            HOUSEHOLD,
            ID_CARD,
            "村民委员会意见",
        ],
    },
    DemoMatter {
        code: "ZR-003",
        name: "建设用地规划许可证核发",
        unit: "县自然资源和规划局",
        promised_days: 20,
        fee_fen: 0,
        materials: &["建设用地规划许可申请表", "建设项目批准文件", "用地红线图"],
    },
    DemoMatter {
        code: "ZR-004",
        name: "乡村建设规划许可证核发",
        unit: "县自然资源和规划局",
        promised_days: 15,
        fee_fen: 0,
        materials: &[
            "乡村建设规划许可申请表",
            ID_CARD,
            "村民委员会意见",
            "建设工程设计方案",
        ],
    },
    DemoMatter {
        code: "MZ-001",
        name: "内地居民结婚登记",
        unit: "县民政局",
        promised_days: 1,
        fee_fen: 900,
        materials: &["双方户口簿", "双方居民身份证原件", "双方近期二寸半身免冠合影照片"],
    },
    DemoMatter {
        code: "MZ-002",
        name: "最低生活保障申请",
        unit: "县民政局",
        promised_days: 20,
        fee_fen: 0,
        materials: &["最低生活保障申请书", HOUSEHOLD, ID_CARD, "家庭收入和财产状况声明"],
    },
    DemoMatter {
        code: "MZ-003",
        name: "临时救助申请",
        unit: "县民政局",
        promised_days: 5,
        fee_fen: 0,
        materials: &["临时救助申请书", ID_CARD, "困难情况证明材料"],
    },
    DemoMatter {
        code: "MZ-004",
        name: "困难残疾人生活补贴和重度残疾人护理补贴申请",
        unit: "县民政局",
        promised_days: 15,
        fee_fen: 0,
        materials: &["中华人民共和国残疾人证", ID_CARD, HOUSEHOLD],
    },
    DemoMatter {
        code: "BDC-001",
        name: "国有建设用地使用权及房屋所有权首次登记",
        unit: "县不动产登记中心",
        promised_days: 15,
        fee_fen: 8000,
        materials: &["不动产登记申请书", ID_CARD, "房屋竣工验收材料", "土地出让合同"],
    },
    DemoMatter {
        code: "BDC-002",
        name: "房屋所有权转移登记",
        unit: "县不动产登记中心",
        promised_days: 10,
        fee_fen: 8000,
        materials: &[
            "不动产登记申请书",
            "不动产权证书",
            "房屋买卖合同",
            "完税凭证",
            ID_CARD,
        ],
    },
    DemoMatter {
        code: "BDC-003",
        name: "抵押权首次登记",
        unit: "县不动产登记中心",
        promised_days: 5,
        fee_fen: 8000,
        materials: &["不动产登记申请书", "不动产权证书", "抵押合同", "主债权合同"],
    },
    DemoMatter {
        code: "BDC-004",
        name: "不动产登记资料查询",
        unit: "县不动产登记中心",
        promised_days: 1,
        fee_fen: 0,
        materials: &[ID_CARD, "查询申请书"],
    },
];

impl Default for DemoCounty {
    fn default() -> Self {
        Self::new()
    }
}

impl DemoCounty {
    /// The demo county's data (what [`seed`] stores).
    pub fn new() -> DemoCounty {
        let mut staff = STAFF.iter();
        let mut users = Vec::new();
        let mut person =
            |role: Role, unit: Option<&DemoUnit>, ab: Option<char>, users: &mut Vec<DemoUser>| {
                let (name, py) = staff.next().expect("enough demo staff names");
                let username = match unit {
                    Some(u) => format!("{}.{}", u.pinyin, py),
                    None => format!("zhongxin.{py}"),
                };
                users.push(DemoUser {
                    username,
                    display_name: name,
                    role,
                    unit: unit.map(|u| u.name),
                    ab,
                });
            };
        for u in UNITS.iter().filter(|u| u.kind == "department") {
            person(Role::Clerk, Some(u), Some('A'), &mut users);
            person(Role::Clerk, Some(u), Some('B'), &mut users);
            person(Role::DeptLeader, Some(u), None, &mut users);
            person(Role::NetAdmin, Some(u), None, &mut users);
        }
        for u in UNITS.iter().filter(|u| u.kind == "township") {
            person(Role::Agent, Some(u), None, &mut users);
            person(Role::Clerk, Some(u), None, &mut users);
        }
        person(Role::Agent, Some(&UNITS[6]), None, &mut users);
        for role in [
            Role::Manager,
            Role::CenterLeader,
            Role::Intake,
            Role::Inspector,
            Role::Sysadmin,
        ] {
            person(role, None, None, &mut users);
        }
        users.push(DemoUser {
            username: "portal".to_owned(),
            display_name: PORTAL_ACTOR_NAME,
            role: Role::Portal,
            unit: None,
            ab: None,
        });
        DemoCounty {
            sites: SITES.to_vec(),
            units: UNITS.to_vec(),
            users,
            matters: MATTERS.to_vec(),
        }
    }

    pub fn departments(&self) -> impl Iterator<Item = &DemoUnit> {
        self.units.iter().filter(|u| u.kind == "department")
    }

    pub fn townships(&self) -> impl Iterator<Item = &DemoUnit> {
        self.units.iter().filter(|u| u.kind == "township")
    }

    pub fn users_with_role(&self, role: Role) -> impl Iterator<Item = &DemoUser> {
        self.users.iter().filter(move |u| u.role == role)
    }

    /// The first account of `role` at `unit` (unit name), or without a unit if `None`.
    pub fn user(&self, role: Role, unit: Option<&str>) -> Option<&DemoUser> {
        self.users.iter().find(|u| u.role == role && u.unit == unit)
    }

    /// The A-role (or B-role) clerk of a department.
    pub fn ab_clerk(&self, unit: &str, ab: char) -> Option<&DemoUser> {
        self.users
            .iter()
            .find(|u| u.unit == Some(unit) && u.ab == Some(ab))
    }
}

/// Stores the demo county unless already there.
pub async fn seed(state: &SharedState) -> Result<()> {
    let county = DemoCounty::new();
    // One hash for all demo accounts (same password); hashing dozens would slow every start.
    let hash = auth::hash_password_blocking(state.config.hash_params, DEMO_PASSWORD.to_owned()).await?;
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let done: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'demo_seeded'")
        .fetch_optional(&mut *tx)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    store_demo_images(state, &mut tx, &county).await?;
    seed_in(&mut tx, &county, &hash, &state.calendar()).await?;
    sqlx::query("INSERT INTO meta (key, value) VALUES ('demo_seeded', ?)")
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(
        users = county.users.len(),
        matters = county.matters.len(),
        "demo county seeded"
    );
    Ok(())
}

/// The demo's delivery proof: a signature (签收) drawn as a PNG, the same for every delivered
/// demo case.
fn signature_png() -> Vec<u8> {
    let mut img = image::GrayImage::from_pixel(360, 120, image::Luma([255]));
    for x in 20..340u32 {
        let t = x as f64 / 24.0;
        let y = 60.0 + 28.0 * t.sin() * (1.0 - x as f64 / 420.0) + 8.0 * (3.1 * t).cos();
        for dy in 0..3 {
            img.put_pixel(x, (y as u32 + dy).min(119), image::Luma([30]));
        }
    }
    png(img)
}

/// The demo's photo of a material (a page with a header and lines of text), one per material.
fn document_png(material: &str) -> Vec<u8> {
    let seed: u32 = material
        .chars()
        .map(|c| c as u32)
        .fold(7, |a, c| a.wrapping_mul(31).wrapping_add(c));
    let mut img = image::GrayImage::from_pixel(420, 560, image::Luma([246]));
    for y in 30..70 {
        for x in 30..390 {
            img.put_pixel(x, y, image::Luma([90]));
        }
    }
    let lines = 8 + seed % 4;
    for l in 0..lines {
        let y = 100 + l * 40;
        let len = 200 + (seed.rotate_left(l) % 160);
        for x in 30..30 + len {
            for dy in 0..4 {
                img.put_pixel(x, y + dy, image::Luma([150]));
            }
        }
    }
    png(img)
}

fn png(img: image::GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("PNG encodes in memory");
    out
}

fn demo_ref(bytes: &[u8], file_name: &str, material: &str) -> shimin_protocol::AttachmentRef {
    shimin_protocol::AttachmentRef {
        hash: crate::blobs::sha256_hex(bytes),
        size: bytes.len() as u64,
        mime: "image/png".into(),
        file_name: file_name.into(),
        material: material.into(),
    }
}

fn signature_ref() -> shimin_protocol::AttachmentRef {
    demo_ref(&signature_png(), "签收.png", "送达凭证")
}

fn document_ref(material: &str) -> shimin_protocol::AttachmentRef {
    demo_ref(&document_png(material), &format!("{material}.png"), material)
}

/// Puts the demo's images (the signature, a photo per material) into the blob store.
async fn store_demo_images(
    state: &SharedState,
    conn: &mut SqliteConnection,
    county: &DemoCounty,
) -> Result<()> {
    let mut images = vec![signature_png()];
    let mut seen = std::collections::HashSet::new();
    for m in &county.matters {
        for material in m.materials {
            if seen.insert(*material) {
                images.push(document_png(material));
            }
        }
    }
    for bytes in images {
        let hash = crate::blobs::sha256_hex(&bytes);
        let size = bytes.len() as i64;
        let store = state.blobs.clone();
        let key = format!("demo-{hash}");
        let h = hash.clone();
        tokio::task::spawn_blocking(move || {
            store.discard(&key)?;
            store.append(&key, 0, &bytes)?;
            store.commit(&key, &h)
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
        sqlx::query(
            "INSERT OR IGNORE INTO blobs (hash, size, mime, created_at) VALUES (?, ?, 'image/png', ?)",
        )
        .bind(&hash)
        .bind(size)
        .bind(ts(Utc::now()))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records that the demo agent uploaded `a` (as the desk would have) and that `item` refers to it.
async fn demo_attach(
    conn: &mut SqliteConnection,
    agent_id: i64,
    a: &shimin_protocol::AttachmentRef,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT OR IGNORE INTO blob_uploads (user_id, hash, size, mime, received, complete, started_at, completed_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
    )
    .bind(agent_id)
    .bind(&a.hash)
    .bind(a.size as i64)
    .bind(&a.mime)
    .bind(a.size as i64)
    .bind(at)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn id_of(conn: &mut SqliteConnection, sql: &str, key: &str) -> Result<i64> {
    sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(conn)
        .await
        .map_err(Error::from)
}

#[derive(Debug, Clone)]
struct MatterInfo {
    id: i64,
    unit_id: i64,
    name: &'static str,
    materials: &'static [&'static str],
    a_clerk: (i64, &'static str),
    net_admin: (i64, &'static str),
}

async fn seed_in(
    conn: &mut SqliteConnection,
    county: &DemoCounty,
    hash: &str,
    cal: &WorkCalendar,
) -> Result<()> {
    for site in &county.sites {
        let seq = next_seq(conn).await?;
        sqlx::query("INSERT INTO sites (name, version) VALUES (?, ?)")
            .bind(site)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    for u in &county.units {
        let site_id = id_of(conn, "SELECT id FROM sites WHERE name = ?", u.site).await?;
        let seq = next_seq(conn).await?;
        sqlx::query("INSERT INTO units (name, kind, site_id, version) VALUES (?, ?, ?, ?)")
            .bind(u.name)
            .bind(u.kind)
            .bind(site_id)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    for u in &county.users {
        let unit_id = match u.unit {
            Some(name) => Some(id_of(conn, "SELECT id FROM units WHERE name = ?", name).await?),
            None => None,
        };
        add_user(
            conn,
            &NewUser {
                username: &u.username,
                display_name: u.display_name,
                role: u.role,
                unit_id,
                password_hash: hash,
                must_change_password: false,
            },
        )
        .await?;
    }
    // A/B in action: one A clerk is on leave, so B receives that department's items (R-AB).
    if let Some(a) = county.ab_clerk("县民政局", 'A') {
        sqlx::query("UPDATE users SET presence = 'on_leave' WHERE username = ?")
            .bind(&a.username)
            .execute(&mut *conn)
            .await?;
    }
    let mut matters = Vec::new();
    for m in &county.matters {
        let unit_id = id_of(conn, "SELECT id FROM units WHERE name = ?", m.unit).await?;
        let user_id = |role: Role, ab: Option<char>| {
            county
                .users
                .iter()
                .find(|u| u.unit == Some(m.unit) && u.role == role && (ab.is_none() || u.ab == ab))
                .map(|u| (u.username.clone(), u.display_name))
        };
        let (a_name, a_display) =
            user_id(Role::Clerk, Some('A')).ok_or_else(|| Error::internal("demo A clerk"))?;
        let (b_name, _) = user_id(Role::Clerk, Some('B')).ok_or_else(|| Error::internal("demo B clerk"))?;
        let (n_name, n_display) =
            user_id(Role::NetAdmin, None).ok_or_else(|| Error::internal("demo net admin"))?;
        let a = id_of(conn, "SELECT id FROM users WHERE username = ?", &a_name).await?;
        let b = id_of(conn, "SELECT id FROM users WHERE username = ?", &b_name).await?;
        let n = id_of(conn, "SELECT id FROM users WHERE username = ?", &n_name).await?;
        let seq = next_seq(conn).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO matters (code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id, b_clerk_id, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(m.code)
        .bind(m.name)
        .bind(unit_id)
        .bind(i64::from(m.promised_days))
        .bind(serde_json::to_string(m.materials).map_err(Error::internal)?)
        .bind(m.fee_fen)
        .bind(a)
        .bind(b)
        .bind(seq)
        .fetch_one(&mut *conn)
        .await?;
        matters.push(MatterInfo {
            id,
            unit_id,
            name: m.name,
            materials: m.materials,
            a_clerk: (a, a_display),
            net_admin: (n, n_display),
        });
    }
    let mut agents = Vec::new();
    for u in county.users_with_role(Role::Agent) {
        agents.push((
            id_of(conn, "SELECT id FROM users WHERE username = ?", &u.username).await?,
            u.display_name,
        ));
    }
    seed_items(conn, &matters, &agents, cal).await
}

const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];
const GIVEN: [&str; 40] = [
    "建国", "秀英", "桂兰", "志强", "丽华", "海燕", "国庆", "玉梅", "春生", "红霞", "文博", "子涵", "雨萱",
    "浩然", "欣怡", "俊杰", "淑珍", "金凤", "宏伟", "晓东", "丽娟", "明", "芳", "磊", "敏", "静", "军", "勇",
    "艳", "杰", "涛", "超", "秀兰", "凤英", "振华", "立新", "翠花", "德胜", "永强", "晨曦",
];

/// An 18-digit resident ID number (GB 11643) with a valid check character.
pub fn id_number(rng: &mut StdRng) -> String {
    let region = ["130427", "130426", "130481", "130423"][rng.gen_range(0..4)];
    let birth =
        NaiveDate::from_ymd_opt(1950, 1, 1).expect("date") + chrono::Duration::days(rng.gen_range(0..20_000));
    let body = format!("{region}{}{:03}", birth.format("%Y%m%d"), rng.gen_range(0..1000));
    format!("{body}{}", id_check_char(&body))
}

/// The check character of the first 17 digits of a resident ID number.
pub fn id_check_char(first17: &str) -> char {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
}

/// A plausible citizen (generated, no real person).
pub fn applicant(rng: &mut StdRng) -> Applicant {
    let name = format!(
        "{}{}",
        SURNAMES[rng.gen_range(0..SURNAMES.len())],
        GIVEN[rng.gen_range(0..GIVEN.len())]
    );
    let phone = format!(
        "1{}{:09}",
        ["3", "5", "7", "8", "9"][rng.gen_range(0..5)],
        rng.gen_range(0..1_000_000_000u32)
    );
    Applicant {
        name,
        id_number: id_number(rng),
        phone,
    }
}

const CONSULTATIONS: [(&str, &str); 6] = [
    (
        "办理需要带哪些材料",
        "您好，我想咨询一下办理这个事项需要准备哪些材料，复印件需要几份？",
    ),
    (
        "可以异地办理吗",
        "我在外地打工，请问能不能委托家里人代办，或者网上办理？",
    ),
    ("办理时限咨询", "请问从受理到办结大概需要几个工作日？加急可以吗？"),
    ("收费标准", "请问办理这个事项收费吗？可以用手机支付吗？"),
    ("周末能办理吗", "请问政务服务中心周六上午有没有延时服务窗口？"),
    ("材料丢失怎么办", "原来的证件丢了，补办需要先登报声明吗？"),
];
const COMPLAINTS: [(&str, &str); 4] = [
    (
        "窗口排队时间过长",
        "上午九点到窗口，排了两个多小时才办上，希望增加窗口人员。",
    ),
    (
        "工作人员态度不好",
        "窗口工作人员说话不耐烦，没有一次性告知需要补的材料，跑了三趟。",
    ),
    ("办理超时", "材料交齐已经超过承诺时限，还没有办结，电话也没人接。"),
    (
        "网上预约后无人接待",
        "网上预约了上午十点，到了以后窗口说没有看到预约。",
    ),
];

/// Steps (command code, status after, actor) from the initial status to `target`.
fn path(kind: ItemKind, target: Status) -> Vec<(&'static str, Status)> {
    use Status as S;
    let app_tail = |to: S| {
        let last = S::APPLICATION_STAGES.iter().position(|x| *x == to).unwrap_or(0);
        let mut v = vec![("pass_pre_review", S::Accepted)];
        v.extend(S::APPLICATION_STAGES[1..=last].iter().map(|s| ("advance", *s)));
        v
    };
    match (kind, target) {
        (_, s) if s == kind.initial_status() => vec![],
        (ItemKind::Reservation, S::Accepted) => vec![("accept_reservation", S::Accepted)],
        (ItemKind::Reservation, S::Rejected) => vec![("reject_reservation", S::Rejected)],
        (ItemKind::Reservation, s) => vec![
            ("accept_reservation", S::Accepted),
            (
                if s == S::Arrived {
                    "mark_arrived"
                } else {
                    "mark_no_show"
                },
                s,
            ),
        ],
        (ItemKind::Consultation, s) => vec![("reply_consultation", s)],
        (ItemKind::Complaint, S::Investigating) => vec![("add_note", S::Investigating)],
        (ItemKind::Complaint, s) => vec![("add_note", S::Investigating), ("reply_complaint", s)],
        (ItemKind::Evaluation, s) => vec![("mark_read", s)],
        (ItemKind::DelegatedCase, s) => {
            let mut v = vec![("hand_over", S::Submitted)];
            match s {
                S::Submitted => {}
                S::Collected | S::Delivered => {
                    v.extend(path(ItemKind::Application, S::Completed));
                    v.push(("collect_result", S::Collected));
                    if s == S::Delivered {
                        v.push(("deliver_to_citizen", S::Delivered));
                    }
                }
                s => v.extend(path(ItemKind::Application, s)),
            }
            v
        }
        (ItemKind::Application, S::Supplement) => vec![("request_supplement", S::Supplement)],
        (ItemKind::Application, S::Refused) => vec![("refuse_application", S::Refused)],
        (ItemKind::Application, s) => app_tail(s),
    }
}

fn statuses(kind: ItemKind) -> Vec<Status> {
    Status::ALL.into_iter().filter(|s| s.valid_for(kind)).collect()
}

/// Villages where the demo's agents take cases (custody chain places).
const VILLAGES: [&str; 6] = ["东关村", "南街村", "柳林村", "河西村", "北王庄村", "李家寨村"];

/// A finished demo item, to be evaluated.
struct Finished(Uuid, String, i64, Option<i64>, Applicant, (i64, &'static str));

async fn seed_items(
    conn: &mut SqliteConnection,
    matters: &[MatterInfo],
    agents: &[(i64, &'static str)],
    cal: &WorkCalendar,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(DEMO_SEED);
    let now = Utc::now();
    let mut closed: Vec<Finished> = Vec::new();
    let kinds = [
        (ItemKind::Reservation, 30),
        (ItemKind::Consultation, 16),
        (ItemKind::Application, 26),
        (ItemKind::Complaint, 10),
        (ItemKind::DelegatedCase, 18),
    ];
    let total: u32 = kinds.iter().map(|k| k.1).sum();
    // Every state of every kind first, then a random mix.
    let every_state: Vec<(ItemKind, Status)> = kinds
        .iter()
        .flat_map(|(k, _)| statuses(*k).into_iter().map(move |s| (*k, s)))
        .collect();
    for i in 0..DEMO_ITEMS {
        let (kind, status) = match every_state.get(i) {
            Some(pair) => *pair,
            None => {
                let mut pick = rng.gen_range(0..total);
                let kind = kinds
                    .iter()
                    .find(|(_, w)| {
                        if pick < *w {
                            true
                        } else {
                            pick -= w;
                            false
                        }
                    })
                    .map_or(ItemKind::Reservation, |k| k.0);
                let options = statuses(kind);
                (kind, options[rng.gen_range(0..options.len())])
            }
        };
        let m = &matters[rng.gen_range(0..matters.len())];
        let applicant = applicant(&mut rng);
        let open_item = !status.is_closed();
        let age_minutes = if open_item {
            rng.gen_range(5..3 * 24 * 60)
        } else {
            rng.gen_range(24 * 60..20 * 24 * 60)
        };
        let received = now - chrono::Duration::minutes(age_minutes);
        let mut details = ItemDetails::default();
        let (title, content) = match kind {
            ItemKind::Reservation => {
                let day = to_local(received).date() + chrono::Duration::days(rng.gen_range(1..4));
                let hour = [9, 10, 15, 16][rng.gen_range(0..4)];
                let start = day.and_hms_opt(hour, 0, 0).expect("time");
                details.requested_slot = Some(Slot {
                    start,
                    end: start + chrono::Duration::minutes(30),
                });
                (
                    format!("预约办理：{}", m.name),
                    "网上预约，请按时到窗口办理。".to_owned(),
                )
            }
            ItemKind::Consultation => {
                let (t, c) = CONSULTATIONS[rng.gen_range(0..CONSULTATIONS.len())];
                (format!("{}：{}", m.name, t), c.to_owned())
            }
            ItemKind::Complaint => {
                let (t, c) = COMPLAINTS[rng.gen_range(0..COMPLAINTS.len())];
                (t.to_owned(), c.to_owned())
            }
            _ => (
                m.name.to_owned(),
                format!("已提交材料：{}", m.materials.join("；")),
            ),
        };
        let agent = (kind == ItemKind::DelegatedCase).then(|| agents[rng.gen_range(0..agents.len())]);
        let handler = if kind == ItemKind::Complaint {
            m.net_admin
        } else {
            m.a_clerk
        };
        let steps = path(kind, status);
        let mut history = vec![ItemEvent {
            at: received,
            actor_id: agent.map(|a| a.0),
            actor_name: agent.map(|a| a.1).unwrap_or(PORTAL_ACTOR_NAME).to_owned(),
            action: if agent.is_some() {
                shimin_domain::item::REGISTER_CASE
            } else {
                "created"
            }
            .into(),
            status: kind.initial_status().code().into(),
            note: None,
            place: agent.map(|_| VILLAGES[i % VILLAGES.len()].to_owned()),
        }];
        let mut at = received;
        let mut handler_id = None;
        for (action, s) in &steps {
            at = (at + chrono::Duration::minutes(rng.gen_range(10..600))).min(now);
            let by_agent = matches!(*action, "hand_over" | "collect_result" | "deliver_to_citizen");
            let (actor_id, actor_name) = if by_agent { agent.expect("agent") } else { handler };
            if !by_agent && !matches!(*action, "mark_arrived" | "mark_no_show" | "advance" | "mark_read") {
                handler_id = Some(handler.0);
            }
            let note = match *action {
                "reply_consultation" => {
                    let r = format!("您好，办理{}需携带：{}。", m.name, m.materials.join("、"));
                    details.reply = Some(r.clone());
                    Some(r)
                }
                "reply_complaint" => {
                    let r =
                        "经调查核实，已对相关窗口人员进行批评教育，并增设引导岗。感谢您的监督。".to_owned();
                    details.reply = Some(r.clone());
                    Some(r)
                }
                "reject_reservation" | "refuse_application" => {
                    let r = "所申请事项不属于本单位受理范围，请向户籍所在地乡镇便民服务中心咨询。".to_owned();
                    details.reply = Some(r.clone());
                    Some(r)
                }
                "request_supplement" => {
                    let missing: Vec<String> = m.materials.iter().take(2).map(|s| (*s).to_owned()).collect();
                    let note = missing.join("；");
                    details.missing_materials = missing;
                    Some(note)
                }
                "add_note" => Some("已联系投诉人了解情况，正在调查。".to_owned()),
                "accept_reservation" => {
                    details.granted_slot = details.requested_slot;
                    None
                }
                "deliver_to_citizen" => {
                    let (agent_id, _) = agent.expect("agent");
                    let proof = signature_ref();
                    demo_attach(conn, agent_id, &proof, &ts(at)).await?;
                    details.delivery = Some(shimin_protocol::Delivery {
                        recipient: applicant.name.clone(),
                        proof,
                    });
                    Some(format!("签收人：{}", applicant.name))
                }
                "pass_pre_review" => {
                    details.receipt_no = Some(format!("SL{}{:04}", to_local(at).format("%Y%m%d"), i));
                    None
                }
                _ => None,
            };
            history.push(ItemEvent {
                at,
                actor_id: Some(actor_id),
                actor_name: actor_name.to_owned(),
                action: (*action).into(),
                status: s.code().into(),
                note,
                place: None,
            });
        }
        // The agent photographed the matter's materials (all but those a notice asks for).
        if let Some((agent_id, _)) = agent {
            for material in m.materials {
                if !details.missing_materials.iter().any(|x| x == material) {
                    let a = document_ref(material);
                    demo_attach(conn, agent_id, &a, &ts(received)).await?;
                    details.attachments.push(a);
                }
            }
        }
        let id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        let item = NewItem {
            id,
            kind,
            status,
            unit_id: m.unit_id,
            matter_id: Some(m.id),
            agent_id: agent.map(|a| a.0),
            handler_id,
            applicant: applicant.clone(),
            title,
            content,
            received_at: received,
            due_at: None,
            due_provisional: false,
            details,
        };
        let (number, _) = insert_item(conn, &item, &history).await?;
        let files = item
            .details
            .attachments
            .iter()
            .chain(item.details.delivery.as_ref().map(|d| &d.proof));
        for a in files {
            sqlx::query("INSERT OR IGNORE INTO item_attachments (item_id, hash) VALUES (?, ?)")
                .bind(id.to_string())
                .bind(&a.hash)
                .execute(&mut *conn)
                .await?;
        }
        // Deadline from the stored history, as for every item (deadline::refresh).
        if let Some(row) = load_item(conn, id).await? {
            deadline::refresh(conn, cal, &row, false).await?;
        }
        if matches!(status, Status::Delivered | Status::Answered | Status::Arrived) {
            closed.push(Finished(id, number, m.unit_id, Some(m.id), applicant, m.a_clerk));
        }
    }
    // Evaluations of finished items, some read, some with bad ratings to follow up (回访).
    for (n, Finished(rated, number, unit_id, matter_id, applicant, clerk)) in
        closed.into_iter().enumerate().take(40)
    {
        let rating: u8 = [5, 5, 4, 5, 3, 1, 5, 4, 2, 5][n % 10];
        let received = now - chrono::Duration::minutes(rng.gen_range(30..5 * 24 * 60));
        let status = if n % 3 == 0 {
            Status::Read
        } else {
            Status::Received
        };
        let mut history = vec![ItemEvent {
            at: received,
            actor_id: None,
            actor_name: PORTAL_ACTOR_NAME.into(),
            action: "created".into(),
            status: "received".into(),
            note: None,
            place: None,
        }];
        if status == Status::Read {
            history.push(ItemEvent {
                at: (received + chrono::Duration::minutes(90)).min(now),
                actor_id: Some(clerk.0),
                actor_name: clerk.1.into(),
                action: "mark_read".into(),
                status: "read".into(),
                note: None,
                place: None,
            });
        }
        let content = if rating >= 4 {
            "窗口服务热情，一次就办好了。"
        } else {
            "等待时间太长，希望改进。"
        };
        let item = NewItem {
            id: uuid::Builder::from_random_bytes(rng.gen()).into_uuid(),
            kind: ItemKind::Evaluation,
            status,
            unit_id,
            matter_id,
            agent_id: None,
            handler_id: None,
            applicant,
            title: format!("评议：{number}（{rating}星）"),
            content: content.into(),
            received_at: received,
            due_at: None,
            due_provisional: false,
            details: ItemDetails {
                rating: Some(rating),
                rates_item: Some(rated),
                ..Default::default()
            },
        };
        insert_item(conn, &item, &history).await?;
    }
    Ok(())
}

/// Creates a new reservation every `every` through the intake path, until shutdown.
pub async fn trickle(state: SharedState, every: Duration) {
    let mut rng = StdRng::seed_from_u64(DEMO_SEED ^ 0x7e1c);
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let matters: Vec<i64> = match sqlx::query_scalar("SELECT id FROM matters ORDER BY id")
            .fetch_all(&state.pool)
            .await
        {
            Ok(m) if !m.is_empty() => m,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "trickle: cannot list matters");
                continue;
            }
        };
        let day = to_local(Utc::now()).date() + chrono::Duration::days(1);
        let start = day
            .and_hms_opt([9, 10, 15][rng.gen_range(0..3)], 30, 0)
            .expect("time");
        let req = NewReservation {
            matter_id: matters[rng.gen_range(0..matters.len())],
            applicant: applicant(&mut rng),
            requested_slot: Slot {
                start,
                end: start + chrono::Duration::minutes(30),
            },
            content: "网上预约（演示）".into(),
        };
        match intake::create(&state, None, Intake::Reservation(req)).await {
            Ok(c) => tracing::info!(number = %c.number, "trickle: new reservation"),
            Err(e) => tracing::warn!(error = %e, "trickle failed"),
        }
    }
}

//! The demo county (`--demo`): sites, units, matters, users of every role and a few hundred work
//! items in every state. Deterministic (fixed RNG seed; times are relative to the seeding
//! instant) and idempotent (seeding twice changes nothing).
//!
//! Every demo account's password is [`DEMO_PASSWORD`] and none must change it. Tests find
//! accounts through [`DemoCounty`] instead of hard-coding names.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shimin_domain::calendar::{to_local, WorkCalendar};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::ladder::Presence;
use shimin_domain::role::{Actor, Role, UnitKind};
use shimin_protocol::{
    Applicant, AttachmentRef, Mutation, MutationOutcome, NewApplication, NewComplaint, NewConsultation,
    NewEvaluation, NewReservation, Op, Slot,
};
use uuid::Uuid;

use crate::intake::{self, Intake, PORTAL_ACTOR_NAME};
use crate::store::{NewMatter, NewUser, Writes};
use crate::users::add_user;
use crate::{auth, Error, Result, SharedState};

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

/// Stores the demo county unless already there: directory and catalogue rows through the
/// store, items through the intake path and every later step through the same `apply` a push
/// runs (so `decide` judged every transition of the demo's history), in one transaction.
pub async fn seed(state: &SharedState) -> Result<()> {
    let county = DemoCounty::new();
    // One hash for all demo accounts (same password); hashing dozens would slow every start.
    let hash = auth::hash_password_blocking(state.config.hash_params, DEMO_PASSWORD.to_owned()).await?;
    let mut tx = state.store.write().await?;
    if tx.meta(SEEDED_KEY).await?.is_some() {
        return Ok(());
    }
    store_demo_images(state).await?;
    let directory = seed_directory(&mut *tx, &county, &hash).await?;
    if !state.config.demo.as_ref().is_some_and(|d| d.directory_only) {
        seed_items(&mut *tx, &directory, &state.calendar()).await?;
    }
    tx.set_meta(SEEDED_KEY, &Utc::now().to_rfc3339()).await?;
    tx.commit().await?;
    tracing::info!(
        users = county.users.len(),
        matters = county.matters.len(),
        "demo county seeded"
    );
    Ok(())
}

/// The `meta` key set once the demo is seeded.
const SEEDED_KEY: &str = "demo_seeded";

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

fn demo_ref(bytes: &[u8], file_name: &str, material: &str) -> AttachmentRef {
    AttachmentRef {
        hash: crate::blobs::sha256_hex(bytes),
        size: bytes.len() as u64,
        mime: "image/png".into(),
        file_name: file_name.into(),
        material: material.into(),
    }
}

fn signature_ref() -> AttachmentRef {
    demo_ref(&signature_png(), "签收.png", "送达凭证")
}

fn document_ref(material: &str) -> AttachmentRef {
    demo_ref(&document_png(material), &format!("{material}.png"), material)
}

/// Puts the demo's images (the signature, a photo per material) into the blob store.
async fn store_demo_images(state: &SharedState) -> Result<()> {
    let mut images = vec![signature_png()];
    let mut seen = std::collections::HashSet::new();
    for m in MATTERS.iter() {
        for material in m.materials {
            if seen.insert(*material) {
                images.push(document_png(material));
            }
        }
    }
    for bytes in images {
        let hash = crate::blobs::sha256_hex(&bytes);
        let store = state.blobs.clone();
        let key = format!("demo-{hash}");
        tokio::task::spawn_blocking(move || {
            store.discard(&key)?;
            store.append(&key, 0, &bytes)?;
            store.commit(&key, &hash)
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
    }
    Ok(())
}

/// Records that the demo agent uploaded `a`, as the desk would have before referring to it.
async fn demo_upload(tx: &mut dyn Writes, agent_id: i64, a: &AttachmentRef, at: DateTime<Utc>) -> Result<()> {
    tx.complete_upload(agent_id, &a.hash, a.size, &a.mime, at).await
}

/// A demo user as the rules see them, with the name histories show.
#[derive(Debug, Clone, Copy)]
struct Person {
    actor: Actor,
    name: &'static str,
}

#[derive(Debug, Clone)]
struct MatterInfo {
    id: i64,
    unit_id: i64,
    name: &'static str,
    materials: &'static [&'static str],
    a_clerk: Person,
    net_admin: Person,
}

/// What items are generated for.
#[derive(Debug, Clone)]
struct Directory {
    matters: Vec<MatterInfo>,
    agents: Vec<Person>,
}

async fn seed_directory(tx: &mut dyn Writes, county: &DemoCounty, hash: &str) -> Result<Directory> {
    let mut sites = std::collections::HashMap::new();
    for site in &county.sites {
        let seq = tx.next_seq().await?;
        sites.insert(*site, tx.add_site(site, seq).await?);
    }
    let mut units = Vec::new();
    for u in &county.units {
        let seq = tx.next_seq().await?;
        let kind = UnitKind::from_code(u.kind).ok_or_else(|| Error::internal("demo unit kind"))?;
        units.push((tx.add_unit(u.name, kind, sites[u.site], seq).await?, u.name));
    }
    let unit_id = |name: &str| units.iter().find(|u| u.1 == name).map(|u| u.0);
    let mut people: Vec<(&DemoUser, Person)> = Vec::new();
    for u in &county.users {
        let unit = u.unit.and_then(unit_id);
        let id = add_user(
            tx,
            &NewUser {
                username: &u.username,
                display_name: u.display_name,
                role: u.role,
                unit_id: unit,
                password_hash: hash,
                must_change_password: false,
            },
        )
        .await?;
        let actor = Actor {
            user_id: id,
            role: u.role,
            unit_id: unit,
        };
        people.push((
            u,
            Person {
                actor,
                name: u.display_name,
            },
        ));
    }
    // A/B in action: one A clerk is on leave, so B receives that department's items (R-AB).
    if let Some(a) = county.ab_clerk("县民政局", 'A') {
        if let Some((_, p)) = people.iter().find(|(u, _)| u.username == a.username) {
            let seq = tx.next_seq().await?;
            tx.set_presence(p.actor.user_id, Presence::OnLeave, seq).await?;
        }
    }
    let find = |unit: &str, role: Role, ab: Option<char>| {
        people
            .iter()
            .find(|(u, _)| u.unit == Some(unit) && u.role == role && (ab.is_none() || u.ab == ab))
            .map(|(_, p)| *p)
            .ok_or_else(|| Error::internal(format!("demo {role:?} {ab:?} of {unit}")))
    };
    let mut matters = Vec::new();
    for m in &county.matters {
        let (a, b, n) = (
            find(m.unit, Role::Clerk, Some('A'))?,
            find(m.unit, Role::Clerk, Some('B'))?,
            find(m.unit, Role::NetAdmin, None)?,
        );
        let unit = unit_id(m.unit).ok_or_else(|| Error::internal("demo matter unit"))?;
        let seq = tx.next_seq().await?;
        let new = NewMatter {
            code: m.code.to_owned(),
            name: m.name.to_owned(),
            unit_id: unit,
            promised_days: m.promised_days,
            materials: m.materials.iter().map(|s| (*s).to_owned()).collect(),
            fee_fen: m.fee_fen,
            a_clerk_id: Some(a.actor.user_id),
            b_clerk_id: Some(b.actor.user_id),
        };
        matters.push(MatterInfo {
            id: tx.add_matter(&new, seq).await?,
            unit_id: unit,
            name: m.name,
            materials: m.materials,
            a_clerk: a,
            net_admin: n,
        });
    }
    let agents = people
        .iter()
        .filter(|(u, _)| u.role == Role::Agent)
        .map(|(_, p)| *p)
        .collect();
    Ok(Directory { matters, agents })
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
    shimin_domain::identity::resident_id(&body)
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

/// Who takes a step of an item's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// The unit's clerk (the matter's A clerk; the net admin for complaints).
    Handler,
    /// The agent carrying a delegated case.
    Agent,
}

/// Canned texts of the demo's steps.
const REPLY_COMPLAINT: &str = "经调查核实，已对相关窗口人员进行批评教育，并增设引导岗。感谢您的监督。";
const NOT_OURS: &str = "所申请事项不属于本单位受理范围，请向户籍所在地乡镇便民服务中心咨询。";

/// The actions that take an item of `kind` from its initial status to `target`, and who takes
/// each. `decide` judges every one of them when they are applied.
fn steps(
    kind: ItemKind,
    target: Status,
    m: &MatterInfo,
    slot: Option<Slot>,
    recipient: &str,
) -> Vec<(By, Op)> {
    use Status as S;
    let app_tail = |to: S| {
        let last = S::APPLICATION_STAGES.iter().position(|x| *x == to).unwrap_or(0);
        let mut v = vec![(By::Handler, Op::PassPreReview)];
        v.extend(S::APPLICATION_STAGES[1..=last].iter().map(|s| {
            (
                By::Handler,
                Op::Advance {
                    to: s.code().to_owned(),
                },
            )
        }));
        v
    };
    let accept = || {
        (
            By::Handler,
            Op::AcceptReservation {
                slot: slot.expect("a reservation has a requested slot"),
            },
        )
    };
    match (kind, target) {
        (_, s) if s == kind.initial_status() => vec![],
        (ItemKind::Reservation, S::Accepted) => vec![accept()],
        (ItemKind::Reservation, S::Rejected) => vec![(
            By::Handler,
            Op::RejectReservation {
                reason: NOT_OURS.into(),
            },
        )],
        (ItemKind::Reservation, s) => vec![
            accept(),
            (
                By::Handler,
                if s == S::Arrived {
                    Op::MarkArrived
                } else {
                    Op::MarkNoShow
                },
            ),
        ],
        (ItemKind::Consultation, _) => vec![(
            By::Handler,
            Op::ReplyConsultation {
                reply: format!("您好，办理{}需携带：{}。", m.name, m.materials.join("、")),
            },
        )],
        (ItemKind::Complaint, s) => {
            let mut v = vec![(
                By::Handler,
                Op::AddNote {
                    text: "已联系投诉人了解情况，正在调查。".into(),
                },
            )];
            if s == S::Answered {
                v.push((
                    By::Handler,
                    Op::ReplyComplaint {
                        reply: REPLY_COMPLAINT.into(),
                    },
                ));
            }
            v
        }
        (ItemKind::Evaluation, _) => vec![(By::Handler, Op::MarkRead)],
        (ItemKind::DelegatedCase, s) => {
            let mut v: Vec<(By, Op)> = m
                .materials
                .iter()
                .filter(|material| !(s == S::Supplement && supplement_materials(m).contains(material)))
                .map(|material| {
                    (
                        By::Agent,
                        Op::AddAttachment {
                            attachment: document_ref(material),
                        },
                    )
                })
                .collect();
            if s == S::Registered {
                return v;
            }
            v.push((By::Agent, Op::HandOver { place: None }));
            match s {
                S::Submitted => {}
                S::Collected | S::Delivered => {
                    v.extend(steps(ItemKind::Application, S::Completed, m, slot, recipient));
                    v.push((By::Agent, Op::CollectResult { place: None }));
                    if s == S::Delivered {
                        v.push((
                            By::Agent,
                            Op::DeliverToCitizen {
                                recipient: recipient.to_owned(),
                                place: VILLAGES[recipient.len() % VILLAGES.len()].to_owned(),
                                proof: signature_ref(),
                            },
                        ));
                    }
                }
                s => v.extend(steps(ItemKind::Application, s, m, slot, recipient)),
            }
            v
        }
        (ItemKind::Application, S::Supplement) => vec![(
            By::Handler,
            Op::RequestSupplement {
                missing: supplement_materials(m).iter().map(|s| (*s).to_owned()).collect(),
                note: String::new(),
            },
        )],
        (ItemKind::Application, S::Refused) => vec![(
            By::Handler,
            Op::RefuseApplication {
                reason: NOT_OURS.into(),
            },
        )],
        (ItemKind::Application, s) => app_tail(s),
    }
}

/// What a demo one-time notice asks for: the matter's first two materials.
fn supplement_materials(m: &MatterInfo) -> &'static [&'static str] {
    &m.materials[..m.materials.len().min(2)]
}

fn statuses(kind: ItemKind) -> Vec<Status> {
    Status::ALL.into_iter().filter(|s| s.valid_for(kind)).collect()
}

/// Villages where the demo's agents take cases (custody chain places).
const VILLAGES: [&str; 6] = ["东关村", "南街村", "柳林村", "河西村", "北王庄村", "李家寨村"];

/// Applies one step of a demo item's history through the push path.
async fn step(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    by: Person,
    item_id: Uuid,
    at: DateTime<Utc>,
    op: Op,
) -> Result<()> {
    let m = Mutation {
        id: Uuid::new_v4(),
        seq: 0,
        item_id,
        acted_at: at,
        op,
    };
    match crate::sync::apply(tx, cal, &by.actor, by.name, &m).await? {
        MutationOutcome::Applied { .. } => Ok(()),
        MutationOutcome::Rejected { code, message } => Err(Error::internal(format!(
            "demo step {:?} refused: {code} {message}",
            m.op
        ))),
    }
}

/// Which kind and target status the `i`-th demo item gets: every state of every kind first,
/// then a weighted random mix.
fn pick(i: usize, rng: &mut StdRng) -> (ItemKind, Status) {
    let kinds = [
        (ItemKind::Reservation, 30u32),
        (ItemKind::Consultation, 16),
        (ItemKind::Application, 26),
        (ItemKind::Complaint, 10),
        (ItemKind::DelegatedCase, 18),
    ];
    let every_state: Vec<(ItemKind, Status)> = kinds
        .iter()
        .flat_map(|(k, _)| statuses(*k).into_iter().map(move |s| (*k, s)))
        .collect();
    if let Some(pair) = every_state.get(i) {
        return *pair;
    }
    let total: u32 = kinds.iter().map(|k| k.1).sum();
    let mut at = rng.gen_range(0..total);
    let kind = kinds
        .iter()
        .find(|(_, w)| {
            if at < *w {
                true
            } else {
                at -= w;
                false
            }
        })
        .map_or(ItemKind::Reservation, |k| k.0);
    let options = statuses(kind);
    (kind, options[rng.gen_range(0..options.len())])
}

/// The intake of a demo item of `kind` (not delegated cases: agents register those).
fn intake_of(
    kind: ItemKind,
    m: &MatterInfo,
    applicant: Applicant,
    received: DateTime<Utc>,
    rng: &mut StdRng,
) -> Intake {
    match kind {
        ItemKind::Reservation => {
            let day = to_local(received).date() + chrono::Duration::days(rng.gen_range(1..4));
            let hour = [9, 10, 15, 16][rng.gen_range(0..4)];
            let start = day.and_hms_opt(hour, 0, 0).expect("time");
            Intake::Reservation(NewReservation {
                matter_id: m.id,
                applicant,
                requested_slot: Slot {
                    start,
                    end: start + chrono::Duration::minutes(30),
                },
                content: "网上预约，请按时到窗口办理。".into(),
            })
        }
        ItemKind::Consultation => {
            let (t, c) = CONSULTATIONS[rng.gen_range(0..CONSULTATIONS.len())];
            Intake::Consultation(NewConsultation {
                matter_id: Some(m.id),
                unit_id: None,
                applicant,
                title: format!("{}：{}", m.name, t),
                content: c.to_owned(),
            })
        }
        ItemKind::Complaint => {
            let (t, c) = COMPLAINTS[rng.gen_range(0..COMPLAINTS.len())];
            Intake::Complaint(NewComplaint {
                unit_id: m.unit_id,
                applicant,
                title: t.to_owned(),
                content: c.to_owned(),
            })
        }
        _ => Intake::Application(NewApplication {
            matter_id: m.id,
            applicant,
            content: String::new(),
            materials_provided: m.materials.iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// A finished demo item, to be evaluated.
struct Finished {
    id: Uuid,
    handler: Person,
    at: DateTime<Utc>,
}

async fn seed_items(tx: &mut dyn Writes, dir: &Directory, cal: &WorkCalendar) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(DEMO_SEED);
    let now = Utc::now();
    let mut finished: Vec<Finished> = Vec::new();
    for i in 0..DEMO_ITEMS {
        let (kind, status) = pick(i, &mut rng);
        let m = &dir.matters[rng.gen_range(0..dir.matters.len())];
        let applicant = applicant(&mut rng);
        let age_minutes = if status.is_closed() {
            rng.gen_range(24 * 60..20 * 24 * 60)
        } else {
            rng.gen_range(5..3 * 24 * 60)
        };
        let received = now - chrono::Duration::minutes(age_minutes);
        let agent = dir.agents[rng.gen_range(0..dir.agents.len())];
        let handler = if kind == ItemKind::Complaint {
            m.net_admin
        } else {
            m.a_clerk
        };
        let (item_id, slot) = if kind == ItemKind::DelegatedCase {
            let id = uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
            let register = Op::RegisterCase {
                matter_id: m.id,
                applicant: applicant.clone(),
                content: format!("代办{}，材料已收齐。", m.name),
                place: VILLAGES[i % VILLAGES.len()].to_owned(),
            };
            step(tx, cal, agent, id, received, register).await?;
            (id, None)
        } else {
            let intake = intake_of(kind, m, applicant.clone(), received, &mut rng);
            let slot = match &intake {
                Intake::Reservation(r) => Some(r.requested_slot),
                _ => None,
            };
            (intake::record(tx, cal, None, intake, received).await?.id, slot)
        };
        let mut at = received;
        for (who, op) in steps(kind, status, m, slot, &applicant.name) {
            at = (at + chrono::Duration::minutes(rng.gen_range(10..600))).min(now);
            let by = match who {
                By::Agent => agent,
                By::Handler => handler,
            };
            for a in op.attachments() {
                demo_upload(tx, by.actor.user_id, a, at).await?;
            }
            step(tx, cal, by, item_id, at, op).await?;
        }
        if matches!(status, Status::Delivered | Status::Answered | Status::Arrived) {
            finished.push(Finished {
                id: item_id,
                handler,
                at,
            });
        }
    }
    // Evaluations of finished items, some read, some with bad ratings to follow up (回访).
    for (n, f) in finished.into_iter().enumerate().take(40) {
        let rating: u8 = [5, 5, 4, 5, 3, 1, 5, 4, 2, 5][n % 10];
        let received = (f.at + chrono::Duration::minutes(rng.gen_range(30..5 * 24 * 60))).min(now);
        let evaluation = Intake::Evaluation(NewEvaluation {
            item_id: f.id,
            rating,
            content: if rating >= 4 {
                "窗口服务热情，一次就办好了。"
            } else {
                "等待时间太长，希望改进。"
            }
            .into(),
        });
        let created = intake::record(tx, cal, None, evaluation, received).await?;
        if n % 3 == 0 {
            let read_at = (received + chrono::Duration::minutes(90)).min(now);
            step(tx, cal, f.handler, created.id, read_at, Op::MarkRead).await?;
        }
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
        let matters: Vec<i64> = match trickle_matters(&state).await {
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

async fn trickle_matters(state: &SharedState) -> Result<Vec<i64>> {
    Ok(state
        .store
        .reader()
        .await?
        .matters()
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect())
}

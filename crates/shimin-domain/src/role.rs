//! Office roles (§19, §20) and who may see which work items (R-SCOPE).
//!
//! Architecture invariant: the server filters every pull and checks every push with
//! [`read_scope`] and [`Actor::may_handle`]; the desk uses the same functions only to grey out
//! what the server would refuse anyway.

/// A user's office role. Codes are stable (stored and sent on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// 办公人员 / 窗口人员: handles items at a counter of a unit.
    Clerk,
    /// 部门领导: handles items and supervises the own unit.
    DeptLeader,
    /// 网络专管员: maintains matter information, answers online complaints.
    NetAdmin,
    /// 代办员: township agent carrying delegated cases (代办).
    Agent,
    /// 管理人员 (supervision side).
    Manager,
    /// 中心领导 (supervision side).
    CenterLeader,
    /// 录入人员 (supervision side).
    Intake,
    /// 督查人员 (supervision side).
    Inspector,
    /// 系统管理员.
    Sysadmin,
    /// The citizen portal's service account: may only call the intake API.
    Portal,
}

impl Role {
    /// Every role, for tables and exhaustive tests.
    pub const ALL: [Role; 10] = [
        Role::Clerk,
        Role::DeptLeader,
        Role::NetAdmin,
        Role::Agent,
        Role::Manager,
        Role::CenterLeader,
        Role::Intake,
        Role::Inspector,
        Role::Sysadmin,
        Role::Portal,
    ];

    /// Stable code (`clerk`, `dept_leader`, …).
    pub fn code(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::DeptLeader => "dept_leader",
            Role::NetAdmin => "net_admin",
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::CenterLeader => "center_leader",
            Role::Intake => "intake",
            Role::Inspector => "inspector",
            Role::Sysadmin => "sysadmin",
            Role::Portal => "portal",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Chinese name shown in the desk.
    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Clerk => "窗口人员",
            Role::DeptLeader => "部门领导",
            Role::NetAdmin => "网络专管员",
            Role::Agent => "代办员",
            Role::Manager => "管理人员",
            Role::CenterLeader => "中心领导",
            Role::Intake => "录入人员",
            Role::Inspector => "督查人员",
            Role::Sysadmin => "系统管理员",
            Role::Portal => "门户服务账户",
        }
    }

    /// Supervision users (督查监察用户, §20) read across units but never see citizens'
    /// personal data through sync.
    pub fn is_supervision(self) -> bool {
        matches!(
            self,
            Role::Manager | Role::CenterLeader | Role::Intake | Role::Inspector | Role::Sysadmin
        )
    }

    /// Roles that handle items at a unit's counter.
    pub fn is_unit_office(self) -> bool {
        matches!(self, Role::Clerk | Role::DeptLeader | Role::NetAdmin)
    }

    /// The desk's main screen for this role: only those who serve citizens at a
    /// window get the counter (calling tickets, walk-ins, 暂离); a 网络专管员 works the unit's
    /// queue from an office; supervision roles never serve at a counter.
    pub fn workspace(self) -> Workspace {
        match self {
            Role::Clerk | Role::DeptLeader => Workspace::Counter,
            Role::Agent => Workspace::Agent,
            Role::NetAdmin => Workspace::Office,
            Role::Manager | Role::CenterLeader | Role::Intake | Role::Inspector | Role::Sysadmin => {
                Workspace::Supervision
            }
            Role::Portal => Workspace::None,
        }
    }
}

/// What a user's desk is built around ([`Role::workspace`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workspace {
    /// A window: the queue, the call panel (叫号, 现场取号) and presence (暂离).
    Counter,
    /// A township agent's delegated cases (代办件).
    Agent,
    /// The unit's queue without a counter.
    Office,
    /// Reading across units (boards come with the supervision work).
    Supervision,
    /// No desk (the portal's service account).
    None,
}

impl Workspace {
    /// Stable code on the shell's contract (`counter`, `agent`, `office`, `supervision`, `none`).
    pub fn code(self) -> &'static str {
        match self {
            Workspace::Counter => "counter",
            Workspace::Agent => "agent",
            Workspace::Office => "office",
            Workspace::Supervision => "supervision",
            Workspace::None => "none",
        }
    }

    /// Whether this workspace has the call panel and presence (暂离).
    pub fn has_counter(self) -> bool {
        self == Workspace::Counter
    }
}

/// Who is acting: the authenticated user as the rules see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    /// The user's unit (单位); `None` for accounts not bound to one.
    pub unit_id: Option<i64>,
}

/// What a user may read through sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Items whose handling unit is this unit (clerks, leaders, net admins).
    Unit(i64),
    /// Delegated cases carried by this agent (user id).
    Agent(i64),
    /// All units' items, with citizens' personal data masked (supervision users).
    AllMasked,
    /// Nothing (portal service account, users without a unit).
    Nothing,
}

/// The read scope of an actor. The server's pull filter is built from this and nothing else.
pub fn read_scope(actor: &Actor) -> Scope {
    match actor.role {
        r if r.is_unit_office() => match actor.unit_id {
            Some(unit) => Scope::Unit(unit),
            None => Scope::Nothing,
        },
        Role::Agent => Scope::Agent(actor.user_id),
        r if r.is_supervision() => Scope::AllMasked,
        _ => Scope::Nothing,
    }
}

impl Scope {
    /// Whether an item handled by `unit_id` and carried by `agent_id` is in this scope.
    pub fn contains(self, unit_id: i64, agent_id: Option<i64>) -> bool {
        match self {
            Scope::Unit(u) => u == unit_id,
            Scope::Agent(a) => agent_id == Some(a),
            Scope::AllMasked => true,
            Scope::Nothing => false,
        }
    }
}

impl Actor {
    /// Whether this actor's desk holds citizens' personal data in full (and so may reveal a
    /// masked number, leaving an audit entry): the unit office roles and agents. Supervision
    /// roles only ever receive masked data (R-SCOPE, R-SEC).
    pub fn holds_personal_data(&self) -> bool {
        matches!(read_scope(self), Scope::Unit(_) | Scope::Agent(_))
    }

    /// Whether this actor may act on an item handled by `unit_id` carried by `agent_id`.
    /// Supervision users read but do not handle.
    pub fn may_handle(&self, unit_id: i64, agent_id: Option<i64>) -> bool {
        match read_scope(self) {
            Scope::AllMasked | Scope::Nothing => false,
            scope => scope.contains(unit_id, agent_id),
        }
    }
}

/// Whose figures a user may read (statistics, counter tickets with their times): never more
/// than the read scope's units, and for those at a counter only their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FigureScope {
    /// One person's own figures (user id).
    Own(i64),
    /// One unit's figures and its persons'.
    Unit(i64),
    /// Every unit's (supervision roles; figures carry no personal data).
    All,
}

/// The kind of a unit (单位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// 部门: a county department.
    Department,
    /// 乡镇: a township.
    Township,
}

impl UnitKind {
    pub const ALL: [UnitKind; 2] = [UnitKind::Department, UnitKind::Township];

    /// Stable code (stored and sent on the wire).
    pub fn code(self) -> &'static str {
        match self {
            UnitKind::Department => "department",
            UnitKind::Township => "township",
        }
    }

    pub fn from_code(code: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            UnitKind::Department => "部门",
            UnitKind::Township => "乡镇",
        }
    }
}

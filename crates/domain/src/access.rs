//! Who may do what (统筹协调、安全可控): every access rule of the platform, in one place.
//!
//! A rule is a pure function of the caller and the facts of the target ([`Act`]): the
//! store calls [`check`] inside the transaction that makes the change, with facts it read
//! in that transaction; pages and endpoints call the same function, with the same facts,
//! to decide what to show (a button appears only when the act would succeed). No other
//! crate compares roles or departments.
//!
//! Separation of duties (三员分立, GB/T 22239-2019 8.1.4.2): the bureau (`admin`) runs the
//! platform and appoints departments' people but cannot act as a department, mint a
//! department's application tokens, read the audit log or touch the auditor's account;
//! the auditor reads and verifies the logs and changes nothing; accounts of the bureau and
//! the auditor are managed only by the operator on the server (`datahall user …`).

use serde::{Deserialize, Serialize};

use crate::account::{Actor, Role};
use crate::sharing::RequestStatus;

/// A department's application system, calling with its API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub token_id: i64,
    pub department_id: i64,
    pub name: String,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Caller {
    /// A signed-in person: the bureau, the auditor, a department's chief or staff.
    Person(Actor),
    /// A department's application system: reads data under its grants, pushes its
    /// department's data; never signs, decides or manages.
    Application(Application),
    /// The platform itself: scheduled pulls, housekeeping, the demo loader and the
    /// operator's command line on the server.
    Platform(String),
    /// Nobody signed in (or a forged or expired credential): every act is refused.
    Anonymous,
}

impl Caller {
    /// The person, if a person calls.
    pub fn person(&self) -> Option<&Actor> {
        match self {
            Caller::Person(actor) => Some(actor),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.person().map(|a| a.role)
    }

    /// The department the caller acts for: a chief's or staff member's, an application's.
    pub fn department_id(&self) -> Option<i64> {
        match self {
            Caller::Person(actor) if actor.role.needs_department() => actor.department_id,
            Caller::Application(app) => Some(app.department_id),
            _ => None,
        }
    }

    /// The name the audit log records.
    pub fn name(&self) -> String {
        match self {
            Caller::Person(actor) => actor.username.clone(),
            Caller::Application(app) => format!("app:{}", app.name),
            Caller::Platform(job) => job.clone(),
            Caller::Anonymous => "anonymous".into(),
        }
    }

    /// The role the audit log records.
    pub fn role_code(&self) -> &'static str {
        match self {
            Caller::Person(actor) => actor.role.code(),
            Caller::Application(_) => "application",
            Caller::Platform(_) => "system",
            Caller::Anonymous => "anonymous",
        }
    }

    /// A chief or staff member of this department.
    fn works_for(&self, department: i64) -> bool {
        matches!(self, Caller::Person(a) if a.works_for(department))
    }

    fn is(&self, role: Role) -> bool {
        self.role() == Some(role)
    }

    /// The department's chief representative.
    fn chief_of(&self, department: i64) -> bool {
        self.works_for(department) && self.is(Role::Chief)
    }

    /// A chief or staff member of any department.
    fn department_person(&self) -> bool {
        matches!(self, Caller::Person(a) if a.role.needs_department() && a.department_id.is_some())
    }

    fn bureau(&self) -> bool {
        self.is(Role::Admin)
    }

    fn auditor(&self) -> bool {
        self.is(Role::Auditor)
    }

    fn platform(&self) -> bool {
        matches!(self, Caller::Platform(_))
    }
}

/// Why an act was refused (HTTP 403). Both texts are fixed Chinese sentences: they name
/// the act and the rule, never a value of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("无权{act}：{reason}")]
pub struct Denied {
    pub act: &'static str,
    pub reason: &'static str,
}

/// How a collection batch arrives (归集渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A file uploaded by a person (page, API) or the operator (`datahall import`).
    Upload,
    /// Records pushed by the department's application system.
    Push,
    /// Registering, enabling or running a pull from the department's own database.
    Source,
    /// A scheduled pull of a registered source.
    ScheduledPull,
}

impl Channel {
    /// The channel of a batch by its source label (`upload:csv`, `push:json`,
    /// `pull:户籍系统`): a pull the platform runs is scheduled, one a person runs is theirs.
    pub fn of_batch(source: &str, caller: &Caller) -> Self {
        if source.starts_with("push") {
            Channel::Push
        } else if source.starts_with("pull") {
            if caller.platform() {
                Channel::ScheduledPull
            } else {
                Channel::Source
            }
        } else {
            Channel::Upload
        }
    }
}

/// The facts of a share request that its decision depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    pub provider: i64,
    pub consumer: i64,
    pub status: RequestStatus,
    /// The caller is a staff member the provider's chief delegated decisions to.
    pub delegated: bool,
    /// The provider's deadline has passed: the bureau may decide in its place.
    pub overdue: bool,
    /// Personal items are asked for in clear: only the provider's chief may grant them.
    pub clear_personal: bool,
}

/// Who decides a share request at this point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    /// The provider department (its chief, or a staff member the chief delegated).
    Provider,
    /// The bureau, coordinating a refused or overdue request.
    Bureau,
}

/// What a caller wants to do, with the facts of the target that decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Work in the data hall at all: every signed-in person (the bureau, the auditor,
    /// departments' people). Applications call the data API and push data; everything
    /// else is for people, and is refused to an application before anything is looked up.
    UseHall,

    // Departments and people.
    /// List departments (names, codes).
    ViewDepartments,
    CreateDepartment,
    /// List people of one department, or of all (`None`).
    ViewPeople {
        department: Option<i64>,
    },
    /// Create an account, change its role or department, reset its password or
    /// deactivate it. `role` is the account's role now, `new_role` after the change.
    ManageAccount {
        role: Role,
        new_role: Role,
    },
    /// Set an account's password: one's own (`own`, knowing the current one) or, for the
    /// operator on the server only, anyone's. The bureau sets nobody's (三员分立: it could
    /// then sign in as them).
    SetPassword {
        own: bool,
    },
    /// List application tokens of one department, or of all (`None`).
    ViewTokens {
        department: Option<i64>,
    },
    /// Mint an application token for a department's system.
    IssueToken {
        department: i64,
    },
    RevokeToken {
        department: i64,
    },

    // Catalogue.
    /// Author an entry for `provider`: create, edit, submit, import a template.
    AuthorEntry {
        provider: i64,
    },
    /// Sign the department's entry (签发).
    SignEntry {
        provider: i64,
    },
    /// Return an entry to its department: the chief at signing, the bureau at review.
    ReturnEntry {
        provider: i64,
        at_review: bool,
    },
    /// Publish or retire an entry (the bureau's review).
    PublishEntry,
    /// Search and read the published catalogue (and one's own department's entries).
    ViewCatalogue,
    /// See entries of every department in every state (drafts included).
    ViewAllEntries,
    /// See 一数一源 conflicts between departments.
    ViewConflicts,

    // Collection.
    Collect {
        provider: i64,
        channel: Channel,
    },
    /// Batch reports, quarantine, sources and quality of an entry.
    ViewCollection {
        provider: i64,
    },

    // Sharing.
    RequestShare {
        provider: i64,
    },
    RevokeShare {
        provider: i64,
    },
    RenewShare {
        consumer: i64,
    },
    /// Delegate (or stop delegating) `department`'s share decisions to one of its staff.
    Delegate {
        department: i64,
        delegate_department: Option<i64>,
        delegate_role: Role,
    },
    /// A matter between a provider and a consumer: a request, an objection, a review.
    ViewMatter {
        provider: i64,
        consumer: i64,
    },
    /// The lists of such matters (scoped by [`matter_scope`]) and the timed duties.
    ViewMatters,
    /// Read the working-day calendar and compute deadlines.
    ViewCalendar,
    ImportCalendar,
    ViewAccountability,
    /// Housekeeping: record missed deadlines, prune old deletions.
    Housekeeping,

    // The data API.
    /// Read data of an entry under a grant (the grant itself is checked by the store).
    ReadData,
    /// Who uses an entry's data (谁在使用我的数据).
    ViewUsage {
        provider: i64,
    },

    // Objections, needs, reviews.
    RaiseObjection {
        provider: i64,
        holds_grant: bool,
    },
    AnswerObjection {
        provider: i64,
    },
    PostNeed,
    ViewNeeds,
    AssignNeed,
    AnswerNeed {
        provider: i64,
    },
    RequestBasisReview {
        provider: i64,
    },
    DecideBasisReview,
    /// Urge (督办) the owner of an open duty: the bureau supervising the hall.
    UrgeDuty,

    // Audit and oversight.
    ReadAudit,
    VerifyAudit,
    /// 个人信息查询记录: which departments read one person's records.
    ReadPersonalAccess,
    ViewStats,
}

type Outcome = Result<(), &'static str>;

fn rule(ok: bool, reason: &'static str) -> Outcome {
    ok.then_some(()).ok_or(reason)
}

/// Whether `caller` may perform `act`.
pub fn check(caller: &Caller, act: Act) -> Result<(), Denied> {
    outcome(caller, act).map_err(|reason| Denied {
        act: name(act),
        reason,
    })
}

/// `check` as a yes or no, for pages deciding what to show.
pub fn allows(caller: &Caller, act: Act) -> bool {
    check(caller, act).is_ok()
}

fn outcome(caller: &Caller, act: Act) -> Outcome {
    let person = caller.person().is_some();
    match act {
        Act::UseHall => rule(
            person,
            "应用令牌只能调用数据接口和推送数据，请以平台人员身份登录",
        ),
        Act::ViewDepartments => rule(person || caller.platform(), "只有平台人员可以查看部门"),
        Act::CreateDepartment => rule(
            caller.bureau() || caller.platform(),
            "只有数据资源管理方可以新建部门",
        ),
        Act::ViewPeople { department } => rule(
            caller.bureau()
                || caller.auditor()
                || caller.platform()
                || department.is_some_and(|d| caller.chief_of(d)),
            "只有管理方、审计员和本部门首席代表可以查看人员",
        ),
        Act::ManageAccount { role, new_role } => {
            let departmental = role.needs_department() && new_role.needs_department();
            if caller.platform() {
                Ok(())
            } else if !caller.bureau() {
                Err("只有数据资源管理方可以管理人员")
            } else {
                rule(
                    departmental,
                    "三员分立：管理方和审计员的账号只能由运维人员在服务器上管理",
                )
            }
        }
        Act::SetPassword { own } => rule(
            (own && person) || caller.platform(),
            "三员分立：不能设置他人的密码（否则可冒用其身份）；请本人修改，或由运维人员在服务器上重置（datahall user reset-password）",
        ),
        Act::ViewTokens { department } => rule(
            caller.bureau()
                || caller.auditor()
                || caller.platform()
                || department.is_some_and(|d| caller.chief_of(d)),
            "只有本部门首席代表、管理方和审计员可以查看应用令牌",
        ),
        Act::IssueToken { department } => rule(
            caller.chief_of(department) || caller.platform(),
            "应用令牌只能由本部门首席代表签发",
        ),
        Act::RevokeToken { department } => rule(
            caller.chief_of(department) || caller.bureau() || caller.platform(),
            "只有本部门首席代表和管理方可以吊销应用令牌",
        ),

        // The operator loads a department's catalogue from the server (`datahall catalogue
        // import`); it still needs the department's signature and the bureau's review.
        Act::AuthorEntry { provider } => rule(
            caller.works_for(provider) || caller.platform(),
            "只有提供方部门的工作人员或首席代表可以编制、修改和提交目录",
        ),
        Act::SignEntry { provider } => rule(
            caller.chief_of(provider),
            "只有提供方部门的首席代表可以签发",
        ),
        Act::ReturnEntry {
            at_review: true, ..
        } => rule(caller.bureau(), "审核中的目录只能由数据资源管理方退回"),
        Act::ReturnEntry {
            provider,
            at_review: false,
        } => rule(
            caller.chief_of(provider),
            "待签发的目录只能由提供方部门的首席代表退回",
        ),
        Act::PublishEntry => rule(caller.bureau(), "只有数据资源管理方可以发布或停用目录"),
        Act::ViewCatalogue | Act::ViewCalendar => {
            rule(!matches!(caller, Caller::Anonymous), "请先登录")
        }
        Act::ViewAllEntries => rule(
            caller.bureau() || caller.auditor() || caller.platform(),
            "只能查看已发布的目录和本部门的目录",
        ),
        Act::ViewConflicts => rule(
            caller.bureau() || caller.auditor(),
            "只有管理方和审计员可以查看一数一源提示",
        ),

        Act::Collect { provider, channel } => match channel {
            // The operator imports a department's file on the server (`datahall import`);
            // the department's own systems may upload their exports.
            Channel::Upload => rule(
                caller.works_for(provider)
                    || caller.platform()
                    || matches!(caller, Caller::Application(a) if a.department_id == provider),
                "只有提供方部门及其应用系统可以归集该目录的数据",
            ),
            Channel::Source => rule(
                caller.works_for(provider),
                "只有提供方部门的人员可以管理和运行该目录的数据源",
            ),
            Channel::Push => rule(
                caller.works_for(provider)
                    || matches!(caller, Caller::Application(a) if a.department_id == provider),
                "只有提供方部门及其应用系统可以推送该目录的数据",
            ),
            Channel::ScheduledPull => rule(caller.platform(), "定时抽取只由平台执行"),
        },
        Act::ViewCollection { provider } => rule(
            caller.works_for(provider) || caller.bureau() || caller.auditor() || caller.platform(),
            "只有提供方、管理方和审计员可以查看归集情况",
        ),

        Act::RequestShare { provider } => rule(
            caller.department_person() && caller.department_id() != Some(provider),
            "只有其他部门的首席代表和工作人员可以申请共享",
        ),
        Act::RevokeShare { provider } => rule(
            caller.chief_of(provider) || caller.bureau(),
            "只有提供方首席代表或管理方可以撤销",
        ),
        Act::RenewShare { consumer } => rule(caller.works_for(consumer), "只有申请部门可以续期"),
        Act::Delegate {
            department,
            delegate_department,
            delegate_role,
        } => {
            if !caller.chief_of(department) {
                Err("只有首席代表可以授权本部门工作人员审批")
            } else {
                rule(
                    delegate_role == Role::Staff && delegate_department == Some(department),
                    "只能授权本部门的工作人员",
                )
            }
        }
        Act::ViewMatter { provider, consumer } => rule(
            caller.bureau()
                || caller.auditor()
                || caller.works_for(provider)
                || caller.works_for(consumer),
            "只有申请部门、提供部门、管理方和审计员可以查看",
        ),
        Act::ViewMatters => rule(
            caller.bureau() || caller.auditor() || caller.department_person(),
            "只有平台人员可以查看",
        ),
        Act::ImportCalendar => rule(
            caller.bureau() || caller.platform(),
            "只有数据资源管理方可以导入节假日安排",
        ),
        Act::ViewAccountability => rule(
            caller.bureau() || caller.auditor(),
            "只有管理方和审计员可以查看责任追究记录",
        ),
        Act::Housekeeping => rule(caller.platform(), "只由平台的定时任务执行"),

        Act::ReadData => rule(
            matches!(caller, Caller::Application(_)),
            "数据接口仅供应用系统凭令牌调用",
        ),
        Act::ViewUsage { provider } => rule(
            caller.works_for(provider) || caller.bureau() || caller.auditor(),
            "只有提供方、管理方和审计员可以查看数据使用情况",
        ),

        Act::RaiseObjection {
            provider,
            holds_grant,
        } => rule(
            caller.department_person() && caller.department_id() != Some(provider) && holds_grant,
            "只有获得该目录授权的使用部门可以提出异议",
        ),
        Act::AnswerObjection { provider } => {
            rule(caller.works_for(provider), "只有提供方可以处理数据异议")
        }
        Act::PostNeed => rule(
            caller.department_person(),
            "只有部门的首席代表和工作人员可以提出需求",
        ),
        Act::ViewNeeds => rule(person, "只有平台人员可以查看需求清单"),
        Act::AssignNeed => rule(caller.bureau(), "只有数据资源管理方可以分派需求"),
        Act::AnswerNeed { provider } => {
            rule(caller.works_for(provider), "只有被分派的提供方可以响应")
        }
        Act::RequestBasisReview { provider } => rule(
            caller.department_person() && caller.department_id() != Some(provider),
            "只有其他部门的首席代表和工作人员可以申请复核",
        ),
        Act::DecideBasisReview => rule(caller.bureau(), "只有数据资源管理方可以复核"),
        Act::UrgeDuty => rule(caller.bureau(), "只有数据资源管理方可以督办"),

        Act::ReadAudit => rule(caller.auditor(), "三员分立：审计日志只由安全审计员查阅"),
        Act::VerifyAudit => rule(
            caller.auditor() || caller.bureau() || caller.platform(),
            "只有审计员和管理方可以校验审计日志",
        ),
        Act::ReadPersonalAccess => rule(
            caller.auditor() || caller.bureau(),
            "只有管理方和审计员可以查询个人信息查询记录",
        ),
        Act::ViewStats => rule(person, "只有平台人员可以查看归集统计"),
    }
}

/// The act's name in refusals: "无权{name}：…".
fn name(act: Act) -> &'static str {
    match act {
        Act::UseHall => "使用数据大厅",
        Act::ViewDepartments => "查看部门",
        Act::CreateDepartment => "新建部门",
        Act::ViewPeople { .. } => "查看人员",
        Act::ManageAccount { .. } => "管理人员账号",
        Act::SetPassword { .. } => "设置密码",
        Act::ViewTokens { .. } => "查看应用令牌",
        Act::IssueToken { .. } => "签发应用令牌",
        Act::RevokeToken { .. } => "吊销应用令牌",
        Act::AuthorEntry { .. } => "编制目录",
        Act::SignEntry { .. } => "签发目录",
        Act::ReturnEntry { .. } => "退回目录",
        Act::PublishEntry => "发布或停用目录",
        Act::ViewCatalogue => "查看目录",
        Act::ViewCalendar => "查看工作日历",
        Act::ViewAllEntries => "查看全部目录",
        Act::ViewConflicts => "查看一数一源提示",
        Act::Collect { .. } => "归集数据",
        Act::ViewCollection { .. } => "查看归集情况",
        Act::RequestShare { .. } => "申请共享",
        Act::RevokeShare { .. } => "撤销授权",
        Act::RenewShare { .. } => "续期",
        Act::Delegate { .. } => "授权审批",
        Act::ViewMatter { .. } => "查看该事项",
        Act::ViewMatters => "查看共享事项",
        Act::ImportCalendar => "导入节假日安排",
        Act::ViewAccountability => "查看责任追究记录",
        Act::Housekeeping => "执行定时任务",
        Act::ReadData => "调用数据接口",
        Act::ViewUsage { .. } => "查看数据使用情况",
        Act::RaiseObjection { .. } => "提出数据异议",
        Act::AnswerObjection { .. } => "处理数据异议",
        Act::PostNeed => "提出数据需求",
        Act::ViewNeeds => "查看需求清单",
        Act::AssignNeed => "分派需求",
        Act::AnswerNeed { .. } => "响应需求",
        Act::RequestBasisReview { .. } => "申请复核",
        Act::DecideBasisReview => "复核不予共享依据",
        Act::UrgeDuty => "督办",
        Act::ReadAudit => "查阅审计日志",
        Act::VerifyAudit => "校验审计日志",
        Act::ReadPersonalAccess => "查询个人信息查询记录",
        Act::ViewStats => "查看归集统计",
    }
}

/// Whether `caller` may manage departments' people at all: asked before a request to
/// create or change an account is even read, so that whoever may not learns nothing
/// from its validation. The account itself is checked when the change is written.
pub fn may_manage_accounts(caller: &Caller) -> Result<(), Denied> {
    check(
        caller,
        Act::ManageAccount {
            role: Role::Staff,
            new_role: Role::Staff,
        },
    )
}

/// Why a share decision cannot be taken now: not the caller's (403) or not in this state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionRefused {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("当前状态为“{0}”，不能审批")]
    WrongState(&'static str),
}

/// Who may decide a share request now, and as whom.
///
/// A pending request is the provider's: its chief, or a staff member the chief delegated,
/// except that personal items asked in clear are always the chief's own decision (个人信息
/// 保护法 第二十三条: providing personal information to another processor needs the
/// provider's accountable decision). The bureau decides in the provider's place once the
/// deadline has passed, and coordinates refused requests.
pub fn decide_share(caller: &Caller, facts: RequestFacts) -> Result<Decider, DecisionRefused> {
    const ACT: &str = "审批共享申请";
    let denied = |reason| DecisionRefused::Denied(Denied { act: ACT, reason });
    let open = matches!(
        facts.status,
        RequestStatus::Pending | RequestStatus::Coordinating
    );
    if open && caller.works_for(facts.consumer) {
        return Err(denied("不能审批本部门提出的申请"));
    }
    match facts.status {
        RequestStatus::Pending if caller.works_for(facts.provider) => {
            if caller.is(Role::Chief) {
                Ok(Decider::Provider)
            } else if facts.clear_personal {
                Err(denied("申请明文提供个人信息，须由提供方首席代表审批"))
            } else if facts.delegated {
                Ok(Decider::Provider)
            } else {
                Err(denied("首席代表未授权你审批本部门的共享申请"))
            }
        }
        RequestStatus::Pending if caller.bureau() && facts.overdue => Ok(Decider::Bureau),
        RequestStatus::Pending if caller.bureau() => Err(denied("申请未逾期，由提供方审批")),
        RequestStatus::Pending => Err(denied("只有提供方可以审批")),
        RequestStatus::Coordinating if caller.bureau() => Ok(Decider::Bureau),
        RequestStatus::Coordinating => Err(denied("协调中的申请由管理方决定")),
        other => Err(DecisionRefused::WrongState(other.label())),
    }
}

/// Whose share requests, objections and reviews a caller's lists show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatterScope {
    /// Every matter (the bureau, the auditor).
    All,
    /// Matters a department raised or must answer.
    Department(i64),
}

/// The lists of matters a caller sees.
pub fn matter_scope(caller: &Caller) -> Result<MatterScope, Denied> {
    check(caller, Act::ViewMatters)?;
    Ok(match caller.department_id() {
        Some(department) if caller.department_person() => MatterScope::Department(department),
        _ => MatterScope::All,
    })
}

/// Whose timed duties a caller's queue shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyScope {
    /// The bureau's own duties (coordination, calendar years).
    Bureau,
    /// One department's duties.
    Department(i64),
    /// Every duty, read-only (the auditor).
    All,
}

/// Which queue a caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueAsked {
    /// Their own: their department's, or the bureau's for its people.
    #[default]
    Own,
    /// One department's (supervision, or a department person's own).
    Department(i64),
    /// The bureau's own duties.
    Bureau,
    /// Every queue at once (supervision).
    All,
}

/// The queue a caller may read for what they ask: a department's people read their own
/// department's only; the bureau and the auditor read any (the auditor's own is all).
pub fn duty_scope(caller: &Caller, asked: QueueAsked) -> Result<DutyScope, Denied> {
    check(caller, Act::ViewMatters)?;
    let supervises = caller.bureau() || caller.auditor();
    let own = match caller.department_id() {
        Some(department) if caller.department_person() => DutyScope::Department(department),
        _ if caller.bureau() => DutyScope::Bureau,
        _ => DutyScope::All,
    };
    match asked {
        QueueAsked::Own => Ok(own),
        QueueAsked::Department(d) if supervises || own == DutyScope::Department(d) => {
            Ok(DutyScope::Department(d))
        }
        QueueAsked::Bureau if supervises => Ok(DutyScope::Bureau),
        QueueAsked::All if supervises => Ok(DutyScope::All),
        _ => Err(Denied {
            act: "查看待办",
            reason: "只能查看本部门的待办",
        }),
    }
}

/// Whose notifications a person reads: their department's, or the bureau's for its
/// people. Nobody else is notified (the auditor owes no duty; applications read no hall).
pub fn notification_owner(caller: &Caller) -> Option<crate::duty::DutyOwner> {
    use crate::duty::DutyOwner;
    match caller.department_id() {
        Some(department) if caller.department_person() => Some(DutyOwner::Department(department)),
        _ if caller.bureau() => Some(DutyOwner::Bureau),
        _ => None,
    }
}

/// Which catalogue entries a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryScope {
    /// Every entry in every state.
    All,
    /// Published (and retired) entries, and every entry of this department, if any.
    PublishedAnd(Option<i64>),
}

pub fn entry_scope(caller: &Caller) -> EntryScope {
    if allows(caller, Act::ViewAllEntries) {
        EntryScope::All
    } else {
        // An application sees the published catalogue only: it authors nothing.
        EntryScope::PublishedAnd(caller.person().and_then(|_| caller.department_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's columns: nobody signed in, the bureau, the auditor, the chief and staff of the target's
    /// department (P, the provider or owner), of the counterpart (C, the consumer, or any
    /// other department), the chief of an uninvolved department (X), applications of P and
    /// C, and the platform's own jobs.
    const CALLERS: [&str; 11] = [
        "anonymous",
        "admin",
        "auditor",
        "p-chief",
        "p-staff",
        "c-chief",
        "c-staff",
        "x-chief",
        "p-app",
        "c-app",
        "platform",
    ];
    const P: i64 = 1;
    const C: i64 = 2;
    const X: i64 = 3;

    fn caller(who: &str) -> Caller {
        let person = |role, department_id| {
            Caller::Person(Actor {
                user_id: 1,
                username: who.into(),
                role,
                department_id,
            })
        };
        let app = |department_id| {
            Caller::Application(Application {
                token_id: 1,
                department_id,
                name: "app".into(),
            })
        };
        match who {
            "admin" => person(Role::Admin, None),
            "auditor" => person(Role::Auditor, None),
            "p-chief" => person(Role::Chief, Some(P)),
            "p-staff" => person(Role::Staff, Some(P)),
            "c-chief" => person(Role::Chief, Some(C)),
            "c-staff" => person(Role::Staff, Some(C)),
            "x-chief" => person(Role::Chief, Some(X)),
            "p-app" => app(P),
            "c-app" => app(C),
            "platform" => Caller::Platform("test".into()),
            "anonymous" => Caller::Anonymous,
            _ => unreachable!("{who}"),
        }
    }

    /// Every act with the callers it allows, one letter per column of [`CALLERS`]:
    /// `Y` allowed, `.` refused.
    #[rustfmt::skip]
    fn table() -> Vec<(&'static str, &'static str, Act)> {
        use Act::*;
        use Channel::*;
        let staff = Role::Staff;
        vec![
            // an a au pc ps cc cs xc pa ca pl
            (". Y Y Y Y Y Y Y . . Y", "departments", ViewDepartments),
            (". Y . . . . . . . . Y", "create department", CreateDepartment),
            (". Y Y Y . . . . . . Y", "people of P", ViewPeople { department: Some(P) }),
            (". Y Y . . . . . . . Y", "everyone", ViewPeople { department: None }),
            (". Y . . . . . . . . Y", "appoint staff as chief", ManageAccount { role: staff, new_role: Role::Chief }),
            (". . . . . . . . . . Y", "touch the auditor", ManageAccount { role: Role::Auditor, new_role: Role::Auditor }),
            (". . . . . . . . . . Y", "make an admin", ManageAccount { role: staff, new_role: Role::Admin }),
            (". Y Y Y Y Y Y Y . . Y", "own password", SetPassword { own: true }),
            (". . . . . . . . . . Y", "another's password", SetPassword { own: false }),
            (". Y Y Y . . . . . . Y", "tokens of P", ViewTokens { department: Some(P) }),
            (". Y Y . . . . . . . Y", "all tokens", ViewTokens { department: None }),
            (". . . Y . . . . . . Y", "issue a token for P", IssueToken { department: P }),
            (". Y . Y . . . . . . Y", "revoke a token of P", RevokeToken { department: P }),
            (". . . Y Y . . . . . Y", "author for P", AuthorEntry { provider: P }),
            (". . . Y . . . . . . .", "sign for P", SignEntry { provider: P }),
            (". . . Y . . . . . . .", "return at signing", ReturnEntry { provider: P, at_review: false }),
            (". Y . . . . . . . . .", "return at review", ReturnEntry { provider: P, at_review: true }),
            (". Y . . . . . . . . .", "publish", PublishEntry),
            (". Y Y Y Y Y Y Y Y Y Y", "catalogue", ViewCatalogue),
            (". Y Y Y Y Y Y Y Y Y Y", "calendar", ViewCalendar),
            (". Y Y . . . . . . . Y", "all entries", ViewAllEntries),
            (". Y Y . . . . . . . .", "conflicts", ViewConflicts),
            (". . . Y Y . . . Y . Y", "upload to P", Collect { provider: P, channel: Upload }),
            (". Y Y Y Y Y Y Y . . .", "use the hall", UseHall),
            (". . . Y Y . . . Y . .", "push to P", Collect { provider: P, channel: Push }),
            (". . . Y Y . . . . . .", "source of P", Collect { provider: P, channel: Source }),
            (". . . . . . . . . . Y", "scheduled pull", Collect { provider: P, channel: ScheduledPull }),
            (". Y Y Y Y . . . . . Y", "collection of P", ViewCollection { provider: P }),
            (". . . . . Y Y Y . . .", "request from P", RequestShare { provider: P }),
            (". Y . Y . . . . . . .", "revoke", RevokeShare { provider: P }),
            (". . . . . Y Y . . . .", "renew for C", RenewShare { consumer: C }),
            (". . . Y . . . . . . .", "delegate to P staff", Delegate { department: P, delegate_department: Some(P), delegate_role: staff }),
            (". . . . . . . . . . .", "delegate to C staff", Delegate { department: P, delegate_department: Some(C), delegate_role: staff }),
            (". . . . . . . . . . .", "delegate to a chief", Delegate { department: P, delegate_department: Some(P), delegate_role: Role::Chief }),
            (". Y Y Y Y Y Y . . . .", "a matter of P and C", ViewMatter { provider: P, consumer: C }),
            (". Y Y Y Y Y Y Y . . .", "lists of matters", ViewMatters),
            (". Y . . . . . . . . Y", "import calendar", ImportCalendar),
            (". Y Y . . . . . . . .", "accountability", ViewAccountability),
            (". . . . . . . . . . Y", "housekeeping", Housekeeping),
            (". . . . . . . . Y Y .", "read data", ReadData),
            (". Y Y Y Y . . . . . .", "usage of P", ViewUsage { provider: P }),
            (". . . . . Y Y Y . . .", "object with a grant", RaiseObjection { provider: P, holds_grant: true }),
            (". . . . . . . . . . .", "object without", RaiseObjection { provider: P, holds_grant: false }),
            (". . . Y Y . . . . . .", "answer objection", AnswerObjection { provider: P }),
            (". . . Y Y Y Y Y . . .", "post need", PostNeed),
            (". Y Y Y Y Y Y Y . . .", "view needs", ViewNeeds),
            (". Y . . . . . . . . .", "assign need", AssignNeed),
            (". . . Y Y . . . . . .", "answer need of P", AnswerNeed { provider: P }),
            (". . . . . Y Y Y . . .", "basis review of P", RequestBasisReview { provider: P }),
            (". Y . . . . . . . . .", "decide review", DecideBasisReview),
            (". Y . . . . . . . . .", "urge a duty", UrgeDuty),
            (". . Y . . . . . . . .", "read audit", ReadAudit),
            (". Y Y . . . . . . . Y", "verify audit", VerifyAudit),
            (". Y Y . . . . . . . .", "personal access", ReadPersonalAccess),
            (". Y Y Y Y Y Y Y . . .", "stats", ViewStats),
        ]
    }

    /// Every act the table covers: a new act must be added to the table.
    fn covered(act: &Act) -> bool {
        table()
            .iter()
            .any(|(_, _, a)| std::mem::discriminant(a) == std::mem::discriminant(act))
    }

    #[test]
    fn every_act_and_caller_matches_the_table() {
        let mut mismatches = Vec::new();
        let mut cells = 0;
        for (expected, label, act) in table() {
            let expected: Vec<bool> = expected.split(' ').map(|c| c == "Y").collect();
            assert_eq!(
                expected.len(),
                CALLERS.len(),
                "{label}: one letter per caller"
            );
            for (who, want) in CALLERS.iter().zip(expected) {
                cells += 1;
                let got = check(&caller(who), act);
                if got.is_ok() != want {
                    mismatches.push(format!("{label} as {who}: expected {want}, got {got:?}"));
                }
                if let Err(denied) = got {
                    assert!(denied.to_string().starts_with("无权"), "{denied}");
                }
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
        assert!(cells >= 528, "{cells} cells");
    }

    #[test]
    #[rustfmt::skip]
    fn the_table_covers_every_act() {
        use Act::*;
        // One value of each variant. The match has no wildcard, so a new act does not
        // compile until it is listed here, and the assertion fails until it is in the table.
        let every = [
            UseHall, ViewDepartments, CreateDepartment, ViewPeople { department: None },
            ManageAccount { role: Role::Staff, new_role: Role::Staff }, SetPassword { own: true },
            ViewTokens { department: None }, IssueToken { department: P },
            RevokeToken { department: P }, AuthorEntry { provider: P }, SignEntry { provider: P },
            ReturnEntry { provider: P, at_review: true }, PublishEntry, ViewCatalogue, ViewCalendar, ViewAllEntries,
            ViewConflicts, Collect { provider: P, channel: Channel::Upload },
            ViewCollection { provider: P }, RequestShare { provider: P },
            RevokeShare { provider: P }, RenewShare { consumer: C },
            Delegate { department: P, delegate_department: None, delegate_role: Role::Staff },
            ViewMatter { provider: P, consumer: C }, ViewMatters, ImportCalendar,
            ViewAccountability, Housekeeping, ReadData, ViewUsage { provider: P },
            RaiseObjection { provider: P, holds_grant: true }, AnswerObjection { provider: P },
            PostNeed, ViewNeeds, AssignNeed, AnswerNeed { provider: P },
            RequestBasisReview { provider: P }, DecideBasisReview, UrgeDuty, ReadAudit, VerifyAudit,
            ReadPersonalAccess, ViewStats,
        ];
        for act in &every {
            match act {
                UseHall | ViewDepartments | CreateDepartment | ViewPeople { .. } | ManageAccount { .. }
                | SetPassword { .. } | ViewTokens { .. } | IssueToken { .. } | RevokeToken { .. } | AuthorEntry { .. }
                | SignEntry { .. } | ReturnEntry { .. } | PublishEntry | ViewCatalogue | ViewCalendar | ViewAllEntries
                | ViewConflicts | Collect { .. } | ViewCollection { .. } | RequestShare { .. }
                | RevokeShare { .. } | RenewShare { .. } | Delegate { .. } | ViewMatter { .. }
                | ViewMatters | ImportCalendar | ViewAccountability | Housekeeping | ReadData
                | ViewUsage { .. } | RaiseObjection { .. } | AnswerObjection { .. } | PostNeed
                | ViewNeeds | AssignNeed | AnswerNeed { .. } | RequestBasisReview { .. }
                | DecideBasisReview | UrgeDuty | ReadAudit | VerifyAudit | ReadPersonalAccess
                | ViewStats => assert!(covered(act), "{act:?} is not in the table"),
            }
        }
    }

    #[test]
    #[rustfmt::skip]
    fn share_decisions_by_state_delegation_deadline_and_clear_personal_data() {
        use RequestStatus::*;
        let facts = |status, delegated, overdue, clear_personal| RequestFacts {
            provider: P, consumer: C, status, delegated, overdue, clear_personal,
        };
        // Who decides, per caller of [`CALLERS`]: `P` as the provider, `B` as the bureau.
        let rows = [
            // status       delegated overdue clear   an a au pc ps cc cs xc pa ca pl
            (facts(Pending, false, false, false),     ". . . P . . . . . . ."),
            (facts(Pending, true, false, false),      ". . . P P . . . . . ."),
            // Clear personal data: the chief's own decision, delegation or not.
            (facts(Pending, true, false, true),       ". . . P . . . . . . ."),
            (facts(Pending, false, true, false),      ". B . P . . . . . . ."),
            (facts(Coordinating, true, true, false),  ". B . . . . . . . . ."),
            (facts(Approved, true, true, false),      ". . . . . . . . . . ."),
        ];
        for (f, expected) in rows {
            for (who, want) in CALLERS.iter().zip(expected.split(' ')) {
                let got = match decide_share(&caller(who), f) {
                    Ok(Decider::Provider) => "P",
                    Ok(Decider::Bureau) => "B",
                    Err(_) => ".",
                };
                assert_eq!(got, want, "{who} on {f:?}");
            }
        }
        assert!(matches!(
            decide_share(&caller("admin"), facts(Refused, false, true, false)),
            Err(DecisionRefused::WrongState(_))
        ));
        assert!(matches!(
            decide_share(&caller("c-chief"), facts(Pending, true, true, false)),
            Err(DecisionRefused::Denied(_))
        ));
    }

    #[test]
    fn scopes_follow_the_caller() {
        assert_eq!(matter_scope(&caller("admin")), Ok(MatterScope::All));
        assert_eq!(matter_scope(&caller("auditor")), Ok(MatterScope::All));
        assert_eq!(
            matter_scope(&caller("c-staff")),
            Ok(MatterScope::Department(C))
        );
        assert!(matter_scope(&caller("p-app")).is_err());
        let own = QueueAsked::Own;
        assert_eq!(duty_scope(&caller("admin"), own), Ok(DutyScope::Bureau));
        assert_eq!(duty_scope(&caller("auditor"), own), Ok(DutyScope::All));
        assert_eq!(
            duty_scope(&caller("p-chief"), own),
            Ok(DutyScope::Department(P))
        );
        assert_eq!(
            duty_scope(&caller("p-chief"), QueueAsked::Department(P)),
            Ok(DutyScope::Department(P))
        );
        // A department reads no other queue, and not the hall as a whole.
        for asked in [
            QueueAsked::Department(P + 1),
            QueueAsked::Bureau,
            QueueAsked::All,
        ] {
            assert!(duty_scope(&caller("p-chief"), asked).is_err(), "{asked:?}");
        }
        assert_eq!(
            duty_scope(&caller("admin"), QueueAsked::Department(P + 1)),
            Ok(DutyScope::Department(P + 1))
        );
        assert_eq!(
            duty_scope(&caller("admin"), QueueAsked::All),
            Ok(DutyScope::All)
        );
        use crate::duty::DutyOwner;
        assert_eq!(
            notification_owner(&caller("p-staff")),
            Some(DutyOwner::Department(P))
        );
        assert_eq!(
            notification_owner(&caller("admin")),
            Some(DutyOwner::Bureau)
        );
        assert_eq!(notification_owner(&caller("auditor")), None);
        assert_eq!(notification_owner(&caller("p-app")), None);
        assert_eq!(entry_scope(&caller("auditor")), EntryScope::All);
        assert_eq!(
            entry_scope(&caller("p-staff")),
            EntryScope::PublishedAnd(Some(P))
        );
        assert_eq!(
            entry_scope(&caller("p-app")),
            EntryScope::PublishedAnd(None)
        );
    }
}

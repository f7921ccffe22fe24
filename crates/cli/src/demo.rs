//! The demo city: a Huangshan-like city with about twenty departments (six of them
//! social/economic providers), their people, and a catalogue of 100+ entries across the
//! three classes in every workflow state. Deterministic: a fixed seed gives the same city
//! every time, so screenshots, tests and bug reports agree.

use anyhow::Context;
use domain::account::{DepartmentKind, Role, DEMO_PASSWORD};
use domain::catalogue::*;
use domain::code::{ClassKind, ResourceClass};
use domain::ids::{CreditCode, RegionCode};
use domain::workflow::Action;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use store::departments::{Department, NewDepartment};
use store::users::NewUser;
use store::{AuditContext, Store};

pub const SEED: u64 = 341000;

/// (short code, name, kind, resources it catalogues as 部门 class)
const DEPARTMENTS: &[(&str, &str, DepartmentKind, &[&str])] = &[
    (
        "gaj",
        "市公安局",
        DepartmentKind::Government,
        &[
            "居民户籍登记信息",
            "机动车登记信息",
            "驾驶人信息",
            "出入境证件信息",
            "流动人口居住登记信息",
            "暂住证办理信息",
            "户籍迁移记录",
            "犯罪记录证明开具信息",
        ],
    ),
    (
        "mzj",
        "市民政局",
        DepartmentKind::Government,
        &[
            "最低生活保障对象信息",
            "婚姻登记信息",
            "社会组织登记信息",
            "特困人员救助供养信息",
            "殡葬服务信息",
            "养老机构备案信息",
            "残疾人两项补贴信息",
        ],
    ),
    (
        "rsj",
        "市人力资源和社会保障局",
        DepartmentKind::Government,
        &[
            "社会保险参保信息",
            "就业登记信息",
            "职业资格证书信息",
            "养老保险待遇发放信息",
            "劳动合同备案信息",
            "失业保险金领取信息",
            "技能人才评价信息",
        ],
    ),
    (
        "zrzyj",
        "市自然资源和规划局",
        DepartmentKind::Government,
        &[
            "不动产登记信息",
            "国有建设用地使用权出让信息",
            "建设工程规划许可信息",
            "地质灾害隐患点信息",
            "林权登记信息",
            "耕地保护信息",
        ],
    ),
    (
        "scjgj",
        "市市场监督管理局",
        DepartmentKind::Government,
        &[
            "市场主体登记信息",
            "行政处罚信息",
            "食品经营许可信息",
            "特种设备登记信息",
            "企业年报信息",
            "药品经营许可信息",
            "计量器具检定信息",
        ],
    ),
    (
        "wjw",
        "市卫生健康委员会",
        DepartmentKind::Government,
        &[
            "出生医学证明信息",
            "医疗机构执业登记信息",
            "医师执业注册信息",
            "预防接种信息",
            "死亡医学证明信息",
            "家庭医生签约信息",
            "母婴保健技术服务许可信息",
        ],
    ),
    (
        "jyj",
        "市教育局",
        DepartmentKind::Government,
        &[
            "中小学学籍信息",
            "教师资格认定信息",
            "学前教育资助信息",
            "民办学校办学许可信息",
            "义务教育招生入学信息",
            "学生资助发放信息",
        ],
    ),
    (
        "zjj",
        "市住房和城乡建设局",
        DepartmentKind::Government,
        &[
            "商品房预售许可信息",
            "住房公积金缴存信息",
            "建筑施工企业资质信息",
            "保障性住房分配信息",
            "物业服务企业信息",
            "城镇老旧小区改造信息",
        ],
    ),
    (
        "jtj",
        "市交通运输局",
        DepartmentKind::Government,
        &[
            "道路运输经营许可信息",
            "出租汽车驾驶员信息",
            "公交线路站点信息",
            "旅游客运车辆信息",
            "道路运输从业人员信息",
            "网约车平台许可信息",
        ],
    ),
    (
        "sthjj",
        "市生态环境局",
        DepartmentKind::Government,
        &[
            "排污许可信息",
            "环境空气质量监测信息",
            "建设项目环评审批信息",
            "新安江水质监测信息",
            "固体废物转移信息",
            "噪声监测信息",
        ],
    ),
    (
        "swj",
        "国家税务总局黄山市税务局",
        DepartmentKind::Government,
        &[
            "纳税人登记信息",
            "纳税信用等级信息",
            "欠税公告信息",
            "发票领用信息",
            "个人所得税纳税记录信息",
            "税收优惠备案信息",
        ],
    ),
    (
        "ybj",
        "市医疗保障局",
        DepartmentKind::Government,
        &[
            "医疗保险参保信息",
            "医保定点医药机构信息",
            "医疗费用结算信息",
            "医疗救助信息",
            "长期护理保险待遇信息",
            "医保药品目录信息",
        ],
    ),
    (
        "wlj",
        "市文化和旅游局",
        DepartmentKind::Government,
        &[
            "A级旅游景区信息",
            "旅行社经营许可信息",
            "导游证信息",
            "文物保护单位信息",
            "非物质文化遗产项目信息",
            "民宿备案信息",
        ],
    ),
    (
        "yjj",
        "市应急管理局",
        DepartmentKind::Government,
        &[
            "安全生产许可信息",
            "危险化学品经营许可信息",
            "应急避难场所信息",
            "森林防火监测信息",
            "自然灾害灾情信息",
            "应急救援队伍信息",
        ],
    ),
    (
        "czj",
        "市财政局",
        DepartmentKind::Government,
        &[
            "财政预算执行信息",
            "政府采购项目信息",
            "非税收入缴款信息",
            "惠民惠农补贴发放信息",
        ],
    ),
    (
        "sjj",
        "市数据资源管理局",
        DepartmentKind::Government,
        &[
            "政务服务事项办件信息",
            "电子证照目录信息",
            "12345热线工单信息",
            "政务服务好差评信息",
        ],
    ),
    (
        "gdgs",
        "国网黄山供电公司",
        DepartmentKind::Social,
        &[
            "居民用电户信息",
            "企业用电量信息",
            "停电计划信息",
            "用电报装信息",
        ],
    ),
    (
        "gsjt",
        "黄山市供水集团有限公司",
        DepartmentKind::Social,
        &["供水用户信息", "用水量信息", "水质公告信息", "用水报装信息"],
    ),
    (
        "rqgs",
        "黄山市燃气有限公司",
        DepartmentKind::Social,
        &["燃气用户信息", "燃气安全检查信息", "燃气报装信息"],
    ),
    (
        "dxgs",
        "中国电信黄山分公司",
        DepartmentKind::Social,
        &["通信基站分布信息", "固定电话用户信息"],
    ),
    (
        "ydgs",
        "中国移动黄山分公司",
        DepartmentKind::Social,
        &["手机信令人口流动统计信息", "通信基站分布信息"],
    ),
    (
        "nsyh",
        "黄山农村商业银行",
        DepartmentKind::Social,
        &["小微企业贷款信息", "涉农贷款信息", "普惠金融服务网点信息"],
    ),
];

/// Basic-class entries: (provider, sub-class 项, name).
const BASIC: &[(&str, u8, &str)] = &[
    ("gaj", 1, "常住人口户籍信息"),
    ("gaj", 1, "人口基础信息"),
    ("scjgj", 2, "法人单位基础信息"),
    ("mzj", 2, "社会组织法人信息"),
    ("zrzyj", 3, "自然资源和空间地理基础信息"),
    ("zrzyj", 3, "基础地理矢量数据"),
    ("swj", 4, "企业纳税信用信息"),
    ("scjgj", 4, "市场主体信用信息"),
    ("sjj", 5, "电子证照基础信息"),
    ("gaj", 5, "居民身份证电子证照"),
];

/// Thematic entries: (provider, sub-class 项, name).
const THEMATIC: &[(&str, u8, &str)] = &[
    ("sjj", 1, "一网通办公共服务事项信息"),
    ("wjw", 2, "居民电子健康档案信息"),
    ("rsj", 3, "社会保障卡信息"),
    ("scjgj", 4, "食品生产经营监管信息"),
    ("yjj", 5, "安全生产监管执法信息"),
    ("czj", 6, "政府定价收费目录信息"),
    ("gdgs", 7, "城市电力负荷信息"),
    ("swj", 8, "守信激励失信惩戒名单信息"),
    ("zjj", 9, "城市建设工程项目信息"),
    ("mzj", 10, "社区网格基础信息"),
    ("sthjj", 11, "重点排污单位监测信息"),
    ("yjj", 12, "应急物资储备信息"),
];

const SURNAMES: &[&str] = &[
    "汪", "程", "胡", "吴", "方", "王", "李", "张", "许", "黄", "江", "叶", "余", "孙", "郑", "洪",
];
const GIVEN: &[&str] = &[
    "晓明", "丽华", "建国", "海燕", "志强", "秀英", "文杰", "雅琴", "国平", "欣怡", "徽", "新安",
    "立新", "梅", "鹏", "婷",
];

/// An item template: (name, identifier, type, length, rule, personal).
type ItemSpec = (
    &'static str,
    &'static str,
    DataType,
    Option<u32>,
    Option<&'static str>,
    bool,
);

const KEY_ITEMS: &[ItemSpec] = &[
    (
        "公民身份号码",
        "id_number",
        DataType::Char,
        Some(18),
        Some("id_card"),
        true,
    ),
    (
        "统一社会信用代码",
        "credit_code",
        DataType::Char,
        Some(18),
        Some("uscc"),
        false,
    ),
    (
        "业务编号",
        "record_no",
        DataType::Char,
        Some(32),
        None,
        false,
    ),
];

const COMMON_ITEMS: &[ItemSpec] = &[
    ("姓名", "full_name", DataType::Char, Some(50), None, true),
    (
        "联系电话",
        "mobile",
        DataType::Char,
        Some(11),
        Some("mobile"),
        true,
    ),
    (
        "行政区划代码",
        "region_code",
        DataType::Char,
        Some(6),
        Some("region_code"),
        false,
    ),
    (
        "单位名称",
        "org_name",
        DataType::Char,
        Some(200),
        None,
        false,
    ),
    ("地址", "address", DataType::Char, Some(200), None, true),
    (
        "登记日期",
        "registered_on",
        DataType::Date,
        None,
        Some("date"),
        false,
    ),
    (
        "有效期至",
        "valid_until",
        DataType::Date,
        None,
        Some("date"),
        false,
    ),
    ("状态", "status", DataType::Char, Some(2), None, false),
    (
        "金额（元）",
        "amount",
        DataType::Currency,
        Some(16),
        Some("range:0..100000000"),
        false,
    ),
    (
        "数量",
        "quantity",
        DataType::Integer,
        None,
        Some("range:0..1000000"),
        false,
    ),
    (
        "经办机构",
        "handling_org",
        DataType::Char,
        Some(100),
        None,
        false,
    ),
    (
        "更新时间",
        "updated_time",
        DataType::DateTime,
        None,
        None,
        false,
    ),
    ("备注", "remarks", DataType::Memo, None, None, false),
    ("是否有效", "is_valid", DataType::Logical, None, None, false),
    (
        "经度",
        "longitude",
        DataType::Double,
        None,
        Some("range:-180..180"),
        false,
    ),
    (
        "纬度",
        "latitude",
        DataType::Double,
        None,
        Some("range:-90..90"),
        false,
    ),
];

/// The audit context of a demo person's act: the demo city is built by its own people,
/// under the same access rules as any request.
pub(crate) fn as_person(actor: &domain::account::Actor) -> AuditContext {
    AuditContext::person(actor.clone())
}

fn item(spec: &ItemSpec) -> Item {
    let (name, identifier, data_type, length, rule, personal) = *spec;
    Item {
        name: name.into(),
        identifier: identifier.into(),
        data_type,
        length,
        required: false,
        key: false,
        code_table: (identifier == "region_code").then(|| "GB/T 2260".to_string()),
        rule: rule.map(|r| r.parse().expect("demo rules are valid")),
        security_grade: if personal {
            SecurityGrade::Important
        } else {
            SecurityGrade::General
        },
        personal,
        share_type: None,
        authoritative: false,
        mask: None,
    }
}

/// Chooses the key item from the entry's name: people, organisations, or a record number.
fn key_item(name: &str, social: bool) -> Item {
    let is_person = [
        "人口",
        "户籍",
        "居民",
        "驾驶人",
        "婚姻",
        "低保",
        "救助",
        "参保",
        "就业",
        "学籍",
        "医师",
        "出生",
        "死亡",
        "接种",
        "证照",
        "健康",
        "社会保障",
        "导游",
        "出租汽车",
    ]
    .iter()
    .any(|k| name.contains(k));
    let is_org = [
        "法人",
        "企业",
        "市场主体",
        "纳税",
        "社会组织",
        "许可",
        "资质",
        "单位",
        "机构",
        "旅行社",
        "信用",
    ]
    .iter()
    .any(|k| name.contains(k));
    let spec = if is_person && !social {
        &KEY_ITEMS[0]
    } else if is_org {
        &KEY_ITEMS[1]
    } else {
        &KEY_ITEMS[2]
    };
    let mut key = item(spec);
    key.required = true;
    key.key = true;
    key
}

fn summary(name: &str, provider: &str) -> String {
    let subject = name.trim_end_matches("信息");
    format!("{provider}在履行职责过程中产生和采集的{subject}数据，包括基本登记事项、变更记录和办理状态，用于跨部门业务协同和政务服务。")
}

fn body(
    rng: &mut ChaCha8Rng,
    name: &str,
    class: ResourceClass,
    provider: &Department,
    authoritative: bool,
) -> ResourceBody {
    let social = provider.kind == DepartmentKind::Social;
    let mut key = key_item(name, social);
    key.authoritative = authoritative && key.identifier != "record_no";
    let mut items = vec![key];
    let mut pool: Vec<&ItemSpec> = COMMON_ITEMS
        .iter()
        .filter(|spec| !items.iter().any(|i| i.identifier == spec.1))
        .collect();
    pool.shuffle(rng);
    let count = rng.gen_range(4..=9);
    items.extend(pool.into_iter().take(count).map(item));
    let share_type = match rng.gen_range(0..10) {
        0..=5 => ShareType::Unconditional,
        6..=8 => ShareType::Conditional,
        _ => ShareType::NotShared,
    };
    let personal = items.iter().any(|i| i.personal);
    let share = ShareAttributes {
        share_type,
        conditions: (share_type == ShareType::Conditional)
            .then(|| "仅限履行法定职责需要，经提供方审核同意后使用；不得向第三方提供".to_string()),
        legal_basis: (share_type == ShareType::NotShared).then(|| {
            "《中华人民共和国个人信息保护法》第十三条、《政务数据共享条例》第十二条".to_string()
        }),
        mode: (share_type != ShareType::NotShared).then_some(ShareMode::Platform),
        mode_reason: None,
    };
    if share_type == ShareType::Unconditional && personal {
        // Personal items of an unconditionally shared entry are shared on conditions.
        for item in items.iter_mut().filter(|i| i.personal && !i.key) {
            item.share_type = Some(ShareType::Conditional);
        }
    }
    let cycles = [
        UpdateCycle::RealTime,
        UpdateCycle::Daily,
        UpdateCycle::Weekly,
        UpdateCycle::Monthly,
        UpdateCycle::Quarterly,
        UpdateCycle::Yearly,
        UpdateCycle::Irregular,
    ];
    ResourceBody {
        name: name.into(),
        class,
        provider_unit: None,
        summary: summary(name, &provider.name),
        format: ResourceFormat {
            kind: FormatKind::Database,
            detail: ["MySQL", "PostgreSQL", "达梦", "KingbaseES", "Oracle"][rng.gen_range(0..5)]
                .into(),
        },
        items,
        share,
        open: OpenAttributes {
            open_to_public: !personal
                && share_type == ShareType::Unconditional
                && rng.gen_bool(0.3),
            conditions: None,
        },
        update_cycle: *cycles.choose(rng).expect("non-empty"),
        related_codes: vec![],
        security_grade: if personal {
            SecurityGrade::Important
        } else {
            SecurityGrade::General
        },
        extensions: [(
            "数据量级".to_string(),
            format!("约{}万条", rng.gen_range(1..500)),
        )]
        .into_iter()
        .collect(),
    }
}

fn credit_code(kind: DepartmentKind, n: usize) -> anyhow::Result<CreditCode> {
    // 11 = 机构编制 / 机关; 91 = 工商 / 企业. Organisation codes are made up but carry
    // a valid GB 11714 check so that the demo shows no warnings.
    let prefix = match kind {
        DepartmentKind::Government => "11",
        DepartmentKind::Social => "91",
    };
    let org = CreditCode::organisation_code(&format!("{:08}", 3410_0000 + n * 37))
        .context("organisation code")?;
    Ok(CreditCode::complete(&format!("{prefix}341000{org}"))?)
}

pub struct Summary {
    pub departments: usize,
    pub resources: usize,
    /// Published entries given data.
    pub with_data: usize,
    pub share_requests: usize,
}

/// Fills an empty database with the demo city.
pub async fn load(store: &Store) -> anyhow::Result<Summary> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let ctx = AuditContext::system("demo");
    // One hash for every demo account: they share the demo password anyway, and hashing
    // forty times would slow the start-up for nothing.
    let hash = server::auth::hash_password_blocking(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!(e.message()))?;
    let name = |rng: &mut ChaCha8Rng| {
        format!(
            "{}{}",
            SURNAMES.choose(rng).expect("names"),
            GIVEN.choose(rng).expect("names")
        )
    };
    let person =
        |username: &str, display_name: String, role: Role, department_id: Option<i64>| NewUser {
            username: username.into(),
            display_name,
            role,
            department_id,
            password_hash: hash.clone(),
        };
    store
        .create_user(&person("admin", name(&mut rng), Role::Admin, None), &ctx)
        .await?;
    store
        .create_user(
            &person("auditor", name(&mut rng), Role::Auditor, None),
            &ctx,
        )
        .await?;

    let mut departments = Vec::new();
    for (n, (code, title, kind, _)) in DEPARTMENTS.iter().enumerate() {
        let new = NewDepartment {
            code: (*code).into(),
            name: (*title).into(),
            credit_code: credit_code(*kind, n)?,
            region_code: RegionCode::parse("341000")?,
            kind: *kind,
        };
        let department = store.create_department(&new, &ctx).await?;
        for role in [Role::Chief, Role::Staff] {
            let username = format!("{code}-{}", role.code());
            store
                .create_user(
                    &person(&username, name(&mut rng), role, Some(department.id)),
                    &ctx,
                )
                .await?;
        }
        departments.push(department);
    }
    let by_code = |code: &str| {
        departments
            .iter()
            .find(|d| d.code == code)
            .expect("demo department")
            .clone()
    };

    let mut planned: Vec<(Department, ResourceBody)> = Vec::new();
    for (code, subclass, title) in BASIC {
        let class = ResourceClass {
            kind: ClassKind::Basic,
            subclass: *subclass,
            category: 1,
            detail: String::new(),
        };
        let provider = by_code(code);
        planned.push((
            provider.clone(),
            body(&mut rng, title, class, &provider, true),
        ));
    }
    for (code, subclass, title) in THEMATIC {
        let class = ResourceClass {
            kind: ClassKind::Thematic,
            subclass: *subclass,
            category: 1,
            detail: String::new(),
        };
        let provider = by_code(code);
        planned.push((
            provider.clone(),
            body(&mut rng, title, class, &provider, false),
        ));
    }
    for (code, _, _, names) in DEPARTMENTS {
        let provider = by_code(code);
        for (i, title) in names.iter().enumerate() {
            let class = ResourceClass {
                kind: ClassKind::Departmental,
                subclass: provider.branch_no as u8,
                category: 1 + (i as u16 % 3),
                detail: String::new(),
            };
            planned.push((
                provider.clone(),
                body(&mut rng, title, class, &provider, false),
            ));
        }
    }
    let total = planned.len();
    walk_workflows(store, planned).await?;
    let with_data = crate::demo_data::load(store, &mut rng, &ctx).await?;
    let share_requests = crate::demo_sharing::load(store, &ctx).await?;
    Ok(Summary {
        departments: departments.len(),
        resources: total,
        with_data,
        share_requests,
    })
}

/// Where each demo entry ends up. Most are published; a few sit at every other step.
#[derive(Clone, Copy)]
enum Fate {
    Draft,
    Submitted,
    Signed,
    Returned,
    Published,
    Republished,
    Retired,
}

fn fate(i: usize) -> Fate {
    match i % 20 {
        3 => Fate::Draft,
        7 => Fate::Submitted,
        11 => Fate::Signed,
        13 => Fate::Returned,
        17 => Fate::Republished,
        19 if i > 60 => Fate::Retired,
        _ => Fate::Published,
    }
}

async fn walk_workflows(
    store: &Store,
    planned: Vec<(Department, ResourceBody)>,
) -> anyhow::Result<()> {
    let admin = store.user_by_username("admin").await?.actor();
    for (i, (provider, body)) in planned.into_iter().enumerate() {
        let staff = store
            .user_by_username(&format!("{}-staff", provider.code))
            .await?
            .actor();
        let chief = store
            .user_by_username(&format!("{}-chief", provider.code))
            .await?
            .actor();
        let code = store
            .create_resource(provider.id, &body, &crate::demo::as_person(&staff))
            .await?
            .code;
        let fate = fate(i);
        let steps: &[(Action, bool)] = match fate {
            Fate::Draft => &[],
            Fate::Submitted => &[(Action::Submit, false)],
            Fate::Signed => &[(Action::Submit, false), (Action::Sign, true)],
            Fate::Returned => &[
                (Action::Submit, false),
                (Action::Sign, true),
                (Action::Reject, true),
            ],
            _ => &[
                (Action::Submit, false),
                (Action::Sign, true),
                (Action::Publish, true),
            ],
        };
        for (action, elevated) in steps {
            let actor = match (action, elevated) {
                (Action::Submit, _) => &staff,
                (Action::Sign, _) => &chief,
                _ => &admin,
            };
            let reason =
                (*action == Action::Reject).then_some("共享条件表述不清，请补充使用范围后重新提交");
            store
                .transition(&code, *action, reason, &crate::demo::as_person(actor))
                .await?;
        }
        match fate {
            Fate::Republished => {
                let mut revised = store.resource(&code).await?.body;
                revised.summary.push_str("2026年起增加变更记录字段。");
                revised.items.push(item(&(
                    "变更原因",
                    "change_reason",
                    DataType::Char,
                    Some(200),
                    None,
                    false,
                )));
                store
                    .update_resource(&code, &revised, &crate::demo::as_person(&staff))
                    .await?;
                store
                    .transition(&code, Action::Submit, None, &crate::demo::as_person(&staff))
                    .await?;
                store
                    .transition(&code, Action::Sign, None, &crate::demo::as_person(&chief))
                    .await?;
                store
                    .transition(
                        &code,
                        Action::Publish,
                        None,
                        &crate::demo::as_person(&admin),
                    )
                    .await?;
            }
            Fate::Retired => {
                store
                    .transition(&code, Action::Retire, None, &crate::demo::as_person(&admin))
                    .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use domain::workflow::Status;
    use store::resources::{ResourceQuery, Visibility};

    #[tokio::test]
    async fn demo_city_has_every_state_class_and_kind() {
        let test_store = testkit::sqlite().await;
        let store = &test_store.store;
        let summary = super::load(store).await.unwrap();
        assert!((20..=25).contains(&summary.departments));
        let departments = store.departments().await.unwrap();
        assert!(
            departments
                .iter()
                .filter(|d| d.kind == super::DepartmentKind::Social)
                .count()
                >= 5
        );
        let counts = store.resource_status_counts(Visibility::All).await.unwrap();
        for status in Status::ALL {
            assert!(
                counts.iter().any(|(s, n)| s == status && *n > 0),
                "no entry is {status:?}: {counts:?}"
            );
        }
        let published = counts
            .iter()
            .find(|(s, _)| *s == Status::Published)
            .unwrap()
            .1;
        assert!(published >= 100, "{published} published entries");
        for class in domain::code::ClassKind::ALL {
            let query = ResourceQuery {
                class_kind: Some(*class),
                status: Some(Status::Published),
                limit: 1,
                ..Default::default()
            };
            assert!(
                store
                    .search_resources(&query, Visibility::All)
                    .await
                    .unwrap()
                    .total
                    > 0,
                "{class:?}"
            );
        }
        // Every demo account exists, and the city is the same every time.
        assert!(
            store.user_by_username("gaj-chief").await.is_ok()
                && store.user_by_username("nsyh-staff").await.is_ok()
        );
        // Most published entries hold data; a few are empty, a few overdue; every demo row
        // passes its entry's checks (valid identifiers).
        let (inputs, entries) = store.aggregation_inputs().await.unwrap();
        let targets = domain::aggregation::Targets {
            government: 1.0,
            social: 0.6,
        };
        let stats = domain::aggregation::aggregate(&inputs, &entries, targets, chrono::Utc::now());
        assert_eq!(summary.with_data as i64, stats.city.entries_with_data);
        assert!(stats.city.entries_empty >= 5, "{:?}", stats.city);
        assert!(stats.city.entries_overdue >= 5, "{:?}", stats.city);
        assert!(
            (0.8..1.0).contains(&stats.city.aggregation_rate),
            "{:?}",
            stats.city
        );
        assert_eq!(stats.city.quality_rate, 1.0, "{:?}", stats.city);
        // Requests in every state, including overdue, provisional and granted late; the
        // demo tokens read data under their grants.
        let requests = store
            .share_requests(store::sharing::RequestScope::All)
            .await
            .unwrap();
        assert_eq!(requests.len(), summary.share_requests);
        for status in domain::sharing::RequestStatus::ALL {
            assert!(
                requests.iter().any(|r| r.status == *status),
                "no request is {status:?}"
            );
        }
        let today = domain::calendar::beijing_date(chrono::Utc::now());
        let open = |r: &&store::sharing::ShareRequest| {
            r.duty.as_ref().filter(|d| d.done_at.is_none()).cloned()
        };
        assert!(
            requests
                .iter()
                .filter_map(|r| open(&r))
                .any(|d| d.due_date < today),
            "overdue"
        );
        assert!(
            requests
                .iter()
                .filter_map(|r| open(&r))
                .any(|d| d.provisional),
            "provisional"
        );
        assert!(!store.accountability().await.unwrap().is_empty());
        let needs: Vec<_> = store
            .needs()
            .await
            .unwrap()
            .iter()
            .map(|n| n.status)
            .collect();
        for status in domain::sharing::NeedStatus::ALL {
            if *status != domain::sharing::NeedStatus::Catalogued {
                assert!(needs.contains(status), "no need is {status:?}");
            }
        }
        let objections = store
            .objections(store::sharing::RequestScope::All)
            .await
            .unwrap();
        assert!(objections
            .iter()
            .any(|o| o.status == domain::sharing::ObjectionStatus::Accepted));
        let reviews = store
            .basis_reviews(store::sharing::RequestScope::All)
            .await
            .unwrap();
        assert!(reviews
            .iter()
            .any(|r| r.status == domain::sharing::ReviewStatus::Submitted));
        let token = crate::demo_sharing::demo_token("mzj", "低保审批系统");
        let application = store
            .api_token_by_hash(&server::auth::token_hash(&token))
            .await
            .unwrap()
            .expect("the printed demo token works");
        assert!(store
            .grants(Some(application.department_id))
            .await
            .unwrap()
            .iter()
            .any(|g| g.status == "active"));
        let again = testkit::sqlite().await;
        super::load(&again.store).await.unwrap();
        let first = store.resource("301001/000001").await.unwrap();
        let second = again.store.resource("301001/000001").await.unwrap();
        assert_eq!(first.body, second.body, "deterministic");
        assert!(store.audit_verify().await.unwrap().intact);
    }
}

//! The demo city's sharing: three consuming applications with API tokens, requests in
//! every state (on time, overdue, provisional, refused, in coordination, revoked, granted
//! late), their grants, the accountability record of a missed deadline, and two weeks of
//! data API usage.
//!
//! Demo tokens are derived from fixed names, so `serve --demo` can print them at every
//! start; the demo is insecure by design (its password is public too).

use anyhow::Context;
use chrono::{Duration, Utc};
use domain::calendar::beijing_date;
use domain::catalogue::ShareType;
use domain::deadline::DutyKind;
use domain::sharing::{Decision, RequestInput};
use sha2::{Digest, Sha256};
use store::data_access::AccessRecord;
use store::{AuditContext, Store};

/// (consumer department, application system).
pub const APPLICATIONS: [(&str, &str); 3] = [
    ("mzj", "低保审批系统"),
    ("rsj", "社保经办系统"),
    ("zjj", "不动产登记系统"),
];

/// The demo token of an application: the same at every start.
pub fn demo_token(department: &str, application: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!(
        "datahall-demo:{department}:{application}"
    )));
    format!("dhapp_demo_{department}_{}", &digest[..24])
}

/// Lines to print at start-up: each application, its department and its token.
pub fn token_lines() -> Vec<String> {
    APPLICATIONS
        .iter()
        .map(|(department, application)| {
            format!(
                "  {department} {application}: Authorization: Bearer {}",
                demo_token(department, application)
            )
        })
        .collect()
}

/// One entry with data that a consumer may ask for.
struct Candidate {
    code: String,
    provider: i64,
    share_type: ShareType,
    items: Vec<String>,
}

async fn candidates(store: &Store) -> anyhow::Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for entry in store.published_freshness().await? {
        if entry.rows == 0 {
            continue;
        }
        let resource = store.resource(&entry.code).await?;
        let body = store.published_body(&resource).await?;
        let items: Vec<String> = body
            .items
            .iter()
            .filter(|i| body.item_share_type(i) != ShareType::NotShared)
            .map(|i| i.identifier.clone())
            .take(4)
            .collect();
        if body.share.share_type != ShareType::NotShared && !items.is_empty() {
            out.push(Candidate {
                code: entry.code,
                provider: entry.department_id,
                share_type: body.share.share_type,
                items,
            });
        }
    }
    Ok(out)
}

pub async fn load(store: &Store, ctx: &AuditContext) -> anyhow::Result<usize> {
    let rules = store.deadline_rules().clone();
    let admin = store.user_by_username("admin").await?.actor();
    let candidates = candidates(store).await?;
    let mut filed = 0;
    for (n, (department, application)) in APPLICATIONS.iter().enumerate() {
        let consumer = store.department_by_code(department).await?;
        let token = demo_token(department, application);
        let prefix: String = token.chars().take(12).collect();
        store
            .create_api_token(
                consumer.id,
                application,
                &server::auth::token_hash(&token),
                &prefix,
                None,
                ctx,
            )
            .await?;
        let staff = store
            .user_by_username(&format!("{department}-staff"))
            .await?
            .actor();
        let foreign: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.provider != consumer.id)
            .skip(n * 7)
            .collect();
        let input = |c: &Candidate, purpose: &str| RequestInput {
            items: c.items.clone(),
            purpose: purpose.into(),
            legal_basis: "《政务数据共享条例》第十四条".into(),
            application: (*application).into(),
            valid_until: beijing_date(Utc::now()) + Duration::days(365),
            clear_items: vec![],
        };
        // Unconditional entries: granted at once.
        for c in foreign
            .iter()
            .filter(|c| c.share_type == ShareType::Unconditional)
            .take(2)
        {
            store
                .submit_share_request(
                    &c.code,
                    &input(c, "业务办理核验"),
                    &crate::demo::as_person(&staff),
                )
                .await?;
            filed += 1;
        }
        // Conditional entries: one in each state the provider and the bureau can leave them in.
        let conditional: Vec<&&Candidate> = foreign
            .iter()
            .filter(|c| c.share_type == ShareType::Conditional)
            .take(5)
            .collect();
        for (step, c) in conditional.iter().enumerate() {
            let request = store
                .submit_share_request(
                    &c.code,
                    &input(c, "审批材料免提交"),
                    &crate::demo::as_person(&staff),
                )
                .await?;
            filed += 1;
            let provider_chief = store
                .user_by_username(&format!(
                    "{}-chief",
                    store.department(c.provider).await?.code
                ))
                .await?
                .actor();
            let approve = Decision::Approve {
                items: c.items.iter().take(2).cloned().collect(),
                clear_items: vec![],
                row_filter: None,
                rate_per_minute: None,
                daily_quota: None,
                verify_quota: None,
            };
            let refuse = |reason: &str| Decision::Refuse {
                reason: reason.into(),
            };
            match (n + step) % 5 {
                // Approved for fewer items than asked.
                0 => {
                    store
                        .decide_share_request(
                            request.id,
                            &approve,
                            &crate::demo::as_person(&provider_chief),
                        )
                        .await?;
                }
                // Pending and overdue: received five weeks ago.
                1 => {
                    let received = Utc::now() - Duration::days(35);
                    let deadline = rules.deadline(
                        &store.calendar().await?,
                        DutyKind::DepartmentDecision,
                        received,
                    );
                    store
                        .backdate_share_request(request.id, received, deadline.due, false)
                        .await?;
                }
                // Refused by the provider: with the bureau for coordination.
                2 => {
                    store
                        .decide_share_request(
                            request.id,
                            &refuse("涉及个人隐私，需补充授权依据"),
                            &crate::demo::as_person(&provider_chief),
                        )
                        .await?;
                }
                // Refused, and the bureau upheld the refusal.
                3 => {
                    store
                        .decide_share_request(
                            request.id,
                            &refuse("数据尚在核准中，暂不共享"),
                            &crate::demo::as_person(&provider_chief),
                        )
                        .await?;
                    store
                        .decide_share_request(
                            request.id,
                            &refuse("维持提供方意见，核准后重新申请"),
                            &crate::demo::as_person(&admin),
                        )
                        .await?;
                }
                // Pending with a deadline running into 2027, whose schedule is not loaded:
                // as if received on 2026-12-28.
                _ => {
                    let received = chrono::NaiveDate::from_ymd_opt(2026, 12, 28)
                        .and_then(|d| d.and_hms_opt(2, 0, 0))
                        .context("demo date")?
                        .and_utc();
                    let deadline = rules.deadline(
                        &store.calendar().await?,
                        DutyKind::DepartmentDecision,
                        received,
                    );
                    store
                        .backdate_share_request(
                            request.id,
                            received.min(Utc::now()),
                            deadline.due,
                            deadline.provisional,
                        )
                        .await?;
                }
            }
        }
    }
    // The bureau steps in on the overdue requests of one consumer: decided late.
    let overdue: Vec<_> = store
        .share_requests(store::sharing::RequestScope::All)
        .await?
        .into_iter()
        .filter(|r| {
            r.duty
                .as_ref()
                .is_some_and(|d| d.done_at.is_none() && d.due_date < beijing_date(Utc::now()))
        })
        .collect();
    if let Some(late) = overdue.first() {
        let approve = Decision::Approve {
            items: vec![],
            clear_items: vec![],
            row_filter: None,
            rate_per_minute: None,
            daily_quota: None,
            verify_quota: None,
        };
        store
            .decide_share_request(late.id, &approve, &crate::demo::as_person(&admin))
            .await?;
    }
    store.record_missed_duties(Utc::now(), ctx).await?;
    // The bureau withdraws one unconditional grant.
    if let Some(granted) = store
        .share_requests(store::sharing::RequestScope::All)
        .await?
        .into_iter()
        .find(|r| r.decided_by.as_deref() == Some("platform"))
    {
        store
            .revoke_share_request(
                granted.id,
                "应用系统未通过安全测评，暂停授权",
                &crate::demo::as_person(&admin),
            )
            .await?;
    }
    needs_and_objections(store).await?;
    usage_history(store).await?;
    Ok(filed)
}

/// The subjects (keyed hashes of ID numbers) of a few records of an entry that holds
/// ID numbers: whom the demo's calls read, for 个人信息查询记录.
async fn demo_subjects(store: &Store, code: &str) -> anyhow::Result<Vec<String>> {
    use store::data_access::{Column, RecordQuery};
    let resource = store.resource(code).await?;
    let body = store.published_body(&resource).await?;
    let Some(id_item) = body
        .items
        .iter()
        .find(|i| i.rule == Some(domain::catalogue::ValidationRule::IdCard))
    else {
        return Ok(Vec::new());
    };
    let query = RecordQuery {
        table: store::data_tables::table_name(&domain::code::ResourceCode::parse(code)?),
        keys: body
            .items
            .iter()
            .filter(|i| i.key)
            .map(Column::of)
            .collect(),
        columns: vec![Column::of(id_item)],
        filters: Vec::new(),
        after: None,
        limit: 5,
    };
    let records = match store.read_records(&query).await {
        Ok(records) => records,
        // An entry without collected data has no table yet: nobody was read.
        Err(_) => return Ok(Vec::new()),
    };
    Ok(records
        .into_iter()
        .filter_map(|(_, values)| values.first()?.as_str().map(str::to_string))
        .filter_map(|id| store.subject_hash(&id))
        .collect())
}

/// Two weeks of data API calls by the applications under their active grants; calls on
/// entries about people read a few of them (个人信息查询记录 has something to show).
async fn usage_history(store: &Store) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut records = Vec::new();
    let mut subjects_of = std::collections::HashMap::new();
    for entry in store.published_freshness().await? {
        let resource = store.resource(&entry.code).await?;
        subjects_of.insert(resource.id, demo_subjects(store, &entry.code).await?);
    }
    for grant in store.grants(None).await? {
        if grant.status != "active" {
            continue;
        }
        let subjects = subjects_of
            .get(&grant.resource_id)
            .cloned()
            .unwrap_or_default();
        let items: Vec<&str> = grant.items.iter().map(|g| g.item.as_str()).collect();
        for day in 0..14i64 {
            let calls = 3 + (grant.id + day) % 9;
            for call in 0..calls {
                records.push(AccessRecord {
                    at: now - Duration::days(day) - Duration::minutes(call * 37),
                    token_id: None,
                    department_id: Some(grant.consumer_id),
                    application: Some(grant.application.clone()),
                    resource_id: Some(grant.resource_id),
                    endpoint: if call % 4 == 0 { "verify" } else { "record" }.into(),
                    items: items.join(","),
                    filter_shape: String::new(),
                    row_count: 1,
                    outcome: "ok".into(),
                    status: 200,
                    latency_us: 800 + call * 13,
                    request_id: format!("demo-{}-{day}-{call}", grant.id),
                    subjects: subjects
                        .get((day + call) as usize % subjects.len().max(1))
                        .cloned()
                        .into_iter()
                        .collect(),
                });
            }
        }
    }
    store.append_access_log(&records).await?;
    Ok(())
}

/// A need in each state the bureau and a provider leave it in, and an objection under
/// verification (its record shows 异议中 to every consumer).
async fn needs_and_objections(store: &Store) -> anyhow::Result<()> {
    let admin = store.user_by_username("admin").await?.actor();
    let mzj = store.user_by_username("mzj-staff").await?.actor();
    let rsj = store.user_by_username("rsj-staff").await?.actor();
    let gaj = store.department_by_code("gaj").await?;
    let gaj_staff = store.user_by_username("gaj-staff").await?.actor();
    store
        .post_need(
            "居民火化信息",
            "低保对象去世后及时停发救助金，依据《社会救助暂行办法》第十二条",
            &crate::demo::as_person(&mzj),
        )
        .await?;
    let assigned = store
        .post_need(
            "新生儿出生医学证明信息",
            "新生儿参保登记免提交出生证明",
            &crate::demo::as_person(&rsj),
        )
        .await?;
    store
        .assign_need(
            assigned.id,
            store.department_by_code("wjw").await?.id,
            &crate::demo::as_person(&admin),
        )
        .await?;
    let declined = store
        .post_need(
            "居民宗教信仰信息",
            "核实特殊困难群体情况",
            &crate::demo::as_person(&mzj),
        )
        .await?;
    store
        .assign_need(declined.id, gaj.id, &crate::demo::as_person(&admin))
        .await?;
    store
        .answer_need(
            declined.id,
            &store::needs::NeedAnswer::Declined {
                reason: "属敏感个人信息，法律未授权采集和共享".into(),
            },
            &crate::demo::as_person(&gaj_staff),
        )
        .await?;
    // An objection on the first record of an entry mzj holds a grant on.
    let consumer = mzj.department_id.context("mzj has a department")?;
    let mut granted = None;
    for request in store
        .share_requests(store::sharing::RequestScope::Department(consumer))
        .await?
    {
        let resource = store.resource(&request.code).await?;
        if request.consumer_id != consumer {
            continue;
        }
        if let Some(grant) = store
            .active_grant(resource.id, consumer, &request.application, Utc::now())
            .await?
        {
            granted = Some((request.code, grant));
            break;
        }
    }
    let Some((code, grant)) = granted else {
        return Ok(());
    };
    let resource = store.resource(&code).await?;
    let body = store.published_body(&resource).await?;
    let keys: Vec<store::data_access::Column> = body
        .items
        .iter()
        .filter(|i| i.key)
        .map(store::data_access::Column::of)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let table = store::data_tables::table_name(&domain::code::ResourceCode::parse(&code)?);
    let first = store
        .read_records(&store::data_access::RecordQuery {
            table,
            keys,
            columns: vec![],
            filters: vec![],
            after: None,
            limit: 1,
        })
        .await?;
    let Some((key, _)) = first.into_iter().next() else {
        return Ok(());
    };
    let key = store::data_access::key_text(&key);
    let objection = store
        .raise_objection(
            &store::objections::NewObjection {
                code: &code,
                record_key: key,
                items: grant.items.iter().take(1).map(|g| g.item.clone()).collect(),
                description: "与申请人提供的证件信息不一致，请核实",
            },
            &crate::demo::as_person(&mzj),
        )
        .await?;
    let provider = store.department(resource.provider.id).await?;
    let provider_staff = store
        .user_by_username(&format!("{}-staff", provider.code))
        .await?
        .actor();
    store
        .answer_objection(
            objection.id,
            domain::sharing::ObjectionStep::Accept,
            "",
            &crate::demo::as_person(&provider_staff),
        )
        .await?;
    basis_review(store, &mzj).await
}

/// A consumer's request that the bureau review why an entry is not shared, waiting for the
/// bureau's decision (in its queue).
async fn basis_review(store: &Store, consumer: &domain::account::Actor) -> anyhow::Result<()> {
    for entry in store.published_freshness().await? {
        let resource = store.resource(&entry.code).await?;
        if Some(resource.provider.id) == consumer.department_id {
            continue;
        }
        let body = store.published_body(&resource).await?;
        if body.share.share_type == ShareType::NotShared {
            store
                .request_basis_review(
                    &store::basis_reviews::ReviewRequest {
                        code: &entry.code,
                        items: &[],
                        reason: "低保家庭经济状况核对需要该数据，依据《社会救助暂行办法》第十一条",
                    },
                    &crate::demo::as_person(consumer),
                )
                .await?;
            return Ok(());
        }
    }
    Ok(())
}

//! Objections to records (数据异议): raised by a consuming department that holds a grant,
//! answered by the provider within its deadline; while accepted, the record is flagged
//! 异议中 to every consumer.

use chrono::{DateTime, Utc};
use domain::access::{check, Act};
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, NewDuty, SubjectKind};
use domain::sharing::{ObjectionStatus, ObjectionStep};
use serde::Serialize;

use crate::audit::snapshot;
use crate::duties::Duty;
use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    pub code: String,
    pub resource_name: String,
    pub provider_id: i64,
    pub consumer_id: i64,
    pub consumer_name: String,
    /// The record's key values.
    pub record_key: Vec<String>,
    /// The items said to be wrong.
    pub items: Vec<String>,
    pub description: String,
    pub raised_by: String,
    pub status: ObjectionStatus,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub duty: Option<Duty>,
}

#[derive(sqlx::FromRow)]
struct ObjectionRow {
    id: i64,
    code: String,
    resource_name: String,
    provider_id: i64,
    consumer_id: i64,
    consumer_name: String,
    record_key: String,
    items: String,
    description: String,
    raised_by: String,
    status: String,
    answer: Option<String>,
    answered_by: Option<String>,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

const OBJECTION_SELECT: &str = "SELECT o.id, r.code, r.name AS resource_name, o.provider_id, o.consumer_id, c.name AS consumer_name, \
     o.record_key, o.items, o.description, o.raised_by, o.status, o.answer, o.answered_by, o.created_at, o.closed_at \
     FROM objections o JOIN resources r ON r.id = o.resource_id JOIN departments c ON c.id = o.consumer_id";

/// A new objection to one record of an entry.
pub struct NewObjection<'a> {
    pub code: &'a str,
    /// The record's key values, as text, in key-item order.
    pub record_key: Vec<String>,
    pub items: Vec<String>,
    pub description: &'a str,
}

impl Store {
    /// Records a consumer's objection. Nothing about the entry's data is looked at before
    /// the caller is known to hold a grant on it: the record is then looked up under that
    /// grant (its row filter), and the objected items must be among those it shows. So an
    /// objection tells nobody whether a record exists that they could not read anyway.
    pub async fn raise_objection(
        &self,
        new: &NewObjection<'_>,
        ctx: &AuditContext,
    ) -> StoreResult<Objection> {
        let resource = self.shared_entry(new.code, &ctx.caller).await?;
        let consumer = ctx.caller.department_id().unwrap_or(-1);
        let at = now();
        let grants: Vec<crate::sharing::Grant> = self
            .grants(Some(consumer))
            .await?
            .into_iter()
            .filter(|g| g.resource_id == resource.id && g.status == "active" && g.expires_at > at)
            .collect();
        check(
            &ctx.caller,
            Act::RaiseObjection {
                provider: resource.provider.id,
                holds_grant: !grants.is_empty(),
            },
        )?;
        let description = new.description.trim();
        if description.chars().count() < 4 || description.chars().count() > 1000 {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "description",
                "请说明错误之处（4–1000 字）",
            )));
        }
        let body = self.published_body(&resource).await?;
        self.check_objected_record(&resource, &body, &grants, new)
            .await?;
        let calendar = self.calendar().await?;
        let key = serde_json::to_string(&new.record_key)?;
        let items = serde_json::to_string(&new.items)?;
        let id: i64 = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO objections (resource_id, provider_id, consumer_id, record_key, items, description, raised_by, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8) RETURNING id")
                .bind(resource.id).bind(resource.provider.id).bind(consumer).bind(&key).bind(&items)
                .bind(description).bind(ctx.actor_name()).bind(at)
                .fetch_one(&mut *tx).await?;
            let subject = DutySubject::new(SubjectKind::Objection, id);
            let duty = NewDuty::open(DutyKind::ObjectionVerification, subject, DutyOwner::Department(resource.provider.id), at, &calendar, &self.deadline_rules)?;
            crate::open_duty!(tx, duty);
            let mut event = ctx.event("objection.raise", subject.target());
            // The key identifies a person: the audit keeps which items, not whose record.
            event.after = snapshot(&serde_json::json!({"resource": new.code, "items": new.items, "due": duty.due}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            id
        });
        self.objection(id).await
    }

    /// The objection names a record one of the caller's grants shows, and items that
    /// grant shows.
    async fn check_objected_record(
        &self,
        resource: &crate::resources::Resource,
        body: &domain::catalogue::ResourceBody,
        grants: &[crate::sharing::Grant],
        new: &NewObjection<'_>,
    ) -> StoreResult<()> {
        let invalid = |field: &str, message: String| {
            StoreError::Validation(domain::ValidationErrors::single(field, message))
        };
        let keys: Vec<&domain::catalogue::Item> = body.items.iter().filter(|i| i.key).collect();
        if keys.is_empty() || keys.len() != new.record_key.len() {
            return Err(invalid("key", format!("应给出 {} 个主键值", keys.len())));
        }
        if new.items.is_empty() {
            return Err(invalid("items", "请选择有误的信息项".into()));
        }
        let mut key = Vec::with_capacity(keys.len());
        for (item, text) in keys.iter().zip(&new.record_key) {
            let value = domain::values::check_value(item, Some(text), None)
                .map_err(|problem| invalid("key", format!("“{}”：{problem}", item.name)))?;
            key.push((crate::data_access::Column::of(item), vec![value]));
        }
        let table = crate::data_tables::table_name(
            &domain::code::ResourceCode::parse(&resource.code)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        );
        for grant in grants {
            let shown = domain::sharing::effective_items(&grant.items, body);
            let covers = new.items.iter().all(|i| shown.iter().any(|g| &g.item == i));
            if !covers {
                continue;
            }
            let mut conditions = key.clone();
            conditions.extend(crate::sharing::row_filter_conditions(body, grant)?);
            if self
                .verify_record(&table, &conditions, &[])
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        if let Some((n, item)) = new.items.iter().enumerate().find(|(_, i)| {
            !grants.iter().any(|g| {
                domain::sharing::effective_items(&g.items, body)
                    .iter()
                    .any(|s| &&s.item == i)
            })
        }) {
            return Err(invalid(
                &format!("items[{n}]"),
                format!("“{item}”不在授权的信息项中"),
            ));
        }
        Err(invalid("key", "授权范围内没有该主键的记录".into()))
    }

    /// The provider's step: accept (flag the record) or reject; then correct or confirm.
    pub async fn answer_objection(
        &self,
        id: i64,
        step: ObjectionStep,
        answer: &str,
        ctx: &AuditContext,
    ) -> StoreResult<Objection> {
        let objection = self.visible_objection(id, &ctx.caller).await?;
        check(
            &ctx.caller,
            Act::AnswerObjection {
                provider: objection.provider_id,
            },
        )?;
        let next = objection.status.after(step)?;
        if step != ObjectionStep::Accept && answer.trim().chars().count() < 2 {
            return Err(StoreError::Validation(domain::ValidationErrors::single(
                "answer",
                "请填写处理说明",
            )));
        }
        let at = now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query("UPDATE objections SET status = $1, answer = COALESCE($2, answer), answered_by = $3, closed_at = $4 \
                                       WHERE id = $5 AND status = $6")
                .bind(next.code())
                .bind(Some(answer.trim()).filter(|a| !a.is_empty()))
                .bind(ctx.actor_name())
                .bind(next.closed().then_some(at))
                .bind(id).bind(objection.status.code())
                .execute(&mut *tx).await?;
            if changed.rows_affected() != 1 {
                return Err(StoreError::Conflict("异议状态已被他人修改，请刷新后重试".into()));
            }
            if next.closed() {
                crate::discharge_duties!(tx, DutySubject::new(SubjectKind::Objection, id), at);
            }
            let mut event = ctx.event("objection.answer", format!("objection:{id}"));
            event.before = snapshot(&serde_json::json!({"status": objection.status.code()}));
            event.after = snapshot(&serde_json::json!({"status": next.code(), "answer": answer.trim()}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.cache.flagged.invalidate_all();
        self.objection(id).await
    }

    /// An objection, if `caller` may see it; "not found" otherwise.
    pub async fn visible_objection(
        &self,
        id: i64,
        caller: &domain::access::Caller,
    ) -> StoreResult<Objection> {
        check(caller, Act::ViewMatters)?;
        let objection = self.objection(id).await?;
        let act = Act::ViewMatter {
            provider: objection.provider_id,
            consumer: objection.consumer_id,
        };
        if domain::access::allows(caller, act) {
            Ok(objection)
        } else {
            Err(StoreError::NotFound(format!("数据异议 {id}")))
        }
    }

    pub async fn objection(&self, id: i64) -> StoreResult<Objection> {
        let sql = format!("{OBJECTION_SELECT} WHERE o.id = $1");
        let row: Option<ObjectionRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        let row = row.ok_or_else(|| StoreError::NotFound(format!("数据异议 {id}")))?;
        let mut objections = self.objections_of(vec![row]).await?;
        Ok(objections.remove(0))
    }

    /// Objections a department raised or must answer (or all), newest first.
    pub async fn objections(
        &self,
        scope: crate::sharing::RequestScope,
    ) -> StoreResult<Vec<Objection>> {
        let department = match scope {
            crate::sharing::RequestScope::All => None,
            crate::sharing::RequestScope::Department(d) => Some(d),
        };
        let rows: Vec<ObjectionRow> = match department {
            Some(d) => {
                let sql = format!("{OBJECTION_SELECT} WHERE o.provider_id = $1 OR o.consumer_id = $1 ORDER BY o.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).bind(d).fetch_all(pool).await?)
            }
            None => {
                let sql = format!("{OBJECTION_SELECT} ORDER BY o.id DESC");
                on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?)
            }
        };
        self.objections_of(rows).await
    }

    async fn objections_of(&self, rows: Vec<ObjectionRow>) -> StoreResult<Vec<Objection>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut duties = self.latest_duties(SubjectKind::Objection, &ids).await?;
        rows.into_iter()
            .map(|row| {
                let duty = duties.remove(&row.id);
                objection_of(row, duty)
            })
            .collect()
    }

    /// The keys of an entry's records flagged 异议中.
    pub async fn flagged_keys(&self, resource_id: i64) -> StoreResult<Vec<Vec<String>>> {
        let keys: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT record_key FROM objections WHERE resource_id = $1 AND status = 'accepted'")
                .bind(resource_id).fetch_all(pool).await?
        });
        keys.iter()
            .map(|k| serde_json::from_str(k).map_err(StoreError::from))
            .collect()
    }
}

fn objection_of(row: ObjectionRow, duty: Option<Duty>) -> StoreResult<Objection> {
    Ok(Objection {
        id: row.id,
        code: row.code,
        resource_name: row.resource_name,
        provider_id: row.provider_id,
        consumer_id: row.consumer_id,
        consumer_name: row.consumer_name,
        record_key: serde_json::from_str(&row.record_key)?,
        items: serde_json::from_str(&row.items)?,
        description: row.description,
        raised_by: row.raised_by,
        status: decode(&row.status, ObjectionStatus::parse)?,
        answer: row.answer,
        answered_by: row.answered_by,
        created_at: row.created_at,
        closed_at: row.closed_at,
        duty,
    })
}

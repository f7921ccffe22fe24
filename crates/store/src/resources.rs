//! Catalogue entries: codes, the workflow, published versions, search and 一数一源 flags.

use chrono::{DateTime, Utc};
use domain::account::DepartmentKind;
use domain::catalogue::{ResourceBody, SecurityGrade, ShareType};
use domain::code::{ClassKind, ResourceCode};
use domain::duty::{DutyOwner, DutySubject, SubjectKind};
use domain::search::{document_text, index_grams, SearchQuery};
use domain::workflow::{next_status, Action, Status};
use serde::Serialize;

use crate::audit::snapshot;
use crate::departments::Department;
use crate::{decode, now, on_pool, AuditContext, Dialect, Store, StoreError, StoreResult};

/// The department that provides a resource, as shown with it (元数据 4 and 5).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Provider {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// 信息资源提供方代码: the department's 统一社会信用代码.
    pub credit_code: String,
    pub kind: DepartmentKind,
}

/// A catalogue entry with everything known about it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resource {
    pub id: i64,
    /// 信息资源代码.
    pub code: String,
    pub status: Status,
    /// The working version; published versions are kept under their numbers.
    pub version: i64,
    pub published_version: Option<i64>,
    pub provider: Provider,
    pub body: ResourceBody,
    /// Why it was last returned, if it was.
    pub return_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 发布日期.
    pub published_at: Option<DateTime<Utc>>,
}

/// One line of a catalogue listing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct ResourceSummary {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub class_kind: String,
    pub provider_id: i64,
    pub provider_name: String,
    pub share_type: String,
    pub security_grade: String,
    pub update_cycle: String,
    pub status: String,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// A published version, kept for history and diffs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResourceVersion {
    pub version: i64,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    pub body: ResourceBody,
}

/// An item catalogued by a second department although another is its authoritative
/// source (一数一源), for the bureau to resolve.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SourceConflict {
    pub id: i64,
    pub resource_code: String,
    pub resource_name: String,
    pub department_name: String,
    pub item_name: String,
    pub authoritative_code: String,
    pub authoritative_department: String,
    pub created_at: DateTime<Utc>,
}

/// Search and filters of the catalogue listing.
#[derive(Debug, Clone, Default)]
pub struct ResourceQuery {
    pub text: Option<String>,
    pub class_kind: Option<ClassKind>,
    pub provider_id: Option<i64>,
    pub share_type: Option<ShareType>,
    pub security_grade: Option<SecurityGrade>,
    pub status: Option<Status>,
    /// Listing continues after this code (keyset paging).
    pub after_code: Option<String>,
    pub limit: i64,
}

/// What a viewer may see (domain::access::entry_scope): everything, or published
/// entries plus their own department's.
pub use domain::access::EntryScope as Visibility;

/// Sees the working copy (not only the published version) of this provider's entries.
fn sees_working_copy(visibility: Visibility, provider_id: i64) -> bool {
    match visibility {
        Visibility::All => true,
        Visibility::PublishedAnd(dept) => dept == Some(provider_id),
    }
}

/// A page of results: `next` is the cursor of the following page, if any.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub next: Option<String>,
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[derive(sqlx::FromRow)]
struct ResourceRow {
    id: i64,
    code: String,
    status: String,
    version: i64,
    published_version: Option<i64>,
    body: String,
    return_reason: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    provider_id: i64,
    provider_code: String,
    provider_name: String,
    provider_credit_code: String,
    provider_kind: String,
}

impl TryFrom<ResourceRow> for Resource {
    type Error = StoreError;
    fn try_from(row: ResourceRow) -> StoreResult<Self> {
        Ok(Resource {
            id: row.id,
            code: row.code,
            status: decode(&row.status, Status::parse)?,
            version: row.version,
            published_version: row.published_version,
            provider: Provider {
                id: row.provider_id,
                code: row.provider_code,
                name: row.provider_name,
                credit_code: row.provider_credit_code,
                kind: decode(&row.provider_kind, DepartmentKind::parse)?,
            },
            body: serde_json::from_str(&row.body)?,
            return_reason: row.return_reason,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            published_at: row.published_at,
        })
    }
}

const RESOURCE_SELECT: &str = "SELECT r.id, r.code, r.status, r.version, r.published_version, b.body, r.return_reason, \
     r.created_by, r.created_at, r.updated_at, r.published_at, d.id AS provider_id, d.code AS provider_code, \
     d.name AS provider_name, d.credit_code AS provider_credit_code, d.kind AS provider_kind \
     FROM resources r JOIN departments d ON d.id = r.provider_id JOIN resource_bodies b ON b.resource_id = r.id";

const SUMMARY_SELECT: &str = "SELECT r.id, r.code, r.name, r.class_kind, r.provider_id, d.name AS provider_name, \
     r.share_type, r.security_grade, r.update_cycle, r.status, r.version, r.updated_at, r.published_at \
     FROM resources r JOIN departments d ON d.id = r.provider_id";

/// The text a resource is found by: name, abstract, item names and provider.
fn search_text(body: &ResourceBody, provider_name: &str) -> String {
    let items: Vec<&str> = body.items.iter().map(|i| i.name.as_str()).collect();
    document_text(&[&body.name, &body.summary, &items.join(" "), provider_name])
}

fn workflow_target(code: &str) -> String {
    format!("resource:{code}")
}

/// More words than this in one search are refused: each one costs a semi-join.
pub const MAX_SEARCH_TERMS: usize = 8;

/// Rows of the per-resource indexes (grams, items) are written in chunks of this many.
const CHUNK: usize = 200;

/// Rewrites the search grams and item index of one resource and flags items whose
/// authoritative source is another department. Expands inside an open transaction.
macro_rules! reindex_resource {
    ($tx:expr, $id:expr, $provider_id:expr, $body:expr, $text:expr) => {{
        let (id, body): (i64, &ResourceBody) = ($id, $body);
        sqlx::query("DELETE FROM resource_grams WHERE resource_id = $1").bind(id).execute(&mut *$tx).await?;
        sqlx::query("DELETE FROM resource_items WHERE resource_id = $1").bind(id).execute(&mut *$tx).await?;
        let grams: Vec<String> = index_grams($text).into_iter().collect();
        for chunk in grams.chunks(CHUNK) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, $1)", i + 2)).collect();
            let sql = format!("INSERT INTO resource_grams (gram, resource_id) VALUES {}", values.join(", "));
            let mut query = sqlx::query(&sql).bind(id);
            for gram in chunk {
                query = query.bind(gram);
            }
            query.execute(&mut *$tx).await?;
        }
        for item in &body.items {
            sqlx::query("INSERT INTO resource_items (resource_id, identifier, name, authoritative) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(&item.identifier)
                .bind(item.name.trim())
                .bind(item.authoritative)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO source_conflicts (resource_id, item_name, authoritative_resource_id, created_at) \
             SELECT $1, mine.name, theirs.resource_id, $3 FROM resource_items mine \
             JOIN resource_items theirs ON theirs.name = mine.name AND theirs.authoritative \
             JOIN resources other ON other.id = theirs.resource_id AND other.provider_id <> $2 AND other.published_version IS NOT NULL \
             WHERE mine.resource_id = $1 ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind($provider_id)
        .bind(now())
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Makes what others find and list (search text, grams, items) follow `body`.
macro_rules! refresh_listing {
    ($tx:expr, $id:expr, $provider_id:expr, $body:expr, $text:expr) => {{
        sqlx::query("UPDATE resource_bodies SET search_text = $1 WHERE resource_id = $2")
            .bind($text)
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        reindex_resource!($tx, $id, $provider_id, $body, $text);
    }};
}

/// Inserts a new draft inside an open transaction and returns its id and code. The
/// sequence (后段码) is the next under the classification's prefix; the caller holds the
/// write lock, so two inserts cannot take the same number.
macro_rules! insert_resource {
    ($tx:expr, $provider:expr, $body:expr, $created_by:expr) => {{
        let (provider, body): (&Department, &ResourceBody) = ($provider, $body);
        let prefix = body.class.prefix();
        let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM resources WHERE prefix = $1")
            .bind(&prefix)
            .fetch_one(&mut *$tx)
            .await?;
        let code = ResourceCode::new(&body.class, seq as u32).to_string();
        let text = search_text(body, &provider.name);
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO resources (code, prefix, seq, provider_id, name, class_kind, share_type, security_grade, \
             update_cycle, status, version, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', 1, $10, $11, $11) RETURNING id",
        )
        .bind(&code)
        .bind(&prefix)
        .bind(seq)
        .bind(provider.id)
        .bind(body.name.trim())
        .bind(body.class.kind.code())
        .bind(body.share.share_type.code())
        .bind(body.security_grade.code())
        .bind(body.update_cycle.code())
        .bind($created_by)
        .bind(at)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query("INSERT INTO resource_bodies (resource_id, body, search_text) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(serde_json::to_string(body)?)
            .bind(&text)
            .execute(&mut *$tx)
            .await?;
        reindex_resource!($tx, id, provider.id, body, &text);
        (id, code)
    }};
}

impl Store {
    /// Creates a draft entry for the actor's department.
    pub async fn create_resource(
        &self,
        provider_id: i64,
        body: &ResourceBody,
        ctx: &AuditContext,
    ) -> StoreResult<Resource> {
        next_status(Status::Draft, Action::Create, &ctx.caller, provider_id)?;
        let provider = self.department(provider_id).await?;
        body.validate(provider.branch_no as u8)?;
        let code = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let (_, code) = insert_resource!(tx, &provider, body, &ctx.actor_name());
            let mut event = ctx.event("resource.create", workflow_target(&code));
            event.after = snapshot(body);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            code
        });
        self.resource(&code).await
    }

    /// Imports many drafts in one transaction: all are created or none is. A person may
    /// import only what they may create; the operator (the CLI) loads for any department.
    pub async fn import_resources(
        &self,
        entries: &[(Department, ResourceBody)],
        ctx: &AuditContext,
    ) -> StoreResult<Vec<String>> {
        for (i, (provider, body)) in entries.iter().enumerate() {
            next_status(Status::Draft, Action::Create, &ctx.caller, provider.id)?;
            body.validate(provider.branch_no as u8).map_err(|e| {
                domain::ValidationErrors(
                    e.0.into_iter()
                        .map(|f| domain::FieldError::new(format!("[{i}].{}", f.field), f.message))
                        .collect(),
                )
            })?;
        }
        let actor_name = ctx.actor_name();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let mut codes = Vec::with_capacity(entries.len());
            for (provider, body) in entries {
                let (_, code) = insert_resource!(tx, provider, body, &actor_name);
                codes.push(code);
            }
            let mut event = ctx.event("resource.import", format!("resources:{}", entries.len()));
            event.after = snapshot(&codes);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(codes)
        })
    }

    /// Replaces the body of an entry. A published entry gets a new working version; its
    /// code never changes once published, so neither may its classification.
    pub async fn update_resource(
        &self,
        code: &str,
        body: &ResourceBody,
        ctx: &AuditContext,
    ) -> StoreResult<Resource> {
        let current = self.resource(code).await?;
        let next = next_status(
            current.status,
            Action::Edit,
            &ctx.caller,
            current.provider.id,
        )?;
        let provider = self.department(current.provider.id).await?;
        body.validate(provider.branch_no as u8)?;
        if current.body.class.prefix() != body.class.prefix() {
            return Err(domain::ValidationErrors::single(
                "class",
                "信息资源代码由分类生成，创建后不能修改分类；请新建目录",
            )
            .into());
        }
        let version = if current.status == Status::Published {
            current.version + 1
        } else {
            current.version
        };
        let text = search_text(body, &provider.name);
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query(
                // Once published, the listing columns keep showing the published version
                // until the revision is published in turn (see `transition`).
                "UPDATE resources SET name = CASE WHEN published_version IS NULL THEN $1 ELSE name END, \
                 share_type = CASE WHEN published_version IS NULL THEN $2 ELSE share_type END, \
                 security_grade = CASE WHEN published_version IS NULL THEN $3 ELSE security_grade END, \
                 update_cycle = CASE WHEN published_version IS NULL THEN $4 ELSE update_cycle END, \
                 status = $5, version = $6, updated_at = $7 WHERE id = $8 AND status = $9 AND updated_at = $10",
            )
            .bind(body.name.trim())
            .bind(body.share.share_type.code())
            .bind(body.security_grade.code())
            .bind(body.update_cycle.code())
            .bind(next.code())
            .bind(version)
            .bind(now())
            .bind(current.id)
            .bind(current.status.code())
            .bind(current.updated_at)
            .execute(&mut *tx)
            .await?;
            if changed.rows_affected() != 1 {
                return Err(StoreError::Conflict("目录已被他人修改，请刷新后重试".into()));
            }
            sqlx::query("UPDATE resource_bodies SET body = $1 WHERE resource_id = $2")
                .bind(serde_json::to_string(body)?)
                .bind(current.id)
                .execute(&mut *tx)
                .await?;
            if current.published_version.is_none() {
                refresh_listing!(tx, current.id, provider.id, body, &text);
            }
            let mut event = ctx.event("resource.edit", workflow_target(code));
            event.before = snapshot(&current.body);
            event.after = snapshot(body);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.resource(code).await
    }

    /// Moves an entry through the workflow. Rejections need a reason; publishing keeps the
    /// version for history.
    pub async fn transition(
        &self,
        code: &str,
        action: Action,
        reason: Option<&str>,
        ctx: &AuditContext,
    ) -> StoreResult<Resource> {
        let current = self.resource(code).await?;
        let next = next_status(current.status, action, &ctx.caller, current.provider.id)?;
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if action == Action::Reject && reason.is_none() {
            return Err(domain::ValidationErrors::single("reason", "退回时必须说明理由").into());
        }
        let at = now();
        // The step ends the duty the entry put on someone and opens the next one's.
        let subject = DutySubject::new(SubjectKind::Entry, current.id);
        let next_duty = match domain::workflow::waiting_duty(next) {
            Some(kind) => {
                let owner = if kind.owed_by_bureau() {
                    DutyOwner::Bureau
                } else {
                    DutyOwner::Department(current.provider.id)
                };
                Some(self.new_duty(kind, subject, owner, at).await?)
            }
            None => None,
        };
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query(
                "UPDATE resources SET status = $1, updated_at = $2, return_reason = $3, \
                 published_version = CASE WHEN $1 = 'published' THEN version ELSE published_version END, \
                 published_at = CASE WHEN $1 = 'published' THEN $2 ELSE published_at END \
                 WHERE id = $4 AND status = $5",
            )
            .bind(next.code())
            .bind(at)
            .bind(if action == Action::Reject { reason } else { None })
            .bind(current.id)
            .bind(current.status.code())
            .execute(&mut *tx)
            .await?;
            if changed.rows_affected() != 1 {
                return Err(StoreError::Conflict("目录状态已被他人修改，请刷新后重试".into()));
            }
            crate::discharge_duties!(tx, subject, at);
            if let Some(duty) = &next_duty {
                crate::open_duty!(tx, duty);
            }
            if next == Status::Published {
                crate::discharge_revisions!(tx, current.id, at);
                // The entry's data table follows its published items.
                let table = crate::data_tables::table_name(&ResourceCode::parse(code).map_err(|e| StoreError::Corrupt(e.to_string()))?);
                let statements = match current.published_version {
                    None => crate::data_tables::create_statements(dialect, &table, &current.body),
                    Some(previous) => {
                        let old: String = sqlx::query_scalar("SELECT body FROM resource_versions WHERE resource_id = $1 AND version = $2")
                            .bind(current.id)
                            .bind(previous)
                            .fetch_one(&mut *tx)
                            .await?;
                        crate::data_tables::migrate_statements(dialect, &table, &serde_json::from_str(&old)?, &current.body)?
                    }
                };
                if dialect == Dialect::Postgres && !statements.is_empty() {
                    // A batch loading the entry holds its table until it finishes; wait a
                    // little, not for the whole load with the platform's write lock held.
                    sqlx::query("SET LOCAL lock_timeout = '5s'").execute(&mut *tx).await?;
                }
                for statement in &statements {
                    sqlx::query(statement).execute(&mut *tx).await.map_err(|error| match &error {
                        sqlx::Error::Database(e) if e.code().as_deref() == Some("55P03") => {
                            StoreError::Conflict("该目录的数据正在归集，请等待归集完成后再发布".into())
                        }
                        _ => StoreError::from(error),
                    })?;
                }
                let text = search_text(&current.body, &current.provider.name);
                sqlx::query("UPDATE resources SET name = $1, share_type = $2, security_grade = $3, update_cycle = $4 WHERE id = $5")
                    .bind(current.body.name.trim())
                    .bind(current.body.share.share_type.code())
                    .bind(current.body.security_grade.code())
                    .bind(current.body.update_cycle.code())
                    .bind(current.id)
                    .execute(&mut *tx)
                    .await?;
                refresh_listing!(tx, current.id, current.provider.id, &current.body, &text);
                sqlx::query("INSERT INTO resource_versions (resource_id, version, body, published_by, published_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(current.id)
                    .bind(current.version)
                    .bind(serde_json::to_string(&current.body)?)
                    .bind(ctx.actor_name())
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut event = ctx.event(&format!("resource.{}", action.code()), workflow_target(code));
            event.before = Some(current.status.code().to_string());
            event.after = Some(next.code().to_string());
            event.detail = reason.map(str::to_string);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.cache.entries.invalidate_all();
        self.resource(code).await
    }

    pub async fn resource(&self, code: &str) -> StoreResult<Resource> {
        let sql = format!("{RESOURCE_SELECT} WHERE r.code = $1");
        let row: Option<ResourceRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(code).fetch_optional(pool).await?);
        row.ok_or_else(|| StoreError::NotFound(format!("目录 {code}")))?
            .try_into()
    }

    /// The entry as the viewer may see it: the working copy for its department and the
    /// bureau; for everyone else the last published version (a provider's unpublished
    /// revision stays private). Otherwise "not found", so that drafts of other departments
    /// do not reveal that they exist.
    pub async fn visible_resource(
        &self,
        code: &str,
        visibility: Visibility,
    ) -> StoreResult<Resource> {
        let mut resource = self.resource(code).await?;
        if sees_working_copy(visibility, resource.provider.id)
            || matches!(resource.status, Status::Published | Status::Retired)
        {
            return Ok(resource);
        }
        let Some(published) = resource.published_version else {
            return Err(StoreError::NotFound(format!("目录 {code}")));
        };
        let version = self
            .resource_versions(resource.id)
            .await?
            .into_iter()
            .find(|v| v.version == published);
        let version = version.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "published version {published} of {code} is missing"
            ))
        })?;
        resource.body = version.body;
        resource.version = published;
        resource.status = Status::Published;
        resource.return_reason = None;
        Ok(resource)
    }

    pub async fn resource_versions(&self, resource_id: i64) -> StoreResult<Vec<ResourceVersion>> {
        let rows: Vec<(i64, String, DateTime<Utc>, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT version, published_by, published_at, body FROM resource_versions WHERE resource_id = $1 ORDER BY version DESC")
                .bind(resource_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(version, published_by, published_at, body)| {
                Ok(ResourceVersion {
                    version,
                    published_by,
                    published_at,
                    body: serde_json::from_str(&body)?,
                })
            })
            .collect()
    }

    /// Catalogue search with filters, in code order, `limit` at a time.
    pub async fn search_resources(
        &self,
        query: &ResourceQuery,
        visibility: Visibility,
    ) -> StoreResult<Page<ResourceSummary>> {
        let mut conditions: Vec<String> = vec!["1 = 1".into()];
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |condition: String, values: Vec<Bind>| {
            let mut condition = condition;
            for value in values {
                binds.push(value);
                condition = condition.replacen('?', &format!("${}", binds.len()), 1);
            }
            conditions.push(condition);
        };
        if let Some(text) = query.text.as_deref() {
            let parsed = SearchQuery::parse(text);
            if parsed.terms.len() > MAX_SEARCH_TERMS {
                return Err(domain::ValidationErrors::single(
                    "q",
                    format!("检索词过多，最多 {MAX_SEARCH_TERMS} 个"),
                )
                .into());
            }
            // One semi-join per gram: the planner intersects them, rarest first.
            for gram in &parsed.grams {
                add(
                    "r.id IN (SELECT resource_id FROM resource_grams WHERE gram = ?)".into(),
                    vec![Bind::Text(gram.clone())],
                );
            }
            if parsed.is_empty() && !text.trim().is_empty() {
                // Only punctuation: match it literally rather than listing everything.
                add(
                    "EXISTS (SELECT 1 FROM resource_bodies b WHERE b.resource_id = r.id AND b.search_text LIKE ? ESCAPE '\\')".into(),
                    vec![Bind::Text(format!(
                        "%{}%",
                        escape_like(&text.trim().to_lowercase())
                    ))],
                );
            }
            for term in parsed.substring_terms() {
                add(
                    "EXISTS (SELECT 1 FROM resource_bodies b WHERE b.resource_id = r.id AND b.search_text LIKE ? ESCAPE '\\')".into(),
                    vec![Bind::Text(format!("%{}%", escape_like(term)))],
                );
            }
        }
        if let Some(kind) = query.class_kind {
            add(
                "r.class_kind = ?".into(),
                vec![Bind::Text(kind.code().into())],
            );
        }
        if let Some(provider) = query.provider_id {
            add("r.provider_id = ?".into(), vec![Bind::Int(provider)]);
        }
        if let Some(share) = query.share_type {
            add(
                "r.share_type = ?".into(),
                vec![Bind::Text(share.code().into())],
            );
        }
        if let Some(grade) = query.security_grade {
            add(
                "r.security_grade = ?".into(),
                vec![Bind::Text(grade.code().into())],
            );
        }
        if let Some(status) = query.status {
            add(
                "r.status = ?".into(),
                vec![Bind::Text(status.code().into())],
            );
        }
        if let Visibility::PublishedAnd(dept) = visibility {
            add(
                "(r.status IN ('published', 'retired') OR r.provider_id = ?)".into(),
                vec![Bind::Int(dept.unwrap_or(-1))],
            );
        }
        let where_clause = conditions.join(" AND ");
        let count_sql = format!("SELECT COUNT(*) FROM resources r WHERE {where_clause}");
        let n = binds.len();
        let list_sql = format!(
            "{SUMMARY_SELECT} WHERE {where_clause} AND r.code > ${} ORDER BY r.code LIMIT ${}",
            n + 1,
            n + 2
        );
        let limit = query.limit.clamp(1, 500);
        let after = query.after_code.clone().unwrap_or_default();
        let (total, mut items): (i64, Vec<ResourceSummary>) = on_pool!(self, pool => {
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            let mut list = sqlx::query_as::<_, ResourceSummary>(&list_sql);
            for value in &binds {
                match value {
                    Bind::Text(text) => {
                        count = count.bind(text);
                        list = list.bind(text);
                    }
                    Bind::Int(int) => {
                        count = count.bind(int);
                        list = list.bind(int);
                    }
                }
            }
            let total = count.fetch_one(pool).await?;
            (total, list.bind(after).bind(limit + 1).fetch_all(pool).await?)
        });
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|r| r.code.clone())
        } else {
            None
        };
        Ok(Page { items, total, next })
    }

    /// Unresolved 一数一源 flags, newest first.
    pub async fn source_conflicts(&self) -> StoreResult<Vec<SourceConflict>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, r.code AS resource_code, r.name AS resource_name, d.name AS department_name, c.item_name, \
                 a.code AS authoritative_code, ad.name AS authoritative_department, c.created_at \
                 FROM source_conflicts c JOIN resources r ON r.id = c.resource_id JOIN departments d ON d.id = r.provider_id \
                 JOIN resources a ON a.id = c.authoritative_resource_id JOIN departments ad ON ad.id = a.provider_id \
                 WHERE c.resolved_at IS NULL ORDER BY c.id DESC",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Counts of entries per status, for dashboards.
    pub async fn resource_status_counts(
        &self,
        visibility: Visibility,
    ) -> StoreResult<Vec<(Status, i64)>> {
        let dept = match visibility {
            Visibility::All => None,
            Visibility::PublishedAnd(dept) => Some(dept.unwrap_or(-1)),
        };
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM resources WHERE ($1 IS NULL OR provider_id = $1) GROUP BY status")
                .bind(dept)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(s, n)| Ok((decode(&s, Status::parse)?, n)))
            .collect()
    }
}

/// A value bound to a dynamically assembled query.
enum Bind {
    Text(String),
    Int(i64),
}

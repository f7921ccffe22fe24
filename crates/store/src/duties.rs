//! Duties (待办): what a department or the bureau owes, by when. A duty is opened and
//! discharged only by the macros here, inside the transaction of the change that causes
//! it, so that a queue never shows a matter already done nor misses one just raised.
//!
//! Architecture invariant: no other file writes the `duties` table (a tidy test checks).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::access::{check, Act, DutyScope};
use domain::deadline::DutyKind;
use domain::duty::{DutyOwner, DutySubject, SubjectKind};
use serde::Serialize;

use crate::{decode, on_pool, AuditContext, Store, StoreResult};

/// Opens a duty (a [`domain::duty::NewDuty`]) inside `$tx`, and the bureau's duty to load
/// each calendar year its deadline runs into (once per year). With `done $at`, the duty is
/// recorded as met on the spot (the platform providing unconditional data at once).
#[macro_export]
#[doc(hidden)]
macro_rules! open_duty {
    ($tx:ident, $duty:expr) => {
        $crate::open_duty!($tx, $duty, done None::<chrono::DateTime<chrono::Utc>>)
    };
    ($tx:ident, $duty:expr, done $done_at:expr) => {{
        let duty: &domain::duty::NewDuty = &$duty;
        let done_at: Option<chrono::DateTime<chrono::Utc>> = $done_at;
        $crate::insert_duty!($tx, duty, done_at);
        for year in duty.calendar_duties() {
            $crate::open_duty!($tx, year, unless open);
        }
    }};
    // Opens the duty unless one about the same matter is open already (a source failing
    // again, a second deadline into the same missing year).
    ($tx:ident, $duty:expr, unless open) => {{
        let duty: &domain::duty::NewDuty = &$duty;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM duties WHERE subject_type = $1 AND subject_id = $2 AND done_at IS NULL",
        )
        .bind(duty.subject.kind.code())
        .bind(duty.subject.id)
        .fetch_optional(&mut *$tx)
        .await?;
        let opened = open.is_none();
        if opened {
            $crate::insert_duty!($tx, duty, None::<chrono::DateTime<chrono::Utc>>);
        }
        opened
    }};
}

#[macro_export]
#[doc(hidden)]
macro_rules! insert_duty {
    ($tx:ident, $duty:expr, $done_at:expr) => {{
        let duty: &domain::duty::NewDuty = $duty;
        let done_at: Option<chrono::DateTime<chrono::Utc>> = $done_at;
        let duty_id: i64 = sqlx::query_scalar(
            "INSERT INTO duties (kind, subject_type, subject_id, department_id, received_at, due_date, provisional, done_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(duty.kind.code())
        .bind(duty.subject.kind.code())
        .bind(duty.subject.id)
        .bind(duty.owner.department_id())
        .bind(duty.received_at)
        .bind(duty.due)
        .bind(duty.provisional)
        .bind(done_at)
        .fetch_one(&mut *$tx)
        .await?;
        // The owner hears of it in the hall, unless it was met on the spot.
        if done_at.is_none() {
            $crate::notify!($tx, duty.owner, Some(duty_id), "duty_opened", duty.notice(), duty.received_at);
        }
    }};
}

/// Writes a notification to `$owner` (a [`domain::duty::DutyOwner`]) inside `$tx`.
#[macro_export]
#[doc(hidden)]
macro_rules! notify {
    ($tx:ident, $owner:expr, $duty_id:expr, $kind:expr, $text:expr, $at:expr) => {{
        let owner: domain::duty::DutyOwner = $owner;
        sqlx::query(
            "INSERT INTO notifications (department_id, duty_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(owner.department_id())
        .bind($duty_id)
        .bind($kind)
        .bind($text)
        .bind($at)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Discharges every open duty about `$subject` (a [`DutySubject`]) inside `$tx`, at `$at`;
/// evaluates to how many there were.
#[macro_export]
#[doc(hidden)]
macro_rules! discharge_duties {
    ($tx:ident, $subject:expr, $at:expr) => {{
        let subject: domain::duty::DutySubject = $subject;
        sqlx::query(
            "UPDATE duties SET done_at = $3 WHERE subject_type = $1 AND subject_id = $2 AND done_at IS NULL",
        )
        .bind(subject.kind.code())
        .bind(subject.id)
        .bind($at)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    }};
}

/// Discharges, inside `$tx`, the providers' duties to revise entry `$resource_id` after the
/// bureau overturned its not-shared basis: publishing a new version is the revision.
#[macro_export]
#[doc(hidden)]
macro_rules! discharge_revisions {
    ($tx:ident, $resource_id:expr, $at:expr) => {{
        sqlx::query(
            "UPDATE duties SET done_at = $1 WHERE kind = $2 AND subject_type = $3 AND done_at IS NULL AND subject_id IN \
             (SELECT id FROM basis_reviews WHERE resource_id = $4 AND status = 'overturned')",
        )
        .bind($at)
        .bind(domain::deadline::DutyKind::BasisRevision.code())
        .bind(domain::duty::SubjectKind::BasisReview.code())
        .bind($resource_id)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// A duty with a deadline in working days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Duty {
    pub id: i64,
    pub kind: DutyKind,
    pub subject: DutySubject,
    /// The department that owes it; none for the bureau.
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    /// The catalogue entry the matter concerns, if any: its code and name.
    pub entry_code: Option<String>,
    /// What the matter is called: the entry's name, or a need's title.
    pub matter_name: Option<String>,
    pub received_at: DateTime<Utc>,
    pub due_date: NaiveDate,
    pub provisional: bool,
    pub done_at: Option<DateTime<Utc>>,
    /// How often the bureau urged (督办) it, and its latest note: in queues only (a duty
    /// shown with its matter, which both parties read, leaves them out).
    pub urgings: i64,
    pub last_urging: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct DutyRow {
    id: i64,
    kind: String,
    subject_type: String,
    subject_id: i64,
    department_id: Option<i64>,
    department_name: Option<String>,
    entry_code: Option<String>,
    matter_name: Option<String>,
    received_at: DateTime<Utc>,
    due_date: NaiveDate,
    provisional: bool,
    done_at: Option<DateTime<Utc>>,
    urgings: i64,
    last_urging: Option<String>,
}

impl TryFrom<DutyRow> for Duty {
    type Error = crate::StoreError;

    fn try_from(row: DutyRow) -> StoreResult<Self> {
        Ok(Duty {
            id: row.id,
            kind: decode(&row.kind, DutyKind::parse)?,
            subject: DutySubject::new(
                decode(&row.subject_type, SubjectKind::parse)?,
                row.subject_id,
            ),
            department_id: row.department_id,
            department_name: row.department_name,
            entry_code: row.entry_code,
            matter_name: row.matter_name,
            received_at: row.received_at,
            due_date: row.due_date,
            provisional: row.provisional,
            done_at: row.done_at,
            urgings: row.urgings,
            last_urging: row.last_urging,
        })
    }
}

/// A duty with its owner's name and what its matter concerns: each kind of matter joined
/// by primary key, so a page of a queue costs one query however long the queue.
pub(crate) const DUTY_SELECT: &str =
    "SELECT d.id, d.kind, d.subject_type, d.subject_id, d.department_id, p.name AS department_name, \
     r.code AS entry_code, COALESCE(r.name, n.title) AS matter_name, \
     d.received_at, d.due_date, d.provisional, d.done_at, \
     (SELECT COUNT(*) FROM duty_urgings u WHERE u.duty_id = d.id) AS urgings, \
     (SELECT u.note FROM duty_urgings u WHERE u.duty_id = d.id ORDER BY u.id DESC LIMIT 1) AS last_urging \
     FROM duties d \
     LEFT JOIN departments p ON p.id = d.department_id \
     LEFT JOIN share_requests q ON d.subject_type = 'share_request' AND q.id = d.subject_id \
     LEFT JOIN objections o ON d.subject_type = 'objection' AND o.id = d.subject_id \
     LEFT JOIN basis_reviews b ON d.subject_type = 'basis_review' AND b.id = d.subject_id \
     LEFT JOIN sources s ON d.subject_type = 'source' AND s.id = d.subject_id \
     LEFT JOIN data_needs n ON d.subject_type = 'need' AND n.id = d.subject_id \
     LEFT JOIN resources r ON r.id = COALESCE(CASE WHEN d.subject_type = 'entry' THEN d.subject_id END, \
         q.resource_id, o.resource_id, b.resource_id, s.resource_id)";

pub(crate) fn duties_of(rows: Vec<DutyRow>) -> StoreResult<Vec<Duty>> {
    rows.into_iter().map(Duty::try_from).collect()
}

/// Which duties a queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DutyFilter {
    /// Not yet done (the default).
    #[default]
    Open,
    /// Open and past the due date.
    Overdue,
    /// Open and due by a given day (today or within the due-soon days).
    DueSoon,
    /// Done.
    Done,
}

/// A page of a queue.
#[derive(Debug, Clone)]
pub struct DutyQuery {
    pub scope: DutyScope,
    pub kind: Option<DutyKind>,
    pub filter: DutyFilter,
    /// Today (Beijing), for overdue and due soon.
    pub today: NaiveDate,
    /// The last day that counts as due soon.
    pub due_soon_until: NaiveDate,
    /// The last (due date, id) of the previous page.
    pub after: Option<(NaiveDate, i64)>,
    pub limit: i64,
}

/// One page of duties and how many match in all.
#[derive(Debug, Clone)]
pub struct DutyPage {
    pub items: Vec<Duty>,
    pub total: i64,
    /// Where the next page starts, if there is one.
    pub next: Option<(NaiveDate, i64)>,
}

impl Store {
    /// A queue, earliest due first: a department's, the bureau's, or every one.
    pub async fn duties(&self, query: &DutyQuery) -> StoreResult<DutyPage> {
        let page = on_pool!(self, pool => {
            // The count and the page share one filter.
            let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM duties d");
            push_filter(&mut count, query);
            let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
            let mut select = sqlx::QueryBuilder::new(DUTY_SELECT);
            push_filter(&mut select, query);
            if let Some((due, id)) = query.after {
                select.push(" AND (d.due_date > ").push_bind(due)
                    .push(" OR (d.due_date = ").push_bind(due).push(" AND d.id > ").push_bind(id).push("))");
            }
            select.push(" ORDER BY d.due_date, d.id LIMIT ").push_bind(query.limit + 1);
            let rows: Vec<DutyRow> = select.build_query_as().fetch_all(pool).await?;
            (rows, total)
        });
        let (rows, total) = page;
        let mut items = duties_of(rows)?;
        let next = if items.len() as i64 > query.limit {
            items.truncate(query.limit as usize);
            items.last().map(|d| (d.due_date, d.id))
        } else {
            None
        };
        Ok(DutyPage { items, total, next })
    }

    /// The duty of `kind` about `subject` owed by `owner`, received at `at`: due by the
    /// calendar as loaded and the configured rules. For a matter that exists already; one
    /// made in the same transaction opens with [`NewDuty::open`] once its id is known.
    pub async fn new_duty(
        &self,
        kind: DutyKind,
        subject: DutySubject,
        owner: DutyOwner,
        at: DateTime<Utc>,
    ) -> StoreResult<domain::duty::NewDuty> {
        let calendar = self.calendar().await?;
        Ok(domain::duty::NewDuty::open(
            kind,
            subject,
            owner,
            at,
            &calendar,
            self.deadline_rules(),
        )?)
    }

    pub async fn duty(&self, id: i64) -> StoreResult<Duty> {
        let sql = format!("{DUTY_SELECT} WHERE d.id = $1");
        let row: Option<DutyRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Duty::try_from(row.ok_or_else(|| crate::StoreError::NotFound(format!("待办事项 {id}")))?)
    }

    /// The bureau urges (督办) the owner of an open duty: a note the owner reads on the
    /// duty and in a notification. Audited; never edited or removed.
    pub async fn urge_duty(&self, id: i64, note: &str, ctx: &AuditContext) -> StoreResult<Duty> {
        check(&ctx.caller, Act::UrgeDuty)?;
        let note = note.trim();
        if !(4..=500).contains(&note.chars().count()) {
            return Err(
                domain::ValidationErrors::single("note", "请写明督办意见（4–500 字）").into(),
            );
        }
        let duty = self.duty(id).await?;
        let owner = match duty.department_id {
            Some(d) => DutyOwner::Department(d),
            None => DutyOwner::Bureau,
        };
        let text = format!(
            "督办：{}（{}）：{note}",
            duty.kind.label(),
            duty.subject.label()
        );
        let at = crate::now();
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            // Only an open duty is urged, as it stands in this transaction.
            let written = sqlx::query(
                "INSERT INTO duty_urgings (duty_id, note, urged_by, urged_at) \
                 SELECT id, $2, $3, $4 FROM duties WHERE id = $1 AND done_at IS NULL")
                .bind(id).bind(note).bind(ctx.actor_name()).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if written == 0 {
                return Err(crate::StoreError::Conflict("该事项已办结，无需督办".into()));
            }
            crate::notify!(tx, owner, Some(id), "urged", text, at);
            let mut event = ctx.event("duty.urge", duty.subject.target());
            event.after = crate::audit::snapshot(&serde_json::json!({"duty": id, "kind": duty.kind.code(), "note": note}));
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
        });
        self.duty(id).await
    }

    /// The latest duty of each matter of `kind`, by id: one query for a whole list (per
    /// 500 ids), not one per row.
    pub(crate) async fn latest_duties(
        &self,
        kind: SubjectKind,
        ids: &[i64],
    ) -> StoreResult<HashMap<i64, Duty>> {
        let mut latest = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<DutyRow> = on_pool!(self, pool => {
                let mut query = sqlx::QueryBuilder::new(DUTY_SELECT);
                query.push(" WHERE d.subject_type = ").push_bind(kind.code()).push(" AND d.subject_id IN (");
                let mut subjects = query.separated(", ");
                for id in chunk {
                    subjects.push_bind(*id);
                }
                subjects.push_unseparated(") ORDER BY d.id");
                query.build_query_as().fetch_all(pool).await?
            });
            // Ordered by id: a later duty of the same matter replaces an earlier one.
            for mut duty in duties_of(rows)? {
                // A matter is read by both its parties; the bureau's urging notes are for
                // the owner, who reads them in the queue.
                duty.urgings = 0;
                duty.last_urging = None;
                latest.insert(duty.subject.id, duty);
            }
        }
        Ok(latest)
    }

    /// Moves a matter's open duty, as if it had been received at `received_at`: for the
    /// demo city, whose matters must show every state today.
    pub(crate) async fn backdate_open_duty(
        &self,
        subject: DutySubject,
        received_at: DateTime<Utc>,
        due: NaiveDate,
        provisional: bool,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE duties SET received_at = $3, due_date = $4, provisional = $5 \
                         WHERE subject_type = $1 AND subject_id = $2 AND done_at IS NULL")
                .bind(subject.kind.code()).bind(subject.id).bind(received_at).bind(due).bind(provisional)
                .execute(pool).await?;
        });
        Ok(())
    }
}

/// One duty of a benchmark city: what [`Store::fill_benchmark_duties`] writes.
#[derive(Debug, Clone)]
pub struct BenchmarkDuty {
    pub kind: DutyKind,
    pub subject: DutySubject,
    pub department_id: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub due_date: NaiveDate,
    pub done_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Benchmarks only (`datahall bench hall`): writes `duties` as they stand, with the
    /// notification each would have had, in statements of a few thousand rows. No audit
    /// record: a benchmark city is thrown away.
    pub async fn fill_benchmark_duties(&self, duties: &[BenchmarkDuty]) -> StoreResult<()> {
        let before: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM duties").fetch_one(pool).await?
        });
        for chunk in duties.chunks(3000) {
            on_pool!(self, pool => {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO duties (kind, subject_type, subject_id, department_id, received_at, due_date, provisional, done_at) ");
                insert.push_values(chunk, |mut row, duty| {
                    row.push_bind(duty.kind.code()).push_bind(duty.subject.kind.code()).push_bind(duty.subject.id)
                        .push_bind(duty.department_id).push_bind(duty.received_at).push_bind(duty.due_date)
                        .push_bind(false).push_bind(duty.done_at);
                });
                insert.build().execute(pool).await?;
            });
        }
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO notifications (department_id, duty_id, kind, text, created_at) \
                         SELECT department_id, id, 'duty_opened', '新的待办', received_at FROM duties WHERE id > $1")
                .bind(before).execute(pool).await?;
        });
        Ok(())
    }
}

/// The WHERE clause of a queue query.
fn push_filter<'a, DB: sqlx::Database>(sql: &mut sqlx::QueryBuilder<'a, DB>, query: &DutyQuery)
where
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'static str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    NaiveDate: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    sql.push(" WHERE ");
    match query.scope {
        DutyScope::Department(d) => {
            sql.push("d.department_id = ").push_bind(d);
        }
        DutyScope::Bureau => {
            sql.push("d.department_id IS NULL");
        }
        DutyScope::All => {
            sql.push("1 = 1");
        }
    }
    if let Some(kind) = query.kind {
        sql.push(" AND d.kind = ").push_bind(kind.code());
    }
    match query.filter {
        DutyFilter::Open => {
            sql.push(" AND d.done_at IS NULL");
        }
        DutyFilter::Overdue => {
            sql.push(" AND d.done_at IS NULL AND d.due_date < ")
                .push_bind(query.today);
        }
        DutyFilter::DueSoon => {
            sql.push(" AND d.done_at IS NULL AND d.due_date >= ")
                .push_bind(query.today)
                .push(" AND d.due_date <= ")
                .push_bind(query.due_soon_until);
        }
        DutyFilter::Done => {
            sql.push(" AND d.done_at IS NOT NULL");
        }
    }
}

//! Notifications inside the hall (站内通知). Each is addressed to a department or the
//! bureau and written with the duty it announces (`notify!` in [`crate::duties`]); each
//! person keeps their own read marks. Whose notifications a caller reads is
//! `domain::access::notification_owner`, applied in every query here.

use chrono::{DateTime, Utc};
use domain::access::{check, notification_owner, Act, Caller};
use domain::duty::DutyOwner;
use serde::Serialize;

use crate::{now, on_pool, AuditContext, Store, StoreResult};

/// A notification as its reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    /// `duty_opened` (a new duty) or `urged` (the bureau's 督办).
    pub kind: String,
    pub text: String,
    /// The duty it is about.
    pub duty_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Read by this reader.
    #[sqlx(rename = "is_read")]
    pub read: bool,
}

/// A page of notifications, newest first.
#[derive(Debug, Clone)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub total: i64,
    pub unread: i64,
    /// The id the next page starts below, if there is one.
    pub next: Option<i64>,
}

/// The reader a caller is: their user id and whose notifications they read; none for
/// callers who are never notified.
fn reader(caller: &Caller) -> Option<(i64, DutyOwner)> {
    Some((caller.person()?.user_id, notification_owner(caller)?))
}

/// The owner condition on `n.department_id`, and its bound value (none for the bureau).
fn owner_clause(owner: DutyOwner) -> (&'static str, Option<i64>) {
    match owner {
        DutyOwner::Department(d) => ("n.department_id = $2", Some(d)),
        DutyOwner::Bureau => ("n.department_id IS NULL AND $2 IS NULL", None),
    }
}

impl Store {
    /// How many notifications `caller` has not read: the bell in the top bar.
    pub async fn unread_notifications(&self, caller: &Caller) -> StoreResult<i64> {
        let Some((user, owner)) = reader(caller) else {
            return Ok(0);
        };
        let (clause, department) = owner_clause(owner);
        let sql = format!(
            "SELECT COUNT(*) FROM notifications n WHERE {clause} AND NOT EXISTS \
             (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = $1)"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(&sql).bind(user).bind(department).fetch_one(pool).await?
        }))
    }

    /// `caller`'s notifications, newest first: all, or the unread only.
    pub async fn notifications(
        &self,
        caller: &Caller,
        unread_only: bool,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<NotificationPage> {
        check(caller, Act::UseHall)?;
        let Some((user, owner)) = reader(caller) else {
            return Ok(NotificationPage {
                items: Vec::new(),
                total: 0,
                unread: 0,
                next: None,
            });
        };
        let (clause, department) = owner_clause(owner);
        let read = "EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = $1)";
        let only = if unread_only {
            format!(" AND NOT {read}")
        } else {
            String::new()
        };
        let count = format!("SELECT COUNT(*) FROM notifications n WHERE {clause}{only}");
        let page = format!(
            "SELECT n.id, n.kind, n.text, n.duty_id, n.created_at, {read} AS is_read FROM notifications n \
             WHERE {clause}{only} AND n.id < $3 ORDER BY n.id DESC LIMIT $4"
        );
        let (total, mut items): (i64, Vec<Notification>) = on_pool!(self, pool => {
            let total = sqlx::query_scalar(&count).bind(user).bind(department).fetch_one(pool).await?;
            let items = sqlx::query_as(&page)
                .bind(user).bind(department).bind(before.unwrap_or(i64::MAX)).bind(limit + 1)
                .fetch_all(pool).await?;
            (total, items)
        });
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|n| n.id)
        } else {
            None
        };
        let unread = self.unread_notifications(caller).await?;
        Ok(NotificationPage {
            items,
            total,
            unread,
            next,
        })
    }

    /// Marks `ids` (or, with none, every notification) of `caller`'s as read by them.
    /// A notification addressed to someone else is left alone. Returns how many changed.
    pub async fn mark_notifications_read(
        &self,
        ids: Option<&[i64]>,
        ctx: &AuditContext,
    ) -> StoreResult<u64> {
        check(&ctx.caller, Act::UseHall)?;
        let Some((user, owner)) = reader(&ctx.caller) else {
            return Ok(0);
        };
        let (clause, department) = owner_clause(owner);
        let mut sql = format!(
            "INSERT INTO notification_reads (notification_id, user_id, read_at) \
             SELECT n.id, $1, $3 FROM notifications n WHERE {clause} AND NOT EXISTS \
             (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = $1)"
        );
        if let Some(ids) = ids {
            if ids.is_empty() {
                return Ok(0);
            }
            // Ids are numbers: listed in the statement, not bound one by one.
            let list: Vec<String> = ids.iter().take(500).map(i64::to_string).collect();
            sql.push_str(&format!(" AND n.id IN ({})", list.join(", ")));
        }
        let at = now();
        let changed = on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let changed = sqlx::query(&sql).bind(user).bind(department).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if changed > 0 {
                let mut event = ctx.event("notification.read", format!("user:{user}"));
                event.after = crate::audit::snapshot(&serde_json::json!({"read": changed}));
                crate::append_audit!(self, tx, event);
            }
            tx.commit().await?;
            changed
        });
        Ok(changed)
    }
}

//! People and their roles.

use chrono::{DateTime, Utc};
use domain::access::{check, Act};
use domain::account::{Actor, Role};
use domain::audit::mask_fields;
use serde::Serialize;

use crate::{decode, now, on_pool, AuditContext, Store, StoreError, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
            department_id: self.department_id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub password_hash: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    department_id: Option<i64>,
    department_name: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> StoreResult<Self> {
        Ok(User {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            role: decode(&row.role, Role::parse)?,
            department_id: row.department_id,
            department_name: row.department_name,
            active: row.active,
            created_at: row.created_at,
        })
    }
}

pub(crate) const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.department_id, \
     d.name AS department_name, u.active, u.created_at FROM users u LEFT JOIN departments d ON d.id = u.department_id";

/// A user snapshot for the audit log: the person's name is personal data.
fn audited(user: &User) -> Option<String> {
    let mut value = serde_json::to_value(user).ok()?;
    mask_fields(&mut value, &[("display_name", domain::mask::name)]);
    Some(value.to_string())
}

async fn check_department_exists(store: &Store, department_id: Option<i64>) -> StoreResult<()> {
    if let Some(id) = department_id {
        store.department(id).await.map_err(|_| {
            domain::ValidationErrors::single("department_id", format!("部门 {id} 不存在"))
        })?;
    }
    Ok(())
}

fn check_role_department(role: Role, department_id: Option<i64>) -> StoreResult<()> {
    if role.needs_department() != department_id.is_some() {
        let message = if role.needs_department() {
            "首席代表和工作人员必须属于一个部门"
        } else {
            "管理方和审计员不属于任何部门"
        };
        return Err(domain::ValidationErrors::single("department_id", message).into());
    }
    Ok(())
}

fn role_conflict(error: sqlx::Error, username: &str) -> StoreError {
    match StoreError::from(error) {
        StoreError::Conflict(message) if message.contains("username") => {
            StoreError::Conflict(format!("用户名“{username}”已被使用"))
        }
        StoreError::Conflict(_) => {
            StoreError::Conflict("该部门已有首席代表；每个部门只能有一名首席代表".into())
        }
        other => other,
    }
}

impl Store {
    pub async fn create_user(&self, new: &NewUser, ctx: &AuditContext) -> StoreResult<User> {
        check(
            &ctx.caller,
            Act::ManageAccount {
                role: new.role,
                new_role: new.role,
            },
        )?;
        domain::account::check_username(&new.username)
            .map_err(|e| domain::ValidationErrors::single("username", e.to_string()))?;
        check_role_department(new.role, new.department_id)?;
        check_department_exists(self, new.department_id).await?;
        if new.display_name.trim().is_empty() {
            return Err(domain::ValidationErrors::single("display_name", "姓名不能为空").into());
        }
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (username, display_name, role, department_id, password_hash, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id",
            )
            .bind(&new.username)
            .bind(new.display_name.trim())
            .bind(new.role.code())
            .bind(new.department_id)
            .bind(&new.password_hash)
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| role_conflict(e, &new.username))?;
            let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1")).bind(id).fetch_one(&mut *tx).await?;
            let user = User::try_from(row)?;
            let mut event = ctx.event("user.create", format!("user:{}", user.username));
            event.after = audited(&user);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(user)
        })
    }

    pub async fn users(&self, department_id: Option<i64>) -> StoreResult<Vec<User>> {
        let sql = format!("{USER_SELECT} WHERE ($1 IS NULL OR u.department_id = $1) ORDER BY u.department_id, u.role, u.username");
        let rows: Vec<UserRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(department_id).fetch_all(pool).await?);
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<User> {
        let sql = format!("{USER_SELECT} WHERE u.username = $1");
        let row: Option<UserRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?);
        row.ok_or_else(|| StoreError::NotFound(format!("用户 {username}")))?
            .try_into()
    }

    /// The user and their password hash, for login. Inactive users are not returned.
    pub async fn credentials(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let row: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT password_hash FROM users WHERE username = $1 AND active").bind(username).fetch_optional(pool).await?
        });
        match row {
            Some((hash,)) => Ok(Some((self.user_by_username(username).await?, hash))),
            None => Ok(None),
        }
    }

    /// Appoints a person to a role (and department). The bureau appoints chiefs.
    pub async fn set_role(
        &self,
        username: &str,
        role: Role,
        department_id: Option<i64>,
        ctx: &AuditContext,
    ) -> StoreResult<User> {
        domain::access::may_manage_accounts(&ctx.caller)?;
        check_role_department(role, department_id)?;
        check_department_exists(self, department_id).await?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let before: Option<UserRow> = sqlx::query_as(&format!("{USER_SELECT} WHERE u.username = $1"))
                .bind(username).fetch_optional(&mut *tx).await?;
            let before = User::try_from(before.ok_or_else(|| StoreError::NotFound(format!("用户 {username}")))?)?;
            check(&ctx.caller, Act::ManageAccount { role: before.role, new_role: role })?;
            // A decision delegate moved to another post no longer decides for the old one.
            if before.role != role || before.department_id != department_id {
                sqlx::query("DELETE FROM decision_delegates WHERE username = $1").bind(username).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE users SET role = $1, department_id = $2 WHERE username = $3")
                .bind(role.code())
                .bind(department_id)
                .bind(username)
                .execute(&mut *tx)
                .await
                .map_err(|e| role_conflict(e, username))?;
            let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.username = $1")).bind(username).fetch_one(&mut *tx).await?;
            let user = User::try_from(row)?;
            let mut event = ctx.event("user.set_role", format!("user:{username}"));
            event.before = audited(&before);
            event.after = audited(&user);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(user)
        })
    }

    /// Replaces the password hash and ends the user's sessions: a person their own (the
    /// caller checked the current password), the operator anyone's. Nobody else: whoever
    /// sets a password can sign in as its owner (三员分立).
    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        ctx: &AuditContext,
    ) -> StoreResult<()> {
        let own = ctx
            .caller
            .person()
            .is_some_and(|me| me.username == username);
        check(&ctx.caller, Act::SetPassword { own })?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1").bind(username).fetch_optional(&mut *tx).await?;
            let id = id.ok_or_else(|| StoreError::NotFound(format!("用户 {username}")))?;
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            let action = if own { "user.change_password" } else { "user.reset_password" };
            crate::append_audit!(self, tx, ctx.event(action, format!("user:{username}")));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deactivates (or reactivates) an account. A deactivated person cannot sign in, their
    /// sessions end at once and their decision delegations lapse; their records stay.
    pub async fn set_active(
        &self,
        username: &str,
        active: bool,
        ctx: &AuditContext,
    ) -> StoreResult<User> {
        domain::access::may_manage_accounts(&ctx.caller)?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let before = account_in(&mut tx, username, &ctx.caller).await?;
            sqlx::query("UPDATE users SET active = $1 WHERE id = $2").bind(active).bind(before.id).execute(&mut *tx).await?;
            if !active {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(before.id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM decision_delegates WHERE username = $1").bind(username).execute(&mut *tx).await?;
            }
            let row: UserRow = sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1")).bind(before.id).fetch_one(&mut *tx).await?;
            let user = User::try_from(row)?;
            let action = if active { "user.activate" } else { "user.deactivate" };
            let mut event = ctx.event(action, format!("user:{username}"));
            event.before = audited(&before);
            event.after = audited(&user);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(user)
        })
    }
}

/// The account `username`, read in the write transaction `tx`, once `caller` may manage it.
async fn account_in<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    username: &str,
    caller: &domain::access::Caller,
) -> StoreResult<User>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'e> &'e mut <DB as sqlx::Database>::Connection: sqlx::Executor<'e, Database = DB>,
    for<'r> UserRow: sqlx::FromRow<'r, <DB as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let sql = format!("{USER_SELECT} WHERE u.username = $1");
    let row: Option<UserRow> = sqlx::query_as(&sql)
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?;
    let user =
        User::try_from(row.ok_or_else(|| StoreError::NotFound(format!("用户 {username}")))?)?;
    check(
        caller,
        Act::ManageAccount {
            role: user.role,
            new_role: user.role,
        },
    )?;
    Ok(user)
}

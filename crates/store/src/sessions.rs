//! Login sessions (web cookies and API bearer tokens) and application API tokens. Only
//! SHA-256 hashes of the secrets are stored: a database dump does not let anyone sign in.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::snapshot;
use crate::users::{User, UserRow, USER_SELECT};
use crate::{now, on_pool, AuditContext, Store, StoreError, StoreResult};

/// A signed-in user's session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub kind: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// An application's API token (the secret itself is shown once, at creation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub department_id: i64,
    pub application: String,
    /// The first characters of the token, to recognise it in lists.
    pub token_prefix: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str =
    "id, department_id, application, token_prefix, created_by, created_at, expires_at, revoked_at, last_used_at";

impl Store {
    pub async fn create_session(
        &self,
        user_id: i64,
        kind: &str,
        token_hash: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, kind, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(token_hash)
                .bind(user_id)
                .bind(kind)
                .bind(csrf_token)
                .bind(now())
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The live session for a token hash, with its active user.
    pub async fn session(&self, token_hash: &str) -> StoreResult<Option<Session>> {
        let sql = "SELECT s.kind, s.csrf_token, s.expires_at, u.id FROM sessions s JOIN users u ON u.id = s.user_id \
                   WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active";
        let row: Option<(String, String, DateTime<Utc>, i64)> = on_pool!(self, pool => sqlx::query_as(sql).bind(token_hash).bind(now()).fetch_optional(pool).await?);
        let Some((kind, csrf_token, expires_at, user_id)) = row else {
            return Ok(None);
        };
        let user_sql = format!("{USER_SELECT} WHERE u.id = $1");
        let user: UserRow =
            on_pool!(self, pool => sqlx::query_as(&user_sql).bind(user_id).fetch_one(pool).await?);
        Ok(Some(Session {
            user: user.try_into()?,
            kind,
            csrf_token,
            expires_at,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        on_pool!(self, pool => { sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?; });
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        department_id: i64,
        application: &str,
        token_hash: &str,
        token_prefix: &str,
        expires_at: Option<DateTime<Utc>>,
        ctx: &AuditContext,
    ) -> StoreResult<ApiToken> {
        domain::access::check(
            &ctx.caller,
            domain::access::Act::IssueToken {
                department: department_id,
            },
        )?;
        if application.trim().is_empty() {
            return Err(
                domain::ValidationErrors::single("application", "应用系统名称不能为空").into(),
            );
        }
        let sql = format!(
            "INSERT INTO api_tokens (department_id, application, token_hash, token_prefix, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
        );
        self.department(department_id).await?;
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let token: ApiToken = sqlx::query_as(&sql)
                .bind(department_id)
                .bind(application.trim())
                .bind(token_hash)
                .bind(token_prefix)
                .bind(ctx.actor_name())
                .bind(now())
                .bind(expires_at)
                .fetch_one(&mut *tx)
                .await?;
            let mut event = ctx.event("token.create", format!("token:{}", token.id));
            event.after = snapshot(&token);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            Ok(token)
        })
    }

    pub async fn revoke_api_token(&self, id: i64, ctx: &AuditContext) -> StoreResult<ApiToken> {
        let sql = format!("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING {TOKEN_COLUMNS}");
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            let department: Option<i64> = sqlx::query_scalar("SELECT department_id FROM api_tokens WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).fetch_optional(&mut *tx).await?;
            let missing = || StoreError::NotFound(format!("有效的应用令牌 {id}"));
            let department = department.ok_or_else(missing)?;
            // Someone who may not revoke it learns nothing about the token: not found.
            if domain::access::check(&ctx.caller, domain::access::Act::RevokeToken { department }).is_err() {
                return Err(missing());
            }
            let token: Option<ApiToken> = sqlx::query_as(&sql).bind(now()).bind(id).fetch_optional(&mut *tx).await?;
            let token = token.ok_or_else(missing)?;
            let mut event = ctx.event("token.revoke", format!("token:{id}"));
            event.after = snapshot(&token);
            crate::append_audit!(self, tx, event);
            tx.commit().await?;
            self.cache.tokens.invalidate_all();
            Ok(token)
        })
    }

    /// The live (not revoked, not expired) token with this hash; records its use.
    ///
    /// The use is written at most once a minute per token: an application calls many
    /// times a second, and a write per call would serialise them all on the token's row
    /// (and cost a commit each). Revocation and expiry are still checked on every call.
    pub async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let at = now();
        if let Some(token) = self.cache.tokens.get(token_hash) {
            // Expiry is checked on every call; revocation elsewhere is seen within the TTL.
            if token.expires_at.is_none_or(|end| end > at) {
                return Ok(Some(token));
            }
            self.cache.tokens.invalidate(token_hash);
            return Ok(None);
        }
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        let token: Option<ApiToken> = on_pool!(self, pool => sqlx::query_as(&sql).bind(token_hash).bind(at).fetch_optional(pool).await?);
        if let Some(token) = &token {
            let stale = token
                .last_used_at
                .is_none_or(|used| at - used > chrono::Duration::seconds(60));
            if stale {
                on_pool!(self, pool => {
                    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                        .bind(at).bind(token.id).execute(pool).await?;
                });
            }
            self.cache
                .tokens
                .insert(token_hash.to_string(), token.clone());
        }
        Ok(token)
    }

    pub async fn api_tokens(&self, department_id: Option<i64>) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1 IS NULL OR department_id = $1) ORDER BY id");
        Ok(on_pool!(self, pool => sqlx::query_as(&sql).bind(department_id).fetch_all(pool).await?))
    }
}

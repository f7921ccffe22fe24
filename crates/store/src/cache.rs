//! Short-lived copies of what every data API call reads besides the data: the calling
//! token, the entry (its published body), the grant, and the keys under objection.
//!
//! Each entry lives at most [`TTL`]: a change made through another process (several
//! `datahall serve` on one PostgreSQL) is seen within that time. A change made through this
//! process empties the affected cache when it commits, so it is seen at once here. Expiry
//! and revocation are still checked on every call against the cached copy.

use std::sync::Arc;
use std::time::Duration;

use domain::catalogue::ResourceBody;
use moka::sync::Cache;

use crate::resources::Resource;
use crate::sessions::ApiToken;
use crate::sharing::Grant;

/// How long a cached copy may be used.
pub const TTL: Duration = Duration::from_secs(2);
const CAPACITY: u64 = 10_000;

/// The key of a grant: entry, consuming department, application.
pub(crate) type GrantKey = (i64, i64, String);

#[derive(Debug)]
pub(crate) struct ReadCache {
    pub(crate) tokens: Cache<String, ApiToken>,
    pub(crate) entries: Cache<String, Arc<(Resource, ResourceBody)>>,
    pub(crate) grants: Cache<GrantKey, Option<Grant>>,
    pub(crate) flagged: Cache<i64, Arc<Vec<Vec<String>>>>,
}

fn cache<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .time_to_live(TTL)
        .max_capacity(CAPACITY)
        .build()
}

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            tokens: cache(),
            entries: cache(),
            grants: cache(),
            flagged: cache(),
        }
    }
}

impl crate::Store {
    /// A published entry and its published body, as the data API reads it.
    pub async fn published_entry(
        &self,
        code: &str,
    ) -> crate::StoreResult<Arc<(Resource, ResourceBody)>> {
        if let Some(entry) = self.cache.entries.get(code) {
            return Ok(entry);
        }
        let resource = self.resource(code).await?;
        // An entry never published is nobody's to read: "not found", as for a draft.
        if resource.published_version.is_none() {
            return Err(crate::StoreError::NotFound(format!("目录 {code}")));
        }
        let body = self.published_body(&resource).await?;
        let entry = Arc::new((resource, body));
        self.cache.entries.insert(code.to_string(), entry.clone());
        Ok(entry)
    }

    /// The application's active grant on an entry, unexpired at `at`.
    pub async fn current_grant(
        &self,
        resource_id: i64,
        consumer_id: i64,
        application: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> crate::StoreResult<Option<Grant>> {
        let key = (resource_id, consumer_id, application.to_string());
        let grant = match self.cache.grants.get(&key) {
            Some(grant) => grant,
            None => {
                let grant = self
                    .active_grant(resource_id, consumer_id, application, at)
                    .await?;
                self.cache.grants.insert(key, grant.clone());
                grant
            }
        };
        Ok(grant.filter(|g| g.expires_at > at))
    }

    /// Keys of an entry's records under an accepted objection.
    pub async fn current_flagged_keys(
        &self,
        resource_id: i64,
    ) -> crate::StoreResult<Arc<Vec<Vec<String>>>> {
        if let Some(keys) = self.cache.flagged.get(&resource_id) {
            return Ok(keys);
        }
        let keys = Arc::new(self.flagged_keys(resource_id).await?);
        self.cache.flagged.insert(resource_id, keys.clone());
        Ok(keys)
    }
}

//! Refused requests in the audit log, in summary. Every 401 and 403 is audited, but a
//! flood of them (a scanner, a misconfigured client, a password sprayer) must not turn into
//! a flood of fsync'd commits under the write lock, which would stall every real change.
//! Refusals of one caller, source, route and reason are gathered for a second and written
//! as one record that counts them; a second later, in one transaction with all others.
//!
//! The price, stated: refusals of the last second before a crash may be lost (changes are
//! never in this path; they are audited in their own transaction).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use domain::audit::AuditEvent;

use crate::{on_pool, Store, StoreResult};

/// How long refusals are gathered before they are written.
pub const WINDOW: Duration = Duration::from_secs(1);
/// More distinct refusals than this in one window are written at once.
const MAX_PENDING: usize = 10_000;

/// What makes two refusals the same record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    actor: Option<String>,
    role: Option<String>,
    department: Option<String>,
    source_ip: Option<String>,
    action: String,
    target: String,
    detail: Option<String>,
}

impl Key {
    fn of(event: &AuditEvent) -> Self {
        Key {
            actor: event.actor.clone(),
            role: event.role.clone(),
            department: event.department.clone(),
            source_ip: event.source_ip.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            detail: event.detail.clone(),
        }
    }
}

/// Refusals waiting to be written.
#[derive(Debug, Default)]
pub(crate) struct Denials {
    pending: Mutex<Vec<AuditEvent>>,
    index: Mutex<HashMap<Key, usize>>,
    flusher: AtomicBool,
}

impl Denials {
    fn take(&self) -> Vec<AuditEvent> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        self.index.lock().unwrap_or_else(|p| p.into_inner()).clear();
        std::mem::take(&mut *pending)
    }

    /// Adds one refusal; true when the window is full and should be written now.
    fn add(&self, event: AuditEvent) -> bool {
        let key = Key::of(&event);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        match index.get(&key) {
            Some(&at) => pending[at].occurrences = pending[at].occurrences.max(1) + 1,
            None => {
                index.insert(key, pending.len());
                pending.push(AuditEvent {
                    occurrences: 1,
                    ..event
                });
            }
        }
        pending.len() >= MAX_PENDING
    }
}

impl Store {
    /// Audits a refused request: gathered with identical refusals and written within a
    /// second, in summary (see the module's documentation).
    pub async fn record_denial(&self, event: AuditEvent) -> StoreResult<()> {
        if self.denials.add(event) {
            return self.flush_denials().await;
        }
        if !self.denials.flusher.swap(true, Ordering::AcqRel) {
            let store = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(WINDOW).await;
                store.denials.flusher.store(false, Ordering::Release);
                if let Err(error) = store.flush_denials().await {
                    tracing::error!(%error, "could not audit refused requests");
                }
            });
        }
        Ok(())
    }

    /// Writes the refusals gathered so far, in one transaction.
    pub async fn flush_denials(&self) -> StoreResult<()> {
        let events = self.denials.take();
        if events.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool, dialect => {
            let mut tx = crate::begin_write!(pool, dialect);
            for event in events {
                crate::append_audit!(self, tx, event);
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

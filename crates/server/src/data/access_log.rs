//! The data API's access log. Every call waits until its record is durable, and if the
//! record cannot be written the call fails and no data leaves (fail closed). Two ways to
//! make it durable:
//! - in the database, with group commit: the records of concurrent calls share one
//!   transaction, so the log costs one fsync per group rather than one per request;
//! - in a local journal (`access_journal_dir`, see [`store::access_journal`]): one write and
//!   one `fdatasync` per group on this machine's disk, shipped to the database in bulk.

use std::time::Duration;

use store::access_journal::Journal;
use store::data_access::AccessRecord;
use store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Ack = oneshot::Sender<Result<(), String>>;

/// Handle to the log's writer.
#[derive(Clone)]
pub struct AccessLog {
    sink: Sink,
}

#[derive(Clone)]
enum Sink {
    Database(mpsc::Sender<(AccessRecord, Ack)>),
    Journal(Journal),
}

/// The most records one commit carries.
const GROUP: usize = 2_000;
/// How long a page that reads the access log waits for the journal to reach the database.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

impl AccessLog {
    /// Starts the database writer task on the current runtime.
    pub fn start(store: Store) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(AccessRecord, Ack)>(4 * GROUP);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(GROUP);
            while incoming.recv_many(&mut group, GROUP).await > 0 {
                let (records, acks): (Vec<AccessRecord>, Vec<Ack>) = group.drain(..).unzip();
                let result = store
                    .append_access_log(&records)
                    .await
                    .map_err(|e| e.to_string());
                if let Err(error) = &result {
                    tracing::error!(%error, records = records.len(), "access log write failed; data calls refused");
                }
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
        });
        Self {
            sink: Sink::Database(queue),
        }
    }

    /// The log kept in a local journal, opened by the caller.
    pub fn journaled(journal: Journal) -> Self {
        Self {
            sink: Sink::Journal(journal),
        }
    }

    /// Records a call and waits until the record is durable.
    pub async fn record(&self, record: AccessRecord) -> Result<(), ApiError> {
        let unavailable = || ApiError::Unavailable("审计日志不可用，数据访问已暂停".into());
        match &self.sink {
            Sink::Database(queue) => {
                let (ack, done) = oneshot::channel();
                queue.send((record, ack)).await.map_err(|_| unavailable())?;
                match done.await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(unavailable()),
                }
            }
            Sink::Journal(journal) => journal
                .append(record)
                .await
                .map_err(|error| ApiError::Unavailable(format!("{error}"))),
        }
    }

    /// Waits until the calls logged so far can be read from the database (at once
    /// without a journal): the usage pages and the personal access report count them.
    /// `false`: the journal has not reached the database (it is away).
    pub async fn settle(&self) -> bool {
        match &self.sink {
            Sink::Database(_) => true,
            Sink::Journal(journal) => journal.settle(SETTLE_LIMIT).await,
        }
    }

    /// [`AccessLog::settle`] for answers that must be complete: the personal access report
    /// and verification say so rather than answer from part of the log.
    pub async fn settled(&self) -> Result<(), ApiError> {
        if self.settle().await {
            Ok(())
        } else {
            Err(ApiError::Unavailable(
                "访问日志尚未全部送入数据库，请稍后再试".into(),
            ))
        }
    }
}

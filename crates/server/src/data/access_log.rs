//! The data API's access log with group commit: every call waits until its record is
//! committed, but the records of concurrent calls share one transaction, so the log costs
//! one fsync per group rather than one per request. If the log cannot be written, the call
//! fails and no data leaves (fail closed).

use store::data_access::AccessRecord;
use store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

type Ack = oneshot::Sender<Result<(), String>>;

/// Handle to the writer task.
#[derive(Clone)]
pub struct AccessLog {
    queue: mpsc::Sender<(AccessRecord, Ack)>,
}

/// The most records one commit carries.
const GROUP: usize = 2_000;

impl AccessLog {
    /// Starts the writer task on the current runtime.
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
        Self { queue }
    }

    /// Records a call and waits until the record is durable.
    pub async fn record(&self, record: AccessRecord) -> Result<(), ApiError> {
        let unavailable = || ApiError::Unavailable("审计日志不可用，数据访问已暂停".into());
        let (ack, done) = oneshot::channel();
        self.queue
            .send((record, ack))
            .await
            .map_err(|_| unavailable())?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(unavailable()),
        }
    }
}

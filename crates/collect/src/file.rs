//! Importing a file (upload, API or CLI) into a published entry as one batch.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use domain::values::{AcceptedRow, RejectedRow};
use ingest::pipeline::{for_each_row, ColumnMapping, FileFormat, Next};
use sha2::{Digest, Sha256};
use store::batch_writer::{BatchStart, BatchWriter};
use store::batches::BatchReport;
use store::{AuditContext, Store};
use tokio::sync::mpsc;

use crate::{CollectError, CHUNK_ROWS};

/// A file to import.
#[derive(Debug, Clone)]
pub struct FileImport {
    /// The published entry, e.g. `101001/000001`.
    pub code: String,
    pub path: PathBuf,
    pub format: FileFormat,
    /// The uploader's column matches; remembered for the entry when the batch succeeds.
    /// `None` uses the entry's remembered mapping, if any.
    pub mapping: Option<ColumnMapping>,
    /// `upload`, `api` or `import`: combined with the format into the batch's source.
    pub channel: &'static str,
    /// How the batch is recognised when it is submitted again.
    pub identity: BatchIdentity,
}

/// What makes two submissions the same batch (applied once, resumed after a failure).
#[derive(Debug, Clone)]
pub enum BatchIdentity {
    /// The key the client chose: the same key is the same batch, whatever it carries.
    ClientKey(String),
    /// The file's bytes *and* how they are read: the same bytes with another mapping,
    /// encoding, delimiter or sheet, or into a newer version of the entry, are another
    /// batch. `hash` is the file's SHA-256 if already known (spooled uploads hash on
    /// the way in); `None` hashes the file first.
    Content { hash: Option<String> },
}

/// The batch key of a file read with `format` and `mapping` into `version` of the entry.
/// Each setting is written with its name and length, so no two settings collide.
pub fn content_key(
    hash: &str,
    format: &FileFormat,
    mapping: &ColumnMapping,
    version: i64,
) -> String {
    let mut settings: Vec<(String, String)> = vec![
        ("hash".into(), hash.into()),
        ("version".into(), version.to_string()),
        ("format".into(), format.label().into()),
    ];
    match format {
        FileFormat::Csv {
            encoding,
            delimiter,
        } => {
            settings.push(("encoding".into(), format!("{encoding:?}")));
            settings.push((
                "delimiter".into(),
                delimiter.map(|d| d.to_string()).unwrap_or_default(),
            ));
        }
        FileFormat::Xlsx { sheet } => {
            settings.push(("sheet".into(), sheet.clone().unwrap_or_default()));
        }
        FileFormat::Json => {}
    }
    for (column, item) in mapping {
        settings.push((
            format!("map:{column}"),
            item.clone().unwrap_or_else(|| "-".into()),
        ));
    }
    let mut hasher = Sha256::new();
    for (name, value) in &settings {
        for part in [name, value] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    format!("content:{}", hex::encode(hasher.finalize()))
}

/// How far an import has got.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub bytes: u64,
    pub rows: u64,
}

/// Checked rows on their way to the batch writer.
#[derive(Default)]
pub(crate) struct Chunk {
    pub accepted: Vec<AcceptedRow>,
    pub rejected: Vec<RejectedRow>,
    pub progress: Progress,
}

impl Chunk {
    pub fn len(&self) -> usize {
        self.accepted.len() + self.rejected.len()
    }
}

/// Counts the bytes read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An XLSX is read twice (the zip guard, then the sheet) and out of order: the count
/// follows the position, so progress stays within the file's size.
impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let position = self.inner.seek(to)?;
        self.read.store(position, Ordering::Relaxed);
        Ok(position)
    }
}

/// The SHA-256 of a file, streamed.
pub fn file_hash(path: &std::path::Path) -> std::io::Result<String> {
    let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Reads, checks and applies a file as one batch; see [`FileImport`]. A file that cannot
/// be read or mapped at all starts no batch; one that fails half-way leaves a failed batch
/// and the entry's data as it was.
pub async fn import_file(
    store: &Store,
    import: FileImport,
    ctx: &AuditContext,
    progress: impl Fn(Progress) + Send + 'static,
) -> Result<BatchReport, CollectError> {
    let resource = store.resource(&import.code).await?;
    let items = store.published_body(&resource).await?.items;
    let chosen_mapping = import.mapping.clone();
    let mapping = match &chosen_mapping {
        Some(mapping) => mapping.clone(),
        None => store.column_mapping(resource.id).await?.unwrap_or_default(),
    };
    let dedup_key = match &import.identity {
        BatchIdentity::ClientKey(key) => format!("key:{key}"),
        BatchIdentity::Content { hash } => {
            let hash = match hash {
                Some(hash) => hash.clone(),
                None => {
                    let path = import.path.clone();
                    tokio::task::spawn_blocking(move || file_hash(&path))
                        .await
                        .map_err(|e| CollectError::File(e.to_string()))?
                        .map_err(|e| CollectError::File(format!("读取文件失败：{e}")))?
                }
            };
            let version = resource.published_version.unwrap_or_default();
            content_key(&hash, &import.format, &mapping, version)
        }
    };
    let (sender, mut receiver) = mpsc::channel::<Result<Chunk, CollectError>>(4);
    let path = import.path.clone();
    let format = import.format.clone();
    let reader =
        tokio::task::spawn_blocking(move || read_chunks(&path, &format, &items, &mapping, &sender));
    // Nothing is started for a file that fails before its first rows.
    let first = match receiver.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(error)) => return Err(error),
        None => return Err(join_error(reader.await)),
    };
    let source = format!("{}:{}", import.channel, import.format.label());
    let mut writer = match store
        .begin_batch(&import.code, &source, Some(&dedup_key), ctx)
        .await?
    {
        BatchStart::AlreadyApplied(report) => return Ok(report),
        BatchStart::Started(writer) => writer,
    };
    progress(first.progress);
    if let Err(error) = writer.write(&first.accepted, &first.rejected).await {
        return Err(abandon(writer, error.into()).await);
    }
    if let Err(error) = pump(&mut writer, &mut receiver, &progress).await {
        return Err(abandon(writer, error).await);
    }
    drop(receiver);
    if let Err(error) = reader.await {
        return Err(abandon(writer, CollectError::File(error.to_string())).await);
    }
    let report = writer.finish().await?;
    if let Some(mapping) = chosen_mapping {
        let actor = ctx.actor_name();
        store
            .save_column_mapping(resource.id, &mapping, &actor)
            .await?;
    }
    Ok(report)
}

fn join_error(joined: Result<(), tokio::task::JoinError>) -> CollectError {
    match joined {
        Ok(()) => CollectError::File("文件只有表头，没有数据行".into()),
        Err(e) => CollectError::File(format!("读取文件失败：{e}")),
    }
}

/// Writes chunks as they arrive until the reader is done or reports an error.
pub(crate) async fn pump(
    writer: &mut BatchWriter,
    receiver: &mut mpsc::Receiver<Result<Chunk, CollectError>>,
    progress: &(impl Fn(Progress) + Send),
) -> Result<(), CollectError> {
    while let Some(chunk) = receiver.recv().await {
        let chunk = chunk?;
        writer.write(&chunk.accepted, &chunk.rejected).await?;
        progress(chunk.progress);
    }
    Ok(())
}

/// Marks the batch failed and returns the error that failed it.
pub(crate) async fn abandon(writer: Box<BatchWriter>, error: CollectError) -> CollectError {
    if let Err(store_error) = writer.fail(&error.to_string()).await {
        tracing::error!(%store_error, "could not mark a batch failed");
    }
    error
}

/// On a blocking thread: reads and checks the file, sending chunks of rows. Stops early
/// when the receiver is gone.
fn read_chunks(
    path: &std::path::Path,
    format: &FileFormat,
    items: &[domain::catalogue::Item],
    mapping: &ColumnMapping,
    sender: &mpsc::Sender<Result<Chunk, CollectError>>,
) {
    let read = Arc::new(AtomicU64::new(0));
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => {
            let _ = sender.blocking_send(Err(CollectError::File(format!("读取文件失败：{e}"))));
            return;
        }
    };
    let reader = Counting {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        read: read.clone(),
    };
    let mut chunk = Chunk::default();
    let mut rows = 0;
    let outcome = for_each_row(reader, format, items, mapping, |row| {
        rows += 1;
        match row {
            Ok(row) => chunk.accepted.push(row),
            Err(row) => chunk.rejected.push(row),
        }
        if chunk.len() < CHUNK_ROWS {
            return Next::Continue(());
        }
        chunk.progress = Progress {
            bytes: read.load(Ordering::Relaxed),
            rows,
        };
        match sender.blocking_send(Ok(std::mem::take(&mut chunk))) {
            Ok(()) => Next::Continue(()),
            Err(_) => Next::Break(()),
        }
    });
    let last = match outcome {
        Ok(_) => {
            chunk.progress = Progress {
                bytes: read.load(Ordering::Relaxed),
                rows,
            };
            Ok(chunk)
        }
        Err(error) => Err(error.into()),
    };
    let _ = sender.blocking_send(last);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_read_another_way_have_another_key() {
        let csv = FileFormat::Csv {
            encoding: ingest::csv_file::TextEncoding::Auto,
            delimiter: None,
        };
        let wrong =
            ingest::pipeline::parse_mapping("证件号码=full_name,名字=公民身份号码").unwrap();
        let right =
            ingest::pipeline::parse_mapping("证件号码=公民身份号码,名字=full_name").unwrap();
        let key = |format: &FileFormat, mapping: &ColumnMapping, version| {
            content_key("sha256:ab", format, mapping, version)
        };
        assert_eq!(key(&csv, &right, 1), key(&csv, &right, 1));
        assert_ne!(key(&csv, &wrong, 1), key(&csv, &right, 1));
        assert_ne!(
            key(&csv, &right, 1),
            key(&csv, &right, 2),
            "a newer version"
        );
        let semicolons = FileFormat::Csv {
            encoding: ingest::csv_file::TextEncoding::Auto,
            delimiter: Some(b';'),
        };
        assert_ne!(key(&csv, &right, 1), key(&semicolons, &right, 1));
        let sheet = |name: &str| FileFormat::Xlsx {
            sheet: Some(name.into()),
        };
        assert_ne!(
            key(&sheet("数据"), &right, 1),
            key(&sheet("说明"), &right, 1)
        );
    }
}

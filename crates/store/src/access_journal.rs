//! The access log's local journal (访问日志的本地日志段): each data call's record is
//! appended to a checksummed segment file and made durable by one `fdatasync` per group
//! before the answer leaves (if the file cannot be written, the call fails: fail closed),
//! then shipped to the database in bulk by a background task.
//!
//! Why: written straight to the database, every group of calls waits for a statement, its
//! WAL and a round trip while the database also answers the calls themselves; appended to
//! a local file a group costs one write and one `fdatasync`, and the database receives the
//! rows a few thousand at a time.
//!
//! What keeps it as safe as the database:
//! - every record is sealed when it is journaled, over its fields and its place in the
//!   journal (`journal`, `seq`), so a record changed in the file before it is shipped no
//!   longer verifies;
//! - sequence numbers are dense from 1 in each journal, and the database keeps
//!   `(journal, journal_seq)` unique: verification finds a record removed from the file
//!   before it was shipped as a gap, and a batch shipped twice is stored once;
//! - frames are `u32` length, `u32` CRC-32 of the payload, payload (JSON): a crash can
//!   leave a torn last group, which was never acknowledged and is dropped at the next start
//!   (the segment kept aside as `*.damaged`); damage anywhere else (an earlier segment, or a
//!   frame the shipper finds wrong after it was synced) is not a crash but a changed or
//!   failing disk: the journal stops taking calls, and a start refuses to ship past it;
//! - shipping is strictly in order: a shipment must start right after what the database
//!   holds, and a frame the database already holds must be the same call (its request id),
//!   so a copied or edited journal directory cannot make records vanish as "already there";
//! - after any failed write or `fdatasync` the journal refuses every later record until the
//!   process restarts (after a failed `fdatasync` the page cache no longer says what is on
//!   disk), and the next start ships whatever the file holds intact;
//! - a directory is used by one process at a time (an exclusive lock; the directory and
//!   its files are the service account's alone, mode 0700/0600), and the next start ships
//!   what the last one left before it takes a call;
//! - past [`MAX_BACKLOG`] records not yet in the database (the database away), calls are
//!   refused rather than the disk filled.
//!
//! What it cannot do: records acknowledged but not yet shipped (a fraction of a second's
//! worth) live only on this machine's disk until they are: losing the disk loses them, and
//! someone who can write the directory can remove that unshipped tail without a trace (as
//! the tail of any log before its next anchor). A record whose `fdatasync` failed, or that
//! was synced just before a crash, may be shipped although its call was refused or never
//! answered: the log can hold a call too many, never one too few.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::data_access::AccessRecord;
use crate::{Store, StoreError};

/// The most records one write and `fdatasync` carries.
const GROUP: usize = 4_000;
/// A new segment is started past this size; shipped segments are deleted.
const SEGMENT_BYTES: u64 = 64 << 20;
/// A group is written once it holds this many bytes of frames (records with many subjects
/// are large).
const GROUP_BYTES: usize = 4 << 20;
/// Records not yet shipped past which calls are refused (a few hundred MB of journal).
pub const MAX_BACKLOG: i64 = 500_000;
/// The most records one shipping transaction carries.
const SHIP_CHUNK: usize = 5_000;
/// The largest frame read back: a longer length is damage, not a record.
const MAX_FRAME: u32 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("访问日志目录 {dir} 不可用：{source}")]
    Io {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("访问日志目录 {0} 正由另一个进程使用")]
    Locked(String),
    #[error("访问日志写入失败，数据访问已暂停，重启服务后恢复")]
    Failed,
    #[error("尚未送入数据库的访问记录过多（数据库不可用？），数据访问已暂停")]
    Backlog,
    #[error("访问日志段 {0} 已损坏或被改动，已停止送入数据库；请核查该文件后再启动")]
    Damaged(String),
    #[error("单条访问记录过大")]
    TooLarge,
    #[error("访问日志已关闭")]
    Closed,
    #[error("访问日志送入数据库失败：{0}")]
    Store(#[from] StoreError),
}

/// One record as the journal keeps it (and ships it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournaledRecord {
    pub seq: i64,
    pub seal: Option<String>,
    pub record: AccessRecord,
}

/// How the journal runs; [`JournalOptions::default`] in production.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// How often new records are shipped to the database.
    pub ship_every: Duration,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            ship_every: Duration::from_millis(100),
        }
    }
}

/// Handle to a journal directory: its writer thread and its shipping task.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Message>,
    tasks: Arc<std::sync::Mutex<Tasks>>,
}

struct Tasks {
    writer: Option<std::thread::JoinHandle<()>>,
    shipper: Option<tokio::task::JoinHandle<()>>,
}

/// What the writer receives: a record, or `None` to stop.
type Message = Option<Pending>;

struct Pending {
    record: AccessRecord,
    ack: oneshot::Sender<Result<(), JournalError>>,
}

struct Shared {
    id: i64,
    dir: PathBuf,
    /// The highest sequence number made durable.
    durable: AtomicI64,
    /// The highest sequence number in the database.
    shipped: watch::Sender<i64>,
    /// Asks the shipping task to ship now (someone waits in [`Journal::settle`]).
    ship_now: Notify,
    failed: AtomicBool,
    stopping: AtomicBool,
    /// The first sequence number of the segment being written (0: none yet): the shipper
    /// never deletes it.
    writing: AtomicI64,
    /// Held until [`Journal::stop`]: one process per directory.
    lock: std::sync::Mutex<Option<File>>,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, ships what an earlier process left there,
    /// and starts the writer thread and the shipping task on the current runtime.
    pub async fn open(
        dir: &Path,
        store: Store,
        options: JournalOptions,
    ) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io {
            dir: dir.display().to_string(),
            source,
        };
        private_dir(dir).map_err(io)?;
        let lock = private_file(&dir.join("lock")).map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(JournalError::Locked(dir.display().to_string()));
        }
        let id = journal_id(dir).map_err(io)?;
        let mut shipped = store.journal_shipped(id).await?;
        let left = segments(dir).map_err(io)?;
        for (n, segment) in left.iter().enumerate() {
            let mut offset = 0;
            loop {
                let read = read_frames(segment, offset, i64::MAX, SHIP_CHUNK).map_err(io)?;
                let fresh: Vec<JournaledRecord> = read
                    .frames
                    .into_iter()
                    .filter(|f| f.seq > shipped)
                    .collect();
                store.ship_journaled(id, &fresh).await?;
                shipped = fresh.last().map_or(shipped, |f| f.seq);
                offset = read.offset;
                if read.damaged {
                    // A crash tears at most the last group of the last segment; anything
                    // else is a changed or failing disk, and nothing past it is shipped.
                    let kept = segment.with_extension("damaged");
                    std::fs::rename(segment, &kept).map_err(io)?;
                    if n + 1 < left.len() {
                        return Err(JournalError::Damaged(kept.display().to_string()));
                    }
                    tracing::warn!(segment = %kept.display(), offset, "access journal ends in a torn group (never acknowledged); kept aside");
                    break;
                }
                if read.end {
                    std::fs::remove_file(segment).map_err(io)?;
                    break;
                }
            }
        }
        sync_dir(dir).map_err(io)?;
        tracing::info!(journal = %id, shipped, dir = %dir.display(), "access journal open");
        let (shipped_tx, _) = watch::channel(shipped);
        let shared = Arc::new(Shared {
            id,
            dir: dir.to_path_buf(),
            durable: AtomicI64::new(shipped),
            shipped: shipped_tx,
            ship_now: Notify::new(),
            failed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            writing: AtomicI64::new(0),
            lock: std::sync::Mutex::new(Some(lock)),
        });
        let (queue, incoming) = mpsc::channel(4 * GROUP);
        let writer = Writer {
            shared: shared.clone(),
            store: store.clone(),
            next_seq: shipped + 1,
            segment: None,
        };
        let writer = std::thread::Builder::new()
            .name("access-journal".into())
            .spawn(move || writer.run(incoming))
            .map_err(io)?;
        let shipper = tokio::spawn(ship_forever(shared.clone(), store, options));
        let tasks = Tasks {
            writer: Some(writer),
            shipper: Some(shipper),
        };
        Ok(Self {
            shared,
            queue,
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        })
    }

    /// Stops writing and shipping, and gives the directory up. What is not shipped yet
    /// stays in the journal for the next start ([`Journal::settle`] first to ship it now).
    /// Later records are refused.
    pub async fn stop(&self) {
        self.shared.stopping.store(true, Ordering::Release);
        self.shared.ship_now.notify_one();
        let _ = self.queue.send(None).await;
        let (writer, shipper) = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            (tasks.writer.take(), tasks.shipper.take())
        };
        if let Some(writer) = writer {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        if let Some(mut shipper) = shipper {
            // A shipment stuck on the database must not hold the process up.
            if tokio::time::timeout(Duration::from_secs(10), &mut shipper)
                .await
                .is_err()
            {
                shipper.abort();
            }
        }
        self.shared
            .lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }

    /// The journal's identifier, as the database's rows name it.
    pub fn id(&self) -> i64 {
        self.shared.id
    }

    /// Journals a record and waits until it is durable.
    pub async fn append(&self, record: AccessRecord) -> Result<(), JournalError> {
        let (ack, done) = oneshot::channel();
        self.queue
            .send(Some(Pending { record, ack }))
            .await
            .map_err(|_| JournalError::Closed)?;
        done.await.map_err(|_| JournalError::Closed)?
    }

    /// Waits (up to `limit`) until every record durable now is in the database, so that
    /// pages that read the access log see the calls made before them. `false`: it is not.
    pub async fn settle(&self, limit: Duration) -> bool {
        let target = self.shared.durable.load(Ordering::Acquire);
        let mut shipped = self.shared.shipped.subscribe();
        self.shared.ship_now.notify_one();
        let settled = tokio::time::timeout(limit, shipped.wait_for(|s| *s >= target))
            .await
            .is_ok_and(|reached| reached.is_ok());
        settled
    }

    /// Records durable but not yet in the database.
    pub fn backlog(&self) -> i64 {
        self.shared.durable.load(Ordering::Acquire) - *self.shared.shipped.borrow()
    }
}

/// The journal's identifier, made once per directory: sequence numbers are dense within it.
/// A random positive 63-bit number, written once: two directories never share one.
fn journal_id(dir: &Path) -> std::io::Result<i64> {
    let path = dir.join("journal-id");
    match std::fs::read_to_string(&path) {
        Ok(id) => {
            return id.trim().parse().map_err(|_| {
                std::io::Error::other(format!("{} is not a journal number", path.display()))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let random = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    );
    let id = (random >> 1) as i64;
    let temporary = dir.join("journal-id.new");
    let mut file = private_file(&temporary)?;
    file.set_len(0)?;
    file.write_all(id.to_string().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, &path)?;
    sync_dir(dir)?;
    Ok(id)
}

/// The directory's segments, oldest first (each named by its first sequence number).
fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<(i64, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(seq) = segment_first_seq(&path) {
            found.push((seq, path));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The first sequence number of a segment, from its name.
fn segment_first_seq(path: &Path) -> Option<i64> {
    path.file_name()?
        .to_str()?
        .strip_suffix(".seg")?
        .parse()
        .ok()
}

fn segment_path(dir: &Path, first_seq: i64) -> PathBuf {
    dir.join(format!("{first_seq:020}.seg"))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory, made the service account's alone (0700): the records name tokens,
/// applications and, hashed, people.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Opens (creating) a file only the service account can read (0600).
fn private_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Appends one frame for `entry` to `out`; a record too large to read back is refused.
fn encode(entry: &JournaledRecord, out: &mut Vec<u8>) -> Result<(), JournalError> {
    let payload = serde_json::to_vec(entry).map_err(|_| JournalError::TooLarge)?;
    if payload.is_empty() || payload.len() > MAX_FRAME as usize {
        return Err(JournalError::TooLarge);
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(())
}

/// What reading frames from an offset found.
struct FrameRead {
    frames: Vec<JournaledRecord>,
    /// Where the next unread frame starts.
    offset: u64,
    /// A frame whose length, checksum or content is wrong (or cut short) stopped the read.
    damaged: bool,
    /// The read reached the end of the file, cleanly.
    end: bool,
}

/// Reads frames from `offset`: at most `limit`, none past `max_seq`.
fn read_frames(path: &Path, offset: u64, max_seq: i64, limit: usize) -> std::io::Result<FrameRead> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut read = FrameRead {
        frames: Vec::new(),
        offset,
        damaged: false,
        end: false,
    };
    let mut header = [0u8; 8];
    while read.frames.len() < limit {
        match read_up_to(&mut reader, &mut header)? {
            8 => {}
            0 => {
                read.end = true;
                break;
            }
            _ => {
                // A header cut short is a torn write.
                read.damaged = true;
                break;
            }
        }
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let checksum = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if length == 0 || length > MAX_FRAME {
            read.damaged = true;
            break;
        }
        let mut payload = vec![0u8; length as usize];
        if read_up_to(&mut reader, &mut payload)? != payload.len()
            || crc32fast::hash(&payload) != checksum
        {
            read.damaged = true;
            break;
        }
        let Ok(frame) = serde_json::from_slice::<JournaledRecord>(&payload) else {
            read.damaged = true;
            break;
        };
        if frame.seq > max_seq {
            break;
        }
        read.offset += 8 + u64::from(length);
        read.frames.push(frame);
    }
    Ok(read)
}

/// Fills `buffer` as far as the file goes; returns how much it filled.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The writer thread: groups records, writes and syncs them, acknowledges them.
struct Writer {
    shared: Arc<Shared>,
    store: Store,
    next_seq: i64,
    /// The segment being written and its length.
    segment: Option<(File, u64)>,
}

impl Pending {
    /// About how many bytes its frame takes.
    fn size(&self) -> usize {
        600 + 70 * self.record.subjects.len()
    }
}

impl Writer {
    fn run(mut self, mut incoming: mpsc::Receiver<Message>) {
        let mut group = Vec::with_capacity(GROUP);
        let mut stop = false;
        while !stop {
            match incoming.blocking_recv() {
                Some(Some(first)) => group.push(first),
                Some(None) | None => break,
            }
            let mut size: usize = group.iter().map(Pending::size).sum();
            while group.len() < GROUP && size < GROUP_BYTES {
                match incoming.try_recv() {
                    Ok(Some(next)) => {
                        size += next.size();
                        group.push(next);
                    }
                    Ok(None) => {
                        stop = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            let answers = self.write(&group);
            for (pending, answer) in group.drain(..).zip(answers) {
                let _ = pending.ack.send(answer);
            }
        }
    }

    /// Writes a group and makes it durable; the answer for each of its records.
    fn write(&mut self, group: &[Pending]) -> Vec<Result<(), JournalError>> {
        let refuse_all = |error: fn() -> JournalError| group.iter().map(|_| Err(error())).collect();
        if self.shared.failed.load(Ordering::Acquire) {
            return refuse_all(|| JournalError::Failed);
        }
        if self.next_seq - 1 - *self.shared.shipped.borrow() >= MAX_BACKLOG {
            return refuse_all(|| JournalError::Backlog);
        }
        let mut bytes = Vec::with_capacity(group.iter().map(Pending::size).sum());
        let mut answers = Vec::with_capacity(group.len());
        let mut seq = self.next_seq;
        for pending in group {
            let entry = JournaledRecord {
                seq,
                seal: self
                    .store
                    .seal(&pending.record.journaled_seal_message(self.shared.id, seq)),
                record: pending.record.clone(),
            };
            match encode(&entry, &mut bytes) {
                Ok(()) => {
                    seq += 1;
                    answers.push(Ok(()));
                }
                Err(error) => answers.push(Err(error)),
            }
        }
        if seq == self.next_seq {
            return answers;
        }
        if let Err(error) = self.write_durably(&bytes) {
            // After a failed write or fdatasync the file's state is unknown: take nothing
            // more until a restart has read back what is intact.
            self.shared.failed.store(true, Ordering::Release);
            tracing::error!(%error, records = group.len(), dir = %self.shared.dir.display(),
                "access journal write failed; data calls refused until restart");
            return refuse_all(|| JournalError::Failed);
        }
        self.next_seq = seq;
        self.shared.durable.store(seq - 1, Ordering::Release);
        answers
    }

    fn write_durably(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self
            .segment
            .as_ref()
            .is_none_or(|(_, length)| *length >= SEGMENT_BYTES)
        {
            let path = segment_path(&self.shared.dir, self.next_seq);
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
            // The new file's name must be durable before a record in it is acknowledged.
            sync_dir(&self.shared.dir)?;
            self.shared.writing.store(self.next_seq, Ordering::Release);
            self.segment = Some((file, 0));
        }
        let (file, length) = self.segment.as_mut().expect("a segment is open");
        file.write_all(bytes)?;
        file.sync_data()?;
        *length += bytes.len() as u64;
        Ok(())
    }
}

/// The shipping task: every `ship_every` (or when someone settles), what is durable goes
/// to the database; a failure is retried, the records stay in the journal meanwhile.
async fn ship_forever(shared: Arc<Shared>, store: Store, options: JournalOptions) {
    let mut cursor: Option<(PathBuf, u64)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(options.ship_every) => {}
            _ = shared.ship_now.notified() => {}
        }
        if shared.stopping.load(Ordering::Acquire) {
            return;
        }
        if let Err(error) = ship_durable(&shared, &store, &mut cursor).await {
            tracing::warn!(%error, backlog = shared.durable.load(Ordering::Acquire) - *shared.shipped.borrow(),
                "access journal not shipped yet; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Ships every durable record, segment by segment, deleting the segments the writer has
/// moved on from.
async fn ship_durable(
    shared: &Shared,
    store: &Store,
    cursor: &mut Option<(PathBuf, u64)>,
) -> Result<(), JournalError> {
    let io = |source| JournalError::Io {
        dir: shared.dir.display().to_string(),
        source,
    };
    let durable = shared.durable.load(Ordering::Acquire);
    loop {
        let shipped = *shared.shipped.borrow();
        if shipped >= durable {
            return Ok(());
        }
        if cursor.is_none() {
            let dir = shared.dir.clone();
            let oldest = tokio::task::spawn_blocking(move || segments(&dir))
                .await
                .map_err(|e| io(std::io::Error::other(e)))?
                .map_err(io)?;
            let Some(oldest) = oldest.into_iter().next() else {
                return Ok(());
            };
            *cursor = Some((oldest, 0));
        }
        let (path, offset) = cursor.clone().expect("a segment is chosen");
        let reading = path.clone();
        let read =
            tokio::task::spawn_blocking(move || read_frames(&reading, offset, durable, SHIP_CHUNK))
                .await
                .map_err(|e| io(std::io::Error::other(e)))?
                .map_err(io)?;
        let fresh: Vec<JournaledRecord> = read
            .frames
            .into_iter()
            .filter(|f| f.seq > shipped)
            .collect();
        if let Some(last) = fresh.last().map(|f| f.seq) {
            store.ship_journaled(shared.id, &fresh).await?;
            shared.shipped.send_replace(last);
            *cursor = Some((path, read.offset));
            continue;
        }
        let written_now = segment_first_seq(&path) == Some(shared.writing.load(Ordering::Acquire));
        if read.damaged || written_now {
            // A frame synced by this process reads back wrong, or is missing from the
            // segment still being written: the disk or someone changed it. Take no more
            // calls, and keep the segment for whoever looks into it.
            shared.failed.store(true, Ordering::Release);
            tracing::error!(segment = %path.display(), offset, "access journal segment damaged after it was written; data calls refused");
            return Err(JournalError::Damaged(path.display().to_string()));
        }
        // Nothing durable is left here, yet some is not shipped: the writer has moved to a
        // later segment, and this one is finished.
        std::fs::remove_file(&path).map_err(io)?;
        *cursor = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: i64) -> JournaledRecord {
        JournaledRecord {
            seq: n,
            seal: Some(format!("seal-{n}")),
            record: AccessRecord {
                at: chrono::Utc::now(),
                token_id: Some(1),
                department_id: Some(2),
                application: Some("低保审批系统".into()),
                resource_id: Some(3),
                endpoint: "record".into(),
                items: "id_number".into(),
                filter_shape: String::new(),
                row_count: 1,
                outcome: "ok".into(),
                status: 200,
                latency_us: 500,
                request_id: format!("r{n}"),
                subjects: vec!["subject".into()],
            },
        }
    }

    #[test]
    fn frames_read_back_up_to_a_torn_or_changed_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.seg");
        let mut bytes = Vec::new();
        for n in 1..=3 {
            encode(&record(n), &mut bytes).unwrap();
        }
        let whole = bytes.len();
        // A torn fourth frame: its header and half its payload.
        let mut fourth = Vec::new();
        encode(&record(4), &mut fourth).unwrap();
        bytes.extend_from_slice(&fourth[..fourth.len() / 2]);
        std::fs::write(&path, &bytes).unwrap();
        let read = read_frames(&path, 0, i64::MAX, usize::MAX).unwrap();
        assert_eq!(
            read.frames.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(read.offset, whole as u64);
        assert!(read.damaged);

        // Not past `max_seq`, and on from an offset.
        let first = read_frames(&path, 0, 2, usize::MAX).unwrap();
        assert_eq!(first.frames.len(), 2);
        assert!(!first.damaged);
        let rest = read_frames(&path, first.offset, 3, usize::MAX).unwrap();
        assert_eq!(rest.frames.iter().map(|f| f.seq).collect::<Vec<_>>(), [3]);

        // One byte of the second frame's payload changed: its checksum stops the read.
        bytes[first.offset as usize - 5] ^= 1;
        std::fs::write(&path, &bytes[..whole]).unwrap();
        let changed = read_frames(&path, 0, i64::MAX, usize::MAX).unwrap();
        assert_eq!(changed.frames.len(), 1);
        assert!(changed.damaged);
    }

    #[test]
    fn a_zeroed_header_is_damage_and_the_end_of_the_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.seg");
        let mut bytes = Vec::new();
        encode(&record(1), &mut bytes).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let read = read_frames(&path, 0, i64::MAX, usize::MAX).unwrap();
        assert_eq!(
            (read.frames.len(), read.damaged, read.end),
            (1, false, true)
        );
        // No frame is empty: zeros where a header should be are a changed or failing disk.
        bytes.extend_from_slice(&[0; 64]);
        std::fs::write(&path, &bytes).unwrap();
        let read = read_frames(&path, 0, i64::MAX, usize::MAX).unwrap();
        assert_eq!(
            (read.frames.len(), read.damaged, read.end),
            (1, true, false)
        );
    }

    #[test]
    fn a_record_too_large_to_read_back_is_refused() {
        let mut huge = record(1);
        huge.record.items = "x".repeat(MAX_FRAME as usize);
        let mut bytes = Vec::new();
        assert!(matches!(
            encode(&huge, &mut bytes),
            Err(JournalError::TooLarge)
        ));
        assert!(bytes.is_empty());
    }

    #[test]
    fn segments_are_listed_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for first in [1_000_001, 1, 4_001] {
            std::fs::write(segment_path(dir.path(), first), b"").unwrap();
        }
        std::fs::write(dir.path().join("journal-id"), b"x").unwrap();
        let names: Vec<String> = segments(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "00000000000000000001.seg",
                "00000000000000004001.seg",
                "00000000000001000001.seg"
            ]
        );
    }
}

//! `datahall import --resource CODE FILE`: an operator loads a department's export into a
//! published entry from the command line, with a progress bar (bytes/s and ETA).

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use store::{AuditContext, Store};

#[derive(Args)]
pub struct ImportArgs {
    /// The published entry's code, e.g. 101001/000001.
    #[arg(long)]
    resource: String,
    /// A CSV (UTF-8 or GBK), XLSX (first sheet) or NDJSON (.ndjson/.json) file.
    file: PathBuf,
    /// auto, utf8 or gb18030.
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// One character; sniffed from the header when absent.
    #[arg(long)]
    delimiter: Option<char>,
}

/// Hashes what passes through, so the file is read once for both checking and identity.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

pub async fn run(store: &Store, args: ImportArgs, ctx: &AuditContext) -> anyhow::Result<()> {
    use ingest::csv_file::TextEncoding;
    let resource = store.resource(&args.resource).await?;
    let items = store.published_body(&resource).await?.items;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata()?.len();
    let bar = ProgressBar::new(size);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
    )?);
    let mut reader = Hashing {
        inner: bar.wrap_read(std::io::BufReader::new(file)),
        hasher: Sha256::new(),
    };
    let name = args.file.to_string_lossy().to_lowercase();
    let (checked, source) = if name.ends_with(".ndjson") || name.ends_with(".json") {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        (ingest::pipeline::check_json(&bytes, &items)?, "import:json")
    } else if name.ends_with(".xlsx") {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        (ingest::pipeline::check_xlsx(&bytes, &items)?, "import:xlsx")
    } else {
        let encoding = match args.encoding.as_str() {
            "auto" => TextEncoding::Auto,
            "utf8" | "utf-8" => TextEncoding::Utf8,
            "gb18030" | "gbk" => TextEncoding::Gb18030,
            other => anyhow::bail!("unknown encoding {other:?}: use auto, utf8 or gb18030"),
        };
        let delimiter = args
            .delimiter
            .map(|d| u8::try_from(d).context("the delimiter must be one ASCII character"))
            .transpose()?;
        let checked =
            ingest::pipeline::check_csv(&mut reader, encoding, delimiter, &items, |rows| {
                if rows % 10_000 == 0 {
                    bar.set_message(format!("{rows} rows"));
                }
            })?;
        (checked, "import:csv")
    };
    bar.finish_and_clear();
    let hash = hex::encode(reader.hasher.finalize());
    let (accepted, rejected) = checked;
    let report = store
        .apply_batch(&resource.code, source, &hash, &accepted, &rejected, ctx)
        .await?;
    println!(
        "batch {}: {} rows received, {} accepted, {} quarantined, {} repeated keys (last wins)",
        report.id,
        report.rows_received,
        report.rows_accepted,
        report.rows_quarantined,
        report.duplicate_keys
    );
    for row in store.quarantine(report.id).await?.iter().take(20) {
        eprintln!(
            "line {}: {} {} — {}",
            row.line,
            row.column.as_deref().unwrap_or("-"),
            row.value.as_deref().unwrap_or(""),
            row.reason
        );
    }
    Ok(())
}

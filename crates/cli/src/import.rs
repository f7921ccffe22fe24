//! `datahall import --resource CODE FILE`: an operator loads a department's export into a
//! published entry from the command line, with a progress bar (rows/s and ETA by bytes).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use collect::file::{FileImport, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::csv_file::TextEncoding;
use ingest::pipeline::{parse_mapping, FileFormat};
use store::{AuditContext, Store};

#[derive(Args)]
pub struct ImportArgs {
    /// The published entry's code, e.g. 101001/000001.
    #[arg(long)]
    resource: String,
    /// A CSV (UTF-8 or GBK), XLSX or JSON (.json array / .ndjson) file.
    file: PathBuf,
    /// CSV: auto, utf8 or gb18030.
    #[arg(long, default_value = "auto")]
    encoding: String,
    /// CSV: one character; sniffed from the header when absent.
    #[arg(long)]
    delimiter: Option<char>,
    /// XLSX: the sheet to read (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Column matches, `file column=ITEM,other=-` (`-` ignores a column), or `@FILE`
    /// holding them. Remembered for the entry once the batch succeeds.
    #[arg(long)]
    mapping: Option<String>,
}

fn format_of(args: &ImportArgs) -> anyhow::Result<FileFormat> {
    Ok(
        match FileFormat::from_file_name(&args.file.to_string_lossy()) {
            FileFormat::Xlsx { .. } => FileFormat::Xlsx {
                sheet: args.sheet.clone(),
            },
            FileFormat::Csv { .. } => FileFormat::Csv {
                encoding: TextEncoding::from_name(&args.encoding).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown encoding {:?}: use auto, utf8 or gb18030",
                        args.encoding
                    )
                })?,
                delimiter: args
                    .delimiter
                    .map(|d| u8::try_from(d).context("the delimiter must be one ASCII character"))
                    .transpose()?,
            },
            json => json,
        },
    )
}

pub async fn run(store: &Store, args: ImportArgs, ctx: &AuditContext) -> anyhow::Result<()> {
    let format = format_of(&args)?;
    let mapping = match args.mapping.as_deref() {
        None => None,
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the mapping file {path}"))?,
                None => text.to_string(),
            };
            Some(parse_mapping(&text)?)
        }
    };
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?
        .len();
    let bar = ProgressBar::new(size);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {bytes}/{total_bytes} ETA {eta} {msg}",
    )?);
    let started = Instant::now();
    let shown = bar.clone();
    let report = collect::file::import_file(
        store,
        FileImport {
            code: args.resource.clone(),
            path: args.file.clone(),
            format,
            mapping,
            channel: "import",
            identity: collect::file::BatchIdentity::Content { hash: None },
        },
        ctx,
        move |progress: Progress| {
            shown.set_position(progress.bytes);
            let rate = progress.rows as f64 / started.elapsed().as_secs_f64().max(0.001);
            shown.set_message(format!("{} rows, {:.0} rows/s", progress.rows, rate));
        },
    )
    .await;
    bar.finish_and_clear();
    let report = report?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "batch {}: {} rows received, {} accepted, {} quarantined, {} repeated keys (last wins) in {:.1} s ({:.0} rows/s)",
        report.id,
        report.rows_received,
        report.rows_accepted,
        report.rows_quarantined,
        report.duplicate_keys,
        seconds,
        report.rows_received as f64 / seconds.max(0.001),
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

//! Readers and writers of the files departments exchange with the bureau, starting with the
//! XLSX catalogue template.
//!
//! Architecture invariant: this crate reads and writes department files; no database, no
//! HTTP. It turns bytes into `domain` values (and back) and reports every problem with the
//! place in the file where it is; storing, authorising and serving are other crates' jobs.

pub mod catalogue_xlsx;
pub mod csv_file;
pub mod pipeline;

pub use catalogue_xlsx::{
    blank_template, read_template, write_template, CellProblem, ImportedEntry, TemplateEntry,
    TemplateError, TemplateImport, MAX_UNZIPPED_BYTES,
};

//! Rules of collection that guard an entry's data against its own source.

/// Entries holding fewer rows than this are not guarded: re-collecting them is cheap, and
/// a small table legitimately changes by large shares.
pub const GUARDED_FROM_ROWS: i64 = 10;

/// A reconciling pull (a full read, or a periodic key reconciliation) may delete at most
/// this share of the rows an entry holds without a person's confirmation. A source that
/// suddenly lacks most of its rows is far more often a broken view, a half-finished
/// reload, a wrong account or a filter than a real mass deletion, and an empty 户籍 entry
/// stops every department that reads it.
pub const MAX_UNCONFIRMED_DELETION_SHARE: f64 = 0.5;

/// Whether deleting `deleting` of the `held` rows needs the provider's confirmation.
pub fn deletion_needs_confirmation(held: i64, deleting: i64) -> bool {
    held >= GUARDED_FROM_ROWS && (deleting as f64) > (held as f64) * MAX_UNCONFIRMED_DELETION_SHARE
}

/// The message of a pull stopped by the guard.
pub fn mass_deletion_message(held: i64, deleting: i64) -> String {
    format!(
        "本次归集将删除 {deleting} 行，占目录现有 {held} 行的 {:.0}%，超过 {:.0}% 的安全阈值，已中止，数据保持不变。\
         请核对源表（视图、账号、筛选条件或正在重新装载）；确属大批删除的，请在数据源页面勾选“确认大批删除”后重新运行",
        deleting as f64 * 100.0 / held as f64,
        MAX_UNCONFIRMED_DELETION_SHARE * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_entries_and_modest_deletions_pass_and_mass_deletions_wait_for_a_person() {
        assert!(
            !deletion_needs_confirmation(9, 9),
            "a small entry is not guarded"
        );
        assert!(!deletion_needs_confirmation(38, 19), "half may go");
        assert!(deletion_needs_confirmation(38, 20));
        assert!(deletion_needs_confirmation(38, 38));
        assert!(!deletion_needs_confirmation(1_000_000, 0));
        assert!(mass_deletion_message(38, 38).contains("占目录现有 38 行的 100%"));
    }
}

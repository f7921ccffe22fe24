//! CSV cells that spreadsheets would run (CWE-1236, "CSV injection"). Departments open
//! quarantine files and exports in Excel or WPS, which take a cell beginning with `=`,
//! `+`, `-` or `@` (or a tab or carriage return before one) as a formula: a value a
//! source system or an uploader chose could then compute, or call out, on a civil
//! servant's desktop. Such a cell is written with a leading apostrophe, which both show as
//! text; a number keeps its sign.

use std::borrow::Cow;

/// The cell as it may be written to a CSV file.
pub fn safe_cell(text: &str) -> Cow<'_, str> {
    let starts_like_formula = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if starts_like_formula && text.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        assert_eq!(
            safe_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(safe_cell("\t=1+1"), "'\t=1+1");
        assert_eq!(safe_cell("-5"), "-5");
        assert_eq!(safe_cell("+3.5"), "+3.5");
        assert_eq!(safe_cell("张三"), "张三");
        assert_eq!(safe_cell(""), "");
    }
}

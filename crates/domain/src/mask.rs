//! Masking of personal data (standards.md §5 defaults). There is no national pattern, so
//! these are the defaults the bureau can override per item.

/// Keeps the first `head` and last `tail` characters and stars the rest.
fn keep_ends(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let middle = chars.len() - head - tail;
    chars[..head]
        .iter()
        .chain(std::iter::repeat_n(&'*', middle))
        .chain(&chars[chars.len() - tail..])
        .collect()
}

/// ID number: first 6 and last 4 (`340102********1234`).
pub fn id_card(text: &str) -> String {
    keep_ends(text, 6, 4)
}

/// Mobile: 3-4-4 with the middle four hidden (`138****8000`).
pub fn mobile(text: &str) -> String {
    keep_ends(text, 3, 4)
}

/// Person's name: the surname only (`张*`, `欧阳**`).
pub fn name(text: &str) -> String {
    let count = text.chars().count();
    if count <= 1 {
        return "*".repeat(count);
    }
    // Two-character compound surnames are common enough that keeping one character is the
    // safe default: 欧阳娜娜 becomes 欧***.
    keep_ends(text, 1, 0)
}

/// Bank card: first 6 and last 4.
pub fn bank_card(text: &str) -> String {
    keep_ends(text, 6, 4)
}

/// Anything else marked personal: keep a quarter at each end, at most 3 characters.
pub fn generic(text: &str) -> String {
    let ends = (text.chars().count() / 4).min(3);
    keep_ends(text, ends, ends)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_with_the_default_patterns() {
        assert_eq!(id_card("340102199001011234"), "340102********1234");
        assert_eq!(mobile("13800138000"), "138****8000");
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("欧阳娜娜"), "欧***");
        assert_eq!(bank_card("6222021234567890123"), "622202*********0123");
        assert_eq!(generic("黄山市屯溪区老街"), "黄山****老街");
        assert_eq!(id_card("123"), "***");
    }
}

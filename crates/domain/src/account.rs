//! Departments and people (SPEC §2).

use serde::{Deserialize, Serialize};

use crate::labelled::labelled_enum;

labelled_enum! {
    /// What a signed-in person may do. Separation of duties (三员分立): the auditor reads
    /// logs and changes nothing; the bureau does not author departments' entries.
    Role {
        Admin => "admin", "数据资源管理方";
        Chief => "chief", "首席代表";
        Staff => "staff", "工作人员";
        Auditor => "auditor", "安全审计员";
    }
}

impl Role {
    /// Chiefs and staff belong to exactly one department; the others to none.
    pub fn needs_department(self) -> bool {
        matches!(self, Role::Chief | Role::Staff)
    }
}

labelled_enum! {
    /// Government departments, and social/economic providers (utilities, telecoms, banks…),
    /// whose aggregation targets differ (100% and 60%).
    DepartmentKind {
        Government => "government", "政府部门";
        Social => "social", "社会/经济数据提供方";
    }
}

/// The identity a rule is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub department_id: Option<i64>,
}

impl Actor {
    /// A chief or staff member of this department.
    pub fn works_for(&self, department_id: i64) -> bool {
        self.role.needs_department() && self.department_id == Some(department_id)
    }
}

/// Why an account value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("用户名应为2–32位小写字母、数字、点、下划线或连字符，并以字母或数字开头")]
    Username,
    #[error("部门简码应为2–16位小写字母或数字，并以字母开头")]
    DepartmentCode,
    #[error("密码至少需要10个字符")]
    PasswordTooShort,
    #[error("演示密码只能在演示模式下使用")]
    DemoPasswordOutsideDemo,
}

/// The password every demo account shares (SPEC §5). The server refuses it outside demo
/// mode so that a demo database cannot be put into production by accident.
pub const DEMO_PASSWORD: &str = "demo-password";

/// A login name: `admin`, `gaj-chief`.
pub fn check_username(text: &str) -> Result<(), AccountError> {
    let bytes = text.as_bytes();
    let valid = (2..=32).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b));
    valid.then_some(()).ok_or(AccountError::Username)
}

/// A department's short ASCII code: `gaj` for 市公安局.
pub fn check_department_code(text: &str) -> Result<(), AccountError> {
    let bytes = text.as_bytes();
    let valid = (2..=16).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    valid.then_some(()).ok_or(AccountError::DepartmentCode)
}

/// Minimum length, and the demo password only in demo mode.
pub fn check_password(password: &str, demo_mode: bool) -> Result<(), AccountError> {
    if password == DEMO_PASSWORD && !demo_mode {
        return Err(AccountError::DemoPasswordOutsideDemo);
    }
    if password.chars().count() < 10 {
        return Err(AccountError::PasswordTooShort);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_password_only_in_demo_mode() {
        assert_eq!(
            check_password(DEMO_PASSWORD, false),
            Err(AccountError::DemoPasswordOutsideDemo)
        );
        assert_eq!(check_password(DEMO_PASSWORD, true), Ok(()));
        assert_eq!(
            check_password("short", true),
            Err(AccountError::PasswordTooShort)
        );
    }

    #[test]
    fn checks_usernames_and_department_codes() {
        assert!(check_username("gaj-chief").is_ok());
        assert!(check_username("Admin").is_err());
        assert!(check_username("-x").is_err());
        assert!(check_department_code("gaj").is_ok());
        assert!(check_department_code("1gaj").is_err());
        assert!(check_department_code("g").is_err());
    }
}

//! The catalogue entry workflow: draft → submitted (staff) → signed (chief) → published
//! (bureau) → retired, with rejection back to the department at each review step.

use serde::Serialize;

use crate::access::{check, Act, Caller, Denied};
use crate::labelled::labelled_enum;

labelled_enum! {
    /// Where a catalogue entry stands. Labels are the UI's state tags (SPEC §6).
    Status {
        Draft => "draft", "草稿";
        Submitted => "submitted", "待签发";
        Signed => "signed", "待审核";
        Published => "published", "已发布";
        Returned => "returned", "已退回";
        Retired => "retired", "已停用";
    }
}

labelled_enum! {
    /// What a person does to an entry.
    Action {
        Create => "create", "新建";
        Edit => "edit", "修改";
        Submit => "submit", "提交";
        Sign => "sign", "签发";
        Reject => "reject", "退回";
        Publish => "publish", "发布";
        Retire => "retire", "停用";
    }
}

/// Why a step was refused: not this caller's to take (403), or not from this state (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum WorkflowError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("当前状态为“{status}”，不能执行“{action}”")]
    WrongState {
        action: &'static str,
        status: &'static str,
    },
}

/// The access rule of a step (see [`crate::access`]).
fn act(action: Action, status: Status, owner_department: i64) -> Act {
    let provider = owner_department;
    match action {
        Action::Create | Action::Edit | Action::Submit => Act::AuthorEntry { provider },
        Action::Sign => Act::SignEntry { provider },
        Action::Reject => Act::ReturnEntry {
            provider,
            at_review: status == Status::Signed,
        },
        Action::Publish | Action::Retire => Act::PublishEntry,
    }
}

/// The duty an entry in `status` puts on someone: the chief's signature, the bureau's
/// review, the department's revision of what was sent back. A draft owes nothing yet.
pub fn waiting_duty(status: Status) -> Option<crate::deadline::DutyKind> {
    use crate::deadline::DutyKind;
    match status {
        Status::Submitted => Some(DutyKind::SignEntry),
        Status::Signed => Some(DutyKind::ReviewEntry),
        Status::Returned => Some(DutyKind::ReviseEntry),
        Status::Draft | Status::Published | Status::Retired => None,
    }
}

/// The state an action leads to from `status`, or why it may not be taken.
/// Permission is checked before state so that an outsider learns nothing about the entry.
pub fn next_status(
    status: Status,
    action: Action,
    caller: &Caller,
    owner_department: i64,
) -> Result<Status, WorkflowError> {
    check(caller, act(action, status, owner_department))?;
    let next = match (action, status) {
        (Action::Create, _) => Some(Status::Draft),
        (Action::Edit, Status::Draft | Status::Returned | Status::Published) => Some(Status::Draft),
        (Action::Submit, Status::Draft | Status::Returned) => Some(Status::Submitted),
        (Action::Sign, Status::Submitted) => Some(Status::Signed),
        (Action::Reject, Status::Submitted | Status::Signed) => Some(Status::Returned),
        (Action::Publish, Status::Signed) => Some(Status::Published),
        (Action::Retire, Status::Published) => Some(Status::Retired),
        _ => None,
    };
    next.ok_or(WorkflowError::WrongState {
        action: action.label(),
        status: status.label(),
    })
}

impl Status {
    /// States in which consumers see the entry in the catalogue.
    pub fn is_listed_for_consumers(self) -> bool {
        self == Status::Published
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: i64 = 7;

    fn actor(who: &str) -> Caller {
        use crate::account::{Actor, Role};
        let (role, department_id) = match who {
            "admin" => (Role::Admin, None),
            "auditor" => (Role::Auditor, None),
            "chief" => (Role::Chief, Some(OWNER)),
            "staff" => (Role::Staff, Some(OWNER)),
            "other-chief" => (Role::Chief, Some(OWNER + 1)),
            "other-staff" => (Role::Staff, Some(OWNER + 1)),
            _ => unreachable!(),
        };
        Caller::Person(Actor {
            user_id: 1,
            username: who.into(),
            role,
            department_id,
        })
    }

    /// Every (actor, action, from-state) that is allowed, with the state it leads to.
    /// Anything not listed must be refused.
    const ALLOWED: &[(&str, Action, Status, Status)] = {
        use Action::*;
        use Status::*;
        &[
            ("chief", Edit, Draft, Draft),
            ("chief", Edit, Returned, Draft),
            ("chief", Edit, Published, Draft),
            ("staff", Edit, Draft, Draft),
            ("staff", Edit, Returned, Draft),
            ("staff", Edit, Published, Draft),
            ("chief", Submit, Draft, Submitted),
            ("chief", Submit, Returned, Submitted),
            ("staff", Submit, Draft, Submitted),
            ("staff", Submit, Returned, Submitted),
            ("chief", Sign, Submitted, Signed),
            ("chief", Reject, Submitted, Returned),
            ("admin", Reject, Signed, Returned),
            ("admin", Publish, Signed, Published),
            ("admin", Retire, Published, Retired),
        ]
    };

    #[test]
    fn every_role_action_and_state_matches_the_table() {
        let actors = [
            "admin",
            "auditor",
            "chief",
            "staff",
            "other-chief",
            "other-staff",
        ];
        let actions = [
            Action::Edit,
            Action::Submit,
            Action::Sign,
            Action::Reject,
            Action::Publish,
            Action::Retire,
        ];
        for who in actors {
            for &action in &actions {
                for &status in Status::ALL {
                    let expected = ALLOWED
                        .iter()
                        .find(|(w, a, s, _)| *w == who && *a == action && *s == status)
                        .map(|(_, _, _, next)| *next);
                    let got = next_status(status, action, &actor(who), OWNER).ok();
                    assert_eq!(got, expected, "{who} {action:?} from {status:?}");
                }
            }
        }
    }

    #[test]
    fn outsiders_get_forbidden_not_wrong_state() {
        let err =
            next_status(Status::Retired, Action::Sign, &actor("other-chief"), OWNER).unwrap_err();
        assert!(matches!(err, WorkflowError::Denied(_)));
        let err =
            next_status(Status::Submitted, Action::Publish, &actor("chief"), OWNER).unwrap_err();
        assert!(
            matches!(err, WorkflowError::Denied(_)),
            "a chief cannot publish"
        );
        let err = next_status(Status::Published, Action::Sign, &actor("chief"), OWNER).unwrap_err();
        assert!(matches!(err, WorkflowError::WrongState { .. }));
    }

    #[test]
    fn only_the_owning_department_creates() {
        assert!(next_status(Status::Draft, Action::Create, &actor("staff"), OWNER).is_ok());
        assert!(next_status(Status::Draft, Action::Create, &actor("other-staff"), OWNER).is_err());
        assert!(next_status(Status::Draft, Action::Create, &actor("admin"), OWNER).is_err());
    }
}

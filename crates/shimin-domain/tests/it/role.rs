//! Read scopes (R-SCOPE): who sees which items. Checked for every role.

use shimin_domain::role::{read_scope, Actor, Role, Scope};

const OWN_UNIT: i64 = 10;
const OTHER_UNIT: i64 = 11;
const ME: i64 = 7;
const OTHER_AGENT: i64 = 8;

fn actor(role: Role) -> Actor {
    Actor {
        user_id: ME,
        role,
        unit_id: Some(OWN_UNIT),
    }
}

#[test]
fn every_role_sees_exactly_its_scope() {
    for role in Role::ALL {
        let scope = read_scope(&actor(role));
        let own_unit_item = scope.contains(OWN_UNIT, None);
        let other_unit_item = scope.contains(OTHER_UNIT, None);
        let my_case = scope.contains(OTHER_UNIT, Some(ME));
        let other_agents_case = scope.contains(OWN_UNIT, Some(OTHER_AGENT));
        let expected = match role {
            Role::Clerk | Role::DeptLeader | Role::NetAdmin => (true, false, false, true),
            Role::Agent => (false, false, true, false),
            Role::Manager | Role::CenterLeader | Role::Intake | Role::Inspector | Role::Sysadmin => {
                (true, true, true, true)
            }
            Role::Portal => (false, false, false, false),
        };
        assert_eq!(
            (own_unit_item, other_unit_item, my_case, other_agents_case),
            expected,
            "role {role:?} scope {scope:?}"
        );
        if role.is_supervision() {
            assert_eq!(scope, Scope::AllMasked, "supervision reads masked");
        }
    }
}

#[test]
fn unit_office_role_without_unit_sees_nothing() {
    let a = Actor {
        user_id: ME,
        role: Role::Clerk,
        unit_id: None,
    };
    assert_eq!(read_scope(&a), Scope::Nothing);
}

#[test]
fn only_handling_roles_may_handle() {
    for role in Role::ALL {
        let may = actor(role).may_handle(OWN_UNIT, None);
        assert_eq!(may, role.is_unit_office(), "role {role:?}");
        assert!(
            !actor(role).may_handle(OTHER_UNIT, None),
            "role {role:?} handles another unit"
        );
    }
}

#[test]
fn role_codes_round_trip() {
    for role in Role::ALL {
        assert_eq!(Role::from_code(role.code()), Some(role));
        assert!(!role.name_zh().is_empty());
    }
    assert_eq!(Role::from_code("root"), None);
}

/// Whose desk holds citizens' numbers in full, and so may reveal a masked one (R-SEC): the
/// roles that handle items; supervision and the rest only ever hold masked data.
#[test]
fn only_roles_that_handle_items_hold_personal_data() {
    for role in Role::ALL {
        let expected = matches!(
            role,
            Role::Clerk | Role::DeptLeader | Role::NetAdmin | Role::Agent
        );
        assert_eq!(actor(role).holds_personal_data(), expected, "role {role:?}");
    }
    let unbound = Actor {
        unit_id: None,
        ..actor(Role::Clerk)
    };
    assert!(
        !unbound.holds_personal_data(),
        "a clerk without a unit holds nothing"
    );
}

#[test]
fn personal_field_codes_round_trip() {
    use shimin_domain::identity::PersonalField;
    for f in PersonalField::ALL {
        assert_eq!(PersonalField::from_code(f.code()), Some(f));
    }
    assert_eq!(PersonalField::from_code("name"), None, "names are not masked");
}

/// Who gets a counter (call panel, walk-ins, 暂离), table-driven over every role (issue 13:
/// an inspector was given a clerk's call panel).
#[test]
fn only_those_who_serve_at_a_window_get_a_counter() {
    use shimin_domain::role::Workspace;
    let table = [
        (Role::Clerk, Workspace::Counter),
        (Role::DeptLeader, Workspace::Counter),
        (Role::NetAdmin, Workspace::Office),
        (Role::Agent, Workspace::Agent),
        (Role::Manager, Workspace::Supervision),
        (Role::CenterLeader, Workspace::Supervision),
        (Role::Intake, Workspace::Supervision),
        (Role::Inspector, Workspace::Supervision),
        (Role::Sysadmin, Workspace::Supervision),
        (Role::Portal, Workspace::None),
    ];
    assert_eq!(table.len(), Role::ALL.len(), "every role in the table");
    for (role, want) in table {
        assert_eq!(role.workspace(), want, "role {role:?}");
        assert_eq!(role.workspace().has_counter(), want == Workspace::Counter);
        // A counter's users handle items; no supervision role has one.
        if role.workspace().has_counter() {
            assert!(role.is_unit_office() && !role.is_supervision(), "{role:?}");
        }
    }
}

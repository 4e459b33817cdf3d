//! Who may do what: roles (people), scopes (API tokens), the actions they
//! guard, and the one table that joins them. The server enforces it in its
//! services; the UI reads the same table only to hide what would be refused.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Approver,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// The roles' names joined by `sep`, e.g. `"operator, admin"`.
    pub fn join(roles: &[Role], sep: &str) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(sep)
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!("unknown role {s:?}; roles are viewer, operator, approver, admin")
            })
    }
}

/// What an API token may be used for. Written `area:verb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "plans:read")]
    PlansRead,
    #[serde(rename = "plans:write")]
    PlansWrite,
    #[serde(rename = "flags:read")]
    FlagsRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::AuditRead,
        Scope::PlansRead,
        Scope::PlansWrite,
        Scope::FlagsRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuditRead => "audit:read",
            Scope::PlansRead => "plans:read",
            Scope::PlansWrite => "plans:write",
            Scope::FlagsRead => "flags:read",
        }
    }

    pub fn parse(s: &str) -> Result<Scope, String> {
        Scope::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown scope {s:?}; scopes are {}",
                    Scope::ALL.map(Scope::as_str).join(", ")
                )
            })
    }

    /// Parses a space- or comma-separated list; empty is an error.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = s
            .split([' ', ','])
            .filter(|p| !p.trim().is_empty())
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if scopes.is_empty() {
            return Err(format!(
                "a token needs at least one scope: {}",
                Scope::ALL.map(Scope::as_str).join(", ")
            ));
        }
        scopes.sort();
        scopes.dedup();
        Ok(scopes)
    }
}

/// Everything the console guards. Each server function and endpoint names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// The dashboard and other read-only console pages.
    ViewConsole,
    /// Audit events: list, detail, export, verify.
    ReadAudit,
    /// Create users, change their roles, passwords and status.
    ManageUsers,
    /// Create, list and revoke API tokens.
    ManageTokens,
    ReadPlans,
    /// Create and edit plans, tick checklists, start phases, roll back.
    WritePlans,
    /// Sign a gate (further limited by the gate's own allowed roles).
    ApproveGates,
    /// Pass a gate without its approvals, with a reason.
    OverrideGates,
    ReadFlags,
    /// See where notifications go and how their deliveries stand; send a
    /// given-up one again.
    ManageNotifications,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::ViewConsole,
        Action::ReadAudit,
        Action::ManageUsers,
        Action::ManageTokens,
        Action::ReadPlans,
        Action::WritePlans,
        Action::ApproveGates,
        Action::OverrideGates,
        Action::ReadFlags,
        Action::ManageNotifications,
    ];

    /// How the action reads in "you are not allowed to …".
    pub fn describe(self) -> &'static str {
        match self {
            Action::ViewConsole => "view the console",
            Action::ReadAudit => "read the audit trail",
            Action::ManageUsers => "manage users",
            Action::ManageTokens => "manage API tokens",
            Action::ReadPlans => "read rollout plans",
            Action::WritePlans => "change rollout plans",
            Action::ApproveGates => "approve gates",
            Action::OverrideGates => "override gates",
            Action::ReadFlags => "read flags",
            Action::ManageNotifications => "manage notifications",
        }
    }
}

/// The table: may a person holding `role` do `action`?
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Viewer => matches!(action, ViewConsole | ReadAudit | ReadPlans | ReadFlags),
        Role::Operator => matches!(
            action,
            ViewConsole | ReadAudit | ReadPlans | ReadFlags | WritePlans
        ),
        Role::Approver => matches!(
            action,
            ViewConsole | ReadAudit | ReadPlans | ReadFlags | ApproveGates
        ),
    }
}

/// The table: may a token holding `scope` do `action`? Tokens never manage
/// people or tokens, and never approve: those need a person.
pub fn scope_allows(scope: Scope, action: Action) -> bool {
    use Action::*;
    match scope {
        Scope::AuditRead => matches!(action, ReadAudit),
        Scope::PlansRead => matches!(action, ReadPlans),
        Scope::PlansWrite => matches!(action, ReadPlans | WritePlans),
        Scope::FlagsRead => matches!(action, ReadFlags),
    }
}

/// Whether a person (`username` holding `roles`) is one a gate asks: a
/// role it names and, when it names people, one of them.
pub fn gate_asks(roles: &[Role], username: &str, gate_roles: &[Role], named: &[String]) -> bool {
    roles.iter().any(|r| gate_roles.contains(r))
        && (named.is_empty() || named.iter().any(|n| n.eq_ignore_ascii_case(username)))
}

/// Who is asking: a signed-in person or an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    User {
        id: String,
        username: String,
        roles: Vec<Role>,
    },
    Token {
        id: String,
        name: String,
        scopes: Vec<Scope>,
        /// The one environment it evaluates flags in.
        environment: Option<String>,
    },
}

impl Principal {
    pub fn allows(&self, action: Action) -> bool {
        match self {
            Principal::User { roles, .. } => roles_allow(roles, action),
            Principal::Token { scopes, .. } => scopes_allow(scopes, action),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Principal::User { username, .. } => username,
            Principal::Token { name, .. } => name,
        }
    }
}

pub fn roles_allow(roles: &[Role], action: Action) -> bool {
    roles.iter().any(|r| role_allows(*r, action))
}

pub fn scopes_allow(scopes: &[Scope], action: Action) -> bool {
    scopes.iter().any(|s| scope_allows(*s, action))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// Every cell of the role table, written out so a change to it is a
    /// deliberate change to this test.
    #[test]
    fn role_matrix_cell_by_cell() {
        #[rustfmt::skip]
        let expected: [(Action, [bool; 4]); 10] = [
            //                viewer operator approver admin
            (ViewConsole,   [true,  true,    true,    true]),
            (ReadAudit,     [true,  true,    true,    true]),
            (ManageUsers,   [false, false,   false,   true]),
            (ManageTokens,  [false, false,   false,   true]),
            (ReadPlans,     [true,  true,    true,    true]),
            (WritePlans,    [false, true,    false,   true]),
            (ApproveGates,  [false, false,   true,    true]),
            (OverrideGates, [false, false,   false,   true]),
            (ReadFlags,     [true,  true,    true,    true]),
            (ManageNotifications, [false, false, false,   true]),
        ];
        assert_eq!(expected.len(), Action::ALL.len(), "every action has a row");
        for (action, row) in expected {
            for (role, allowed) in Role::ALL.into_iter().zip(row) {
                assert_eq!(role_allows(role, action), allowed, "{role:?} × {action:?}");
            }
        }
    }

    #[test]
    fn scope_matrix_cell_by_cell() {
        #[rustfmt::skip]
        let expected: [(Action, [bool; 4]); 10] = [
            //                audit:read plans:read plans:write flags:read
            (ViewConsole,   [false,      false,     false,      false]),
            (ReadAudit,     [true,       false,     false,      false]),
            (ManageUsers,   [false,      false,     false,      false]),
            (ManageTokens,  [false,      false,     false,      false]),
            (ReadPlans,     [false,      true,      true,       false]),
            (WritePlans,    [false,      false,     true,       false]),
            (ApproveGates,  [false,      false,     false,      false]),
            (OverrideGates, [false,      false,     false,      false]),
            (ReadFlags,     [false,      false,     false,      true]),
            (ManageNotifications, [false, false,    false,      false]),
        ];
        assert_eq!(expected.len(), Action::ALL.len(), "every action has a row");
        for (action, row) in expected {
            for (scope, allowed) in Scope::ALL.into_iter().zip(row) {
                assert_eq!(
                    scope_allows(scope, action),
                    allowed,
                    "{scope:?} × {action:?}"
                );
            }
        }
    }

    #[test]
    fn several_roles_combine() {
        assert!(!roles_allow(&[Role::Viewer], WritePlans));
        assert!(roles_allow(&[Role::Viewer, Role::Operator], WritePlans));
        assert!(!roles_allow(&[Role::Operator], ApproveGates));
        assert!(roles_allow(&[Role::Operator, Role::Approver], ApproveGates));
        assert!(!roles_allow(&[], ViewConsole));
    }

    #[test]
    fn scopes_parse_strictly() {
        assert_eq!(
            Scope::parse_list("plans:write, audit:read audit:read").unwrap(),
            vec![Scope::AuditRead, Scope::PlansWrite]
        );
        assert!(Scope::parse_list("  ")
            .unwrap_err()
            .contains("at least one scope"));
        let e = Scope::parse_list("audit:write").unwrap_err();
        assert!(
            e.contains("\"audit:write\"") && e.contains("audit:read"),
            "{e}"
        );
        assert_eq!(Role::parse("approver"), Ok(Role::Approver));
        assert!(Role::parse("root")
            .unwrap_err()
            .contains("viewer, operator"));
    }
}

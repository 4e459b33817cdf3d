//! The states and kinds of plans, phases, decisions, items and rollbacks:
//! closed sets of words, each parsed and printed one way.
use serde::{Deserialize, Serialize};

macro_rules! str_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// For people: the word with spaces (`rolled back`).
            pub fn label(self) -> String {
                self.as_str().replace('_', " ")
            }

            pub fn parse(s: &str) -> Result<$name, String> {
                match s { $($text => Ok($name::$variant),)+ other => Err(format!(
                    "{other:?} is not one of {}",
                    [$($text),+].join(", ")
                )) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use str_enum;

str_enum!(
    /// draft → active → completed | rolled_back | aborted.
    PlanStatus { Draft = "draft", Active = "active", Completed = "completed", RolledBack = "rolled_back", Aborted = "aborted" }
);
str_enum!(
    /// pending → active → awaiting_approval → approved → done.
    PhaseStatus { Pending = "pending", Active = "active", AwaitingApproval = "awaiting_approval", Approved = "approved", Done = "done" }
);
str_enum!(
    /// A gate decision. An override is an admin passing the gate with a reason.
    Verdict { Approve = "approve", Reject = "reject", Override = "override" }
);
str_enum!(
    /// A checklist item: ticked by a person, or judged by the server.
    ItemKind { Manual = "manual", Auto = "auto" }
);
str_enum!(
    /// The rollback buttons, and aborting a plan.
    RollbackKind { Standard = "standard", Pause = "pause", Emergency = "emergency", Entity = "entity", Abort = "abort" }
);

impl PlanStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PlanStatus::Completed | PlanStatus::RolledBack | PlanStatus::Aborted
        )
    }
}

impl PhaseStatus {
    /// Started and not yet handed over to the next phase.
    pub fn is_current(self) -> bool {
        matches!(
            self,
            PhaseStatus::Active | PhaseStatus::AwaitingApproval | PhaseStatus::Approved
        )
    }
}

//! Roles, permissions and department scope: the one permission table of the service.
//!
//! Policy: a request is allowed when one of the user's roles grants the route's permission
//! (fail closed: a permission no role lists is granted to nobody). What a user may *see* is
//! further limited by [`Scope`]: a department editor only sees people linked to their
//! departments, and anything outside scope answers 404 so existence does not leak.

use serde::{Deserialize, Serialize};

/// A staff role. Identifiers are stable: they are used by the API and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users, departments, purposes and settings; everything but DPO-only actions.
    Administrator,
    /// Subject access, erasure, restriction, retention and the audit log.
    DataProtectionOfficer,
    /// Reads and edits people, consent and engagement in every department.
    EngagementOfficer,
    /// Like an engagement officer, limited to their departments' people; imports lists.
    DepartmentEditor,
    /// Segments, templates and campaigns.
    CampaignsManager,
    /// Journeys and statistics only; no personal data.
    Analyst,
}

/// Every role, in the order the README lists them.
pub const ALL_ROLES: [Role; 6] = [
    Role::Administrator,
    Role::DataProtectionOfficer,
    Role::EngagementOfficer,
    Role::DepartmentEditor,
    Role::CampaignsManager,
    Role::Analyst,
];

impl Role {
    /// The stable identifier, e.g. `department_editor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::DataProtectionOfficer => "data_protection_officer",
            Role::EngagementOfficer => "engagement_officer",
            Role::DepartmentEditor => "department_editor",
            Role::CampaignsManager => "campaigns_manager",
            Role::Analyst => "analyst",
        }
    }

    /// Parse an identifier.
    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role sees people in every department (otherwise only its own).
    fn sees_all_departments(self) -> bool {
        !matches!(self, Role::DepartmentEditor)
    }
}

/// Declares [`Permission`] and [`ALL_PERMISSIONS`] from one list, so neither can miss one.
macro_rules! permissions {
    ($($(#[$doc:meta])* $name:ident,)+) => {
        /// What a route needs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Permission {
            $($(#[$doc])* $name,)+
        }

        /// Every permission, in declaration order.
        pub const ALL_PERMISSIONS: &[Permission] = &[$(Permission::$name,)+];
    };
}

permissions! {
    /// Read people (within scope).
    PeopleRead,
    /// Create and edit people (within scope).
    PeopleWrite,
    /// List departments.
    DepartmentsRead,
    /// Create and rename departments.
    DepartmentsManage,
    /// Create, edit and disable staff accounts.
    UsersManage,
    /// Read the audit log.
    AuditRead,
    /// Record consent events.
    ConsentWrite,
    /// List purposes.
    PurposesRead,
    /// Create and change purposes and their wordings.
    PurposesManage,
    /// Subject access export.
    SubjectAccess,
    /// Erase a person.
    Erase,
    /// Restrict and unrestrict processing.
    Restrict,
    /// The register of data-protection requests and their statutory clock.
    RightsRequests,
    /// See restricted people.
    SeeRestricted,
    /// Add to the suppression list and see its summary.
    SuppressionsManage,
    /// See activities and activity kinds.
    ActivitiesRead,
    /// Create and change activities (within department scope).
    ActivitiesWrite,
    /// Add activity kinds.
    KindsManage,
    /// Log engagement events.
    EngagementWrite,
    /// Journey analytics (aggregates only).
    JourneysRead,
    /// Merge and unmerge people; review possible duplicates.
    PeopleMerge,
    /// Start a whole-database dedupe and retrain the matching model.
    DedupeRun,
    /// Upload, dry-run, commit and roll back imports (within department scope).
    ImportsRun,
    /// Segments, templates and campaigns: draft, approve, start, cancel, test-send; bounces.
    CampaignsManage,
}

/// The permissions a set of roles grants, in declaration order.
pub fn permissions_of(roles: &[Role]) -> Vec<Permission> {
    ALL_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| roles_granting(*p).iter().any(|r| roles.contains(r)))
        .collect()
}

/// The permission table: which roles grant which permission.
pub fn roles_granting(permission: Permission) -> &'static [Role] {
    use Role::*;
    match permission {
        Permission::PeopleRead => &[
            Administrator,
            DataProtectionOfficer,
            EngagementOfficer,
            DepartmentEditor,
        ],
        Permission::PeopleWrite => &[Administrator, EngagementOfficer, DepartmentEditor],
        Permission::DepartmentsRead => &ALL_ROLES,
        Permission::DepartmentsManage | Permission::UsersManage => &[Administrator],
        Permission::AuditRead => &[Administrator, DataProtectionOfficer],
        Permission::ConsentWrite => &[Administrator, EngagementOfficer, DepartmentEditor],
        Permission::PurposesRead => &ALL_ROLES,
        Permission::PurposesManage => &[Administrator],
        Permission::SubjectAccess
        | Permission::Erase
        | Permission::Restrict
        | Permission::SeeRestricted
        | Permission::RightsRequests => &[DataProtectionOfficer],
        Permission::SuppressionsManage => &[Administrator, DataProtectionOfficer, EngagementOfficer],
        Permission::ActivitiesRead | Permission::JourneysRead => &ALL_ROLES,
        Permission::ActivitiesWrite | Permission::EngagementWrite => {
            &[Administrator, EngagementOfficer, DepartmentEditor]
        }
        Permission::KindsManage | Permission::DedupeRun => &[Administrator],
        Permission::CampaignsManage => &[Administrator, CampaignsManager],
        Permission::PeopleMerge | Permission::ImportsRun => &[Administrator, EngagementOfficer, DepartmentEditor],
    }
}

/// Which people a user can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every department.
    All,
    /// Only people linked to these departments (internal ids).
    Departments(Vec<i64>),
}

/// The signed-in user, as every service call sees them.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Internal user id.
    pub user_id: i64,
    /// Public user id.
    pub public_id: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Department scope.
    pub scope: Scope,
    /// The session (or API token) in use, internal id.
    pub session_id: i64,
    /// The session may only enrol the second factor the user's roles require.
    pub enrolment_only: bool,
}

impl Principal {
    /// Whether any of the user's roles grants `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        let granting = roles_granting(permission);
        self.roles.iter().any(|r| granting.contains(r))
    }

    /// Whether the user may act on people linked to `departments` (internal ids).
    pub fn in_scope(&self, departments: &[i64]) -> bool {
        match &self.scope {
            Scope::All => true,
            Scope::Departments(mine) => departments.iter().any(|d| mine.contains(d)),
        }
    }

    /// The label recorded as the actor in audit events and provenance.
    pub fn actor_label(&self) -> String {
        if self.is_system() {
            self.public_id.clone()
        } else {
            format!("user:{}", self.public_id)
        }
    }

    /// The service acting on its own behalf (a dedupe pass, an import job): every permission,
    /// every department, recorded in the audit log as `system:<task>`.
    pub fn system(task: &str) -> Principal {
        Principal {
            user_id: 0,
            public_id: format!("system:{task}"),
            roles: vec![Role::Administrator, Role::DataProtectionOfficer],
            scope: Scope::All,
            session_id: 0,
            enrolment_only: false,
        }
    }

    /// Whether this is [`Principal::system`].
    pub fn is_system(&self) -> bool {
        self.user_id == 0
    }
}

/// Whether a set of roles is held to the user's departments: a department editor is, unless
/// another of their roles reads people in every department. A role that reads no people
/// (campaigns manager, analyst) does not widen an editor's scope: it would otherwise open every
/// department's people to the editor's own permissions (and the editor's analytics stay within
/// their departments too).
pub fn department_scoped(roles: &[Role]) -> bool {
    let readers = roles_granting(Permission::PeopleRead);
    roles.contains(&Role::DepartmentEditor) && !roles.iter().any(|r| r.sees_all_departments() && readers.contains(r))
}

/// The scope a set of roles and departments gives.
pub fn scope_for(roles: &[Role], departments: Vec<i64>) -> Scope {
    if department_scoped(roles) {
        Scope::Departments(departments)
    } else {
        Scope::All
    }
}

/// Parse the stored comma-separated role list, skipping anything unknown (fail closed).
pub fn parse_roles(stored: &str) -> Vec<Role> {
    stored.split(',').filter_map(|r| Role::parse(r.trim())).collect()
}

/// The stored form of a role list.
pub fn format_roles(roles: &[Role]) -> String {
    let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_identifiers_round_trip() {
        for role in ALL_ROLES {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(
            parse_roles("analyst,bogus,administrator"),
            vec![Role::Analyst, Role::Administrator]
        );
    }

    #[test]
    fn department_editor_alone_is_scoped() {
        assert_eq!(
            scope_for(&[Role::DepartmentEditor], vec![3]),
            Scope::Departments(vec![3])
        );
        assert_eq!(
            scope_for(&[Role::DepartmentEditor, Role::EngagementOfficer], vec![3]),
            Scope::All
        );
        // A second role that reads no people leaves the editor in their departments.
        for other in [Role::CampaignsManager, Role::Analyst] {
            assert_eq!(
                scope_for(&[Role::DepartmentEditor, other], vec![3]),
                Scope::Departments(vec![3])
            );
            assert_eq!(scope_for(&[other], vec![]), Scope::All);
        }
    }
}

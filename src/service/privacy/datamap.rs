//! The data map: where personal data lives, one entry per table, every column listed.
//!
//! Subject access export and erasure are both driven by this map, so they cannot drift apart; a
//! test compares it with the real database schema, so a new table or column that is not mapped
//! fails the build's tests.

/// How a table's rows belong to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Not about one resident (staff, configuration, aggregates).
    None,
    /// The row's column holds the person's internal id.
    PersonId(&'static str),
    /// The row's column holds the person's public id, with a kind column equal to `person`.
    PublicId(&'static str, &'static str),
}

/// What erasure does to a person's rows in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// Nothing personal is kept here: leave it.
    Keep,
    /// Delete the person's rows.
    Delete,
    /// Blank these columns in the person's rows (the row stays, for countable aggregates).
    Blank(&'static [(&'static str, Blank)]),
}

/// The value a blanked column gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blank {
    /// NULL.
    Null,
    /// The empty string.
    Empty,
}

/// One table of the map.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Table name.
    pub table: &'static str,
    /// Every column, in schema order.
    pub columns: &'static [&'static str],
    /// Columns that hold personal data.
    pub personal: &'static [&'static str],
    /// How rows link to a person.
    pub link: Link,
    /// Included in the subject access export.
    pub export: bool,
    /// Erasure.
    pub erase: Erase,
    /// Why it is handled so.
    pub note: &'static str,
}

const PEOPLE_BLANK: &[(&str, Blank)] = &[
    ("title", Blank::Null),
    ("given_name", Blank::Null),
    ("family_name", Blank::Null),
    ("preferred_name", Blank::Null),
    ("date_of_birth", Blank::Null),
    ("organisation", Blank::Null),
    ("given_fold", Blank::Empty),
    ("family_fold", Blank::Empty),
    ("preferred_fold", Blank::Empty),
    ("full_fold", Blank::Empty),
];

/// The map. Order matters for erasure: children before parents.
pub const DATA_MAP: &[Entry] = &[
    Entry {
        table: "person_emails",
        columns: &[
            "id",
            "person_id",
            "address",
            "address_key",
            "is_primary",
            "source_kind",
            "source_ref",
            "set_by",
            "set_at",
            "point_hash",
        ],
        personal: &["address", "address_key", "point_hash"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "contact points; their keyed hashes go to the suppression list on erasure",
    },
    Entry {
        table: "person_phones",
        columns: &[
            "id",
            "person_id",
            "number",
            "label",
            "is_primary",
            "source_kind",
            "source_ref",
            "set_by",
            "set_at",
            "point_hash",
        ],
        personal: &["number", "point_hash"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "contact points",
    },
    Entry {
        table: "person_addresses",
        columns: &[
            "id",
            "person_id",
            "line1",
            "line2",
            "line3",
            "town",
            "county",
            "postcode",
            "country",
            "is_primary",
            "source_kind",
            "source_ref",
            "set_by",
            "set_at",
        ],
        personal: &["line1", "line2", "line3", "town", "county", "postcode"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "postal addresses",
    },
    Entry {
        table: "person_tags",
        columns: &["person_id", "tag"],
        personal: &["tag"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "tags may describe the person",
    },
    Entry {
        table: "field_provenance",
        columns: &["person_id", "field", "source_kind", "source_ref", "set_by", "set_at"],
        personal: &[],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "where each value came from; meaningless once the values are gone",
    },
    Entry {
        table: "consent_state",
        columns: &[
            "person_id",
            "purpose_id",
            "channel",
            "contact_point",
            "status",
            "lawful_basis",
            "capture_method",
            "captured_at",
            "expires_at",
            "event_id",
        ],
        personal: &["contact_point"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "derived from the ledger",
    },
    Entry {
        table: "consent_events",
        columns: &[
            "id",
            "public_id",
            "person_id",
            "purpose_id",
            "channel",
            "contact_point",
            "status",
            "lawful_basis",
            "source",
            "source_ref",
            "wording_version",
            "capture_method",
            "evidence",
            "captured_at",
            "recorded_at",
            "recorded_by",
            "expires_at",
        ],
        personal: &["contact_point", "evidence"],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Delete,
        note: "the ledger; after erasure the suppression list is what stops contact",
    },
    Entry {
        table: "person_departments",
        columns: &["person_id", "department_id", "source_kind", "source_ref", "created_at"],
        personal: &[],
        link: Link::PersonId("person_id"),
        export: true,
        erase: Erase::Keep,
        note: "a link between an anonymous id and a department keeps department counts right",
    },
    Entry {
        table: "audit_events",
        columns: &[
            "id",
            "occurred_at",
            "actor_user_id",
            "actor",
            "action",
            "target_kind",
            "target_id",
            "outcome",
            "client_addr",
            "request_id",
            "detail",
        ],
        personal: &[],
        link: Link::PublicId("target_id", "target_kind"),
        export: true,
        erase: Erase::Keep,
        note: "who accessed the person's data; holds ids and field names, never values",
    },
    Entry {
        table: "people",
        columns: &[
            "id",
            "public_id",
            "title",
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "organisation",
            "status",
            "merged_into",
            "version",
            "given_fold",
            "family_fold",
            "preferred_fold",
            "full_fold",
            "created_at",
            "updated_at",
            "erased_at",
        ],
        personal: &[
            "title",
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "organisation",
            "given_fold",
            "family_fold",
            "preferred_fold",
            "full_fold",
        ],
        link: Link::PersonId("id"),
        export: true,
        erase: Erase::Blank(PEOPLE_BLANK),
        note: "the golden record; the row stays (status erased) so the id answers 410 Gone",
    },
    Entry {
        table: "departments",
        columns: &["id", "code", "name", "created_at", "updated_at"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "configuration",
    },
    Entry {
        table: "users",
        columns: &[
            "id",
            "public_id",
            "email",
            "name",
            "password_hash",
            "roles",
            "status",
            "version",
            "created_at",
            "updated_at",
        ],
        personal: &["email", "name"],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "staff accounts, not residents",
    },
    Entry {
        table: "user_departments",
        columns: &["user_id", "department_id"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "staff scope",
    },
    Entry {
        table: "login_throttle",
        columns: &["key_hash", "failures", "locked_until", "updated_at"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "hashed staff sign-in keys",
    },
    Entry {
        table: "sessions",
        columns: &[
            "id",
            "public_id",
            "token_hash",
            "csrf_hash",
            "user_id",
            "kind",
            "label",
            "created_at",
            "last_seen_at",
            "expires_at",
            "revoked_at",
        ],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "staff sessions",
    },
    Entry {
        table: "purposes",
        columns: &[
            "id",
            "code",
            "description",
            "category",
            "default_lawful_basis",
            "created_at",
            "updated_at",
        ],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "configuration",
    },
    Entry {
        table: "purpose_wordings",
        columns: &["id", "purpose_id", "version", "text", "created_at"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "configuration",
    },
    Entry {
        table: "suppressions",
        columns: &["id", "point_hash", "kind", "reason", "created_at"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "keyed hashes only; survives erasure by design",
    },
    Entry {
        table: "service_keys",
        columns: &["name", "value", "created_at"],
        personal: &[],
        link: Link::None,
        export: false,
        erase: Erase::Keep,
        note: "service secrets",
    },
];

/// Tables that belong to tooling, not to the data.
pub const IGNORED_TABLES: &[&str] = &["__diesel_schema_migrations"];

/// The entry for a table.
pub fn entry(table: &str) -> Option<&'static Entry> {
    DATA_MAP.iter().find(|e| e.table == table)
}

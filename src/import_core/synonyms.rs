//! The header vocabulary behind [`suggest_mapping`](super::suggest_mapping).
//!
//! Policy: keys are headers folded by [`fold`](crate::normalize::text::fold) with the spaces
//! removed ("Address Line 1" → "addressline1"); a key appears under one field only. Adding
//! a spelling here is the whole change needed to recognise it. Consent and opt-out words
//! are matched as consecutive folded words anywhere in the header; opt-out wins.

use super::mapping::Target;

/// Folded header keys (spaces removed) and the field they suggest.
pub(crate) const SYNONYMS: &[(Target, &[&str])] = &[
    (
        Target::GivenName,
        &[
            "firstname",
            "forename",
            "forenames",
            "givenname",
            "givennames",
            "first",
            "fname",
            "christianname",
        ],
    ),
    (
        Target::FamilyName,
        &["surname", "lastname", "familyname", "last", "lname", "secondname"],
    ),
    (
        Target::PreferredName,
        &[
            "preferred",
            "preferredname",
            "knownas",
            "nickname",
            "preferredfirstname",
        ],
    ),
    (Target::Title, &["title", "salutation", "honorific", "nametitle"]),
    (
        Target::Email,
        &[
            "email",
            "emailaddress",
            "emailaddr",
            "email1",
            "emailaddress1",
            "primaryemail",
            "personalemail",
        ],
    ),
    (
        Target::Email2,
        &[
            "email2",
            "emailaddress2",
            "secondaryemail",
            "secondemail",
            "alternativeemail",
            "alternateemail",
            "otheremail",
            "workemail",
        ],
    ),
    (
        Target::Mobile,
        &[
            "mobile",
            "mobilephone",
            "mobilenumber",
            "mobileno",
            "mobiletel",
            "mobiletelephone",
            "mob",
            "cell",
            "cellphone",
        ],
    ),
    (
        Target::Phone,
        &[
            "phone",
            "telephone",
            "tel",
            "telno",
            "phonenumber",
            "phoneno",
            "telephonenumber",
            "telephoneno",
            "homephone",
            "hometel",
            "hometelephone",
            "landline",
            "daytimephone",
            "daytimetelephone",
            "contactnumber",
        ],
    ),
    (
        Target::Phone2,
        &[
            "phone2",
            "telephone2",
            "tel2",
            "workphone",
            "worktel",
            "worktelephone",
            "businessphone",
            "officephone",
            "otherphone",
            "secondaryphone",
            "alternativephone",
            "eveningphone",
        ],
    ),
    (
        Target::Line1,
        &[
            "addressline1",
            "address1",
            "address",
            "street",
            "streetaddress",
            "addr1",
            "line1",
            "firstlineofaddress",
        ],
    ),
    (Target::Line2, &["addressline2", "address2", "addr2", "line2"]),
    (
        Target::Line3,
        &["addressline3", "address3", "addr3", "line3", "locality", "district"],
    ),
    (
        Target::Town,
        &["town", "city", "towncity", "citytown", "townorcity", "posttown"],
    ),
    (Target::County, &["county", "countyname"]),
    (
        Target::Postcode,
        &["postcode", "postalcode", "zip", "zipcode", "postcodezip", "pcode"],
    ),
    (Target::Country, &["country", "countryname", "countrycode"]),
    (
        Target::DateOfBirth,
        &["dob", "dateofbirth", "birthdate", "birthday", "born"],
    ),
    (
        Target::Organisation,
        &[
            "organisation",
            "organization",
            "organisationname",
            "organizationname",
            "org",
            "company",
            "companyname",
            "employer",
            "employername",
            "business",
            "businessname",
        ],
    ),
    (
        Target::ExternalId,
        &[
            "id",
            "ref",
            "reference",
            "refno",
            "referencenumber",
            "referenceno",
            "externalid",
            "contactid",
            "recordid",
            "customerid",
            "personid",
            "clientid",
            "uniqueid",
            "urn",
        ],
    ),
    (
        Target::Tags,
        &["tags", "tag", "groups", "group", "categories", "labels"],
    ),
];

/// Words (of a folded header) that mark a refusal or opt-out.
pub(crate) const OPT_OUT: &[&str] = &[
    "optout",
    "optedout",
    "unsubscribe",
    "unsubscribed",
    "donot",
    "dont",
    "nomarketing",
];

/// Words that mark a consent question.
pub(crate) const CONSENT: &[&str] = &[
    "consent",
    "consents",
    "consented",
    "optin",
    "optedin",
    "permission",
    "permissions",
    "marketingok",
    "contactok",
    "happytobecontacted",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_folded_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for key in SYNONYMS
            .iter()
            .flat_map(|(_, keys)| keys.iter())
            .chain(OPT_OUT)
            .chain(CONSENT)
        {
            assert!(
                key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{key}"
            );
            assert!(seen.insert(*key), "{key} is listed twice");
        }
    }
}

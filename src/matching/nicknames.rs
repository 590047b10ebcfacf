//! Given-name groups: UK-common nicknames, short forms and spelling variants.
//!
//! Policy: a group lists the formal name first (its *canonical* form) and then
//! the forms people are also recorded under. A name may sit in several groups
//! ("Jon" is short for John and for Jonathan, "Sam" for Samuel and
//! Samantha); two names are nickname-equivalent when they share a group.
//! Single-name groups are deliberate: they mark distinct names that look alike
//! ("Paula", "Louise", "Danielle", "Joan") so that the comparator treats
//! Paul/Paula or Daniel/Danielle as *different known names*, never as a typo
//! (boy–girl twins). All entries are already folded (`[a-z]`, as
//! [`fold`](crate::normalize::text::fold) produces). The index is built once,
//! sorted, and searched by binary search; look-ups do not allocate.

use super::nickname_table::{DISTINCT, GROUPS};
use super::strsim::within_one_edit;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Most groups a single name may belong to (checked by a unit test).
pub const MAX_GROUPS: usize = 6;

/// One entry of the sorted index: a name, one group it belongs to, and that
/// group's canonical name.
type Entry = (&'static str, u16, &'static str);

/// The sorted `(name, group)` index, built on first use.
fn index() -> &'static [Entry] {
    static INDEX: OnceLock<Vec<Entry>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut entries: Vec<Entry> = Vec::new();
        for (id, group) in all_groups().enumerate() {
            let id = u16::try_from(id).unwrap_or(u16::MAX);
            let canonical = group.split_ascii_whitespace().next().unwrap_or_default();
            for name in group.split_ascii_whitespace() {
                entries.push((name, id, canonical));
            }
        }
        entries.sort_unstable();
        entries.dedup();
        entries
    })
}

/// The index entries for `name` (a contiguous, possibly empty slice).
fn entries(name: &str) -> &'static [Entry] {
    let idx = index();
    let start = idx.partition_point(|(n, _, _)| *n < name);
    let len = idx
        .get(start..)
        .map_or(0, |rest| rest.iter().take_while(|(n, _, _)| *n == name).count());
    idx.get(start..start + len).unwrap_or(&[])
}

/// Every group: the nickname groups, then one group per distinct name.
fn all_groups() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().copied().chain(DISTINCT.split_ascii_whitespace())
}

/// The group ids of a folded given name, in ascending order, at most
/// [`MAX_GROUPS`]; unused slots are `u16::MAX`. Returns how many are used.
pub fn groups(name: &str) -> ([u16; MAX_GROUPS], usize) {
    let mut out = [u16::MAX; MAX_GROUPS];
    let mut n = 0;
    for (slot, (_, id, _)) in out.iter_mut().zip(entries(name)) {
        *slot = *id;
        n += 1;
    }
    (out, n)
}

/// The canonical form of a folded given name: the name itself when it heads a
/// group, otherwise the head of its first group, otherwise `None` (unknown).
pub fn canonical(name: &str) -> Option<&'static str> {
    let e = entries(name);
    let own = e.iter().find(|(_, _, c)| *c == name);
    own.or(e.first()).map(|(_, _, c)| *c)
}

/// The canonical names of every group the name belongs to (for blocking keys).
pub fn canonicals(name: &str) -> impl Iterator<Item = &'static str> {
    entries(name).iter().map(|(_, _, c)| *c)
}

/// `s` with one byte left out, for each position (ASCII names only).
fn deletions(s: &str) -> impl Iterator<Item = String> + '_ {
    (0..s.len()).filter_map(move |i| Some(format!("{}{}", s.get(..i)?, s.get(i + 1..)?)))
}

/// Every known name and each of its one-letter deletions → the known names it comes from
/// (a symmetric-deletion index: two names one edit apart share an entry).
fn deletion_index() -> &'static HashMap<String, Vec<&'static str>> {
    static INDEX: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map: HashMap<String, Vec<&'static str>> = HashMap::new();
        let mut names: Vec<&'static str> = index().iter().map(|(n, _, _)| *n).collect();
        names.dedup();
        for name in names {
            for v in std::iter::once(name.to_string()).chain(deletions(name)) {
                let list = map.entry(v).or_default();
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
        map
    })
}

/// The groups of the known names one edit away from an *unknown* name of four or more
/// letters: what it is probably a typo of ("ddick" → Richard's group, "sall" → Sarah's).
/// Empty for a known name, a short one, or one near too many groups to say.
pub fn near_groups(name: &str) -> ([u16; MAX_GROUPS], usize) {
    let mut out = [u16::MAX; MAX_GROUPS];
    if name.len() < 4 || !name.is_ascii() || !entries(name).is_empty() {
        return (out, 0);
    }
    let idx = deletion_index();
    let mut ids: Vec<u16> = Vec::new();
    for v in std::iter::once(name.to_string()).chain(deletions(name)) {
        for known in idx.get(&v).into_iter().flatten() {
            if within_one_edit(name.as_bytes(), known.as_bytes()) {
                ids.extend(entries(known).iter().map(|(_, id, _)| *id));
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > MAX_GROUPS {
        return (out, 0);
    }
    for (slot, id) in out.iter_mut().zip(&ids) {
        *slot = *id;
    }
    (out, ids.len())
}

/// True when the two sorted group-id lists share an id.
pub fn share_group(a: &[u16], b: &[u16]) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_known(name: &str) -> bool {
        !entries(name).is_empty()
    }

    fn related(a: &str, b: &str) -> bool {
        let (ga, na) = groups(a);
        let (gb, nb) = groups(b);
        share_group(&ga[..na], &gb[..nb])
    }

    #[test]
    fn table_is_clean() {
        let multi = GROUPS.iter().filter(|g| g.contains(' ')).count();
        assert!(multi >= 150, "{multi} nickname groups");
        for g in all_groups() {
            assert!(g.bytes().all(|c| c.is_ascii_lowercase() || c == b' '), "{g}");
        }
        assert!(DISTINCT.split_ascii_whitespace().count() >= 100);
        for (name, _, _) in index() {
            let (_, n) = groups(name);
            assert!(entries(name).len() <= MAX_GROUPS && n == entries(name).len(), "{name}");
        }
    }

    #[test]
    fn required_pairs_are_related() {
        for (a, b) in [
            ("jon", "jonathan"),
            ("jon", "john"),
            ("bill", "william"),
            ("peggy", "margaret"),
            ("bob", "robert"),
            ("liz", "elizabeth"),
            ("jim", "james"),
            ("kate", "catherine"),
            ("katherine", "catherine"),
            ("steven", "stephen"),
            ("mo", "muhammad"),
            ("paddy", "padraig"),
            ("seun", "oluwaseun"),
        ] {
            assert!(related(a, b), "{a} {b}");
            assert!(related(b, a), "{b} {a}");
        }
        for (a, b) in [
            ("daniel", "danielle"),
            ("paul", "paula"),
            ("louis", "louise"),
            ("john", "joan"),
            ("francis", "frances"),
            ("samuel", "samantha"),
        ] {
            assert!(!related(a, b), "{a} {b}");
            assert!(is_known(a) && is_known(b));
        }
        assert!(!is_known("featherstonehaugh"));
    }

    #[test]
    fn synthetic_generator_short_forms_are_covered() {
        // The short forms the project's synthetic-data generator uses.
        for (formal, shorts) in [
            ("alexander", "alex sandy"),
            ("andrew", "andy drew"),
            ("anthony", "tony"),
            ("benjamin", "ben"),
            ("catherine", "kate cathy"),
            ("christopher", "chris kit"),
            ("daniel", "dan danny"),
            ("deborah", "debbie deb"),
            ("edward", "ed ted eddie"),
            ("elizabeth", "liz beth lizzie"),
            ("frederick", "fred"),
            ("jennifer", "jen jenny"),
            ("jessica", "jess"),
            ("joseph", "joe"),
            ("margaret", "maggie peggy"),
            ("matthew", "matt"),
            ("michael", "mike mick"),
            ("patricia", "pat trish"),
            ("rebecca", "becky becca"),
            ("richard", "rich dick"),
            ("robert", "rob bob bobby"),
            ("samantha", "sam"),
            ("samuel", "sam"),
            ("stephen", "steve"),
            ("susan", "sue"),
            ("theodore", "theo teddy"),
            ("thomas", "tom tommy"),
            ("victoria", "vicky tori"),
            ("william", "will bill billy"),
            ("abigail", "abi abby"),
            ("james", "jim jamie"),
            ("muhammad", "mo"),
            ("oluwaseun", "seun"),
            ("padraig", "paddy"),
        ] {
            for s in shorts.split(' ') {
                assert!(related(formal, s), "{formal} {s}");
            }
        }
    }

    #[test]
    fn typos_of_known_names_find_their_groups() {
        let near = |typo: &str, name: &str| {
            let (g, n) = near_groups(typo);
            let (h, m) = groups(name);
            share_group(&g[..n], &h[..m])
        };
        for (typo, name) in [
            ("ddick", "richard"),
            ("sall", "sarah"),
            ("beca", "rebecca"),
            ("eemmy", "emma"),
            ("jenn", "jennifer"),
            ("wiliam", "bill"),
            ("margaert", "peggy"),
        ] {
            assert!(near(typo, name), "{typo} {name}");
        }
        // Known names, short names and far ones have none.
        assert_eq!(near_groups("dick").1, 0);
        assert_eq!(near_groups("bil").1, 0);
        assert_eq!(near_groups("zebedee").1, 0);
        assert_eq!(near_groups("ölaf").1, 0);
        assert!(!near("ddick", "daniel"));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("bill"), Some("william"));
        assert_eq!(canonical("william"), Some("william"));
        assert_eq!(canonical("nathan"), Some("nathan"));
        assert_eq!(canonical("jon"), Some("john"));
        assert_eq!(canonical("zebedee"), None);
        let jon: Vec<_> = canonicals("jon").collect();
        assert_eq!(jon, ["john", "jonathan"]);
    }
}

//! Tests of the pair counts, survivors, links and the truth file.

use super::*;
use proptest::prelude::*;

/// The counts by looking at every pair, to check the formula against.
fn brute_force(labels: &[(u8, u8)]) -> (u64, u64, u64) {
    let (mut t, mut p, mut c) = (0, 0, 0);
    for i in 0..labels.len() {
        for j in i + 1..labels.len() {
            let same_t = labels[i].0 == labels[j].0;
            let same_p = labels[i].1 == labels[j].1;
            t += u64::from(same_t);
            p += u64::from(same_p);
            c += u64::from(same_t && same_p);
        }
    }
    (t, p, c)
}

#[test]
fn a_worked_example() {
    // Truth {a1 a2 a3} {b1 b2}; predicted {a1 a2} {a3 b1} {b2}.
    let labels = [("a", 1), ("a", 1), ("a", 2), ("b", 2), ("b", 3)];
    let c = pair_counts(labels);
    assert_eq!(
        c,
        PairCounts {
            records: 5,
            true_clusters: 2,
            predicted_clusters: 3,
            true_pairs: 4,
            predicted_pairs: 2,
            correct_pairs: 1,
        }
    );
    assert!((c.precision() - 0.5).abs() < 1e-12);
    assert!((c.recall() - 0.25).abs() < 1e-12);
    assert!((c.f1() - 1.0 / 3.0).abs() < 1e-12);
    assert!(c.describe().contains("precision 0.5000  recall 0.2500  F1 0.3333"));
}

#[test]
fn empty_and_singleton_clusterings() {
    let none = pair_counts(Vec::<(u8, u8)>::new());
    assert_eq!((none.precision(), none.recall(), none.f1()), (1.0, 1.0, 1.0));
    // Everything apart while the truth has pairs: precise, recalls nothing.
    let apart = pair_counts([(1, 1), (1, 2), (1, 3)]);
    assert_eq!((apart.precision(), apart.recall(), apart.f1()), (1.0, 0.0, 0.0));
    assert_eq!(pairs(0), 0);
    assert_eq!(pairs(1), 0);
    assert_eq!(pairs(4), 6);
    assert_eq!(pairs(u64::MAX), u64::MAX);
}

#[test]
fn survivors_follow_chains_and_stop_on_cycles() {
    let merged: HashMap<i64, i64> = [(1, 2), (2, 3), (7, 8), (8, 7)].into_iter().collect();
    assert_eq!(survivor(1, &merged), 3);
    assert_eq!(survivor(3, &merged), 3);
    assert_eq!(survivor(5, &merged), 5);
    assert!([7, 8].contains(&survivor(7, &merged)));
}

#[test]
fn links_join_sets() {
    let mut l = Links::default();
    l.union(5, 9);
    l.union(9, 2);
    l.union(7, 8);
    assert_eq!((l.find(5), l.find(9), l.find(2)), (2, 2, 2));
    assert_eq!((l.find(7), l.find(8)), (7, 7));
    assert_eq!(l.find(100), 100);
    l.union(8, 5);
    assert_eq!(l.find(7), 2);
}

#[test]
fn truth_files_are_read_and_checked() {
    let dir = std::env::temp_dir().join(format!("lighthouse-score-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("truth.csv");
    let write = |text: &str| std::fs::write(&path, text).map(|_| ());
    assert!(write("entity,department,external_id\nE1,D1,x\nE1,D2,y\nE2,D1,z\n").is_ok());
    let t = read_truth(&path).map_err(|e| e.to_string());
    assert_eq!(t.as_ref().map(|t| (t.entity_of.len(), t.entities)), Ok((3, 2)));
    assert!(write("department,external_id,entity\nD1,x,1\nD1,x,2\n").is_ok());
    assert!(read_truth(&path).err().is_some_and(|e| e.contains("listed twice")));
    assert!(write("department,ref,entity\nD1,x,1\n").is_ok());
    assert!(read_truth(&path).err().is_some_and(|e| e.contains("external_id")));
    assert!(read_truth(&dir.join("missing.csv")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #[test]
    fn cluster_sizes_give_the_pair_counts(labels in prop::collection::vec((0u8..6, 0u8..6), 0..40)) {
        let c = pair_counts(labels.iter().copied());
        prop_assert_eq!((c.true_pairs, c.predicted_pairs, c.correct_pairs), brute_force(&labels));
        prop_assert!(c.correct_pairs <= c.true_pairs.min(c.predicted_pairs));
        let swapped = pair_counts(labels.iter().map(|(t, p)| (*p, *t)));
        prop_assert_eq!(swapped.precision(), c.recall());
        let perfect = pair_counts(labels.iter().map(|(t, _)| (*t, *t)));
        prop_assert_eq!((perfect.precision(), perfect.recall(), perfect.f1()), (1.0, 1.0, 1.0));
    }
}

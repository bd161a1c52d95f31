//! The order cases start in: each class of case (the browsers it needs) spread evenly over the
//! run, so that the cases running at once share the browser slots instead of queueing for them.
//!
//! Why: cases expand scenario by scenario, and within a scenario pair by pair in kind order, so a
//! scenario's ten `chrome-*` cases come one after another. A browser case holds one of the pool's
//! slots (two of a kind at once), and the cases after it wait in the run's window: measured on a
//! run of three scenarios x 100 pairs with 4 jobs, 7 of its 25 five-second stretches ran only the
//! two chrome (or firefox) cases the pool allows. Spread, every window of cases mixes the classes
//! as the whole matrix does. A pure function of the classes, so it is tested without a browser;
//! reports keep the expansion's order whatever order the cases ran in.

use crate::peer::Registry;
use crate::scenario::Case;

/// The indices of `classes` in the order to start them: the `r`-th of a class of `n` goes at the
/// fraction `(r + 1/2) / n` of the run, ties kept in their first order. Deterministic.
pub fn spread<K: Ord>(classes: &[K]) -> Vec<usize> {
    let mut by_class: std::collections::BTreeMap<&K, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, k) in classes.iter().enumerate() {
        by_class.entry(k).or_default().push(i);
    }
    // (place, index): place is (2r + 1) / 2n, compared exactly as (2r + 1) * other_n.
    let mut placed: Vec<(u64, u64, usize)> = Vec::with_capacity(classes.len());
    for members in by_class.values() {
        let n = members.len() as u64;
        for (r, &i) in members.iter().enumerate() {
            placed.push((2 * r as u64 + 1, 2 * n, i));
        }
    }
    placed.sort_by(|a, b| (a.0 as u128 * b.1 as u128).cmp(&(b.0 as u128 * a.1 as u128)).then(a.2.cmp(&b.2)));
    placed.into_iter().map(|(_, _, i)| i).collect()
}

/// The order to start `cases` in (see [`spread`]): a case's class is the list of its kinds that
/// take a slot of a pool (the browsers), so `chrome-aiortc` and `aiortc-chrome` are one class.
pub fn start_order(cases: &[Case], registry: &Registry) -> Vec<usize> {
    let classes: Vec<Vec<String>> = cases
        .iter()
        .map(|c| {
            let mut pooled: Vec<String> = c.kinds.iter().filter(|k| registry.get(k).is_some_and(|l| l.slots().is_some())).map(|k| k.to_string()).collect();
            pooled.sort();
            pooled
        })
        .collect();
    spread(&classes)
}

/// `items` (in expansion order) in the order `order` starts them, each with its expansion index.
pub fn arrange<T>(items: Vec<T>, order: Vec<usize>) -> Vec<(usize, T)> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().map(|i| (i, slots[i].take().expect("each index once"))).collect()
}

#[cfg(test)]
mod tests {
    use super::{arrange, spread};

    /// Runs of the classes in start order, as a string (one letter per case).
    fn started(classes: &str) -> String {
        let v: Vec<char> = classes.chars().collect();
        spread(&v).into_iter().map(|i| v[i]).collect()
    }

    #[test]
    fn each_class_is_spread_over_the_run() {
        // A scenario's browser cases come in a block; spread, no two of them start together.
        assert_eq!(started("nnnnCCnnnn"), "nnCnnnnCnn");
        assert_eq!(started("nnnnnnCCCCFFFFnnnnnn"), "nnCFnnnCFnnCFnnnCFnn");
    }

    #[test]
    fn every_index_once_and_a_class_keeps_its_order() {
        let classes: Vec<u8> = (0..500u32).map(|i| ((i * 7) % 5) as u8).collect();
        let order = spread(&classes);
        let mut seen = order.clone();
        seen.sort();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
        for k in 0..5u8 {
            let within: Vec<usize> = order.iter().copied().filter(|&i| classes[i] == k).collect();
            assert!(within.windows(2).all(|w| w[0] < w[1]), "class {k} out of its order");
        }
    }

    #[test]
    fn arranged_items_keep_their_expansion_index() {
        assert_eq!(arrange(vec!['a', 'b', 'c'], vec![2, 0, 1]), vec![(2, 'c'), (0, 'a'), (1, 'b')]);
    }

    #[test]
    fn one_class_and_none_are_left_as_they_are() {
        assert_eq!(spread(&[1, 1, 1, 1]), vec![0, 1, 2, 3]);
        assert!(spread::<u8>(&[]).is_empty());
    }

    #[test]
    fn any_window_mixes_the_classes_as_the_whole_does() {
        // 64 non-browser, 16 + 16 single-browser and 4 two-browser cases per 100, in blocks as
        // a scenario expands them: every window of 8 started has at most 2 of one browser class.
        let mut classes = Vec::new();
        for _ in 0..10 {
            classes.extend(std::iter::repeat_n('n', 32));
            classes.extend(std::iter::repeat_n('c', 8));
            classes.extend(std::iter::repeat_n('f', 8));
            classes.extend(std::iter::repeat_n('b', 2));
            classes.extend(std::iter::repeat_n('n', 32));
            classes.extend(std::iter::repeat_n('c', 8));
            classes.extend(std::iter::repeat_n('f', 8));
            classes.extend(std::iter::repeat_n('b', 2));
        }
        let order: Vec<char> = spread(&classes).into_iter().map(|i| classes[i]).collect();
        for w in order.windows(8) {
            for k in ['c', 'f', 'b'] {
                assert!(w.iter().filter(|&&x| x == k).count() <= 2, "{:?}", w);
            }
        }
    }
}

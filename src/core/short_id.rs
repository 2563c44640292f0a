//! Short forms of revision ids for narrow columns. A short form is the
//! shortest prefix that no other id shares, but never shorter than
//! [`MIN_SHORT_ID`] characters: a fixed 12-character cut made
//! `v20191100000…` stand for dozens of revisions of one real history, and
//! showed two different graph rows as the same `v2025110500…`.

/// Fewest characters a short id keeps (Alembic's own ids are 12 long).
pub const MIN_SHORT_ID: usize = 12;

/// For each of `ids`, how many characters its short form keeps: the length
/// of its shortest prefix that is a prefix of no other id, at least
/// `min_len`, at most the whole id. Equal ids (which a valid map never has)
/// keep their whole length.
pub fn unique_prefix_lengths(ids: &[&str], min_len: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_unstable_by_key(|&i| ids[i]);
    let mut lengths = vec![0; ids.len()];
    // In sorted order the id sharing the longest prefix with an id is one of
    // its two neighbours, so one pass over neighbours is enough.
    for (at, &i) in order.iter().enumerate() {
        let id = ids[i];
        let shared_with = |other: Option<&usize>| other.map_or(0, |&j| common_chars(id, ids[j]));
        let shared = shared_with(at.checked_sub(1).and_then(|p| order.get(p)))
            .max(shared_with(order.get(at + 1)));
        let chars = id.chars().count();
        lengths[i] = (shared + 1).max(min_len).min(chars);
    }
    lengths
}

/// `id` cut to `chars` characters, with `…` when something was cut.
pub fn shorten(id: &str, chars: usize) -> String {
    match id.char_indices().nth(chars) {
        // Cutting a single character saves nothing once `…` takes its place.
        Some(_) if id.chars().count() > chars + 1 => {
            let end = id.char_indices().nth(chars).map_or(id.len(), |(at, _)| at);
            format!("{}…", &id[..end])
        }
        _ => id.to_string(),
    }
}

/// Characters two strings share at their start.
fn common_chars(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_ids_keep_the_minimum() {
        let ids = ["4f1c8a2e9b07", "7a4d2c9e1f60", "a1", "abcdefghijklmnopq"];
        assert_eq!(unique_prefix_lengths(&ids, 12), [12, 12, 2, 12]);
        assert_eq!(shorten("abcdefghijklmnopq", 12), "abcdefghijkl…");
        assert_eq!(shorten("a1", 2), "a1");
    }

    #[test]
    fn ids_sharing_a_long_prefix_keep_what_tells_them_apart() {
        let ids = [
            "v20191100000101_add_users",
            "v20191100000102_add_orders",
            "v20191100000201_add_items",
            "v20251105000001_index",
            "v20251105000002_backfill",
        ];
        let lengths = unique_prefix_lengths(&ids, MIN_SHORT_ID);
        assert_eq!(lengths, [15, 15, 13, 15, 15]);
        let shown: Vec<String> = ids
            .iter()
            .zip(&lengths)
            .map(|(id, &n)| shorten(id, n))
            .collect();
        assert_eq!(
            shown,
            [
                "v20191100000101…",
                "v20191100000102…",
                "v201911000002…",
                "v20251105000001…",
                "v20251105000002…",
            ]
        );
    }

    #[test]
    fn an_id_that_is_a_prefix_of_another_is_shown_whole() {
        let ids = ["abcdefghijklmn", "abcdefghijklmnop"];
        assert_eq!(unique_prefix_lengths(&ids, 12), [14, 15]);
        // Cutting one character would save nothing.
        assert_eq!(shorten(ids[1], 15), "abcdefghijklmnop");
        assert_eq!(shorten(ids[0], 14), "abcdefghijklmn");
    }

    #[test]
    fn multibyte_ids_are_cut_on_characters() {
        let ids = ["ééééééééééééééx", "ééééééééééééééy"];
        assert_eq!(unique_prefix_lengths(&ids, 12), [15, 15]);
        assert_eq!(shorten("éééééééééééééé", 12), "éééééééééééé…");
    }

    #[test]
    fn empty_and_single() {
        assert!(unique_prefix_lengths(&[], 12).is_empty());
        assert_eq!(unique_prefix_lengths(&["x"], 12), [1]);
    }
}

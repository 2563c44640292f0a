//! The benchmark graph generator produces what the benchmarks claim to
//! measure: valid graphs of the requested size and shape, that load back from
//! disk and plan completely.

#[path = "../benches/support/graphgen.rs"]
mod graphgen;

use std::collections::HashSet;

use graphgen::{GraphSpec, Shape, generate};
use retort::core::graph::RevisionMap;
use retort::core::plan::plan_upgrade;
use retort::scripts::load_revisions;

#[test]
fn creation_order_is_an_upgrade_order_with_unique_ids() {
    let graph = generate(GraphSpec::new(3_000, Shape::Branchy));
    assert_eq!(graph.revisions.len(), 3_000);
    let mut seen = HashSet::new();
    for rev in &graph.revisions {
        for parent in rev.down_revisions.iter().chain(&rev.depends_on) {
            assert!(
                seen.contains(parent.as_str()),
                "{} refers to {parent}, which is not an earlier revision",
                rev.id
            );
        }
        assert!(seen.insert(rev.id.as_str()), "duplicate id {}", rev.id);
    }
}

#[test]
fn branchy_graphs_have_merges_dependencies_labels_and_several_heads() {
    let graph = generate(GraphSpec::new(3_000, Shape::Branchy));
    let merges = graph
        .revisions
        .iter()
        .filter(|r| r.down_revisions.len() > 1)
        .count();
    let dependent = graph
        .revisions
        .iter()
        .filter(|r| !r.depends_on.is_empty())
        .count();
    let bases = graph
        .revisions
        .iter()
        .filter(|r| r.down_revisions.is_empty())
        .count();
    let labels: Vec<&str> = graph
        .revisions
        .iter()
        .flat_map(|r| r.branch_labels.iter().map(String::as_str))
        .collect();
    assert!(merges > 100, "only {merges} merges");
    assert!(dependent > 30, "only {dependent} revisions with depends_on");
    assert_eq!(bases, 2);
    assert_eq!(labels, ["main", "reporting"]);
    assert!(graph.heads.len() >= 2, "heads: {:?}", graph.heads);
}

#[test]
fn chains_are_one_line() {
    let graph = generate(GraphSpec::new(500, Shape::Chain));
    assert_eq!(graph.heads, [graph.revisions[499].id.clone()]);
    for pair in graph.revisions.windows(2) {
        assert_eq!(pair[1].down_revisions, [pair[0].id.clone()]);
    }
}

#[test]
fn same_spec_same_graph_other_seed_other_graph() {
    let ids = |spec: GraphSpec| -> Vec<String> {
        generate(spec).revisions.into_iter().map(|r| r.id).collect()
    };
    let spec = GraphSpec::new(200, Shape::Branchy);
    assert_eq!(ids(spec), ids(spec));
    let other = GraphSpec { seed: 7, ..spec };
    assert_ne!(ids(spec), ids(other));
}

#[test]
fn written_files_load_validate_and_plan_every_revision() {
    for shape in [Shape::Chain, Shape::Branchy, Shape::Lineages, Shape::Wide] {
        let graph = generate(GraphSpec::new(1_500, shape));
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = graph.write_retort_files(dir.path()).expect("write files");
        assert_eq!(paths.len(), 1_500);

        let loaded = load_revisions(dir.path()).expect("the files load");
        assert_eq!(loaded.len(), 1_500);
        let map = RevisionMap::build(loaded).expect("the graph is valid");
        let mut heads: Vec<&str> = map.heads().iter().map(|&h| map.id(h)).collect();
        heads.sort_unstable();
        let mut expected: Vec<&str> = graph.heads.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(heads, expected, "{}", shape.name());

        let plan = plan_upgrade(&map, &[], "heads").expect("upgrade plan");
        let planned: HashSet<&str> = plan.steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(planned.len(), 1_500, "{}", shape.name());
    }
}

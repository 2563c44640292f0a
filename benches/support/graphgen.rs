//! Synthetic revision graphs for the benchmarks.
//!
//! Shared by the benchmark targets and the `graphgen` example: include it with
//! `#[path = "support/graphgen.rs"] mod graphgen;` (from `benches/`) or
//! `#[path = "../benches/support/graphgen.rs"] mod graphgen;` (from
//! `examples/`). It only uses retort's public API, so it stays out of the
//! library.
//!
//! Graphs are deterministic for a given spec (seeded generator, no clock), and
//! `revisions` is always in creation order, which is a valid upgrade order:
//! every revision comes after its down revisions and dependencies.
// Each includer uses a different part of the module.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use retort::core::revision::{Revision, SqlSection, render_revision};
use retort::scripts::revision_file_name;

/// The shape of a synthetic graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One straight line from a single base to a single head.
    Chain,
    /// A labelled trunk (`main`) with short feature branches that fork and
    /// merge back, a few of them open at once; a second labelled lineage
    /// (`reporting`) with its own base whose revisions depend on trunk
    /// revisions; occasional cross-branch `depends_on`; and one feature
    /// branch left unmerged, so the graph ends with three heads.
    Branchy,
    /// Sixteen labelled lineages (`lineage_00` ..), each with its own base,
    /// grown side by side; a third of the revisions `depends_on` the current
    /// tip of another lineage, so the lineages are densely cross-linked and
    /// the graph ends with sixteen heads. The stress case for dependency
    /// handling: many branch points, each with pending revisions above it.
    Lineages,
    /// Independent lines of twenty revisions each, grown interleaved: the
    /// number of bases and heads grows with the graph (5,000 at 100k), the
    /// stress case for anything that scans the current heads per step.
    Wide,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::Branchy => "branchy",
            Shape::Lineages => "lineages",
            Shape::Wide => "wide",
        }
    }

    pub fn parse(text: &str) -> Option<Shape> {
        match text {
            "chain" => Some(Shape::Chain),
            "branchy" => Some(Shape::Branchy),
            "lineages" => Some(Shape::Lineages),
            "wide" => Some(Shape::Wide),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GraphSpec {
    pub revisions: usize,
    pub shape: Shape,
    pub seed: u64,
}

impl GraphSpec {
    pub fn new(revisions: usize, shape: Shape) -> GraphSpec {
        GraphSpec {
            revisions,
            shape,
            seed: 0x5eed_2024,
        }
    }
}

/// A generated graph.
pub struct SyntheticGraph {
    /// In creation order: a valid upgrade order.
    pub revisions: Vec<Revision>,
    /// Ids of the heads (revisions nothing builds on), in creation order.
    pub heads: Vec<String>,
}

impl SyntheticGraph {
    /// One line describing the graph: revisions, bases, heads, merges and
    /// dependencies.
    pub fn summary(&self) -> String {
        let count = |keep: fn(&Revision) -> bool| self.revisions.iter().filter(|r| keep(r)).count();
        format!(
            "{} revisions: {} bases, {} heads, {} merges, {} with depends_on, {} branch labels",
            self.revisions.len(),
            count(|r| r.down_revisions.is_empty()),
            self.heads.len(),
            count(|r| r.down_revisions.len() > 1),
            count(|r| !r.depends_on.is_empty()),
            self.revisions
                .iter()
                .map(|r| r.branch_labels.len())
                .sum::<usize>(),
        )
    }

    /// Writes every revision as a retort revision file into `dir` (created if
    /// missing), named as `retort revision` would name it. Returns the paths.
    pub fn write_retort_files(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut paths = Vec::with_capacity(self.revisions.len());
        for rev in &self.revisions {
            let path = dir.join(revision_file_name(&rev.id, &rev.message));
            std::fs::write(&path, render_revision(rev))?;
            paths.push(path);
        }
        Ok(paths)
    }
}

/// Generates the graph `spec` describes.
pub fn generate(spec: GraphSpec) -> SyntheticGraph {
    let mut builder = Builder::new(spec.seed, spec.revisions);
    match spec.shape {
        Shape::Chain => builder.chain(),
        Shape::Branchy => builder.branchy(),
        Shape::Lineages => builder.lineages(),
        Shape::Wide => builder.wide(),
    }
    builder.finish()
}

/// The upgrade SQL of synthetic revision number `n`: a small table and two
/// rows, so applying it does real but cheap work.
pub fn upgrade_sql(n: usize) -> String {
    format!(
        "CREATE TABLE t_{n:06} (\n    id bigint PRIMARY KEY,\n    name text NOT NULL,\n    \
         created_at timestamptz NOT NULL DEFAULT now()\n);\n\
         INSERT INTO t_{n:06} (id, name) VALUES (1, 'first'), (2, 'second');"
    )
}

pub fn downgrade_sql(n: usize) -> String {
    format!("DROP TABLE t_{n:06};")
}

/// SplitMix64: tiny, seedable, good enough to shape graphs reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0); the modulo bias is irrelevant here.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A feature branch under construction.
struct OpenBranch {
    number: usize,
    tip: String,
    /// Revisions still to add before it is merged back.
    remaining: usize,
}

/// At most this many feature branches are open at once.
const MAX_OPEN_BRANCHES: usize = 4;
/// Feature branches get 1..=this many revisions before the merge.
const MAX_BRANCH_LENGTH: usize = 6;

struct Builder {
    rng: SplitMix,
    target: usize,
    revisions: Vec<Revision>,
    used_ids: HashSet<String>,
}

impl Builder {
    fn new(seed: u64, target: usize) -> Builder {
        Builder {
            rng: SplitMix(seed),
            target,
            revisions: Vec::with_capacity(target),
            used_ids: HashSet::with_capacity(target),
        }
    }

    fn remaining(&self) -> usize {
        self.target - self.revisions.len()
    }

    fn chain(&mut self) {
        let mut tip: Option<String> = None;
        while self.remaining() > 0 {
            let downs: Vec<String> = tip.take().into_iter().collect();
            let n = self.revisions.len();
            tip = Some(self.add(
                downs,
                Vec::new(),
                Vec::new(),
                format!("create table t_{n:06}"),
            ));
        }
    }

    fn branchy(&mut self) {
        if self.remaining() == 0 {
            return;
        }
        let mut trunk = self.add(
            Vec::new(),
            vec!["main".into()],
            Vec::new(),
            "main base".into(),
        );
        // About 2% of the graph lives on the independent `reporting` lineage.
        let mut reporting: Option<String> = None;
        let mut open: Vec<OpenBranch> = Vec::new();
        let mut branches_made = 0;
        while self.remaining() > 0 {
            let n = self.revisions.len();
            let winding_down = self.remaining() < open.len();
            if winding_down {
                // Merge the newest branches first; the oldest stays open as a head.
                if open.len() > 1 {
                    let branch = open.pop().expect("more than one branch is open");
                    trunk = self.merge(&trunk, &branch);
                } else {
                    trunk = self.trunk_step(&trunk);
                }
                continue;
            }
            let roll = self.rng.below(100);
            if roll < 2 {
                reporting = Some(self.reporting_step(reporting.take(), &trunk));
            } else if roll < 10 && open.len() < MAX_OPEN_BRANCHES {
                branches_made += 1;
                let length = 1 + self.rng.below(MAX_BRANCH_LENGTH);
                let message = format!("feature {branches_made} starts: table t_{n:06}");
                let tip = self.add(vec![trunk.clone()], Vec::new(), Vec::new(), message);
                open.push(OpenBranch {
                    number: branches_made,
                    tip,
                    remaining: length - 1,
                });
            } else if roll < 55 && !open.is_empty() {
                let at = self.rng.below(open.len());
                if open[at].remaining == 0 {
                    let branch = open.remove(at);
                    trunk = self.merge(&trunk, &branch);
                } else {
                    // Now and then a feature needs a table that landed on the
                    // trunk after it forked.
                    let depends_on = if self.rng.chance(5) {
                        vec![trunk.clone()]
                    } else {
                        Vec::new()
                    };
                    let branch = &open[at];
                    let message = format!("feature {}: table t_{n:06}", branch.number);
                    let downs = vec![branch.tip.clone()];
                    let tip = self.add(downs, Vec::new(), depends_on, message);
                    open[at].tip = tip;
                    open[at].remaining -= 1;
                }
            } else {
                trunk = self.trunk_step(&trunk);
            }
        }
    }

    fn lineages(&mut self) {
        const LINEAGES: usize = 16;
        let mut tips: Vec<Option<String>> = vec![None; LINEAGES];
        while self.remaining() > 0 {
            let n = self.revisions.len();
            let lineage = self.rng.below(LINEAGES);
            let other = self.rng.below(LINEAGES);
            let depends_on: Vec<String> = match &tips[other] {
                Some(tip) if other != lineage && self.rng.chance(33) => vec![tip.clone()],
                _ => Vec::new(),
            };
            let message = format!("lineage {lineage}: table t_{n:06}");
            let tip = match tips[lineage].take() {
                None => {
                    let label = vec![format!("lineage_{lineage:02}")];
                    self.add(Vec::new(), label, depends_on, message)
                }
                Some(tip) => self.add(vec![tip], Vec::new(), depends_on, message),
            };
            tips[lineage] = Some(tip);
        }
    }

    fn wide(&mut self) {
        const LINE_LENGTH: usize = 20;
        let lines = self.target.div_ceil(LINE_LENGTH).max(1);
        let mut tips: Vec<Option<String>> = vec![None; lines];
        let mut line = 0;
        while self.remaining() > 0 {
            let n = self.revisions.len();
            let downs: Vec<String> = tips[line].take().into_iter().collect();
            let message = format!("line {line}: table t_{n:06}");
            tips[line] = Some(self.add(downs, Vec::new(), Vec::new(), message));
            line = (line + 1) % lines;
        }
    }

    fn trunk_step(&mut self, trunk: &str) -> String {
        let n = self.revisions.len();
        let message = format!("table t_{n:06}");
        self.add(vec![trunk.to_string()], Vec::new(), Vec::new(), message)
    }

    fn merge(&mut self, trunk: &str, branch: &OpenBranch) -> String {
        let message = format!("merge feature {}", branch.number);
        let downs = vec![trunk.to_string(), branch.tip.clone()];
        self.add(downs, Vec::new(), Vec::new(), message)
    }

    /// The next `reporting` revision: its lineage's base (labelled) or the
    /// next link, depending on the trunk's latest table.
    fn reporting_step(&mut self, tip: Option<String>, trunk: &str) -> String {
        let n = self.revisions.len();
        let message = format!("reporting table t_{n:06}");
        let depends_on = vec![trunk.to_string()];
        match tip {
            None => self.add(Vec::new(), vec!["reporting".into()], depends_on, message),
            Some(tip) => self.add(vec![tip], Vec::new(), depends_on, message),
        }
    }

    /// Appends a revision and returns its id.
    fn add(
        &mut self,
        down_revisions: Vec<String>,
        branch_labels: Vec<String>,
        depends_on: Vec<String>,
        message: String,
    ) -> String {
        let n = self.revisions.len();
        let id = self.fresh_id();
        let downgrade_sql = downgrade_sql(n);
        self.revisions.push(Revision {
            down_revisions,
            branch_labels,
            depends_on,
            message,
            upgrade: SqlSection {
                sql: upgrade_sql(n),
                first_line: 1,
            },
            downgrade: Some(SqlSection {
                sql: downgrade_sql,
                first_line: 1,
            }),
            ..Revision::synthetic(&id, &[])
        });
        id
    }

    /// A 12-hex-digit id like Alembic's, unique within the graph.
    fn fresh_id(&mut self) -> String {
        loop {
            let id = format!("{:012x}", self.rng.next() >> 16);
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn finish(self) -> SyntheticGraph {
        // Heads in Alembic's sense: nothing has them as a down revision.
        // `depends_on` does not count, matching `RevisionMap::heads`.
        let with_down_children: HashSet<&str> = self
            .revisions
            .iter()
            .flat_map(|r| r.down_revisions.iter().map(String::as_str))
            .collect();
        let heads = self
            .revisions
            .iter()
            .filter(|r| !with_down_children.contains(r.id.as_str()))
            .map(|r| r.id.clone())
            .collect();
        SyntheticGraph {
            revisions: self.revisions,
            heads,
        }
    }
}

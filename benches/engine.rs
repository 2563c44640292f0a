//! Engine benchmark: load + validate + plan + history on synthetic graphs of
//! 1k, 10k and 100k revisions, as chains and as branchy graphs.
//!
//! `cargo bench --bench engine` (options after `--`: `--sizes 1000,10000`,
//! `--shapes chain,branchy,lineages,wide`, `--runs 5` (default: 5, 3 from 100k revisions),
//! `--phases plan-up,history`;
//! load and validate always run). Prints medians per phase and how
//! each phase scales from 10k to 100k revisions, flagging anything that grows
//! faster than n log n. Timing is reported, never asserted; the only failures
//! are wrong results (a plan that does not cover the graph).

#[path = "support/graphgen.rs"]
mod graphgen;

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use graphgen::{GraphSpec, Shape, generate};
use retort::core::describe::{LineStyle, RangeEnd, history_range, revision_line};
use retort::core::graph::RevisionMap;
use retort::core::plan::{plan_downgrade, plan_upgrade};
use retort::scripts::load_revisions;

const PHASES: [Phase; 5] = [
    Phase {
        name: "load",
        function: "scripts::load_revisions",
    },
    Phase {
        name: "validate",
        function: "RevisionMap::build",
    },
    Phase {
        name: "plan up",
        function: "plan::plan_upgrade(heads)",
    },
    Phase {
        name: "plan down",
        function: "plan::plan_downgrade(base)",
    },
    Phase {
        name: "history",
        function: "describe::history_range + revision_line",
    },
];

/// Growth from 10k to 100k revisions beyond which a phase is suspect:
/// n log n gives 12.5x; the margin absorbs timing noise.
const SUSPECT_GROWTH: f64 = 20.0;
/// How much faster than the linear reference a suspect phase must grow to be
/// called superlinear. On this kind of machine even a plain clone of the
/// revisions grows 15-40x from 10k to 100k (page faults and cache misses once
/// the data outgrows the caches), so raw growth alone cannot tell memory
/// effects from a quadratic walk; a quadratic walk grows about 100x, i.e.
/// 3-7x faster than the reference.
const SUPERLINEAR_VS_REFERENCE: f64 = 2.5;

struct Phase {
    name: &'static str,
    function: &'static str,
}

struct Options {
    sizes: Vec<usize>,
    shapes: Vec<Shape>,
    /// Timed runs per graph; `None`: 5, or 3 for the largest graphs.
    runs: Option<usize>,
    /// Which of `PHASES` to time; load and validate always run, as the
    /// others need their results.
    wanted: [bool; PHASES.len()],
}

/// Median time of each phase, in `PHASES` order (`None`: not timed).
struct Measurement {
    shape: Shape,
    revisions: usize,
    medians: Vec<Option<Duration>>,
    runs: usize,
    summary: String,
    /// Median time of the linear reference: cloning and dropping the loaded
    /// revisions, which allocates and touches the same data as the phases.
    reference: Duration,
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("engine bench: {message}");
            return ExitCode::from(2);
        }
    };
    let mut measurements = Vec::new();
    for &shape in &options.shapes {
        for &revisions in &options.sizes {
            match measure(shape, revisions, &options) {
                Ok(m) => measurements.push(m),
                Err(message) => {
                    eprintln!("engine bench: {} x {revisions}: {message}", shape.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    print!("{}", report(&measurements));
    ExitCode::SUCCESS
}

fn parse_options(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        sizes: vec![1_000, 10_000, 100_000],
        shapes: vec![Shape::Chain, Shape::Branchy, Shape::Lineages, Shape::Wide],
        runs: None,
        wanted: [true; PHASES.len()],
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value("--sizes")?
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--sizes: {e}"))?;
            }
            "--shapes" => {
                options.shapes = value("--shapes")?
                    .split(',')
                    .map(|s| Shape::parse(s.trim()).ok_or(format!("unknown shape '{s}'")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => {
                let runs = value("--runs")?;
                options.runs = Some(runs.parse().map_err(|e| format!("--runs: {e}"))?);
            }
            "--phases" => {
                let names = value("--phases")?;
                // `plan-up` spares the shell quotes around `plan up`.
                let names: Vec<String> = names
                    .split(',')
                    .map(|n| n.trim().replace('-', " "))
                    .collect();
                if let Some(unknown) = names.iter().find(|n| !PHASES.iter().any(|p| p.name == **n))
                {
                    return Err(format!("unknown phase '{unknown}'"));
                }
                for (index, phase) in PHASES.iter().enumerate() {
                    options.wanted[index] = index < 2 || names.iter().any(|n| n == phase.name);
                }
            }
            // `cargo bench` passes `--bench`; libtest filters are not supported.
            _ => {}
        }
    }
    if options.runs == Some(0) {
        return Err("--runs must be at least 1".into());
    }
    Ok(options)
}

fn measure(shape: Shape, revisions: usize, options: &Options) -> Result<Measurement, String> {
    let runs = options
        .runs
        .unwrap_or(if revisions >= 100_000 { 3 } else { 5 });
    eprintln!(
        "engine bench: {} x {revisions}: writing revision files",
        shape.name()
    );
    let graph = generate(GraphSpec::new(revisions, shape));
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    graph
        .write_retort_files(dir.path())
        .map_err(|e| format!("writing revision files: {e}"))?;
    // One more column for the reference.
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); PHASES.len() + 1];
    let job = Job {
        dir: dir.path(),
        revisions,
        heads: &graph.heads,
        wanted: &options.wanted,
    };
    // No warm-up pass: the files were just written, so the page cache is
    // warm, and at 100k revisions a pass can take minutes.
    for run in 1..=runs {
        eprintln!(
            "engine bench: {} x {revisions}: run {run}/{runs}",
            shape.name()
        );
        let times = job.run_once()?;
        for (phase, time) in times.into_iter().enumerate() {
            samples[phase].extend(time);
        }
    }
    let mut medians: Vec<Option<Duration>> = samples.into_iter().map(median).collect();
    let reference = medians.pop().flatten().unwrap_or_default();
    Ok(Measurement {
        shape,
        revisions,
        medians,
        runs,
        summary: graph.summary(),
        reference,
    })
}

/// One graph on disk and what to time on it.
struct Job<'a> {
    dir: &'a Path,
    revisions: usize,
    heads: &'a [String],
    wanted: &'a [bool; PHASES.len()],
}

impl Job<'_> {
    /// Times each wanted phase once, then the reference, checking that every
    /// phase covers the whole graph.
    fn run_once(&self) -> Result<Vec<Option<Duration>>, String> {
        let revisions = self.revisions;
        let mut times = Vec::with_capacity(PHASES.len() + 1);

        let start = Instant::now();
        let loaded = load_revisions(self.dir).map_err(|e| format!("load: {e}"))?;
        times.push(Some(start.elapsed()));
        expect_count("loaded revisions", loaded.len(), revisions)?;

        let start = Instant::now();
        let copy = std::hint::black_box(loaded.clone());
        drop(copy);
        let reference = start.elapsed();

        let start = Instant::now();
        let map = RevisionMap::build(loaded).map_err(|e| format!("validate: {e}"))?;
        times.push(Some(start.elapsed()));
        self.check_heads(&map)?;

        let start = Instant::now();
        let up = if self.wanted[2] || self.wanted[3] {
            let up = plan_upgrade(&map, &[], "heads").map_err(|e| format!("plan up: {e}"))?;
            expect_count("upgrade steps", up.steps.len(), revisions)?;
            Some(up)
        } else {
            None
        };
        times.push(self.wanted[2].then(|| start.elapsed()));

        let start = Instant::now();
        if let Some(up) = up.as_ref().filter(|_| self.wanted[3]) {
            let down = plan_downgrade(&map, &up.heads_after, "base")
                .map_err(|e| format!("plan down: {e}"))?;
            times.push(Some(start.elapsed()));
            expect_count("downgrade steps", down.steps.len(), revisions)?;
        } else {
            times.push(None);
        }

        let start = Instant::now();
        if self.wanted[4] {
            let lines = history_text(&map)?;
            times.push(Some(start.elapsed()));
            expect_count("history lines", lines.lines().count(), revisions)?;
        } else {
            times.push(None);
        }

        times.push(Some(reference));
        Ok(times)
    }

    fn check_heads(&self, map: &RevisionMap) -> Result<(), String> {
        let mut map_heads: Vec<&str> = map.heads().iter().map(|&h| map.id(h)).collect();
        map_heads.sort_unstable();
        let mut expected: Vec<&str> = self.heads.iter().map(String::as_str).collect();
        expected.sort_unstable();
        if map_heads == expected {
            Ok(())
        } else {
            Err(format!(
                "heads are {map_heads:?}, the generator made {expected:?}"
            ))
        }
    }
}

/// What `retort history` prints: every revision from base to the heads.
fn history_text(map: &RevisionMap) -> Result<String, String> {
    let base = RangeEnd::Ident("base".into());
    let top = RangeEnd::Ident("heads".into());
    let listed = history_range(map, &base, &top).map_err(|e| format!("history: {e}"))?;
    let mut text = String::new();
    for &rev in &listed {
        text.push_str(&revision_line(map, rev, LineStyle::HISTORY, false));
        text.push('\n');
    }
    Ok(text)
}

fn expect_count(what: &str, found: usize, expected: usize) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!("{found} {what}, expected {expected}"))
    }
}

fn median(mut samples: Vec<Duration>) -> Option<Duration> {
    samples.sort_unstable();
    let mid = samples.len() / 2;
    match samples.len() {
        0 => None,
        n if n % 2 == 1 => Some(samples[mid]),
        _ => Some((samples[mid - 1] + samples[mid]) / 2),
    }
}

fn report(measurements: &[Measurement]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "retort engine benchmark: median per phase (warm page cache)\n"
    );
    let _ = write!(out, "{:<8} {:>10}", "shape", "revisions");
    for phase in &PHASES {
        let _ = write!(out, " {:>10}", phase.name);
    }
    let _ = writeln!(out, " {:>10} {:>5}", "total", "runs");
    for m in measurements {
        let _ = write!(out, "{:<8} {:>10}", m.shape.name(), thousands(m.revisions));
        for time in &m.medians {
            let shown = time.map_or("-".to_string(), format_duration);
            let _ = write!(out, " {shown:>10}");
        }
        let total: Duration = m.medians.iter().flatten().sum();
        let _ = writeln!(out, " {:>10} {:>5}", format_duration(total), m.runs);
    }
    let _ = writeln!(out, "\ngraphs:");
    for m in measurements {
        let _ = writeln!(out, "  {:<8} {}", m.shape.name(), m.summary);
    }
    out.push_str(&scaling_report(measurements));
    out
}

/// How each phase grows from 10k to 100k revisions (and 1k to 10k, for
/// context): raw growth, the growth exponent (1.0 linear, about 1.1 for
/// n log n, 2.0 quadratic) and the growth relative to the linear reference.
/// Phases growing faster than n log n are listed at the end; the 1k -> 10k
/// comparison only counts for a shape that was not measured at 100k.
fn scaling_report(measurements: &[Measurement]) -> String {
    let mut warnings = Vec::new();
    let mut rows = String::new();
    for shape in [Shape::Chain, Shape::Branchy, Shape::Lineages, Shape::Wide] {
        let find = |n: usize| {
            measurements
                .iter()
                .find(|m| m.shape == shape && m.revisions == n)
        };
        let has_large = find(10_000).is_some() && find(100_000).is_some();
        for (small, large) in [(1_000, 10_000), (10_000, 100_000)] {
            let (Some(a), Some(b)) = (find(small), find(large)) else {
                continue;
            };
            let comparison = Comparison {
                shape,
                small: a,
                large: b,
                decisive: small == 10_000 || !has_large,
            };
            comparison.rows(&mut rows, &mut warnings);
        }
    }
    let mut out = String::new();
    if rows.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nscaling (10x more revisions: linear 10x, n log n 12.5x, quadratic 100x)\n"
    );
    let _ = writeln!(
        out,
        "{:<8} {:>10} {:<10} {:>9} {:>9} {:>9}  verdict",
        "shape", "revisions", "phase", "growth", "exponent", "vs ref"
    );
    out.push_str(&rows);
    if warnings.is_empty() {
        let _ = writeln!(out, "\nno phase grows faster than n log n");
    } else {
        let _ = writeln!(out, "\n!!! WORSE THAN n log n !!!");
        for warning in warnings {
            let _ = writeln!(out, "!!! {warning}");
        }
    }
    out
}

/// One shape measured at two sizes, ten times apart.
struct Comparison<'a> {
    shape: Shape,
    small: &'a Measurement,
    large: &'a Measurement,
    /// Whether a superlinear phase here is reported (the 1k -> 10k pair is
    /// not when 100k was measured too).
    decisive: bool,
}

impl Comparison<'_> {
    /// Appends a table row for the reference and each timed phase, and a
    /// warning for each phase that grows faster than n log n.
    fn rows(&self, rows: &mut String, warnings: &mut Vec<String>) {
        let (small, large) = (self.small.revisions, self.large.revisions);
        let sizes = format!("{}->{}", short(small), short(large));
        let reference_growth = growth(self.small.reference, self.large.reference);
        let _ = writeln!(
            rows,
            "{:<8} {sizes:>10} {:<10} {:>8.1}x {:>9.2} {:>9}  linear reference (clone of the revisions)",
            self.shape.name(),
            "reference",
            reference_growth,
            exponent(reference_growth, small, large),
            "1.0x",
        );
        for (index, phase) in PHASES.iter().enumerate() {
            let (Some(small_time), Some(large_time)) =
                (self.small.medians[index], self.large.medians[index])
            else {
                continue;
            };
            let ratio = growth(small_time, large_time);
            let relative = ratio / reference_growth.max(1e-9);
            let superlinear = ratio > SUSPECT_GROWTH && relative > SUPERLINEAR_VS_REFERENCE;
            let verdict = match (superlinear, self.decisive) {
                (true, true) => "SUPERLINEAR",
                (true, false) => "superlinear (confirmed or not by the 10k->100k row)",
                (false, _) if ratio > SUSPECT_GROWTH => {
                    "ok: grows like the linear reference (memory-bound)"
                }
                (false, _) => "ok",
            };
            if superlinear && self.decisive {
                warnings.push(format!(
                    "{} {}: {} took {} at {}, {ratio:.0}x its {} time \
                     (exponent {:.2}; the linear reference grew {reference_growth:.0}x)",
                    self.shape.name(),
                    phase.name,
                    phase.function,
                    format_duration(large_time),
                    short(large),
                    short(small),
                    exponent(ratio, small, large),
                ));
            }
            let _ = writeln!(
                rows,
                "{:<8} {sizes:>10} {:<10} {:>8.1}x {:>9.2} {:>8.1}x  {verdict}",
                self.shape.name(),
                phase.name,
                ratio,
                exponent(ratio, small, large),
                relative,
            );
        }
    }
}

fn growth(small: Duration, large: Duration) -> f64 {
    large.as_secs_f64() / small.as_secs_f64().max(1e-9)
}

/// `k` in time ~ n^k, from the growth between two sizes.
fn exponent(growth: f64, small: usize, large: usize) -> f64 {
    growth.log10() / (large as f64 / small as f64).log10()
}

fn short(n: usize) -> String {
    if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

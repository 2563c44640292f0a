//! Speed of the console (benchmarks, not timed tests): they print what they
//! measure and fail only far beyond the targets. Run them optimised:
//!
//! ```text
//! cargo test --release --test console_speed -- --ignored --nocapture
//! ```
//!
//! Targets: first frame with 10,000 revisions under 100 ms; a frame while
//! scrolling the graph under 16 ms; the first screen of a 5 MB SQL file
//! highlighted under 100 ms. (100,000 NOTICEs: `console_flows`,
//! `a_flood_of_notices_keeps_the_log_bounded`.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use retort::config::Config;
use retort::core::graph::RevisionMap;
use retort::core::revision::Revision;
use retort::engine::{GlobalOptions, Project};
use retort::tui::app::{App, AppInit, SessionInfo};
use retort::tui::event_loop::draw;
use retort::tui::highlight::Highlighter;
use retort::tui::textview::{HighlightAnswer, Highlights, TextView};
use retort::tui::view::ViewState;
use tokio::sync::mpsc::unbounded_channel;

/// A main line of `n` revisions; every 100 a side branch of five forks off
/// and merges back 20 revisions later, and every 250 one depends on another.
fn big_graph(n: usize) -> RevisionMap {
    let mut revisions = Vec::with_capacity(n + n / 20);
    let main = |i: usize| format!("{i:012x}");
    for i in 0..n {
        let mut downs: Vec<String> = if i == 0 {
            Vec::new()
        } else {
            vec![main(i - 1)]
        };
        let block = i / 100;
        if i % 100 == 30 {
            downs.push(format!("5{block:05}{:06x}", 4));
        }
        let down_refs: Vec<&str> = downs.iter().map(String::as_str).collect();
        let mut rev = Revision::synthetic(&main(i), &down_refs);
        rev.message = format!("main line revision number {i} with a message of typical length");
        if i % 250 == 200 {
            rev.depends_on = vec![main(i - 150)];
        }
        revisions.push(rev);
        if i % 100 == 10 && i + 20 < n {
            for s in 0..5 {
                let parent = if s == 0 {
                    main(i)
                } else {
                    format!("5{block:05}{:06x}", s - 1)
                };
                let mut side =
                    Revision::synthetic(&format!("5{block:05}{s:06x}"), &[parent.as_str()]);
                side.message = format!("side branch {block} step {s}");
                revisions.push(side);
            }
        }
    }
    RevisionMap::build(revisions).expect("a valid graph")
}

fn app_for(
    map: RevisionMap,
) -> (
    App,
    tokio::sync::mpsc::UnboundedReceiver<retort::tui::worker::Command>,
) {
    let (commands, receiver) = unbounded_channel();
    let dir = std::env::temp_dir();
    let app = App::new(AppInit {
        options: GlobalOptions::default(),
        project: Project {
            config: Config::defaults(&dir),
            migrations_dir: PathBuf::from("migrations"),
            map,
        },
        session: SessionInfo {
            env: None,
            protected: false,
            target: "bench".to_string(),
        },
        commands,
        refresh_every: None,
    });
    (app, receiver)
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn first_frame_and_scrolling_with_10k_revisions() {
    let map = big_graph(10_000);
    let count = map.len();
    let started = Instant::now();
    let (mut app, _commands) = app_for(map);
    let mut view = ViewState::new(Highlights::plain());
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).expect("terminal");
    draw(&mut terminal, &mut app, &mut view).expect("draw");
    let first = started.elapsed();
    println!("first frame with {count} revisions (layout included): {first:?}");

    let mut slowest = Duration::ZERO;
    let mut slowest_at = 0;
    let mut times = Vec::new();
    let mut total = Duration::ZERO;
    let frames = 2_000;
    for i in 0..frames {
        let key = if i % 40 == 39 { "pgdown" } else { "j" };
        let event = match key {
            "j" => crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('j')),
            _ => crossterm::event::KeyEvent::from(crossterm::event::KeyCode::PageDown),
        };
        let frame = Instant::now();
        app.on_key(event, &view);
        draw(&mut terminal, &mut app, &mut view).expect("draw");
        let took = frame.elapsed();
        times.push(took);
        if took > slowest {
            slowest = took;
            slowest_at = i;
        }
        total += took;
    }
    times.sort();
    println!(
        "scrolling: {frames} frames, mean {:?}, 99th percentile {:?}, slowest {slowest:?} (frame {slowest_at})",
        total / frames,
        times[times.len() * 99 / 100]
    );
    assert!(
        app.graph.selected > 2_000,
        "the selection moved: {}",
        app.graph.selected
    );
    // Far beyond the targets only (debug builds are slower).
    assert!(first < Duration::from_secs(5), "{first:?}");
    assert!(slowest < Duration::from_secs(1), "{slowest:?}");
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn first_screen_of_a_5mb_sql_file() {
    let mut sql = String::new();
    let mut n = 0;
    while sql.len() < 5 * 1024 * 1024 {
        sql.push_str(&format!(
            "-- row {n}\nINSERT INTO items (id, name, body) VALUES ({n}, 'item {n}', $body${n} ; not the end$body$);\n"
        ));
        n += 1;
    }
    let started = Instant::now();
    let mut highlighter = Highlighter::new().expect("assets");
    let loaded = started.elapsed();
    let view = TextView::new(sql.as_str(), 1);
    let id = highlighter.load(view.text().clone());
    let lines = highlighter.highlight_range(id, 0..50);
    let first_screen = started.elapsed();
    assert_eq!(lines.len(), 50);
    println!(
        "5 MB SQL ({} lines): assets {loaded:?}, first 50 lines highlighted after {first_screen:?}",
        view.line_count()
    );
    // Deep into the file: resumes from the nearest checkpoint after the
    // lines before it have been highlighted once.
    let deep = Instant::now();
    let far = highlighter.highlight_range(id, 90_000..90_050);
    println!(
        "lines 90000..90050 (no checkpoint yet): {:?}",
        deep.elapsed()
    );
    assert_eq!(far.len(), 50);
    assert!(first_screen < Duration::from_secs(5), "{first_screen:?}");

    // Through the console's highlighter thread, as the SQL pane does it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (answers, mut received) = unbounded_channel();
        let mut highlights = Highlights::start(answers);
        let asked = Instant::now();
        let plain = highlights.lines(&view, 0..50);
        let shown_plain = asked.elapsed();
        let Some(HighlightAnswer::Window(answer)) = received.recv().await else {
            panic!("the highlighter did not answer");
        };
        let highlighted = asked.elapsed();
        highlights.accept(answer);
        let again = highlights.lines(&view, 0..50);
        assert_eq!(plain.len(), 50);
        assert_ne!(
            plain[1], again[1],
            "the second time, the lines are highlighted"
        );
        println!(
            "SQL pane: plain text drawn after {shown_plain:?}, highlighted after {highlighted:?}"
        );
    });
}

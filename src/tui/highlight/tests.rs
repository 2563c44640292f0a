use super::{
    Arc, Assets, Highlighter, Line, MAX_CACHED_LINES, MAX_HIGHLIGHTED_LINE_BYTES, MAX_TEXTS,
    Modifier, ParseState, SYNTAX_SCOPE, ScopeStack, Style, StyleResolver, THEME_NAME, TextId,
    convert_style,
};
use syntect::parsing::Scope;

/// One set of assets for all tests: syntect compiles each regex once per
/// syntax set, which is slow in debug builds.
fn assets() -> Arc<Assets> {
    static ASSETS: std::sync::OnceLock<Arc<Assets>> = std::sync::OnceLock::new();
    Arc::clone(ASSETS.get_or_init(|| Arc::new(Assets::load().expect("bundled assets load"))))
}

fn highlighter() -> Highlighter {
    Highlighter::with_assets(assets())
}

/// Byte offset of the `occurrence`-th (0-based) `needle` in `text`.
fn offset_of(text: &str, needle: &str, occurrence: usize) -> usize {
    let found: Vec<usize> = text.match_indices(needle).map(|(at, _)| at).collect();
    *found
        .get(occurrence)
        .unwrap_or_else(|| panic!("{needle:?} #{occurrence} not in {text:?}"))
}

/// The scope stack, as text, at the first character of the chosen `needle`.
fn scopes_at(text: &str, needle: &str, occurrence: usize) -> String {
    let assets = assets();
    let target = offset_of(text, needle, occurrence);
    let mut parse = ParseState::new(assets.syntax());
    let mut stack = ScopeStack::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let input = format!("{}\n", line.trim_end_matches('\n'));
        let ops = parse
            .parse_line(&input, assets.syntax_set())
            .expect("parses");
        let line_end = line_start + line.len();
        if (line_start..line_end).contains(&target) {
            let column = target - line_start;
            for (at, op) in &ops {
                if *at <= column {
                    stack.apply(op).expect("valid ops");
                }
            }
            return stack.to_string();
        }
        for (_, op) in &ops {
            stack.apply(op).expect("valid ops");
        }
        line_start = line_end;
    }
    unreachable!("offset_of found the needle")
}

fn assert_scope(text: &str, needle: &str, occurrence: usize, expected: &str) {
    let scopes = scopes_at(text, needle, occurrence);
    assert!(
        scopes.contains(expected),
        "{needle:?} #{occurrence}: expected {expected} in [{scopes}]\n{text}"
    );
}

fn assert_no_scope(text: &str, needle: &str, occurrence: usize, unexpected: &str) {
    let scopes = scopes_at(text, needle, occurrence);
    assert!(
        !scopes.contains(unexpected),
        "{needle:?} #{occurrence}: did not expect {unexpected} in [{scopes}]\n{text}"
    );
}

/// What the theme gives a scope stack, as the highlighter would emit it.
fn theme_style(scopes: &str) -> Style {
    let assets = assets();
    let resolver = StyleResolver::new(assets.theme());
    let stack: Vec<Scope> = scopes
        .split_whitespace()
        .map(|s| Scope::new(s).expect("scope"))
        .collect();
    convert_style(
        resolver.style_for_stack(&stack),
        resolver.get_default().foreground,
    )
}

/// Style of the rendered character at the chosen `needle`.
fn rendered_style(lines: &[Line<'static>], needle: &str, occurrence: usize) -> Style {
    let text: String = lines
        .iter()
        .map(|line| format!("{line}\n"))
        .collect::<String>();
    let target = offset_of(&text, needle, occurrence);
    let mut at = 0;
    for line in lines {
        for span in &line.spans {
            if (at..at + span.content.len()).contains(&target) {
                return span.style;
            }
            at += span.content.len();
        }
        at += 1;
    }
    panic!("{needle:?} not rendered")
}

fn plain_text(lines: &[Line<'static>]) -> Vec<String> {
    lines.iter().map(|line| line.to_string()).collect()
}

const REVISION_FILE: &str = "\
-- revision: 3c2e5a7b9d1e
-- down_revision: 2b1d4f6a8c0d
-- message: add invoices

-- migrate:upgrade
CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(10, 2) NOT NULL DEFAULT 0.5);
-- note: this is an ordinary comment
-- migrate:downgrade
DROP TABLE invoices;
";

#[test]
fn bundled_assets_load_and_are_named() {
    assert!(Highlighter::new().is_ok());
    let assets = assets();
    assert_eq!(assets.theme().name.as_deref(), Some(THEME_NAME));
    assert_eq!(assets.syntax().scope.build_string(), SYNTAX_SCOPE);
}

#[test]
fn highlighter_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Highlighter>();
    assert_send::<Assets>();
}

#[test]
fn header_lines_and_section_markers_have_their_own_scopes() {
    let text = REVISION_FILE;
    assert_scope(text, "revision", 0, "meta.header.sql");
    assert_scope(text, "revision", 0, "variable.other.header-key.sql");
    assert_scope(text, "3c2e5a7b9d1e", 0, "string.unquoted.header-value.sql");
    assert_scope(text, "add invoices", 0, "string.unquoted.header-value.sql");
    assert_scope(text, "migrate:upgrade", 0, "keyword.control.section.sql");
    assert_scope(text, "migrate:downgrade", 0, "keyword.control.section.sql");
    // After the header, `-- key: value` is just a comment.
    assert_scope(text, "note", 0, "comment.line.double-dash.sql");
    assert_no_scope(text, "note", 0, "meta.header");
    assert_no_scope(text, "CREATE", 0, "comment");
    assert_scope(text, "CREATE", 0, "keyword.other.sql");
    assert_scope(text, "DROP", 0, "keyword.other.sql");
}

#[test]
fn header_ends_at_the_first_sql_line() {
    let text = "CREATE TABLE t (a int);\n-- revision: abc\n";
    assert_no_scope(text, "revision", 0, "meta.header");
    assert_scope(text, "revision", 0, "comment.line");
}

#[test]
fn keywords_types_numbers_and_operators() {
    let text = REVISION_FILE;
    assert_scope(text, "TABLE", 0, "keyword.other.sql");
    assert_scope(text, "bigint", 0, "storage.type.sql");
    assert_scope(text, "numeric", 0, "storage.type.sql");
    assert_scope(text, "10", 0, "constant.numeric.sql");
    assert_scope(text, "0.5", 0, "constant.numeric.sql");
    assert_scope(text, "NULL", 0, "constant.language.sql");
    assert_scope(text, "NOT", 0, "keyword.operator.logical.sql");
    assert_scope(text, ";", 0, "punctuation.terminator.statement.sql");
    assert_no_scope(text, "invoices", 1, "keyword");

    let text = "SELECT a::int, b ->> 'k', 1e10, 0x1F, .5 FROM t WHERE x >= 2 AND y <> 3;\n";
    assert_scope(text, "::", 0, "keyword.operator.cast.sql");
    assert_scope(text, "int", 0, "storage.type.sql");
    assert_scope(text, "->>", 0, "keyword.operator.sql");
    assert_scope(text, "1e10", 0, "constant.numeric.sql");
    assert_scope(text, "0x1F", 0, "constant.numeric");
    assert_scope(text, ".5", 0, "constant.numeric.sql");
    assert_scope(text, ">=", 0, "keyword.operator.sql");
    assert_scope(text, "<>", 0, "keyword.operator.sql");
    // Keywords inside longer names are not keywords.
    let text = "SELECT selected, from_date, t.order_id FROM t;\n";
    assert_no_scope(text, "selected", 0, "keyword");
    assert_no_scope(text, "from_date", 0, "keyword");
    assert_no_scope(text, "order_id", 0, "keyword");
}

#[test]
fn single_quoted_strings_with_doubled_quotes() {
    let text = "SELECT 'it''s; fine', 'x' FROM t; SELECT 2;\n";
    assert_scope(text, "''", 0, "constant.character.escape.sql");
    assert_scope(text, "s; fine", 0, "string.quoted.single.sql");
    assert_scope(text, "; fine", 0, "string.quoted.single.sql");
    assert_no_scope(text, "FROM", 0, "string");
    assert_scope(text, "FROM", 0, "keyword.other.sql");
    assert_scope(text, "; SELECT", 0, "punctuation.terminator");
    assert_no_scope(text, "SELECT 2", 0, "string");
    // Backslash is an ordinary character in standard strings.
    let text = "SELECT 'C:\\', 1;\n";
    assert_no_scope(text, "1;", 0, "string");
}

#[test]
fn strings_span_lines() {
    let text = "INSERT INTO t VALUES ('line one\nline two; still', 3);\nSELECT 1;\n";
    assert_scope(text, "line two", 0, "string.quoted.single.sql");
    assert_scope(text, "; still", 0, "string.quoted.single.sql");
    assert_scope(text, "3", 0, "constant.numeric.sql");
    assert_scope(text, "SELECT", 0, "keyword.other.sql");
}

#[test]
fn escape_strings_with_backslashes() {
    let text = "SELECT E'a\\'b; \\n\\x41 ''q''', e'\\\\', 1 FROM t;\n";
    assert_scope(text, "E'", 0, "string.quoted.single.escape.sql");
    assert_scope(text, "\\'", 0, "constant.character.escape.sql");
    assert_scope(text, "b; ", 0, "string.quoted.single.escape.sql");
    assert_scope(text, "\\n", 0, "constant.character.escape.sql");
    assert_scope(text, "\\x41", 0, "constant.character.escape.sql");
    assert_scope(text, "''q", 0, "constant.character.escape.sql");
    assert_scope(text, "\\\\", 0, "constant.character.escape.sql");
    assert_scope(text, "1 FROM", 0, "constant.numeric.sql");
    assert_scope(text, "FROM", 0, "keyword.other.sql");
    // A name ending in e followed by a string is not an E'' string.
    let text = "SELECT some'a\\', 2;\n";
    assert_scope(text, "a\\", 0, "string.quoted.single.sql");
    assert_no_scope(text, "a\\", 0, "escape");
}

#[test]
fn double_quoted_identifiers() {
    let text = "SELECT \"Weird \"\"name\"\"; x\" FROM \"select\";\n";
    assert_scope(text, "Weird", 0, "variable.other.quoted.sql");
    assert_scope(text, "\"\"name", 0, "constant.character.escape.sql");
    assert_scope(text, "; x", 0, "variable.other.quoted.sql");
    assert_scope(text, "FROM", 0, "keyword.other.sql");
    assert_scope(text, "select\"", 0, "variable.other.quoted.sql");
    assert_no_scope(text, "select\"", 0, "keyword");
}

#[test]
fn comments_line_and_nested_block() {
    let text = "SELECT 1; -- it's a comment; SELECT\nSELECT 2; /* outer /* inner */ still 'outer' */ SELECT 3;\n";
    assert_scope(text, "it's", 0, "comment.line.double-dash.sql");
    assert_scope(text, "SELECT", 1, "comment.line");
    assert_scope(text, "SELECT", 2, "keyword.other.sql");
    assert_no_scope(text, "SELECT", 2, "string");
    assert_scope(text, "inner", 0, "comment.block.sql");
    assert_scope(text, "still", 0, "comment.block.sql");
    assert_scope(text, "'outer'", 0, "comment.block.sql");
    assert_no_scope(text, "'outer'", 0, "string");
    assert_scope(text, "SELECT 3", 0, "keyword.other.sql");
    assert_no_scope(text, "SELECT 3", 0, "comment");
    // Nesting across lines.
    let text = "/* a\n/* b\n*/ c\n*/ SELECT;\n";
    assert_scope(text, "c", 0, "comment.block.sql");
    assert_no_scope(text, "SELECT", 0, "comment");
}

const FUNCTION: &str = "\
CREATE FUNCTION f(p int) RETURNS text AS $fn$
DECLARE
  q text := 'don''t';
BEGIN
  -- a stray quote: it's here
  EXECUTE $body$ SELECT '$fn' $body$;
  RETURN $1 || ';';
END
$fn$ LANGUAGE plpgsql;
SELECT f(1);
";

#[test]
fn dollar_quoted_function_body_is_embedded_sql() {
    let text = FUNCTION;
    assert_scope(text, "$fn$", 0, "punctuation.section.embedded.begin.sql");
    assert_scope(text, "DECLARE", 0, "meta.embedded.block.sql");
    assert_scope(text, "DECLARE", 0, "keyword.control.sql");
    assert_scope(text, "BEGIN", 0, "keyword.control.sql");
    assert_scope(text, "don", 0, "string.quoted.single.sql");
    assert_scope(text, "it's", 0, "comment.line");
    // A differently tagged quote nests; `$fn` without the closing `$` is text.
    assert_scope(text, "$body$", 0, "string.quoted.dollar.sql");
    assert_scope(text, "'$fn'", 0, "string.quoted.dollar.sql");
    assert_scope(text, "$body$;", 0, "meta.embedded.block.sql");
    // $1 is a parameter, not a quote.
    assert_scope(text, "$1", 0, "variable.parameter.positional.sql");
    assert_scope(text, "||", 0, "keyword.operator.sql");
    assert_scope(text, "';'", 0, "string.quoted.single.sql");
    assert_scope(text, "END", 0, "meta.embedded.block.sql");
    assert_scope(
        text,
        "$fn$ LANGUAGE",
        0,
        "punctuation.section.embedded.end.sql",
    );
    // After the body: ordinary SQL again.
    assert_no_scope(text, "LANGUAGE", 0, "meta.embedded");
    assert_scope(text, "LANGUAGE", 0, "keyword.other.sql");
    assert_scope(text, "plpgsql", 0, "entity.name.language.sql");
    assert_no_scope(text, "SELECT f", 0, "meta.embedded");
    assert_no_scope(text, "SELECT f", 0, "string");
    assert_scope(text, "SELECT f", 0, "keyword.other.sql");
}

#[test]
fn a_body_ends_at_its_tag_even_inside_an_open_string_or_comment() {
    // PostgreSQL's lexer only looks for the closing tag inside a body.
    let text = "DO $$ SELECT 'unterminated; $$; SELECT 1;\nDO $$ -- comment $$ SELECT 2;\n";
    assert_scope(text, "unterminated", 0, "string.quoted.single.sql");
    assert_scope(text, "SELECT 1", 0, "keyword.other.sql");
    assert_no_scope(text, "SELECT 1", 0, "meta.embedded");
    assert_no_scope(text, "SELECT 1", 0, "string");
    assert_no_scope(text, "SELECT 2", 0, "meta.embedded");
    assert_no_scope(text, "SELECT 2", 0, "comment");
}

#[test]
fn do_blocks_with_a_language_clause() {
    let text = "DO LANGUAGE plpgsql $$ BEGIN PERFORM 1; END $$;\nSELECT 1;\n";
    assert_scope(text, "plpgsql", 0, "entity.name.language.sql");
    assert_scope(text, "BEGIN", 0, "meta.embedded.block.sql");
    assert_scope(text, "PERFORM", 0, "keyword.control.sql");
    assert_no_scope(text, "SELECT", 0, "meta.embedded");
}

#[test]
fn nested_bodies_with_different_tags_end_in_order() {
    let text = "DO $outer$\nBEGIN\n  EXECUTE format($inner$ CREATE FUNCTION g() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql $inner$);\nEND\n$outer$;\nSELECT 'after';\n";
    assert_scope(text, "BEGIN", 0, "meta.embedded.block.sql");
    assert_scope(text, "CREATE", 0, "string.quoted.dollar.sql");
    assert_scope(text, "END", 0, "meta.embedded.block.sql");
    assert_no_scope(text, "END", 0, "string");
    assert_no_scope(text, "'after'", 0, "meta.embedded");
    assert_scope(text, "'after'", 0, "string.quoted.single.sql");

    // Both levels embedded: AS inside the outer body starts an inner body.
    let text = "CREATE FUNCTION a() RETURNS void AS $a$\nBEGIN\n  CREATE FUNCTION b() RETURNS int AS $b$ SELECT 'x' $b$ LANGUAGE sql;\nEND $a$ LANGUAGE plpgsql;\nSELECT 1;\n";
    let inner = scopes_at(text, "SELECT 'x'", 0);
    assert_eq!(
        inner.matches("meta.embedded.block.sql").count(),
        2,
        "{inner}"
    );
    assert_scope(text, "LANGUAGE sql", 0, "meta.embedded.block.sql");
    assert_no_scope(text, "LANGUAGE sql", 0, "string");
    assert_scope(text, "END", 0, "keyword.control.sql");
    assert_no_scope(text, "SELECT 1", 0, "meta.embedded");
}

#[test]
fn plain_dollar_strings_and_names_with_dollars() {
    let text = "SELECT $q$it's; here$q$ AS x, $$two$$, foo$bar$ FROM t;\n";
    assert_scope(text, "it's", 0, "string.quoted.dollar.sql");
    assert_scope(text, "; here", 0, "string.quoted.dollar.sql");
    assert_scope(text, "AS", 0, "keyword.other.sql");
    assert_no_scope(text, "AS", 0, "string");
    assert_scope(text, "two", 0, "string.quoted.dollar.sql");
    assert_no_scope(text, "bar", 0, "string");
    assert_scope(text, "FROM", 0, "keyword.other.sql");
}

#[test]
fn positional_parameters_are_not_quotes() {
    let text = "PREPARE p AS SELECT * FROM t WHERE a = $1 AND b = $2;\nSELECT 3;\n";
    assert_scope(text, "$1", 0, "variable.parameter.positional.sql");
    assert_scope(text, "$2", 0, "variable.parameter.positional.sql");
    assert_scope(text, "AND", 0, "keyword.operator.logical.sql");
    assert_no_scope(text, "AND", 0, "string");
    assert_no_scope(text, "SELECT 3", 0, "string");
}

#[test]
fn colours_follow_the_theme() {
    let mut highlighter = highlighter();
    let lines = highlighter.highlight(FUNCTION);
    assert_eq!(plain_text(&lines), FUNCTION.lines().collect::<Vec<_>>());

    let keyword = theme_style("source.sql.postgresql keyword.other.sql");
    let string = theme_style("source.sql.postgresql string.quoted.single.sql");
    let comment = theme_style("source.sql.postgresql comment.line.double-dash.sql");
    assert_ne!(keyword, string);
    assert_ne!(keyword, comment);
    assert!(keyword.fg.is_some() && string.fg.is_some() && comment.fg.is_some());

    assert_eq!(rendered_style(&lines, "CREATE", 0), keyword);
    assert_eq!(rendered_style(&lines, "don", 0).fg, string.fg);
    assert_eq!(rendered_style(&lines, "it's", 0).fg, comment.fg);
    // The body contains quotes, but the SQL after it is keyword-coloured,
    // not string-coloured.
    assert_eq!(rendered_style(&lines, "LANGUAGE", 0), keyword);
    assert_eq!(rendered_style(&lines, "SELECT f", 0), keyword);
    // Plain identifiers keep the terminal's colour.
    assert_eq!(rendered_style(&lines, "f(1)", 0).fg, None);

    let header = highlighter.highlight(REVISION_FILE);
    let key = rendered_style(&header, "revision", 0);
    assert!(key.fg.is_some());
    assert_ne!(key.fg, comment.fg, "header keys stand out from comments");
    let marker = rendered_style(&header, "migrate:upgrade", 0);
    assert_ne!(
        marker.fg, comment.fg,
        "section markers stand out from comments"
    );
    // Comments are italic; header values, though inside a `--` line, are not.
    let ordinary = rendered_style(&header, "note", 0);
    assert!(ordinary.add_modifier.contains(Modifier::ITALIC));
    let value = rendered_style(&header, "add invoices", 0);
    assert!(!value.add_modifier.contains(Modifier::ITALIC));
    assert_ne!(value.fg, ordinary.fg);
}

/// Every colour of the theme stays readable on a black terminal: WCAG
/// contrast of at least 4.5:1.
#[test]
fn theme_colours_are_readable_on_dark_backgrounds() {
    fn luminance(c: syntect::highlighting::Color) -> f64 {
        let channel = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
    }
    let assets = assets();
    let mut checked = 0;
    for item in &assets.theme().scopes {
        if let Some(fg) = item.style.foreground {
            let contrast = (luminance(fg) + 0.05) / 0.05;
            assert!(contrast >= 4.5, "{:?}: contrast {contrast:.2}", item.scope);
            checked += 1;
        }
    }
    assert!(checked >= 10, "the theme should colour the main constructs");
}

#[test]
fn ranges_resume_from_checkpoints_with_the_same_result() {
    // Multi-line constructs straddle window boundaries.
    let mut text = String::new();
    for i in 0..400 {
        match i % 97 {
            60 => text.push_str("/* a comment that\n"),
            61..=70 => text.push_str("   keeps going 'across' lines\n"),
            71 => text.push_str("*/ SELECT 1;\n"),
            80 => text.push_str("DO $$ BEGIN\n"),
            81..=90 => text.push_str("  RAISE NOTICE 'x %', 1;\n"),
            91 => text.push_str("END $$;\n"),
            _ => text.push_str(&format!("INSERT INTO t VALUES ({i}, 'v{i}');\n")),
        }
    }
    let mut full = highlighter();
    let expected = full.highlight(&text);
    assert_eq!(expected.len(), 400);

    let mut windowed = highlighter();
    let id = windowed.load(text.as_str());
    assert_eq!(windowed.line_count(id), Some(400));
    // Deep window first (walks checkpoints), then earlier and overlapping ones.
    for range in [300..360, 60..130, 0..10, 120..260, 390..500, 399..400] {
        let got = windowed.highlight_range(id, range.clone());
        let end = range.end.min(400);
        assert_eq!(got, expected[range.start..end].to_vec(), "range {range:?}");
    }
    assert!(windowed.highlight_range(id, 500..600).is_empty());
    let unknown = TextId::of("never loaded");
    assert!(windowed.highlight_range(unknown, 0..10).is_empty());
}

#[test]
fn texts_are_cached_by_content() {
    let mut highlighter = highlighter();
    let first = highlighter.load("SELECT 1;\n");
    let again = highlighter.load(String::from("SELECT 1;\n"));
    let other = highlighter.load("SELECT 2;\n");
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(first, TextId::of("SELECT 1;\n"));
    let lines = highlighter.highlight_range(first, 0..1);
    assert_eq!(plain_text(&lines), ["SELECT 1;"]);
    highlighter.forget(first);
    assert!(!highlighter.contains(first));
    assert!(highlighter.contains(other));
}

#[test]
fn caches_stay_bounded() {
    let mut highlighter = highlighter();
    let mut ids = Vec::new();
    for i in 0..MAX_TEXTS + 5 {
        let text = format!("SELECT {i};\n").repeat(300);
        let id = highlighter.load(text);
        highlighter.highlight_range(id, 0..300);
        ids.push(id);
    }
    assert_eq!(highlighter.texts.len(), MAX_TEXTS);
    assert!(highlighter.cached_lines <= MAX_CACHED_LINES);
    let recounted: usize = highlighter
        .texts
        .values()
        .flat_map(|entry| entry.windows.values())
        .map(|window| window.lines.len())
        .sum();
    assert_eq!(recounted, highlighter.cached_lines);
    // The oldest texts went first.
    assert!(!highlighter.contains(ids[0]));
    assert!(highlighter.contains(ids[ids.len() - 1]));
}

#[test]
fn very_long_lines_are_highlighted_only_at_the_start() {
    let mut line = String::from("SELECT ");
    while line.len() < 100_000 {
        line.push_str("'é', 42, ");
    }
    line.push_str("1;");
    let text = format!("{line}\nSELECT 2;\n");
    let mut highlighter = highlighter();
    let lines = highlighter.highlight(&text);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].to_string(), line, "the whole line is shown");
    let last = lines[0].spans.last().expect("spans");
    assert!(last.content.len() >= line.len() - MAX_HIGHLIGHTED_LINE_BYTES);
    assert_eq!(last.style, Style::default(), "the tail is plain");
    assert!(
        lines[0].spans.len() > 10,
        "the start is highlighted token by token"
    );
    // The next line is highlighted normally.
    assert_eq!(
        rendered_style(&lines, "SELECT 2", 0),
        theme_style("source.sql.postgresql keyword.other.sql")
    );
}

#[test]
fn tabs_crlf_and_control_characters_are_made_safe() {
    let mut highlighter = highlighter();
    let lines = highlighter.highlight("a\tb\r\nSELECT\t'x\u{1b}[31m';\r\n");
    assert_eq!(plain_text(&lines), ["a   b", "SELECT  'x\u{FFFD}[31m';"]);
    assert!(highlighter.highlight("").is_empty());
    assert_eq!(
        plain_text(&highlighter.highlight("no newline")),
        ["no newline"]
    );
}

/// A 5 MB migration: the first screen is highlighted without touching the
/// rest of the file (behaviour only; speed is measured by benchmarks).
#[test]
fn first_lines_of_a_five_megabyte_file() {
    let mut text = String::from("-- revision: big\n-- message: bulk load\n\n-- migrate:upgrade\n");
    let mut row = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!(
            "INSERT INTO events (id, payload, at) VALUES ({row}, E'{{\"n\": {row}}}\\n', now()); -- row {row}\n"
        ));
        row += 1;
    }
    let mut highlighter = highlighter();
    let id = highlighter.load(text.as_str());
    let lines = highlighter.highlight_range(id, 0..50);
    assert_eq!(lines.len(), 50);
    let source: Vec<&str> = text.lines().take(50).collect();
    assert_eq!(plain_text(&lines), source);
    assert_eq!(
        rendered_style(&lines, "INSERT", 10),
        theme_style("source.sql.postgresql keyword.other.sql")
    );
    assert_eq!(
        rendered_style(&lines, "-- row 40", 0).fg,
        theme_style("source.sql.postgresql comment.line.double-dash.sql").fg
    );
    // Only the first window was parsed.
    let entry = &highlighter.texts[&id];
    assert_eq!(entry.checkpoints.len(), 2);
    assert!(entry.line_starts.len() > 50_000);
}

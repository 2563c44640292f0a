//! The revision-file parser on near-valid files: a header of known (and a few
//! unknown) keys with plausible values, section markers and SQL built from
//! tokens that matter to the splitter. Random bytes rarely get past the first
//! header line; these inputs reach the section and statement checks.
//!
//! Besides "no panic", a file that parses must survive a round trip:
//! rendering the revision and parsing that again gives the same revision.

#![no_main]

use std::path::{Path, PathBuf};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use retort::core::revision::{HeaderLines, Revision, parse_revision, render_revision};

#[derive(Debug, Arbitrary)]
enum Key {
    Revision,
    DownRevision,
    BranchLabels,
    DependsOn,
    Message,
    CreateDate,
    Transactional,
    Unknown(u8),
}

impl Key {
    fn text(&self) -> String {
        match self {
            Key::Revision => "revision".into(),
            Key::DownRevision => "down_revision".into(),
            Key::BranchLabels => "branch_labels".into(),
            Key::DependsOn => "depends_on".into(),
            Key::Message => "message".into(),
            Key::CreateDate => "create_date".into(),
            Key::Transactional => "transactional".into(),
            Key::Unknown(n) => [
                "revisions",
                "down_revisions",
                "author",
                "migrate",
                "Revision",
            ][usize::from(*n) % 5]
                .into(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Piece {
    Id(u8),
    Comma,
    Space,
    Word(String),
    Reserved(u8),
    Special(u8),
}

impl Piece {
    fn push(&self, out: &mut String) {
        match self {
            Piece::Id(n) => out.push_str(&format!("{n:02x}a")),
            Piece::Comma => out.push(','),
            Piece::Space => out.push(' '),
            Piece::Word(w) => out.push_str(w),
            Piece::Reserved(n) => {
                out.push_str(["head", "heads", "base", "current"][usize::from(*n) % 4])
            }
            Piece::Special(n) => {
                out.push(['@', '-', '+', ':', '\t', '\r', '\u{feff}', 'é'][usize::from(*n) % 8])
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Token {
    Word(u8),
    Semicolon,
    Newline,
    CrLf,
    Quote,
    DoubleQuote,
    EString,
    Dollar(u8),
    LineComment,
    BlockOpen,
    BlockClose,
    ParenOpen,
    ParenClose,
    Backslash,
    Marker(u8),
    HeaderLike(u8),
    Nul,
    Text(String),
}

impl Token {
    fn push(&self, out: &mut String) {
        let text: &str = match self {
            Token::Word(n) => [
                "SELECT",
                "CREATE",
                "FUNCTION",
                "PROCEDURE",
                "OR",
                "REPLACE",
                "BEGIN",
                "ATOMIC",
                "CASE",
                "END",
                "e",
                "x",
                "1",
            ][usize::from(*n) % 13],
            Token::Semicolon => ";",
            Token::Newline => "\n",
            Token::CrLf => "\r\n",
            Token::Quote => "'",
            Token::DoubleQuote => "\"",
            Token::EString => "E'",
            Token::Dollar(n) => ["$$", "$fn$", "$1", "$", "$a$", "$é$"][usize::from(*n) % 6],
            Token::LineComment => "-- ",
            Token::BlockOpen => "/*",
            Token::BlockClose => "*/",
            Token::ParenOpen => "(",
            Token::ParenClose => ")",
            Token::Backslash => "\\",
            Token::Marker(n) => [
                "\n-- migrate:upgrade\n",
                "\n-- migrate:downgrade\n",
                "\n-- migrate:up\n",
                "\n-- migrate:down\n",
                "\n-- migrate:up transaction:false\n",
                "\n-- migrate:sideways\n",
            ][usize::from(*n) % 6],
            Token::HeaderLike(n) => [
                "\n-- revision: zz\n",
                "\n-- depends_on: zz\n",
                "\n-- message: a comment\n",
                "\n-- down_revision\n",
            ][usize::from(*n) % 4],
            Token::Nul => "\0",
            Token::Text(t) => t,
        };
        out.push_str(text);
    }
}

#[derive(Debug, Arbitrary)]
struct HeaderLine {
    key: Key,
    value: Vec<Piece>,
    /// A blank line before this one.
    blank_before: bool,
    /// How key and value are separated: mostly right, sometimes not.
    separator: u8,
}

#[derive(Debug, Arbitrary)]
struct Section {
    marker: u8,
    body: Vec<Token>,
}

#[derive(Debug, Arbitrary)]
struct File {
    bom: bool,
    crlf: bool,
    header: Vec<HeaderLine>,
    preamble: Vec<Token>,
    sections: Vec<Section>,
}

impl File {
    fn text(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for line in &self.header {
            if line.blank_before {
                out.push('\n');
            }
            out.push_str("-- ");
            out.push_str(&line.key.text());
            out.push_str(
                [": ", ": ", ": ", ":", " = ", " ", "", " : "][usize::from(line.separator) % 8],
            );
            for piece in &line.value {
                piece.push(&mut out);
            }
            out.push('\n');
        }
        for token in &self.preamble {
            token.push(&mut out);
        }
        for section in &self.sections {
            let marker = [
                "-- migrate:upgrade",
                "-- migrate:downgrade",
                "-- migrate:up",
                "-- migrate:down",
            ][usize::from(section.marker) % 4];
            out.push('\n');
            out.push_str(marker);
            out.push('\n');
            for token in &section.body {
                token.push(&mut out);
            }
        }
        if self.crlf {
            out = out.replace('\n', "\r\n");
        }
        out
    }
}

/// Path and line numbers are not part of the round trip.
fn without_positions(mut revision: Revision) -> Revision {
    revision.path = PathBuf::new();
    revision.header_lines = HeaderLines::default();
    revision.upgrade.first_line = 0;
    if let Some(down) = &mut revision.downgrade {
        down.first_line = 0;
    }
    revision
}

fuzz_target!(|file: File| {
    let text = file.text();
    let line_count = text.split('\n').count();
    let revision = match parse_revision(Path::new("fuzz.sql"), &text) {
        Ok(revision) => revision,
        Err(error) => {
            assert!(
                (1..=line_count + 1).contains(&error.line),
                "error line {} outside a {line_count}-line file: {error}",
                error.line
            );
            return;
        }
    };
    let rendered = render_revision(&revision);
    let again = parse_revision(Path::new("fuzz.sql"), &rendered)
        .unwrap_or_else(|e| panic!("rendered revision does not parse: {e}\n{rendered}"));
    assert_eq!(
        without_positions(again),
        without_positions(revision),
        "round trip changed the revision:\n{rendered}"
    );
});

//! Text retort writes into its history (error messages with file paths and
//! SQL, host and user names) must be storable whatever the database's
//! encoding. tokio-postgres always talks UTF-8 (`client_encoding=UTF8`) and
//! the server converts every text to its own encoding on arrival, failing
//! the whole statement (22P05 `untranslatable_character`) on a character
//! the encoding lacks; so such characters are replaced before the insert.

/// The characters a database can store, from its `server_encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repertoire {
    /// `UTF8`, and `SQL_ASCII`, which stores the bytes it is sent as they are.
    Unicode,
    /// `LATIN1` (ISO 8859-1): exactly U+0000 to U+00FF.
    Latin1,
    /// Any other encoding: every server encoding holds ASCII; what else
    /// each holds is not worth a table of its own here.
    Ascii,
}

impl Repertoire {
    pub fn of(server_encoding: &str) -> Repertoire {
        match server_encoding.to_ascii_uppercase().as_str() {
            "UTF8" | "UNICODE" | "SQL_ASCII" => Repertoire::Unicode,
            "LATIN1" | "ISO_8859_1" => Repertoire::Latin1,
            _ => Repertoire::Ascii,
        }
    }

    fn holds(self, c: char) -> bool {
        // NUL is refused in text by every encoding.
        c != '\0'
            && match self {
                Repertoire::Unicode => true,
                Repertoire::Latin1 => u32::from(c) <= 0xFF,
                Repertoire::Ascii => c.is_ascii(),
            }
    }
}

/// `text` with every character the database cannot store written as
/// `<U+20AC>` (its code point, at least four hex digits): readable, and
/// the original character can be told from it exactly. Text that needs no
/// change is returned as it is.
pub fn storable(text: &str, repertoire: Repertoire) -> String {
    if text.chars().all(|c| repertoire.holds(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match repertoire.holds(c) {
            true => out.push(c),
            false => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_map_to_what_they_hold() {
        assert_eq!(Repertoire::of("UTF8"), Repertoire::Unicode);
        assert_eq!(Repertoire::of("SQL_ASCII"), Repertoire::Unicode);
        assert_eq!(Repertoire::of("LATIN1"), Repertoire::Latin1);
        assert_eq!(Repertoire::of("WIN1252"), Repertoire::Ascii);
        assert_eq!(Repertoire::of("EUC_JP"), Repertoire::Ascii);
    }

    #[test]
    fn only_what_cannot_be_stored_is_replaced() {
        let text = "/srv/migrations-é€/a1.sql: échec 😀";
        assert_eq!(storable(text, Repertoire::Unicode), text);
        assert_eq!(
            storable(text, Repertoire::Latin1),
            "/srv/migrations-é<U+20AC>/a1.sql: échec <U+1F600>"
        );
        assert_eq!(
            storable(text, Repertoire::Ascii),
            "/srv/migrations-<U+00E9><U+20AC>/a1.sql: <U+00E9>chec <U+1F600>"
        );
        assert_eq!(storable("a\0b", Repertoire::Unicode), "a<U+0000>b");
        assert_eq!(storable("plain", Repertoire::Ascii), "plain");
    }
}

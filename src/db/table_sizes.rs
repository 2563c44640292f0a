//! Live sizes of the tables a plan's hazards name, for the lint: the
//! planner's row estimate and the bytes on disk, in one catalog query.
//! Names resolve as the migration session will resolve them (its
//! search_path); a table that does not exist yet has no row.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::core::lint::TableSize;

/// Catalog reads only: no lock beyond AccessShare on `pg_class`, and
/// `to_regclass` returns NULL instead of failing on a name that does not
/// resolve (or does not parse).
const SIZES: &str = "\
    SELECT n.name, c.reltuples::float8, pg_total_relation_size(c.oid) \
    FROM unnest($1::text[]) AS n(name) \
    JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name)";

/// `to_regclass` fails the whole query (rather than returning NULL) on
/// `db.schema.table` and longer names: those, which PostgreSQL refuses in
/// the statement anyway, are not asked about.
fn at_most_schema_qualified(name: &str) -> bool {
    let mut quoted = false;
    let mut dots = 0;
    for c in name.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => dots += 1,
            _ => {}
        }
    }
    dots <= 1
}

/// The sizes of `names` (as written in the SQL) that exist, by name.
pub async fn read_table_sizes(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, TableSize>, tokio_postgres::Error> {
    let names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| at_most_schema_qualified(n))
        .collect();
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = client.query(SIZES, &[&names]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let reltuples: f64 = row.get(1);
            let bytes: i64 = row.get(2);
            // -1 means never vacuumed or analyzed: no estimate yet.
            let rows = (reltuples >= 0.0).then_some(reltuples as u64);
            let size = TableSize {
                rows,
                bytes: u64::try_from(bytes).unwrap_or(0),
            };
            (row.get::<_, String>(0), size)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::at_most_schema_qualified;

    #[test]
    fn names_to_regclass_would_fail_on_are_left_out() {
        assert!(at_most_schema_qualified("t"));
        assert!(at_most_schema_qualified("app.t"));
        assert!(at_most_schema_qualified("app.\"a.b\""));
        assert!(!at_most_schema_qualified("db.app.t"));
    }
}

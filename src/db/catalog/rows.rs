//! Reading a catalog row column by column, in the order its query lists
//! them, with errors that name the query.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use super::{CatalogError, ReadOptions};
use crate::core::schema::Meta;

pub(super) struct Reader<'a> {
    row: &'a Row,
    at: usize,
    what: &'static str,
    options: &'a ReadOptions,
}

impl<'a> Reader<'a> {
    pub(super) fn new(row: &'a Row, what: &'static str, options: &'a ReadOptions) -> Reader<'a> {
        Reader {
            row,
            at: 0,
            what,
            options,
        }
    }

    /// The next column.
    pub(super) fn next<T: FromSql<'a>>(&mut self) -> Result<T, CatalogError> {
        let value = self.row.try_get(self.at).map_err(|e| CatalogError::Query {
            what: self.what,
            cause: format!("column {}: {e}", self.at + 1),
        });
        self.at += 1;
        value
    }

    pub(super) fn text(&mut self) -> Result<String, CatalogError> {
        self.next()
    }

    /// The next column, `None` when NULL or empty.
    pub(super) fn optional(&mut self) -> Result<Option<String>, CatalogError> {
        let value: Option<String> = self.next()?;
        Ok(value.filter(|v| !v.is_empty()))
    }

    pub(super) fn flag(&mut self) -> Result<bool, CatalogError> {
        self.next()
    }

    pub(super) fn list(&mut self) -> Result<Vec<String>, CatalogError> {
        let value: Option<Vec<String>> = self.next()?;
        Ok(value.unwrap_or_default())
    }

    /// The last three columns of every query: comment, owner, grants;
    /// owner and grants kept only when asked for.
    pub(super) fn meta(&mut self) -> Result<Meta, CatalogError> {
        let comment = self.optional()?;
        let owner = self.optional()?;
        let grants = self.optional()?;
        Ok(Meta {
            comment,
            owner: owner.filter(|_| self.options.owners),
            grants: match self.options.grants {
                // An object with default privileges has a NULL ACL.
                true => Some(grants.unwrap_or_else(|| "default".to_string())),
                false => None,
            },
        })
    }
}

//! The config's durations use the revision-file header's syntax, which the
//! core owns (a revision file is parsed without the config).

pub use crate::core::duration::{check_duration, parse_duration};

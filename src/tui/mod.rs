//! The interactive console (being merged in from the console branch).

pub mod highlight;
pub mod lanes;

use crate::app::{AppError, GlobalOptions};

pub fn run_console(_options: &GlobalOptions) -> Result<(), AppError> {
    Err(AppError::Input(
        "the console is not part of this build yet".into(),
    ))
}

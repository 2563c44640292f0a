fn main() {
    std::process::exit(temp_console_dispatch().unwrap_or_else(retort::cli::main));
}

/// TEMP: opens the console for `retort` / `retort console` until the
/// command line dispatches to it. Understands -c, -e, --database-url and
/// --migrations; anything else goes to the command line.
fn temp_console_dispatch() -> Option<i32> {
    let mut options = retort::app::GlobalOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "console" => {}
            "-c" | "--config" => options.config = args.next().map(Into::into),
            "-e" | "--env" => options.env = args.next(),
            "--database-url" => options.database_url = args.next(),
            "--migrations" => options.migrations = args.next().map(Into::into),
            _ => return None,
        }
    }
    Some(match retort::tui::run_console(&options) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("retort: {}", e.redacted());
            e.exit_code()
        }
    })
}

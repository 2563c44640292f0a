fn main() {
    std::process::exit(retort::cli::main());
}

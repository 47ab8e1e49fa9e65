fn main() -> std::process::ExitCode {
    destek::cli::main()
}

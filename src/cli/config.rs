//! `config check`: the effective settings with secrets masked, then every problem, each naming
//! its environment variable, what is wrong and an example.

use std::path::Path;

use hotline::config::Settings;

pub fn check(file: Option<&Path>) -> anyhow::Result<()> {
    let report = Settings::check(file);
    println!("# the effective settings (defaults, then the file, then HOTLINE_* variables); secrets hidden");
    for (setting, value) in &report.settings {
        println!("{setting} = {value}");
    }
    for name in &report.unknown {
        println!("# ignored: {name} is not a setting (misspelt? see README, \"Configuration\")");
    }
    if report.problems.is_empty() {
        println!("# no problems");
        return Ok(());
    }
    println!("# {} problem(s):", report.problems.len());
    for p in &report.problems {
        println!("#   - {p}");
    }
    std::process::exit(1);
}

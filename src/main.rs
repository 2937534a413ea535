//! The `blackboard` command: parses arguments and hands over to a node, the
//! local launcher or the simulator. Exit codes: 0 clean stop, 2 bad
//! arguments, 1 runtime failure.

use std::process::ExitCode;

mod tools;

use tools::cli::{self, Command};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(why) => {
            // The reason names the help page to read (the command's own).
            eprintln!("blackboard: {why}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Version => {
            println!("{}", cli::version());
            Ok(())
        }
        Command::Node(options, level) => {
            init_logging(level);
            blackboard::node::run(options)
        }
        Command::Cluster(options) => tools::cluster::run(&options),
        Command::Bench(options) => tools::bench::run(&options),
        Command::Soak(options) => tools::soak::run(&options),
        Command::Sim { sizes, seeds } => {
            blackboard::sim::costs::print(&sizes, seeds);
            Ok(())
        }
        Command::SimReport => {
            for line in blackboard::sim::report::lines() {
                println!("{line}");
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("blackboard: {why}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(level: log::LevelFilter) {
    let config = simplelog::ConfigBuilder::new()
        .set_target_level(log::LevelFilter::Off)
        .set_thread_level(log::LevelFilter::Off)
        .build();
    let _ = simplelog::WriteLogger::init(level, config, WholeLines::default());
}

/// Writes stderr one whole line per `write`, so that the logs of several
/// nodes sharing a terminal (`blackboard cluster`) never interleave mid-line.
#[derive(Default)]
struct WholeLines(Vec<u8>);

impl std::io::Write for WholeLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        if let Some(end) = self.0.iter().rposition(|&b| b == b'\n') {
            let line: Vec<u8> = self.0.drain(..=end).collect();
            std::io::stderr().write_all(&line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

//! The command line as a user meets it: the real binary, its exit codes and
//! what it prints for per-command help and for a malformed flag.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_blackboard"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn a_command_help_is_its_own_and_exits_0() {
    let out = run(&["node", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.starts_with("blackboard node:"), "{help}");
    assert!(help.contains("--http HOST:PORT"), "{help}");
    // Other commands' flags stay on their own pages.
    for other in ["--kill-every", "--failovers", "--seeds", "--http-base"] {
        assert!(!help.contains(other), "{other} in node's help:\n{help}");
    }
    let global = run(&["--help"]);
    assert_eq!(global.status.code(), Some(0));
    let global = String::from_utf8_lossy(&global.stdout);
    for command in ["node", "cluster", "sim", "bench", "soak"] {
        assert!(global.contains(&format!("  {command} ")), "{global}");
    }
}

#[test]
fn a_bad_flag_exits_2_with_one_line_naming_it() {
    for (args, says) in [
        (
            &["node", "--http", "127.0.0.1"][..],
            "--http needs HOST:PORT, got 127.0.0.1",
        ),
        (&["node", "--http"], "--http needs a value (HOST:PORT)"),
        (
            &["node", "--foo"],
            "unknown flag --foo for `blackboard node`; see blackboard node --help",
        ),
        (&["soak", "--writers", "lots"], "--writers needs a number"),
        (&["frobnicate"], "unknown command `frobnicate`"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

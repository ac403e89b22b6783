//! `gpx_gregg_insights_fault_hooks`: the plugin binary built with the `fault-hooks` feature,
//! for the Go harness' fault tests only (see `src/plugin/fault_hooks.rs`). Never shipped.

#[path = "../../main.rs"]
mod plugin_main;

fn main() -> std::process::ExitCode {
    plugin_main::main()
}

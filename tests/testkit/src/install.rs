//! Debian's Prometheus and node_exporter, installed on first use where absent.

use std::{process::Command, sync::Mutex};

/// Binaries the kit runs, and the Debian package providing each.
const BINARIES: &[(&str, &str)] = &[
    ("prometheus", "prometheus"),
    ("promtool", "prometheus"),
    ("prometheus-node-exporter", "prometheus-node-exporter"),
    ("stress-ng", "stress-ng"),
    ("victoria-metrics", "victoria-metrics"),
];

static INSTALL: Mutex<()> = Mutex::new(());

/// True if `name` is on PATH.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Make sure every binary is installed, running apt-get (as root, or through `sudo -n`) if not.
pub fn ensure_installed() -> Result<(), String> {
    let _lock = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let mut packages: Vec<&str> = BINARIES
        .iter()
        .filter(|(bin, _)| !on_path(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    packages.dedup();
    if packages.is_empty() {
        return Ok(());
    }
    eprintln!("testkit: installing {} with apt-get", packages.join(" "));
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let run = |args: &[&str]| -> Result<(), String> {
        let mut cmd = if root {
            Command::new(args[0])
        } else {
            let mut c = Command::new("sudo");
            c.arg("-n").arg(args[0]);
            c
        };
        cmd.args(&args[1..])
            .env("DEBIAN_FRONTEND", "noninteractive");
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run {}: {e}", args[0]))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed with {status}", args.join(" ")))
        }
    };
    run(&["apt-get", "update", "-qq"])?;
    let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    install.extend(packages.iter());
    run(&install)?;
    for (bin, pkg) in BINARIES {
        if !on_path(bin) {
            return Err(format!("{bin} is still missing after installing {pkg}"));
        }
    }
    Ok(())
}

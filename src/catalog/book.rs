//! Book references: the one format every reference to *Systems Performance* takes, and the one
//! list of section numbers and titles that were checked against the 2nd edition's published
//! table of contents.
//!
//! Why: the 1st (2013) and 2nd (2020) editions number their sections differently (workload
//! characterization is 2.5.10 in the 1st edition, 2.5.11 in the 2nd, where 2.5.10 is the RED
//! method; the resource chapters' x.5.2 is "USE Method" in the 2nd). A reader following a
//! reference must land on the section it names, so a number is cited only when it is in
//! [`SECTIONS`], and always with that section's exact title.
//!
//! The format, one everywhere (catalog TOML, Rust constants, doc comments):
//!
//! ```text
//! Systems Performance 2nd ed., Ch. 6 CPUs: 6.5.2 USE Method (saturation); 6.6.2 vmstat; Ch. 7 Memory: 7.5.2 PSI
//! ```
//!
//! - the prefix `Systems Performance 2nd ed., `;
//! - parts separated by `; `: a chapter (`Ch. <n> <title>`, optionally followed by `: ` and its
//!   first section), a section of the chapter last named (`<number> <title>`), Appendix A
//!   (`Appendix A USE Method: Linux`), or another work (`see <work>` from [`OTHER_WORKS`]);
//! - a section or the appendix may carry a note in parentheses: `6.6.3 mpstat (per-CPU balance)`.
//!
//! Sources of [`SECTIONS`]: the 2nd edition's "Contents" pages (Addison-Wesley 2020, ISBN
//! 978-0-13-682015-4), read in two independent transcriptions with page numbers that agree
//! (USE method p. 47, RED method p. 53, workload characterization p. 54, drill-down p. 55,
//! latency analysis p. 56), and consistent with Appendix A, which places the USE method in
//! 2.5.9.

use thiserror::Error;

/// Every reference starts with this.
pub const PREFIX: &str = "Systems Performance 2nd ed., ";

/// The 2nd edition's chapters cited, with their titles.
pub const CHAPTERS: &[(&str, &str)] = &[
    ("1", "Introduction"),
    ("2", "Methodologies"),
    ("3", "Operating Systems"),
    ("4", "Observability Tools"),
    ("5", "Applications"),
    ("6", "CPUs"),
    ("7", "Memory"),
    ("8", "File Systems"),
    ("9", "Disks"),
    ("10", "Network"),
    ("11", "Cloud Computing"),
];

/// Appendix A, cited whole.
pub const APPENDIX_A: &str = "Appendix A USE Method: Linux";

/// Works other than the book a reference may point to (`see <work>`).
pub const OTHER_WORKS: &[&str] =
    &["Brendan Gregg, Linux Load Averages: Solving the Mystery (2017)"];

/// Sections of the 2nd edition verified against its table of contents: number and exact title.
pub const SECTIONS: &[(&str, &str)] = &[
    ("1.10.1", "Linux Perf Analysis in 60 Seconds"),
    ("2.3.11", "Utilization"),
    ("2.3.12", "Saturation"),
    ("2.3.15", "Known-Unknowns"),
    ("2.5", "Methodology"),
    ("2.5.6", "Scientific Method"),
    ("2.5.8", "Tools Method"),
    ("2.5.9", "The USE Method"),
    ("2.5.10", "The RED Method"),
    ("2.5.11", "Workload Characterization"),
    ("2.5.12", "Drill-Down Analysis"),
    ("2.5.13", "Latency Analysis"),
    ("2.5.16", "Baseline Statistics"),
    ("2.6", "Modeling"),
    ("2.7", "Capacity Planning"),
    ("2.8", "Statistics"),
    ("2.8.3", "Standard Deviation, Percentiles, Median"),
    ("2.8.5", "Multimodal Distributions"),
    ("2.8.6", "Outliers"),
    ("2.9.1", "Time-Based Patterns"),
    ("3.2.5", "Clock and Idle"),
    ("3.2.16", "Resource Management"),
    ("4.3.1", "/proc"),
    ("4.3.2", "/sys"),
    ("5.4.2", "Off-CPU Analysis"),
    ("5.5.3", "offcputime"),
    ("5.5.5", "execsnoop"),
    ("6.3.1", "Clock Rate"),
    ("6.3.10", "Saturation"),
    ("6.4.1", "Hardware"),
    ("6.5", "Methodology"),
    ("6.5.2", "USE Method"),
    ("6.5.3", "Workload Characterization"),
    ("6.6", "Observability Tools"),
    ("6.6.1", "uptime"),
    ("6.6.2", "vmstat"),
    ("6.6.3", "mpstat"),
    ("6.6.7", "pidstat"),
    ("6.6.9", "turbostat"),
    ("6.6.16", "runqlat"),
    ("6.6.17", "runqlen"),
    ("6.6.18", "softirqs"),
    ("6.6.19", "hardirqs"),
    ("6.9.4", "Scaling Governors"),
    ("7.2.2", "Paging"),
    ("7.2.5", "Process Swapping"),
    ("7.2.7", "Utilization and Saturation"),
    ("7.3.1", "Hardware"),
    ("7.3.2", "Software"),
    ("7.4.2", "USE Method"),
    ("7.4.3", "Characterizing Usage"),
    ("7.5", "Observability Tools"),
    ("7.5.1", "vmstat"),
    ("7.5.2", "PSI"),
    ("7.5.3", "swapon"),
    ("7.5.4", "sar"),
    ("7.5.6", "numastat"),
    ("7.5.11", "drsnoop"),
    ("8.3.16", "Capacity"),
    ("8.5", "Methodology"),
    ("8.6.1", "mount"),
    ("8.6.14", "ext4slower (xfs, zfs, btrfs, nfs)"),
    ("9.3.1", "Measuring Time"),
    ("9.3.6", "I/O Size"),
    ("9.3.10", "Saturation"),
    ("9.4.3", "Storage Types"),
    ("9.5.2", "USE Method"),
    ("9.5.4", "Workload Characterization"),
    ("9.5.5", "Latency Analysis"),
    ("9.6.1", "iostat"),
    ("9.6.3", "PSI"),
    ("9.6.6", "biolatency"),
    ("9.6.7", "biosnoop"),
    ("9.6.13", "smartctl"),
    ("10.3.6", "Buffering"),
    ("10.3.7", "Connection Backlog"),
    ("10.4.1", "Protocols"),
    ("10.4.2", "Hardware"),
    ("10.4.3", "Software"),
    ("10.5.2", "USE Method"),
    ("10.5.3", "Workload Characterization"),
    ("10.5.4", "Latency Analysis"),
    ("10.5.7", "TCP Analysis"),
    ("10.6.1", "ss"),
    ("10.6.2", "ip"),
    ("10.6.4", "nstat"),
    ("10.6.5", "netstat"),
    ("10.6.6", "sar"),
    ("10.6.7", "nicstat"),
    ("10.6.8", "ethtool"),
    ("10.6.9", "tcplife"),
    ("10.6.11", "tcpretrans"),
    ("11.2", "Hardware Virtualization"),
    ("11.2.4", "Observability"),
    ("11.3.3", "Resource Controls"),
];

/// A reference that breaks the format or cites a section not in [`SECTIONS`].
#[derive(Debug, Error, PartialEq, Eq)]
#[error("book reference {reference:?}: {reason}")]
pub struct ReferenceError {
    /// The reference.
    pub reference: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks that `reference` has the one format and cites only verified sections.
pub fn validate(reference: &str) -> Result<(), ReferenceError> {
    let fail = |reason: String| ReferenceError {
        reference: reference.to_string(),
        reason,
    };
    let rest = reference
        .strip_prefix(PREFIX)
        .ok_or_else(|| fail(format!("must start with {PREFIX:?}")))?;
    let mut chapter: Option<&str> = None;
    for (i, part) in rest.split("; ").enumerate() {
        if let Some(work) = part.strip_prefix("see ") {
            if !OTHER_WORKS.contains(&work) {
                return Err(fail(format!("{work:?} is not in OTHER_WORKS")));
            }
            chapter = None;
        } else if let Some(after) = part.strip_prefix(APPENDIX_A) {
            note(after).map_err(fail)?;
            chapter = None;
        } else if let Some(after) = part.strip_prefix("Ch. ") {
            let (number, title) = after
                .split_once(' ')
                .ok_or_else(|| fail(format!("{part:?}: a chapter needs its title")))?;
            let (_, known) = CHAPTERS
                .iter()
                .find(|(n, _)| *n == number)
                .ok_or_else(|| fail(format!("chapter {number} is not in CHAPTERS")))?;
            let tail = title
                .strip_prefix(known)
                .ok_or_else(|| fail(format!("chapter {number} is titled {known:?}: {part:?}")))?;
            chapter = Some(number);
            if let Some(section) = tail.strip_prefix(": ") {
                self::section(section, number).map_err(fail)?;
            } else if !tail.is_empty() {
                return Err(fail(format!(
                    "{part:?}: a chapter is followed by `: <section>` or nothing"
                )));
            }
        } else if i == 0 {
            return Err(fail(
                "the first part must be a chapter or Appendix A".into(),
            ));
        } else {
            let current = chapter.ok_or_else(|| {
                fail(format!(
                    "{part:?}: a section must follow its chapter (`Ch. <n> <title>: `)"
                ))
            })?;
            section(part, current).map_err(fail)?;
        }
    }
    Ok(())
}

/// One `<number> <title>[ (<note>)]` of `chapter`.
fn section(part: &str, chapter: &str) -> Result<(), String> {
    let (number, rest) = part
        .split_once(' ')
        .ok_or_else(|| format!("{part:?}: a section is `<number> <title>`"))?;
    let (_, title) = SECTIONS
        .iter()
        .find(|(n, _)| *n == number)
        .ok_or_else(|| format!("section {number:?} is not in the verified list (SECTIONS)"))?;
    if number.split('.').next() != Some(chapter) {
        return Err(format!("section {number} is not in chapter {chapter}"));
    }
    let after = rest
        .strip_prefix(title)
        .ok_or_else(|| format!("section {number} is titled {title:?}, not {rest:?}"))?;
    note(after)
}

/// Nothing, or ` (<note>)`.
fn note(after: &str) -> Result<(), String> {
    if after.is_empty() {
        return Ok(());
    }
    match after.strip_prefix(" (").and_then(|n| n.strip_suffix(')')) {
        Some(n) if !n.trim().is_empty() => Ok(()),
        _ => Err(format!(
            "{after:?}: only a note in parentheses may follow a title"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_accepted() {
        for ok in [
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.5.2 USE Method (saturation); 6.6.2 vmstat",
            "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.11 Workload Characterization; Ch. 9 Disks: 9.6.1 iostat",
            "Systems Performance 2nd ed., Ch. 11 Cloud Computing; Appendix A USE Method: Linux (software resources)",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.6.1 uptime; see Brendan Gregg, Linux Load Averages: Solving the Mystery (2017)",
            "Systems Performance 2nd ed., Ch. 8 File Systems: 8.6.14 ext4slower (xfs, zfs, btrfs, nfs) (slow operations)",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    /// The mistakes issue 17 found: 1st-edition numbers, x.5.2 called latency, unnumbered or
    /// unverified sections, sections outside their chapter, another format.
    #[test]
    fn first_edition_numbers_and_other_formats_are_refused() {
        for bad in [
            "Systems Performance 2nd ed., Ch. 2 Methodologies: 2.5.10 Workload Characterization",
            "Systems Performance 2nd ed., Ch. 9 Disks: 9.5.2 Latency Analysis",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.5.2 Latency (scheduler latency)",
            "Systems Performance 2nd ed., Ch. 7 Memory: 7.6.3 vmstat (si/so)",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.5 Methodology (USE Method); 9.6.1 iostat",
            "Systems Performance 2nd ed., Ch. 6 CPUs (6.5.1 Tools Method, 6.5.3 USE Method)",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.6 Observability Tools (mpstat), vmstat",
            "Systems Performance 2nd ed., Ch. 8 File Systems (8.5.1)",
            "Systems Performance, Ch. 6 CPUs: 6.5.2 USE Method",
            "Systems Performance 2nd ed., 2.5.9 The USE Method",
            "Systems Performance 2nd ed., Ch. 2 Methodology: 2.5.9 The USE Method",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.6.2 vmstat r",
            "Systems Performance 2nd ed., Ch. 6 CPUs: 6.6.1 uptime; see Gregg's blog",
        ] {
            assert!(validate(bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn the_verified_list_is_consistent() {
        let mut numbers: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), SECTIONS.len(), "a section is listed twice");
        for (number, title) in SECTIONS {
            let chapter = number.split('.').next().unwrap_or_default();
            assert!(
                CHAPTERS.iter().any(|(n, _)| *n == chapter),
                "{number} {title}: chapter {chapter} missing"
            );
            assert!(!title.is_empty() && !title.contains(';'));
        }
    }
}

/// Every reference in the sources (catalog TOML, Rust constants, comments) has the format and
/// cites verified sections: the one place a new reference can go wrong is caught here.
#[cfg(test)]
mod sources {
    use std::path::Path;

    use super::validate;

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                out.push(path);
            }
        }
    }

    /// The text with comment continuations joined, so that a quoted reference wrapped over two
    /// comment lines reads as one string.
    fn joined(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            let t = line.trim_start();
            let body = ["//! ", "/// ", "// ", "# "]
                .iter()
                .find_map(|p| t.strip_prefix(p))
                .unwrap_or(line);
            if !out.is_empty() {
                out.push(if body.len() == line.len() { '\n' } else { ' ' });
            }
            out.push_str(body);
        }
        out
    }

    #[test]
    fn every_reference_in_the_sources_has_the_format() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        files(&root.join("src"), &mut paths);
        let mut checked = 0;
        let mut errors = Vec::new();
        for path in paths.iter().filter(|p| !p.ends_with("catalog/book.rs")) {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            if text.contains('§') {
                errors.push(format!("{}: cites a section with §", path.display()));
            }
            let text = joined(&text);
            for (at, _) in text.match_indices("Systems Performance 2nd ed.") {
                let quoted = text[..at].ends_with('"');
                let end = text[at..].find('"').map(|e| at + e);
                match (quoted, end) {
                    (true, Some(end)) => {
                        if let Err(e) = validate(&text[at..end]) {
                            errors.push(format!("{}: {e}", path.display()));
                        }
                        checked += 1;
                    }
                    _ => errors.push(format!(
                        "{}: an unquoted reference near {:?}",
                        path.display(),
                        text[at..].chars().take(60).collect::<String>()
                    )),
                }
            }
        }
        assert!(errors.is_empty(), "{}", errors.join("\n"));
        assert!(checked > 80, "{checked} references checked");
    }
}

//! Where and on what a run was measured, for the report and its file names: the commit, the CPU, the record
//! count as a short tag.

/// `10k`, `1M`, `200`: the record count in file names.
pub fn records_tag(records: u64) -> String {
    match records {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The checked-out commit, `+dirty` when tracked files changed. Read-only: `--no-optional-locks` keeps `git
/// status` from refreshing the index of a tree others are working in.
pub fn git_commit() -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
    ])
    .is_some_and(|s| !s.is_empty());
    Some(if dirty { commit + "+dirty" } else { commit })
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_are_tagged_for_file_names() {
        assert_eq!(records_tag(10_000), "10k");
        assert_eq!(records_tag(1_000_000), "1M");
        assert_eq!(records_tag(200), "200");
        assert_eq!(records_tag(1_500), "1500");
    }
}

//! Reading `/proc`: the pids it lists, and the numeric fields of a process's `stat` line. Neither
//! waits on the process (unlike its `cmdline` or `environ`, which take its memory-map lock).

/// The pids of the processes `/proc` lists now (none when it cannot be read).
pub(crate) fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
}

/// Field `n` after the command name in `/proc/<pid>/stat` (1: parent pid, 2: process group,
/// 3: session), when the process exists.
pub(crate) fn stat_field(pid: i32, n: usize) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp session ...`; comm may hold spaces and parentheses.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(n)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let me = std::process::id() as i32;
        assert!(pids().any(|p| p == me));
        assert_eq!(stat_field(me, 1), Some(nix::unistd::getppid().as_raw()));
        assert_eq!(stat_field(me, 3), nix::unistd::getsid(None).ok().map(|s| s.as_raw()));
        assert_eq!(stat_field(-1, 1), None);
    }
}

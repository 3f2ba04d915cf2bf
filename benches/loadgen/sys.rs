//! The machine and the processes: CPU seconds and memory from /proc, the open-files limit, the load
//! average, the commit under test. Linux only, like the server's deployment target.

use std::path::Path;
use std::process::Command;

/// Clock ticks per second, the unit of `utime`/`stime` in /proc/<pid>/stat.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions; a negative answer means "unknown".
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

fn proc_dir(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    }
}

/// User + system CPU seconds used so far by `pid` (all its threads), or by this process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("{}/stat", proc_dir(pid))).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// Context switches so far, voluntary and not, summed over `pid`'s threads that are still alive:
/// each time a thread waits for another (a query handed to a database connection's thread and its
/// answer handed back) costs two. `None` without a pid (this process is not what is measured).
pub fn context_switches(pid: Option<u32>) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("{}/task", proc_dir(Some(pid?)))).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue; // the thread ended meanwhile
        };
        total += status
            .lines()
            .filter_map(|line| {
                let value = line
                    .strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))?;
                value.trim().parse::<u64>().ok()
            })
            .sum::<u64>();
    }
    Some(total)
}

/// A `kB` line of /proc/<pid>/status (`VmRSS`, `VmHWM`), in KiB.
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("{}/status", proc_dir(pid))).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    status_kib(pid, "VmHWM")
}

/// Resets the peak-RSS mark (`VmHWM`) of `pid` to its current RSS, so a scenario reports its own
/// peak rather than the process's lifetime peak. False if the kernel refused.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Raises this process's open-files soft limit as far as the hard limit allows (a child started
/// afterwards, the server, inherits it). Tries a higher hard limit first, which only works with
/// CAP_SYS_RESOURCE. Returns the soft limit now in force.
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    if limit.rlim_max < wanted {
        let higher = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: wanted,
        };
        // SAFETY: `higher` is a valid rlimit; failure (EPERM) leaves the limits unchanged.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &higher) } == 0 {
            return wanted;
        }
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        limit.rlim_max
    } else {
        limit.rlim_cur
    }
}

/// `git rev-parse --short HEAD`, with `+dirty` when the work tree has uncommitted changes.
pub fn commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(changes) if !changes.is_empty() => format!("{head}+dirty"),
        _ => head,
    }
}

/// CPU use of `pid` (or this process) as a fraction of one core over a short window.
pub async fn cpu_share(pid: Option<u32>, window: std::time::Duration) -> Option<f64> {
    let before = cpu_seconds(pid)?;
    tokio::time::sleep(window).await;
    let after = cpu_seconds(pid)?;
    Some((after - before) / window.as_secs_f64())
}

/// Waits (at most `limit`) until `pid` is nearly idle, so one run's backlog does not spill into
/// the next. Returns whether it got there.
pub async fn wait_until_idle(pid: Option<u32>, limit: std::time::Duration) -> bool {
    let Some(pid) = pid else {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        return true;
    };
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        match cpu_share(Some(pid), std::time::Duration::from_millis(250)).await {
            Some(share) if share < 0.05 => return true,
            None => return false,
            _ => {}
        }
    }
    false
}

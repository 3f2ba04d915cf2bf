//! Giving freed memory back to the operating system.
//!
//! glibc's malloc keeps what the program frees for its next allocations, spread over one arena per
//! thread that allocated, and returns it only from the top of each heap. After a crowd leaves (ten
//! thousand sockets closing frees some hundred MiB), almost none of it is at a top, so the server
//! would keep its peak size for good. `malloc_trim` hands back every whole free page in every
//! arena; this task calls it when the memory the process holds beyond what it uses has grown by a
//! margin over the least it has been since the last trim, so it runs after such falls and not on
//! every tick. SQLite's page caches are emptied at the same moment: the crowd's queries filled them
//! (a few hundred KiB per pooled connection), and after it has gone they hold pages nobody reads.
//!
//! Off glibc (another libc, another allocator) there is nothing to do and the task does not start.

use std::time::Duration;

/// How often the gap between resident and used memory is looked at.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// How far the gap must grow over its low point for a trim: a trim walks every arena while holding
/// its lock, so it is kept for falls worth giving back.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
const TRIM_STEP: u64 = 32 * 1024 * 1024;

/// Starts the task (on a tokio runtime), once per process.
pub fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut low = u64::MAX;
        let mut ticks = tokio::time::interval(LOOK_EVERY);
        loop {
            ticks.tick().await;
            // Off the async workers: both reading malloc's totals and trimming walk every arena.
            match tokio::task::spawn_blocking(move || look_and_trim(low)).await {
                Ok(new_low) => low = new_low,
                Err(_) => return,
            }
        }
    });
}

/// Trims if the gap has grown by `TRIM_STEP` over `low`, its least since the last trim; returns the
/// new least (after a trim, the gap it left). Unreadable figures leave `low` as it was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn look_and_trim(low: u64) -> u64 {
    match held_but_unused() {
        Some(gap) if gap > low.saturating_add(TRIM_STEP) => trim(),
        Some(gap) => low.min(gap),
        None => low,
    }
}

/// Resident memory less what malloc has handed out and not had back, in bytes: what the
/// allocator keeps free, besides the program's code and stacks (a constant here).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn held_but_unused() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf and mallinfo2 read process-wide values and take no pointers.
    let (page, info) = unsafe { (libc::sysconf(libc::_SC_PAGESIZE), libc::mallinfo2()) };
    let in_use = (info.uordblks + info.hblkhd) as u64;
    Some((resident_pages * page as u64).saturating_sub(in_use))
}

/// Empties SQLite's caches, trims, logs what it gave back, and returns the gap left.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() -> u64 {
    let started = std::time::Instant::now();
    // First, so that the pages it frees are given back by the trim below.
    let caches = super::store::release_page_caches();
    let before = held_but_unused().unwrap_or(0);
    // SAFETY: malloc_trim takes the allocator's own locks; the argument is a plain size (keep no
    // extra padding at the top of the main heap).
    unsafe { libc::malloc_trim(0) };
    let after = held_but_unused().unwrap_or(0);
    tracing::info!(
        "gave {} MiB of freed memory back to the system in {} ms (SQLite had freed {} KiB of its caches)",
        before.saturating_sub(after) / (1024 * 1024),
        started.elapsed().as_millis(),
        caches / 1024
    );
    after
}

//! Timers for the pages: work that many events ask for, done once.

use leptos::prelude::*;
use std::time::Duration;

/// Runs `work` after `delay`, unless a run is already scheduled (`pending` says so): however often
/// this is called meanwhile, `work` runs once. On the server (no timers) it does nothing.
pub fn coalesce(pending: StoredValue<bool>, delay: Duration, work: impl FnOnce() + 'static) {
    if pending.get_value() {
        return;
    }
    pending.set_value(true);
    set_timeout(
        move || {
            pending.set_value(false);
            work();
        },
        delay,
    );
}

//! Password hashing (argon2id), on a small pool of its own.
//!
//! Each hash takes 19 MiB and a core for tens of milliseconds, so the work is bounded three ways:
//! - at most one hash per core runs at once, on as many dedicated threads (not tokio's blocking
//!   pool, whose many threads would each keep a 19 MiB buffer in their own allocator arena);
//! - the permit is moved into the job and released only when the hash is done, so a client that
//!   hangs up frees nothing early (the hash it started still runs) and cannot let more in;
//! - waiting for a permit is bounded: after `MAX_WAIT` the request gets `503 busy`.
//!
//! And the memory is given back: see `return_large_buffers_to_the_os`.

use crate::domain::Password;
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};

/// How long a request may wait for a free hashing slot before it is told the server is busy.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// argon2id with OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password, verified against when the username is unknown, so that a login
/// attempt costs the same whether or not the account exists (no timing oracle).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
        .expect("hashing a constant-size input cannot fail")
        .to_string()
});

type Job = Box<dyn FnOnce() + Send>;

struct HashingPool {
    permits: Arc<Semaphore>,
    jobs: std_mpsc::SyncSender<Job>,
}

static POOL: LazyLock<HashingPool> = LazyLock::new(|| {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Never more jobs queued or running than permits, so the channel never blocks a sender.
    let (jobs, queue) = std_mpsc::sync_channel::<Job>(workers);
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..workers {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || loop {
                // Holding the lock only while waiting for the next job, not while hashing.
                let job = match queue.lock() {
                    Ok(queue) => queue.recv(),
                    Err(poisoned) => poisoned.into_inner().recv(),
                };
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            })
            .expect("start a password-hashing thread");
    }
    HashingPool {
        permits: Arc::new(Semaphore::new(workers)),
        jobs,
    }
});

/// Runs `work` on the hashing pool once a slot is free (at most `MAX_WAIT` from now).
async fn on_hashing_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    on_hashing_pool_within(MAX_WAIT, work).await
}

/// As `on_hashing_pool`, waiting at most `wait` for a slot.
async fn on_hashing_pool_within<T: Send + 'static>(
    wait: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = tokio::time::timeout(wait, Arc::clone(&POOL.permits).acquire_owned())
        .await
        .map_err(|_| AppError::Busy {
            retry_after: MAX_WAIT.as_secs(),
        })?
        .map_err(AppError::internal)?;
    let (reply, outcome) = oneshot::channel();
    let job: Job = Box::new(move || {
        let result = work();
        drop(permit);
        // The caller may have hung up; the work is done either way.
        let _ = reply.send(result);
    });
    POOL.jobs
        .try_send(job)
        .map_err(|_| AppError::internal("the password-hashing pool is not taking jobs"))?;
    outcome
        .await
        .map_err(|_| AppError::internal("a password-hashing job was lost"))
}

pub async fn hash_password(password: Password) -> Result<String, AppError> {
    on_hashing_pool(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(AppError::internal)
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no account.
/// Returns true only for an existing account with the right password.
pub async fn verify_password(stored: Option<String>, password: Password) -> Result<bool, AppError> {
    on_hashing_pool(move || {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&hash).map_err(AppError::internal)?;
        let matches = hasher()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok();
        Ok(exists && matches)
    })
    .await?
}

/// Makes large freed buffers go back to the operating system at once.
///
/// glibc's malloc serves big allocations with mmap and unmaps them on free, but after the first
/// such free it raises its threshold to that size, and from then on every 19 MiB argon2 buffer
/// comes from (and stays in) the heap of the thread that hashed. Setting the threshold fixes it,
/// so argon2's buffers are always mapped and unmapped: resident memory returns to idle after a
/// burst of logins instead of keeping a buffer per thread that ever hashed.
pub fn return_large_buffers_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 4 * 1024 * 1024;
        // SAFETY: mallopt only changes allocator tuning; it is called once at start-up, before
        // any argon2 buffer exists, and takes plain integers.
        let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
        if applied != 1 {
            tracing::warn!("could not set malloc's mmap threshold; hashing memory may be kept");
        }
    }
}

/// Start-up: the allocator setting above, the dummy hash (so the first unknown-user login is not
/// faster than the rest) and the pool's threads.
pub fn prepare() {
    return_large_buffers_to_the_os();
    LazyLock::force(&DUMMY_HASH);
    LazyLock::force(&POOL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let pw = || Password::parse("correct horse battery".into()).unwrap();
        let hash = hash_password(pw()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(hash.clone()), pw()).await.unwrap());
        let wrong = Password::parse("incorrect horse".into()).unwrap();
        assert!(!verify_password(Some(hash), wrong).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let pw = Password::parse("whatever-password".into()).unwrap();
        assert!(!verify_password(None, pw).await.unwrap());
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ() {
        let pw = || Password::parse("same password".into()).unwrap();
        assert_ne!(
            hash_password(pw()).await.unwrap(),
            hash_password(pw()).await.unwrap()
        );
    }

    /// With every slot taken for longer than a caller may wait, the caller is told the server is
    /// busy (503, with a time to retry) instead of queueing without end.
    #[tokio::test]
    async fn waiting_longer_than_allowed_is_busy() {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let all = Arc::clone(&POOL.permits)
            .acquire_many_owned(workers as u32)
            .await
            .unwrap();
        let outcome = tokio::time::timeout(
            Duration::from_secs(1),
            on_hashing_pool_within(Duration::from_millis(50), || ()),
        )
        .await
        .expect("the wait is bounded");
        drop(all);
        let err = outcome.unwrap_err();
        assert_eq!(err.status(), 503);
        assert_eq!(err.code(), crate::error::ErrorCode::Busy);
        assert_eq!(err.retry_after(), Some(MAX_WAIT.as_secs()));
        // Slots free again: the same call goes through.
        assert!(on_hashing_pool(|| ()).await.is_ok());
    }

    /// A caller that gives up does not give its slot back: the hash it started holds it until
    /// done, so hung-up requests cannot push more concurrent hashes than there are slots.
    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_slot_until_it_finishes() {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut abandoned = Vec::new();
        for _ in 0..workers * 3 {
            let (running, most) = (Arc::clone(&running), Arc::clone(&most));
            let call = tokio::spawn(on_hashing_pool(move || {
                use std::sync::atomic::Ordering::SeqCst;
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                std::thread::sleep(Duration::from_millis(100));
                running.fetch_sub(1, SeqCst);
            }));
            abandoned.push(call);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for call in &abandoned {
            call.abort();
        }
        // Everything that got in is still queued or running; wait for it to drain.
        let permits = Arc::clone(&POOL.permits);
        let all = tokio::time::timeout(
            Duration::from_secs(10),
            permits.acquire_many(workers as u32),
        )
        .await;
        assert!(all.is_ok(), "every slot came back");
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= workers);
    }
}

//! Password hashing and checking, with versioned schemes (`passwords.schemes`).
//!
//! New hashes use the scheme with the highest version; older versions are kept
//! to verify existing hashes (for example bcrypt hashes imported from Synapse)
//! and a successful check with an older scheme hands back a fresh hash to store,
//! so accounts move to the newest scheme as people log in.
//!
//! Hashing is expensive on purpose (argon2id takes 19 MiB and tens of
//! milliseconds), so it runs on the blocking thread pool, and a semaphore lets
//! at most `max_concurrent` run at once: a burst of 500 logins waits in line
//! instead of allocating 500 × 19 MiB.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

// Salts are made on the blocking pool, away from the request: they must be
// unique, never reproducible, so they come from the OS generator.
#[allow(clippy::disallowed_types)]
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use thiserror::Error;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

/// The hashing algorithm of a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Argon2id, m=19 MiB, t=2, p=1 (OWASP's and MAS's parameters).
    Argon2id,
    /// bcrypt `$2b$`, as Synapse stores passwords.
    Bcrypt,
    /// PBKDF2-SHA256 in PHC format.
    Pbkdf2,
}

/// One entry of `passwords.schemes`, with its pepper already read.
#[derive(Clone)]
pub struct Scheme {
    pub version: u16,
    pub algorithm: Algorithm,
    /// bcrypt cost; ignored by the other algorithms.
    pub cost: Option<u32>,
    /// The pepper: Argon2's secret parameter, or appended to the password for
    /// bcrypt and PBKDF2 (Synapse's `password_config.pepper` works that way).
    pub pepper: Option<Vec<u8>>,
    /// Apply Unicode NFKC first, as Synapse does before bcrypt.
    pub unicode_normalization: bool,
}

impl std::fmt::Debug for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheme")
            .field("version", &self.version)
            .field("algorithm", &self.algorithm)
            .field("cost", &self.cost)
            .field("pepper", &self.pepper.as_ref().map(|_| "[redacted]"))
            .field("unicode_normalization", &self.unicode_normalization)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("the password does not match")]
    Mismatch,
    #[error("the stored hash uses scheme version {0}, which passwords.schemes does not list")]
    UnknownVersion(u16),
    #[error("the stored hash is malformed: {0}")]
    Malformed(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("no password scheme is configured")]
    NoScheme,
}

/// Hashes and verifies passwords, bounded in how many run at once.
#[derive(Debug, Clone)]
pub struct PasswordManager {
    /// Sorted newest version first.
    schemes: Arc<Vec<Scheme>>,
    minimum_complexity: u8,
    permits: Arc<Semaphore>,
    /// Hashes running now, and the most that ever ran at once (for metrics
    /// and for the test that checks the bound).
    in_flight: Arc<AtomicUsize>,
    peak_in_flight: Arc<AtomicUsize>,
    /// argon2 working memory, one buffer per permit, reused for every hash.
    buffers: Arc<std::sync::Mutex<Vec<Vec<argon2::Block>>>>,
}

/// How many hashes may run at once by default: one per core.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl PasswordManager {
    pub fn new(mut schemes: Vec<Scheme>, minimum_complexity: u8, max_concurrent: usize) -> Self {
        schemes.sort_by_key(|s| std::cmp::Reverse(s.version));
        Self {
            schemes: Arc::new(schemes),
            minimum_complexity,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            in_flight: Arc::default(),
            peak_in_flight: Arc::default(),
            buffers: Arc::default(),
        }
    }

    /// The version new hashes are made with.
    pub fn current_version(&self) -> Option<u16> {
        self.schemes.first().map(|s| s.version)
    }

    /// Whether `password` is strong enough for `passwords.minimum_complexity`
    /// (a zxcvbn score from 0 to 4). `user_inputs` (username, email…) count
    /// against the password when it contains them.
    pub fn is_complex_enough(&self, password: &str, user_inputs: &[&str]) -> bool {
        u8::from(zxcvbn::zxcvbn(password, user_inputs).score()) >= self.minimum_complexity
    }

    pub fn minimum_complexity(&self) -> u8 {
        self.minimum_complexity
    }

    /// Hashes with the newest scheme; returns its version and the hash.
    pub async fn hash(&self, password: String) -> Result<(u16, String), PasswordError> {
        let scheme = self
            .schemes
            .first()
            .cloned()
            .ok_or(PasswordError::NoScheme)?;
        let version = scheme.version;
        let hash = self
            .run_bounded(move |blocks| hash_with(&scheme, &password, blocks))
            .await?;
        Ok((version, hash))
    }

    /// Checks `password` against a stored hash made with scheme `version`.
    /// When that scheme is not the newest, returns a new hash (and its version)
    /// to store in place of the old one.
    pub async fn verify(
        &self,
        version: u16,
        password: String,
        stored_hash: String,
    ) -> Result<Option<(u16, String)>, PasswordError> {
        let scheme = self
            .schemes
            .iter()
            .find(|s| s.version == version)
            .cloned()
            .ok_or(PasswordError::UnknownVersion(version))?;
        let newest = self
            .schemes
            .first()
            .cloned()
            .ok_or(PasswordError::NoScheme)?;
        self.run_bounded(move |blocks| {
            verify_with(&scheme, &password, &stored_hash, blocks)?;
            if scheme.version == newest.version {
                return Ok(None);
            }
            Ok(Some((
                newest.version,
                hash_with(&newest, &password, blocks)?,
            )))
        })
        .await
    }

    /// Runs `work` on the blocking pool once a permit is free, lending it
    /// one of the reusable argon2 buffers (there is one per permit).
    async fn run_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<argon2::Block>) -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        let in_flight = self.in_flight.clone();
        let peak = self.peak_in_flight.clone();
        let buffers = self.buffers.clone();
        tokio::task::spawn_blocking(move || {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let mut blocks = buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_default();
            let result = work(&mut blocks);
            buffers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(blocks);
            in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(|e| PasswordError::Hashing(e.to_string()))?
    }

    /// Hashes and checks running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most hashes that ever ran at the same time.
    pub fn peak_concurrency(&self) -> usize {
        self.peak_in_flight.load(Ordering::SeqCst)
    }
}

/// The bytes that are actually hashed: normalised, then peppered.
fn prepared(scheme: &Scheme, password: &str, append_pepper: bool) -> Vec<u8> {
    let mut bytes = if scheme.unicode_normalization {
        password.nfkc().collect::<String>().into_bytes()
    } else {
        password.as_bytes().to_vec()
    };
    if append_pepper {
        if let Some(pepper) = &scheme.pepper {
            bytes.extend_from_slice(pepper);
        }
    }
    bytes
}

fn hash_with(
    scheme: &Scheme,
    password: &str,
    blocks: &mut Vec<argon2::Block>,
) -> Result<String, PasswordError> {
    let failed = |e: &dyn std::fmt::Display| PasswordError::Hashing(e.to_string());
    match scheme.algorithm {
        Algorithm::Argon2id => {
            let bytes = prepared(scheme, password, false);
            argon2_reuse::hash(&bytes, scheme.pepper.as_deref(), blocks)
        }
        Algorithm::Bcrypt => {
            let bytes = prepared(scheme, password, true);
            let parts = bcrypt::hash_with_result(bytes, scheme.cost.unwrap_or(12))
                .map_err(|e| failed(&e))?;
            Ok(parts.format_for_version(bcrypt::Version::TwoB))
        }
        Algorithm::Pbkdf2 => {
            let salt = SaltString::generate(&mut OsRng);
            let bytes = prepared(scheme, password, true);
            let hash = pbkdf2::Pbkdf2
                .hash_password(&bytes, &salt)
                .map_err(|e| failed(&e))?;
            Ok(hash.to_string())
        }
    }
}

fn verify_with(
    scheme: &Scheme,
    password: &str,
    stored: &str,
    blocks: &mut Vec<argon2::Block>,
) -> Result<(), PasswordError> {
    match scheme.algorithm {
        Algorithm::Argon2id => {
            let bytes = prepared(scheme, password, false);
            argon2_reuse::verify(&bytes, stored, scheme.pepper.as_deref(), blocks)
        }
        Algorithm::Bcrypt => {
            let bytes = prepared(scheme, password, true);
            match bcrypt::verify(bytes, stored) {
                Ok(true) => Ok(()),
                Ok(false) => Err(PasswordError::Mismatch),
                Err(e) => Err(PasswordError::Malformed(e.to_string())),
            }
        }
        Algorithm::Pbkdf2 => {
            let parsed =
                PasswordHash::new(stored).map_err(|e| PasswordError::Malformed(e.to_string()))?;
            let bytes = prepared(scheme, password, true);
            pbkdf2::Pbkdf2
                .verify_password(&bytes, &parsed)
                .map_err(|_| PasswordError::Mismatch)
        }
    }
}

mod argon2_reuse;

#[cfg(test)]
mod tests;

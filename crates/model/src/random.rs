//! Randomness as a parameter, like time ([`crate::clock`]): handlers take
//! their random numbers (ids, tokens, codes, CSRF values) from a
//! [`RandomSource`] in the server's state, so a test can seed it and get
//! the same ids on every run. Production draws from the operating system.

use std::sync::Mutex;

use rand::{rngs::StdRng, CryptoRng, RngCore, SeedableRng};

/// A cryptographically secure generator, as one object-safe trait.
pub trait SecureRng: RngCore + CryptoRng + Send {}
impl<T: RngCore + CryptoRng + Send> SecureRng for T {}

/// A generator for one request, boxed so the state can hold either source.
pub type BoxRng = Box<dyn SecureRng>;

/// Where random numbers come from.
pub trait RandomSource: Send + Sync {
    /// A generator for one piece of work (a request, a job).
    fn rng(&self) -> BoxRng;
}

/// The operating system's generator (`getrandom`): what production uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn rng(&self) -> BoxRng {
        // The one place the server reaches the OS generator directly.
        #[allow(clippy::disallowed_types)]
        Box::new(rand::rngs::OsRng)
    }
}

/// A seeded source for tests: the same seed gives the same sequence of
/// generators, hence the same ids and tokens.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn rng(&self) -> BoxRng {
        // A poisoned lock only means another test thread panicked; the
        // generator itself is still whole.
        let mut parent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut seed = [0u8; 32];
        parent.fill_bytes(&mut seed);
        Box::new(StdRng::from_seed(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_source_repeats_itself_and_the_os_one_does_not() {
        let a = SeededRandom::new(7);
        let b = SeededRandom::new(7);
        for _ in 0..3 {
            assert_eq!(a.rng().next_u64(), b.rng().next_u64());
        }
        assert_ne!(
            SeededRandom::new(8).rng().next_u64(),
            SeededRandom::new(7).rng().next_u64()
        );
        assert_ne!(OsRandom.rng().next_u64(), OsRandom.rng().next_u64());
    }
}

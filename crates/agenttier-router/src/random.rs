//! Random bytes from the operating system (`getrandom`), for secrets and unique names.
//!
//! The OS generator does not fail on the platforms the router runs on (Linux `getrandom(2)`);
//! if it ever did, nothing safe could be minted, so that is a panic rather than a weak value.

const FAILED: &str = "the operating system's random number generator failed";

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect(FAILED);
    out
}

/// A random `u64`.
pub(crate) fn u64() -> u64 {
    getrandom::u64().expect(FAILED)
}

/// A random `u32`.
pub(crate) fn u32() -> u32 {
    getrandom::u32().expect(FAILED)
}

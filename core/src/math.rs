//! Small deterministic arithmetic shared by the policies.
//!
//! `f64::powi` lives in `std`, not `core`, and its result may differ between
//! platforms; exponentiation by squaring on IEEE-754 multiplications gives the
//! same bits everywhere (including soft-float Cortex-M0), which the shared
//! scenarios rely on.

/// `base^exp` by squaring: deterministic, `O(log exp)`.
pub(crate) const fn powi(base: f64, mut exp: u32) -> f64 {
    let mut result = 1.0;
    let mut factor = base;
    while exp > 0 {
        if exp & 1 == 1 {
            result *= factor;
        }
        exp >>= 1;
        if exp > 0 {
            factor *= factor;
        }
    }
    result
}

/// `nanos * factor`, rounded down and saturating at `u64::MAX`; `factor` must be
/// finite and at least zero (NaN gives zero rather than a panic).
pub(crate) const fn scale_nanos(nanos: u64, factor: f64) -> u64 {
    let scaled = nanos as f64 * factor;
    // `as` saturates and maps NaN to zero.
    scaled as u64
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn powi_matches_repeated_multiplication() {
        assert_eq!(powi(2.0, 0), 1.0);
        assert_eq!(powi(2.0, 10), 1024.0);
        assert_eq!(powi(1.5, 3), 3.375);
        assert_eq!(powi(10.0, 400), f64::INFINITY);
    }

    #[test]
    fn scale_saturates() {
        assert_eq!(scale_nanos(1_000, 2.5), 2_500);
        assert_eq!(scale_nanos(u64::MAX, 2.0), u64::MAX);
        assert_eq!(scale_nanos(5, f64::INFINITY), u64::MAX);
        assert_eq!(scale_nanos(5, f64::NAN), 0);
    }
}

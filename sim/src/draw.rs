//! Randomness addressed by what it is for, so that configurations compare fairly.
//!
//! Every random number of a run comes from the core's [`SplitMix64`], seeded by
//! a hash of the run's seed and of an address: which stream (arrivals, the
//! dependency, think times, backoff jitter) and which call and attempt. The
//! third attempt of call 1234 therefore meets the same dependency in every
//! configuration, whatever happened before it: two configurations differ only
//! by what their policies did (common random numbers), and a seed fixes every draw.

use seawall_core::rng::SplitMix64;

/// What a stream of draws is for.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    /// Open-loop arrival times.
    Arrivals = 1,
    /// The dependency's latency and outcome for one attempt.
    Dependency = 2,
    /// A closed-loop client's think time.
    Think = 3,
    /// A call's retry jitter.
    Backoff = 4,
}

/// The seed of a run, from which every stream is derived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Draws {
    /// One key per stream, hashed from the seed.
    keys: [u64; 5],
}

impl Draws {
    pub(crate) fn new(seed: u64) -> Self {
        let mut keys = [0; 5];
        for (stream, key) in keys.iter_mut().enumerate() {
            *key = mix(mix(seed) ^ (stream as u64).wrapping_mul(GAMMA));
        }
        Self { keys }
    }

    /// The generator for `stream` at address `(a, b)`. The address is spread
    /// by two odd multipliers; the generator's own finalizer, applied to every
    /// draw, does the mixing (one multiply-xorshift chain per draw, which is
    /// most of the cost of a simulated call).
    #[inline]
    pub(crate) fn rng(self, stream: Stream, a: u64, b: u64) -> SplitMix64 {
        let key = self.keys[stream as usize];
        SplitMix64::new(key ^ a.wrapping_mul(ADDRESS_A) ^ mix(b.wrapping_mul(ADDRESS_B)))
    }
}

/// The standard normal distribution's quantile at `p` in (0, 1): Acklam's
/// rational approximation (relative error below 1.2e-9).
pub(crate) fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        let q = (-2.0 * q.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail(1.0 - p)
    }
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const ADDRESS_A: u64 = 0xD1B5_4A32_D192_ED03;
const ADDRESS_B: u64 = 0xAEF1_7502_108E_F2D9;

/// SplitMix64's finalizer: a bijection that spreads every input bit.
#[inline]
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seawall_core::rng::unit;

    #[test]
    fn draws_through_the_inverse_normal_have_the_normal_quantiles() {
        let draws = Draws::new(1);
        let mut values: Vec<f64> = (0..100_000)
            .map(|i| {
                inverse_normal(
                    (1.0 - unit(&mut draws.rng(Stream::Dependency, i, 0))).min(1.0 - f64::EPSILON),
                )
            })
            .collect();
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[(q * values.len() as f64) as usize];
        for (q, z) in [
            (0.01, -2.326),
            (0.1, -1.2816),
            (0.5, 0.0),
            (0.9, 1.2816),
            (0.99, 2.326),
        ] {
            assert!((at(q) - z).abs() < 0.03, "quantile {q}: {} for {z}", at(q));
        }
    }
}

//! Go's `math/rand` generator as `rand.New(rand.NewSource(seed))` builds it, and the one use
//! Calico makes of it through `math/big`'s `Int.Rand`: a number below a power of two. Only what
//! Calico's block choice needs; other `math/rand` methods are not here.

use super::go_rand_cooked::RNG_COOKED;

const LEN: usize = 607;
const TAP: usize = 273;
const INT32_MAX: i64 = (1 << 31) - 1;
const INT63_MASK: u64 = (1 << 63) - 1;

/// Go's `math/rand` source (an additive lagged Fibonacci generator, lags 607 and 273, seeded by
/// a Park–Miller sequence mixed with Go's `rngCooked` values), so a seed gives Go's sequence.
#[derive(Clone)]
pub struct GoRand {
    vec: [i64; LEN],
    tap: usize,
    feed: usize,
}

/// One step of the Park–Miller generator `x * 48271 mod (2^31 - 1)`, by Schrage's method.
fn park_miller(x: i32) -> i32 {
    let (q, r) = (44488, 3399);
    let next = 48271 * (x % q) - r * (x / q);
    if next < 0 {
        next + INT32_MAX as i32
    } else {
        next
    }
}

impl GoRand {
    /// The generator Go's `rand.NewSource(seed)` returns.
    pub fn new(seed: i64) -> GoRand {
        let mut seed = seed % INT32_MAX;
        if seed < 0 {
            seed += INT32_MAX;
        }
        if seed == 0 {
            seed = 89_482_311;
        }
        let mut x = seed as i32;
        // Twenty warm-up steps, then three steps for each value.
        for _ in 0..20 {
            x = park_miller(x);
        }
        let mut vec = [0i64; LEN];
        for (slot, cooked) in vec.iter_mut().zip(RNG_COOKED) {
            x = park_miller(x);
            let mut u = i64::from(x) << 40;
            x = park_miller(x);
            u ^= i64::from(x) << 20;
            x = park_miller(x);
            u ^= i64::from(x);
            *slot = u ^ cooked;
        }
        GoRand {
            vec,
            tap: 0,
            feed: LEN - TAP,
        }
    }

    /// Go's `Source64.Uint64`: the next 64 bits.
    pub fn uint64(&mut self) -> u64 {
        self.tap = (self.tap + LEN - 1) % LEN;
        self.feed = (self.feed + LEN - 1) % LEN;
        let x = self.vec[self.feed].wrapping_add(self.vec[self.tap]);
        self.vec[self.feed] = x;
        x as u64
    }

    /// Go's `Rand.Int63`: the next 64 bits without the top one.
    pub fn int63(&mut self) -> i64 {
        (self.uint64() & INT63_MASK) as i64
    }

    /// Go's `Rand.Uint32`: bits 31 to 62 of the next `Int63`.
    pub fn uint32(&mut self) -> u32 {
        (self.int63() >> 31) as u32
    }

    /// What Go's `new(big.Int).Rand(rand, 2^bits)` returns on a 64-bit platform: draws words
    /// of two `Uint32`s (low half first) for every 64-bit word of the limit, masks the top word
    /// to the limit's bit length and draws again until the number is below the limit. `bits`
    /// is at most 128 (the answer then fits in `u128`); larger values are refused with `None`.
    /// On 32-bit platforms Go draws one `Uint32` per word, which can give other numbers.
    pub fn below_power_of_two(&mut self, bits: u32) -> Option<u128> {
        if bits > 128 {
            return None;
        }
        let words = bits as usize / 64 + 1;
        let top_bits = (bits + 1) % 64;
        let top_mask = if top_bits == 0 {
            u64::MAX
        } else {
            (1u64 << top_bits) - 1
        };
        let top_limit = 1u64 << (bits % 64);
        loop {
            let mut value = 0u128;
            let mut top = 0u64;
            for index in 0..words {
                let low = u64::from(self.uint32());
                let word = low | u64::from(self.uint32()) << 32;
                if index + 1 == words {
                    top = word & top_mask;
                } else {
                    value |= u128::from(word) << (64 * index);
                }
            }
            if top < top_limit {
                // The top word is below 2^(bits % 64); at 128 bits it is the zero third word.
                if words <= 2 {
                    value |= u128::from(top) << (64 * (words - 1));
                }
                return Some(value);
            }
        }
    }
}

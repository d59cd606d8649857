//! The speed slider is logarithmic: its position `p` in [-2, 2] is a speed of 10^p,
//! from 0.01× to 100× real time.

/// The slowest speed.
pub const MIN: f64 = 0.01;
/// The fastest speed.
pub const MAX: f64 = 100.0;

/// The speed at slider position `p`.
#[must_use]
pub fn at(p: f64) -> f64 {
    10f64.powf(p.clamp(-2.0, 2.0))
}

/// The slider position of `speed`.
#[must_use]
pub fn position(speed: f64) -> f64 {
    speed.clamp(MIN, MAX).log10()
}

/// A speed one notch faster (`up`) or slower: ×2 or ÷2, within the range.
#[must_use]
pub fn notch(speed: f64, up: bool) -> f64 {
    let s = if up { speed * 2.0 } else { speed / 2.0 };
    s.clamp(MIN, MAX)
}

/// `0.01×`, `0.5×`, `1×`, `25×`.
#[must_use]
pub fn label(speed: f64) -> String {
    if speed >= 10.0 {
        format!("{speed:.0}×")
    } else if speed >= 1.0 {
        let s = format!("{speed:.1}");
        format!("{}×", s.trim_end_matches(".0"))
    } else {
        let s = format!("{speed:.2}");
        format!("{}×", s.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logarithmic_from_a_hundredth_to_a_hundred() {
        assert!((at(-2.0) - 0.01).abs() < 1e-12);
        assert!((at(0.0) - 1.0).abs() < 1e-12);
        assert!((at(2.0) - 100.0).abs() < 1e-9);
        assert!((position(10.0) - 1.0).abs() < 1e-12);
        assert_eq!(notch(80.0, true), 100.0);
        assert_eq!(label(1.0), "1×");
        assert_eq!(label(0.01), "0.01×");
        assert_eq!(label(0.5), "0.5×");
        assert_eq!(label(2.5), "2.5×");
        assert_eq!(label(100.0), "100×");
    }
}

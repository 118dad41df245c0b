//! The Go `fmt` number formats calicoctl's `ipam show` prints, on top of
//! [`calico_api::json::format_go_float_prec`] (Go's `strconv.FormatFloat` with a precision).

use calico_api::json::format_go_float_prec;

/// Go's `fmt.Sprintf("%.5g", v)`: five significant digits, trailing zeros dropped, the exponent
/// form from 1e5 up and below 1e-4 (`65536`, `1.3107e+05`, `1e+05`, `9.2234e+18`).
pub fn go_g5(v: f64) -> String {
    format_go_float_prec(v, 'g', 5)
}

/// Go's `fmt.Sprintf("%.f", v)`: no decimals, rounded half to even (`%.f` of 2.5 is `2`),
/// `NaN`, `+Inf`, `-Inf`, and `-0` for a negative value that rounds to zero.
pub fn go_f0(v: f64) -> String {
    format_go_float_prec(v, 'f', 0)
}

/// An `ipam show` count with its share of the capacity, as `ShowBlockUtilization`'s
/// `withPercentage` prints it: `fmt.Sprintf("%.5g (%.f%%)", float64(n),
/// 100*float64(n)/float64(capacity))` (`3 (5%)`, `65534 (100%)`, `-9.2234e+18 (-100%)`; a
/// capacity of 0 would give `0 (NaN%)` or `1 (+Inf%)`).
/// The counts are passed as floats, as Calico converts them: a pool's capacity can be far beyond
/// what Go's `int` (and so Calico's figures) holds, ours are the true figures.
pub fn count_and_percent(n: f64, capacity: f64) -> String {
    format!("{} ({}%)", go_g5(n), go_f0(100.0 * n / capacity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentages_are_gos() {
        // Expected: Go 1.26's fmt.Sprintf("%.5g (%.f%%)", float64(n), 100*float64(n)/float64(c))
        // with n and c Go ints, as show.go computes them.
        for (n, capacity, text) in [
            (0, 0, "0 (NaN%)"),
            (1, 0, "1 (+Inf%)"),
            (0, 1, "0 (0%)"),
            (1, 1, "1 (100%)"),
            (1, 64, "1 (2%)"),
            (2, 64, "2 (3%)"),
            (3, 64, "3 (5%)"),
            (63, 64, "63 (98%)"),
            (62, 64, "62 (97%)"),
            (32, 64, "32 (50%)"),
            // Exact halves round to even: 0.5, 2.5, 12.5 down; 7.5, 17.5 up.
            (1, 200, "1 (0%)"),
            (1, 40, "1 (2%)"),
            (3, 40, "3 (8%)"),
            (5, 40, "5 (12%)"),
            (7, 40, "7 (18%)"),
            (65535, 65536, "65535 (100%)"),
            (65534, 65536, "65534 (100%)"),
            (1, 65536, "1 (0%)"),
            (128, 256, "128 (50%)"),
            (2, 256, "2 (1%)"),
            (65537, 16777216, "65537 (0%)"),
            (16711679, 16777216, "1.6712e+07 (100%)"),
            (i64::MAX, i64::MAX, "9.2234e+18 (100%)"),
            (-9223372036854775746, i64::MAX, "-9.2234e+18 (-100%)"),
            (2, i64::MAX, "2 (0%)"),
            (-1, 64, "-1 (-2%)"),
            (1, -64, "1 (-2%)"),
        ] {
            assert_eq!(
                count_and_percent(n as f64, capacity as f64),
                text,
                "{n} of {capacity}"
            );
        }
        assert_eq!(go_g5(65536.0), "65536");
        assert_eq!(go_g5(131072.0), "1.3107e+05");
        assert_eq!(go_f0(98.4375), "98");
    }
}

//! Kubernetes resource quantities (`500m`, `1`, `128Mi`, `1e3`, `1.5Gi`), parsed only far
//! enough to compare two of them: the hardening remedy must never set a request above an
//! existing limit, nor a limit below an existing request.

/// The value of a quantity in base units (cores, bytes), or `None` when `text` is not a
/// quantity the API server accepts. `f64` is precise enough to order the values people write.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number == "+" || number == "-" {
        return None;
    }
    let digits = number.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || number[1..].contains(['+', '-']) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let power = exponent.strip_prefix(['e', 'E'])?;
            let power: i32 = power.parse().ok()?;
            10f64.powi(power)
        }
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quantities_compare_by_value() {
        assert!(parse("500m") < parse("1"));
        assert!(parse("128Mi") < parse("1Gi"));
        assert_eq!(parse("1Gi"), parse("1024Mi"));
        assert_eq!(parse("1e3"), parse("1k"));
        assert_eq!(parse("0.5"), parse("500m"));
        assert!(parse("1G") < parse("1Gi"));
    }

    #[test]
    fn garbage_is_not_a_quantity() {
        for bad in ["", "m", "1x", "1..2", "--1", "Mi", "1 Mi", "1e"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

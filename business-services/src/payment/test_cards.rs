//! Cards the payment gateway approves, for demo orders, benchmarks, evals and tests.

/// A random, Luhn-valid Visa number that the payment gateway approves: a new card per order
/// keeps the fraud engine's velocity rules out of tests and benchmarks that do not study them.
pub fn approved_card_number() -> String {
    let mut digits: Vec<u32> = vec![4];
    digits.extend(uuid::Uuid::new_v4().as_bytes().iter().take(14).map(|b| u32::from(*b) % 10));
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { *d })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(ToString::to_string).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_cards_pass_the_luhn_check() {
        for _ in 0..100 {
            let number = super::approved_card_number();
            assert!(crate::payment::domain::CardNumber::parse(&number).is_ok(), "{number}");
        }
    }
}

//! The Luhn (mod 10) check digit test.
//!
//! Every payment card number carries a Luhn check digit, while only one in ten random digit
//! strings passes it. Requiring it is what lets the `credit_card` pattern mask card numbers
//! without masking every long number (order ids, phone numbers, timestamps) it meets.

/// Whether `digits` (each `0..=9`, most significant first) passes the Luhn check.
///
/// An empty slice does not pass: there is no check digit to verify.
pub fn is_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum: u32 = 0;
    // Walk from the check digit leftwards; every second digit is doubled.
    for (position_from_right, &digit) in digits.iter().rev().enumerate() {
        debug_assert!(digit <= 9, "luhn input must be decimal digits");
        let value = u32::from(digit);
        sum += if position_from_right % 2 == 1 {
            let doubled = value * 2;
            if doubled > 9 { doubled - 9 } else { doubled }
        } else {
            value
        };
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    fn digits(text: &str) -> Vec<u8> {
        text.bytes().map(|byte| byte - b'0').collect()
    }

    #[test]
    fn known_test_card_numbers_pass() {
        for card in [
            "4111111111111111", // Visa
            "5555555555554444", // Mastercard
            "378282246310005",  // American Express (15 digits)
            "6011111111111117", // Discover
            "4222222222222",    // Visa, 13 digits
            "6250941006528599", // UnionPay
            "3530111333300000", // JCB
            "4000056655665556", // Visa debit
        ] {
            assert!(is_valid(&digits(card)), "{card} should pass");
        }
    }

    #[test]
    fn altered_numbers_fail() {
        for number in [
            "4111111111111112",
            "5555555555554445",
            "1234567890123",
            "0000000000001",
        ] {
            assert!(!is_valid(&digits(number)), "{number} should fail");
        }
    }

    #[test]
    fn degenerate_inputs() {
        assert!(!is_valid(&[]));
        assert!(is_valid(&[0]));
        assert!(is_valid(&digits("18")));
        assert!(!is_valid(&digits("19")));
    }
}

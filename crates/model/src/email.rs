//! Email address syntax, checked loosely: the real proof of an address is a
//! code sent to it, so this only catches typos and garbage.

/// Whether `address` looks like `local@domain`: one `@`, both sides
/// non-empty, no white space or control characters, a domain without empty
/// labels.
pub fn is_plausible_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    clean(local)
        && clean(domain)
        && !domain.contains('@')
        && address.len() <= 254
        && domain.split('.').all(|label| !label.is_empty())
}

#[cfg(test)]
mod tests {
    use super::is_plausible_email;

    #[test]
    fn accepts_ordinary_addresses() {
        assert!(is_plausible_email("alice@example.com"));
        assert!(is_plausible_email("a.b+tag@sub.example.org"));
        assert!(is_plausible_email("root@localhost"));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a@b@c",
            "a b@c.d",
            "a@c..d",
            "a@.c",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}

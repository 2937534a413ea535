//! Counts in words for the logs and the story: "1 member", "3 members".

/// `n` and the noun in the number `n` asks for.
pub fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(count(1, "member", "members"), "1 member");
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(3, "entry", "entries"), "3 entries");
    }
}

//! A small regexp engine for Filter::Line's `InputRegexp`.
//!
//! The `regex` crate would do, but terminators are tiny patterns
//! (`\r?\n`, `\x0D\x0A?|\x0A\x0D?`, `;;`...), and two hundred lines of
//! Pike VM keep the dependency list short while guaranteeing linear-time
//! matching on hostile input. The subset is documented in [`parse`].

mod parse;
mod vm;

pub(crate) use vm::Search;

use std::cell::RefCell;

/// A compiled `InputRegexp`.
#[derive(Debug)]
pub(crate) struct Regexp {
    prog: Vec<vm::Inst>,
    source: String,
    /// The VM's working memory, reused by every search (clones of a Line
    /// share the Regexp; searches never nest, so one suffices).
    scratch: RefCell<vm::Scratch>,
}

impl Regexp {
    /// Compile a pattern; refuses patterns that can match the empty string
    /// (POE would loop forever producing empty lines).
    pub(crate) fn new(pattern: &str) -> Result<Regexp, String> {
        let node = parse::parse(pattern)?;
        let prog = vm::compile(&node)?;
        if vm::matches_empty(&prog) {
            return Err(format!("/{pattern}/ matches the empty string"));
        }
        Ok(Regexp {
            prog,
            source: pattern.to_owned(),
            scratch: RefCell::default(),
        })
    }

    /// Leftmost-first match in `hay`, starting no earlier than `from`.
    pub(crate) fn search(&self, hay: &[u8], from: usize) -> Search {
        match self.scratch.try_borrow_mut() {
            Ok(mut scratch) => vm::search(&self.prog, hay, from, &mut scratch),
            // Unreachable (no search runs inside another), but harmless.
            Err(_) => vm::search(&self.prog, hay, from, &mut vm::Scratch::default()),
        }
    }

    /// The pattern as given.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(p: &str, hay: &[u8]) -> Option<(usize, usize)> {
        match Regexp::new(p).unwrap().search(hay, 0) {
            Search::Found { start, end } => Some((start, end)),
            Search::NotFound { .. } => None,
        }
    }

    #[test]
    fn leftmost_first_like_perl() {
        // POE's default terminator regexp.
        let nl = r"(\x0D\x0A?|\x0A\x0D?)";
        assert_eq!(find(nl, b"ab\r\ncd"), Some((2, 4)));
        assert_eq!(find(nl, b"ab\n\rcd"), Some((2, 4)));
        assert_eq!(find(nl, b"ab\rcd"), Some((2, 3)));
        assert_eq!(find(nl, b"ab\r"), Some((2, 3)));
        assert_eq!(find(r"\r?\n", b"a\r\r\n"), Some((2, 4)));
        assert_eq!(find("a|ab", b"xab"), Some((1, 2)));
        assert_eq!(find("ab|a", b"xab"), Some((1, 3)));
        assert_eq!(find("x+?y", b"xxy"), Some((0, 3)));
        assert_eq!(find("[;,]{2}", b"a;b;,c"), Some((3, 5)));
        assert_eq!(find(r"\R", b"a\x0bb"), Some((1, 2)));
        assert_eq!(find("END", b"xxENxEND"), Some((5, 8)));
        assert_eq!(find("[^a-z]", b"abc1"), Some((3, 4)));
        assert_eq!(find(r"\d{2,3}", b"a1b2345"), Some((3, 6)));
        assert_eq!(find("a{2}b", b"aaab"), Some((1, 4)));
        assert_eq!(find("x{", b"ax{"), Some((1, 3)));
    }

    #[test]
    fn not_found_reports_where_a_match_could_still_start() {
        let re = Regexp::new("\r\n").unwrap();
        assert_eq!(re.search(b"abc\r", 0), Search::NotFound { resume: 3 });
        assert_eq!(re.search(b"abc", 0), Search::NotFound { resume: 3 });
        let re = Regexp::new("END").unwrap();
        assert_eq!(re.search(b"xxEN", 0), Search::NotFound { resume: 2 });
        assert_eq!(
            re.search(b"xxENxEND", 2),
            Search::Found { start: 5, end: 8 }
        );
    }

    #[test]
    fn unsupported_and_empty_patterns_are_refused() {
        for p in [
            "^a", "a$", r"\1", "(?=a)", "a*", "(x|)", "[a", "(a", "a)", "*a", "a{5,2}",
        ] {
            assert!(Regexp::new(p).is_err(), "{p:?} should be refused");
        }
    }

    #[test]
    fn a_reused_regexp_agrees_with_a_fresh_one() {
        // The VM's scratch memory is kept between searches: nothing an
        // earlier search left in it may change a later one.
        let hays: [&[u8]; 6] = [b"xxENxEND", b"END", b"aEND", b"EN", b"xxxxxxEND", b"E"];
        for p in ["END", r"\r?\n|;", "x+?y|EN+D", "(a*)*b|E"] {
            let reused = Regexp::new(p).unwrap();
            for _ in 0..2 {
                for hay in hays {
                    for from in 0..hay.len() {
                        let fresh = Regexp::new(p).unwrap().search(hay, from);
                        assert_eq!(reused.search(hay, from), fresh, "{p:?} {hay:?} {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn nested_quantifiers_stay_linear() {
        let re = Regexp::new("(a*)*b").unwrap();
        let hay = vec![b'a'; 20_000];
        assert!(matches!(re.search(&hay, 0), Search::NotFound { .. }));
    }
}

//! POE::Filter::Line — poe-semantics.md §20.2, one test per rule.

mod common;

use common::*;
use poe_filters::{ConfigError, Filter, FilterError, Line};
use poe_kernel::Value;

fn lines(f: &mut Line, chunks: &[&[u8]]) -> Vec<String> {
    strings(&feed(f, chunks))
}

#[test]
fn default_mode_accepts_crlf_lfcr_cr_and_lf_preferring_two_characters() {
    let mut f = Line::new();
    assert_eq!(
        lines(&mut f, &[b"a\r\nb\nc\rd\n\re\r\r"]),
        ["a", "b", "c", "d", "e", ""]
    );
}

#[test]
fn default_mode_each_newline_is_one_terminator() {
    let mut f = Line::new();
    assert_eq!(lines(&mut f, &[b"\n\n\r\n"]), ["", "", ""]);
}

#[test]
fn default_mode_crlf_split_across_reads_is_one_terminator() {
    // POE 1.370 yields a, "", b here (§24 quirk 6); poe-rs does not.
    let mut f = Line::new();
    assert_eq!(lines(&mut f, &[b"a\r", b"\nb\n"]), ["a", "b"]);
    let mut f = Line::new();
    assert_eq!(lines(&mut f, &[b"a\n", b"\rb\n"]), ["a", "b"]);
}

#[test]
fn default_mode_a_lone_cr_at_the_end_of_a_read_ends_the_line_at_once() {
    let mut f = Line::new();
    assert_eq!(lines(&mut f, &[b"cmd\r"]), ["cmd"]);
    // ... and the next read is not mistaken for the rest of the pair.
    assert_eq!(lines(&mut f, &[b"\rx\r"]), ["", "x"]);
}

#[test]
fn default_mode_writes_crlf() {
    let mut f = Line::new();
    let mut out = Vec::new();
    f.put(Value::from("hi"), &mut out).unwrap();
    assert_eq!(out, b"hi\r\n");
}

#[test]
fn put_appends_the_terminator_and_leaves_embedded_newlines_alone() {
    let mut f = Line::new();
    let mut out = Vec::new();
    f.put(Value::from("y\n"), &mut out).unwrap();
    assert_eq!(out, b"y\n\r\n");
}

#[test]
fn literal_is_the_terminator_both_ways() {
    let mut f = Line::literal("!").unwrap();
    assert_eq!(lines(&mut f, &[b"a!b\r\n!c"]), ["a", "b\r\n"]);
    assert_eq!(f.get_pending(), Some(b"c".to_vec()));
    let mut out = Vec::new();
    f.put(Value::from("x"), &mut out).unwrap();
    assert_eq!(out, b"x!");
}

#[test]
fn literal_may_be_several_octets_split_across_reads() {
    let mut f = Line::literal("<END>").unwrap();
    assert_eq!(
        lines(&mut f, &[b"one<E", b"N", b"D><EN", b"Dtwo<END>"]),
        ["one", "<ENDtwo"]
    );
}

#[test]
fn literal_must_not_be_empty() {
    assert_eq!(Line::literal("").unwrap_err(), ConfigError::EmptyLiteral);
}

#[test]
fn literal_excludes_every_other_terminator_parameter() {
    assert!(Line::builder()
        .literal("x")
        .input_literal("y")
        .build()
        .is_err());
    assert!(Line::builder().literal("x").autodetect().build().is_err());
    assert!(Line::builder()
        .literal("x")
        .input_regexp("y")
        .build()
        .is_err());
    assert!(Line::builder()
        .literal("x")
        .output_literal("y")
        .build()
        .is_err());
}

#[test]
fn input_literal_excludes_input_regexp() {
    assert!(matches!(
        Line::builder().input_literal("x").input_regexp("y").build(),
        Err(ConfigError::Conflict(..))
    ));
    assert!(Line::builder()
        .autodetect()
        .input_regexp("y")
        .build()
        .is_err());
}

#[test]
fn input_literal_reads_x_and_writes_output_literal_or_crlf() {
    let mut f = Line::builder().input_literal("\n").build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\r\nb\n"]), ["a\r", "b"]);
    let mut out = Vec::new();
    f.put(Value::from("c"), &mut out).unwrap();
    assert_eq!(out, b"c\r\n");
    let mut f = Line::builder()
        .input_literal("\n")
        .output_literal("\n")
        .build()
        .unwrap();
    out.clear();
    f.put(Value::from("c"), &mut out).unwrap();
    assert_eq!(out, b"c\n");
}

#[test]
fn input_literal_empty_means_autodetect() {
    let mut f = Line::builder().input_literal("").build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\nb\r\n"]), ["a", "b\r"]);
    assert_eq!(f.input_terminator(), Some(&b"\n"[..]));
}

#[test]
fn autodetect_a_two_character_newline_is_final() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\r\nb\nc\r\n"]), ["a", "b\nc"]);
    assert_eq!(f.input_terminator(), Some(&b"\r\n"[..]));
}

#[test]
fn autodetect_a_single_character_followed_by_data_is_final() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\nb", b"\r\nc\n"]), ["a", "b\r", "c"]);
}

#[test]
fn autodetect_a_single_character_at_the_end_is_completed_by_its_complement() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\r", b"\nb\r\n"]), ["a", "b"]);
    assert_eq!(f.input_terminator(), Some(&b"\r\n"[..]));
}

#[test]
fn autodetect_a_single_character_at_the_end_stays_single_otherwise() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\n", b"\nb\n"]), ["a", "", "b"]);
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\r", b"\rb\r"]), ["a", "", "b"]);
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\r", b"b\rc\n"]), ["a", "b"]);
    assert_eq!(f.get_pending(), Some(b"c\n".to_vec()));
}

#[test]
fn autodetect_t04_line_sequence() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(
        lines(&mut f, &[b"a\r", b"\nb\r\n", b"c\n\r", b"\n"]),
        ["a", "b", "c\n"]
    );
}

#[test]
fn clone_keeps_the_detected_terminator_and_drops_the_buffer() {
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"a\n\rpartial"]), ["a"]);
    let mut c = f.clone_fresh();
    assert_eq!(c.get_pending(), None);
    c.get_one_start(b"x\ny\n\r").unwrap();
    assert_eq!(strings(&drain(&mut *c)), ["x\ny"]);
}

#[test]
fn a_clone_does_not_inherit_a_split_newline_awaiting_its_pair() {
    // Autodetect: "abc\r" leaves the terminator undecided (\r or \r\n).
    // The clone starts a new stream, so a leading "\n" there is data for
    // its own detection, not the rest of the original's pair.
    let input: &[u8] = b"\nline\r\n";
    let mut f = Line::builder().autodetect().build().unwrap();
    assert_eq!(lines(&mut f, &[b"abc\r"]), ["abc"]);
    let mut c = f.clone_fresh();
    let mut fresh = Line::builder().autodetect().build().unwrap();
    c.get_one_start(input).unwrap();
    assert_eq!(strings(&drain(&mut *c)), lines(&mut fresh, &[input]));
    assert_eq!(strings(&drain(&mut *c)), Vec::<String>::new());
    // The original still completes its pair.
    assert_eq!(lines(&mut f, &[input]), ["line"]);
    assert_eq!(f.input_terminator(), Some(&b"\r\n"[..]));

    // Default mode: the same.
    let mut f = Line::new();
    assert_eq!(lines(&mut f, &[b"abc\r"]), ["abc"]);
    let mut c = f.clone_fresh();
    c.get_one_start(b"\nx\n").unwrap();
    assert_eq!(strings(&drain(&mut *c)), ["", "x"]);
    assert_eq!(lines(&mut f, &[b"\nx\n"]), ["x"]);
}

#[test]
fn input_regexp_matches_terminators() {
    let mut f = Line::builder().input_regexp(r"\r?\n|;").build().unwrap();
    assert_eq!(lines(&mut f, &[b"a;b\r\nc\n"]), ["a", "b", "c"]);
    let mut out = Vec::new();
    f.put(Value::from("d"), &mut out).unwrap();
    assert_eq!(out, b"d\r\n");
}

#[test]
fn input_regexp_is_matched_against_what_has_arrived() {
    // Like POE: a regexp that may match one or two octets takes what is
    // there; only the default mode remembers a split CR LF.
    let mut f = Line::builder()
        .input_regexp(r"\x0D\x0A?|\x0A\x0D?")
        .build()
        .unwrap();
    assert_eq!(lines(&mut f, &[b"a\r", b"\nb\n"]), ["a", "", "b"]);
}

#[test]
fn input_regexp_that_matches_nothing_is_refused() {
    assert!(matches!(
        Line::builder().input_regexp(r"\n*").build(),
        Err(ConfigError::Regexp(_))
    ));
}

#[test]
fn max_length_and_max_buffer_must_be_positive_and_ordered() {
    assert_eq!(
        Line::builder().max_length(0).build().unwrap_err(),
        ConfigError::Zero("MaxLength")
    );
    assert_eq!(
        Line::builder().max_buffer(0).build().unwrap_err(),
        ConfigError::Zero("MaxBuffer")
    );
    assert!(matches!(
        Line::builder().max_length(10).max_buffer(9).build(),
        Err(ConfigError::BufferTooSmall { .. })
    ));
    assert!(Line::builder()
        .max_length(10)
        .max_buffer(10)
        .build()
        .is_ok());
}

#[test]
fn get_one_start_refuses_data_past_max_buffer() {
    let mut f = Line::builder().max_length(4).max_buffer(8).build().unwrap();
    f.get_one_start(b"ab\ncd").unwrap();
    let err = f.get_one_start(b"efgh").unwrap_err();
    assert!(matches!(
        err,
        FilterError::BufferFull {
            limit: 8,
            needed: 9
        }
    ));
    assert!(err
        .to_string()
        .starts_with("Framing buffer exceeds the limit"));
    // The refused chunk is dropped; what was buffered is intact.
    assert_eq!(f.get_pending(), Some(b"ab\ncd".to_vec()));
    assert_eq!(strings(&drain(&mut f)), ["ab"]);
}

#[test]
fn a_complete_line_over_max_length_is_an_error_and_is_consumed() {
    let mut f = Line::builder().max_length(3).build().unwrap();
    f.get_one_start(b"abcd\nxy\n").unwrap();
    let err = f.get_one().unwrap_err();
    assert!(matches!(err, FilterError::LineTooLong { limit: 3 }));
    assert!(err
        .to_string()
        .starts_with("Next line exceeds maximum line length"));
    assert_eq!(strings(&drain(&mut f)), ["xy"]);
}

#[test]
fn a_partial_line_over_max_length_is_an_error_before_it_ends() {
    // POE buffers it up to MaxBuffer; poe-rs reports it at once and skips
    // the rest of the line, so memory stays near MaxLength.
    let mut f = Line::builder().max_length(3).build().unwrap();
    f.get_one_start(b"abcdef").unwrap();
    assert!(matches!(f.get_one(), Err(FilterError::LineTooLong { .. })));
    assert_eq!(f.get_pending(), None);
    assert_eq!(lines(&mut f, &[b"ghi", b"jk\nok\n"]), ["ok"]);
}

#[test]
fn get_pending_returns_the_buffer_without_clearing_it() {
    let mut f = Line::new();
    assert_eq!(f.get_pending(), None);
    f.get_one_start(b"a\npart").unwrap();
    assert_eq!(f.get_pending(), Some(b"a\npart".to_vec()));
    assert_eq!(strings(&drain(&mut f)), ["a"]);
    assert_eq!(f.get_pending(), Some(b"part".to_vec()));
    assert_eq!(f.get_pending(), Some(b"part".to_vec()));
}

#[test]
fn a_line_that_is_not_utf8_arrives_as_bytes() {
    let mut f = Line::new();
    f.get_one_start(b"caf\xc3\xa9\n\xff\xfe\n").unwrap();
    assert_eq!(
        drain(&mut f),
        [Value::from("café"), Value::from(&b"\xff\xfe"[..])]
    );
}

#[test]
fn records_that_are_not_text_cannot_be_put() {
    let mut f = Line::new();
    let mut out = Vec::new();
    assert!(matches!(
        f.put(Value::list([1]), &mut out),
        Err(FilterError::NotBytes { kind: "list" })
    ));
    f.put(Value::from(42), &mut out).unwrap();
    assert_eq!(out, b"42\r\n");
}

/// Literal, autodetect and regexp modes behave exactly as POE 1.370's.
#[test]
fn modes_match_perl_poe_filter_line() {
    if !perl_with(&["POE::Filter::Line"]) {
        return;
    }
    let cases: &[(&str, &[&[u8]])] = &[
        ("Literal => '!'", &[b"a!b", b"!!c!", b"d"]),
        (
            "InputLiteral => undef",
            &[b"a\r", b"\nb\r\n", b"c\n\r", b"\n"],
        ),
        ("InputLiteral => undef", &[b"x\ny", b"\r\nz\n"]),
        ("InputLiteral => ''", &[b"a\r", b"b\rc\n"]),
        // Grouped: POE interpolates the pattern unparenthesized after
        // `^(.*?)`, so a top-level `|` would split POE's regexp in two.
        (
            "InputRegexp => '(?:\\r?\\n|;;)'",
            &[b"a;", b";b\r", b"\nc\n;;"],
        ),
        ("InputRegexp => '[,.]+'", &[b"a,,b", b".c,", b"d"]),
        ("InputLiteral => 'AB'", &[b"1A", b"B2AAB3A"]),
    ];
    for (params, chunks) in cases {
        let script = format!(
            r#"use POE::Filter::Line; my $f = POE::Filter::Line->new({params});
               while (my $c = <STDIN>) {{ chomp $c; $f->get_one_start([pack "H*", $c]);
                 while (1) {{ my $l = $f->get_one; last unless @$l; print unpack("H*", $l->[0]), "\n" }} }}
               my $p = $f->get_pending; print "pending ", ($p ? unpack("H*", $p->[0]) : ""), "\n";"#
        );
        let input: String = chunks.iter().map(|c| format!("{}\n", hex(c))).collect();
        let perl = run_perl(&script, input.as_bytes());

        let mut f = match *params {
            "Literal => '!'" => Line::literal("!").unwrap(),
            "InputLiteral => undef" | "InputLiteral => ''" => {
                Line::builder().autodetect().build().unwrap()
            }
            "InputRegexp => '(?:\\r?\\n|;;)'" => Line::builder()
                .input_regexp(r"(?:\r?\n|;;)")
                .build()
                .unwrap(),
            "InputRegexp => '[,.]+'" => Line::builder().input_regexp("[,.]+").build().unwrap(),
            "InputLiteral => 'AB'" => Line::builder().input_literal("AB").build().unwrap(),
            other => panic!("no case {other}"),
        };
        let mut ours = String::new();
        for v in feed(&mut f, chunks) {
            ours += &format!("{}\n", hex(v.as_bytes().unwrap()));
        }
        ours += &format!("pending {}\n", hex(&f.get_pending().unwrap_or_default()));
        assert_eq!(ours, perl, "{params} with {chunks:?}");
    }
}

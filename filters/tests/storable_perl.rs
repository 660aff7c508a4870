//! Storable interop with real Perl, both ways: what Perl's `nfreeze`
//! writes thaws to the expected `Value`, and what `nfreeze` writes here
//! thaws in Perl to the expected structure (checked by Perl). Skipped,
//! with a notice, when perl is missing.

mod common;

use common::*;
use poe_filters::storable::{nfreeze, thaw};
use poe_kernel::{Blessed, Value};

fn s(x: &str) -> Value {
    Value::from(x)
}

fn blessed(class: &str, value: Value) -> Value {
    Value::Blessed(Box::new(Blessed {
        class: class.into(),
        value,
    }))
}

fn sref(v: Value) -> Value {
    Value::Ref(Box::new(v))
}

fn deep(levels: usize) -> Value {
    let mut v = s("leaf");
    for _ in 0..levels {
        v = Value::list([v]);
    }
    v
}

fn ikc_request() -> Value {
    Value::map([
        (
            "event",
            Value::map([("kernel", "k"), ("session", "s"), ("state", "t")]),
        ),
        (
            "params",
            Value::list([
                Value::from(1),
                s("two"),
                Value::map([("x", Value::list([3]))]),
            ]),
        ),
        ("from", Value::map([("kernel", "k2"), ("session", "sess")])),
        (
            "rsvp",
            Value::map([
                ("kernel", s("k2")),
                ("session", Value::from(2)),
                ("state", s("st")),
            ]),
        ),
        ("wantarray", Value::from(1)),
    ])
}

/// (name, Perl expression, what Rust writes, what Rust reads from Perl).
fn cases() -> Vec<(&'static str, &'static str, Option<Value>, Option<Value>)> {
    let ints = [0i64, -1, 127, -128, 128, -129, 2147483647, -2147483648];
    let mut ints_read: Vec<Value> = ints.iter().map(|&i| Value::Int(i)).collect();
    ints_read.extend([
        s("2147483648"),
        s("-9223372036854775808"),
        s("9223372036854775807"),
    ]);
    let mut ints_write: Vec<Value> = ints.iter().map(|&i| Value::Int(i)).collect();
    ints_write.extend([
        Value::Int(2147483648),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
    ]);
    let strings = Value::list([
        s(""),
        s("abc"),
        s(&"x".repeat(300)),
        s("café"),
        Value::from(&b"\xe9\xff\x00"[..]),
        s("\u{1F600}"),
        s(&"é".repeat(200)),
    ]);
    let hash = Value::map([
        ("a", Value::from(1)),
        ("b", Value::list([1, 2])),
        ("c", Value::map([("d", Value::Undef)])),
        ("日本", s("語")),
        ("é", s("x")),
        ("", s("")),
    ]);
    let refs = Value::list([
        sref(s("s")),
        sref(sref(s("t"))),
        sref(Value::Undef),
        sref(Value::list([1])),
        sref(Value::map([("a", 1)])),
    ]);
    let objects = Value::list([
        blessed("Foo::Bar", Value::map([("a", 1)])),
        blessed("Baz", Value::list([1, 2])),
        blessed("Baz", Value::list(Vec::<Value>::new())),
        blessed("Sc", sref(s("x"))),
    ]);
    let shared_x = Value::list([Value::from(1), Value::map([("a", 2)])]);
    let big = Value::list([
        s(&"x".repeat(100_000)),
        Value::list((1..=10_000).map(Value::from)),
    ]);
    let empties = Value::list([
        Value::list(Vec::<Value>::new()),
        Value::map(Vec::<(String, Value)>::new()),
        s(""),
        Value::Undef,
    ]);
    vec![
        (
            "ints",
            "[0, -1, 127, -128, 128, -129, 2147483647, -2147483648, 2147483648, -9223372036854775808, 9223372036854775807]",
            Some(Value::List(ints_write)),
            Some(Value::List(ints_read)),
        ),
        (
            "strings",
            r#"["", "abc", "x" x 300, up("caf\x{e9}"), "\xe9\xff\x00", "\x{1F600}", up("\x{e9}" x 200)]"#,
            Some(strings.clone()),
            Some(strings),
        ),
        (
            "floats_from_perl",
            "[1.5, 0.1, 1e100, -2.5e-7, 3.0]",
            None,
            Some(Value::list([s("1.5"), s("0.1"), s("1e+100"), s("-2.5e-07"), Value::from(3)])),
        ),
        (
            "floats_to_perl",
            "[1.5, 0.1, 1e100, -2.5e-7, 3, 0.1 + 0.2, 1700000000.123456]",
            Some(Value::list([1.5, 0.1, 1e100, -2.5e-7, 3.0, 0.1 + 0.2, 1700000000.123456])),
            None,
        ),
        (
            "hash",
            r#"{a => 1, b => [1, 2], c => {d => undef}, "\x{65e5}\x{672c}" => "\x{8a9e}", "\x{e9}" => "x", "" => ""}"#,
            Some(hash.clone()),
            Some(hash),
        ),
        (
            "refs",
            r#"[\"s", \\"t", \undef, \[1], \{a => 1}]"#,
            Some(refs.clone()),
            Some(refs),
        ),
        (
            "blessed",
            r#"[bless({a => 1}, "Foo::Bar"), bless([1, 2], "Baz"), bless([], "Baz"), bless(\(my $x = "x"), "Sc")]"#,
            Some(objects.clone()),
            Some(objects),
        ),
        (
            "ikc_request",
            r#"{event => {kernel => "k", session => "s", state => "t"}, params => [1, "two", {x => [3]}],
               from => {kernel => "k2", session => "sess"}, rsvp => {kernel => "k2", session => 2, state => "st"}, wantarray => 1}"#,
            Some(ikc_request()),
            Some(ikc_request()),
        ),
        (
            "shared",
            "do { my $x = [1, {a => 2}]; [$x, $x, {y => $x}] }",
            None,
            Some(Value::list([
                shared_x.clone(),
                shared_x.clone(),
                Value::map([("y", shared_x)]),
            ])),
        ),
        (
            "deep",
            r#"do { my $d = "leaf"; $d = [$d] for 1 .. 300; $d }"#,
            Some(deep(300)),
            Some(deep(300)),
        ),
        (
            "big",
            r#"["x" x 100000, [1 .. 10000]]"#,
            Some(big.clone()),
            Some(big),
        ),
        (
            "empties",
            r#"[[], {}, "", undef]"#,
            Some(empties.clone()),
            Some(empties),
        ),
    ]
}

const PRELUDE: &str = r#"
use strict; use warnings; use Storable qw(nfreeze thaw);
use Scalar::Util qw(reftype looks_like_number); use Data::Dumper;
$Data::Dumper::Indent = 0; $Data::Dumper::Sortkeys = 1;
binmode STDOUT;
sub up { my $s = shift; utf8::upgrade($s); $s }
"#;

#[test]
fn what_perl_nfreezes_thaws_to_the_expected_value() {
    if !perl_with(&["Storable"]) {
        return;
    }
    let cases: Vec<_> = cases().into_iter().filter(|c| c.3.is_some()).collect();
    let mut script = PRELUDE.to_string();
    for (name, expr, _, _) in &cases {
        script += &format!("print \"{name} \", unpack('H*', nfreeze({expr})), \"\\n\";\n");
    }
    let out = run_perl(&script, b"");
    let mut seen = 0;
    for line in out.lines() {
        let (name, image) = line.split_once(' ').unwrap();
        let (_, _, _, want) = cases.iter().find(|c| c.0 == name).unwrap();
        let got = thaw(&unhex(image)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&got, want.as_ref().unwrap(), "{name}");
        seen += 1;
    }
    assert_eq!(seen, cases.len());
}

#[test]
fn what_we_nfreeze_thaws_in_perl_to_the_expected_structure() {
    if !perl_with(&["Storable"]) {
        return;
    }
    let cases: Vec<_> = cases().into_iter().filter(|c| c.2.is_some()).collect();
    let mut script = PRELUDE.to_string();
    script += r#"
sub same {
    my ($a, $b) = @_;
    return !defined $b unless defined $a;
    return 0 unless defined $b;
    if (ref $a) {
        return 0 unless ref $b and ref($a) eq ref($b);
        my $t = reftype $a;
        if ($t eq 'ARRAY') {
            return 0 unless @$a == @$b;
            for (0 .. $#$a) { return 0 unless same($a->[$_], $b->[$_]) }
            return 1;
        }
        if ($t eq 'HASH') {
            return 0 unless keys %$a == keys %$b;
            for (keys %$a) { return 0 unless exists $b->{$_} and same($a->{$_}, $b->{$_}) }
            return 1;
        }
        return same($$a, $$b) if $t eq 'SCALAR' or $t eq 'REF';
        return 0;
    }
    return 0 if ref $b;
    return $a == $b if looks_like_number($a) and looks_like_number($b);
    return 0 unless $a eq $b;
    # Character strings must stay character strings, byte strings bytes.
    return 1 unless $a =~ /[^\x00-\x7f]/;
    return (utf8::is_utf8($a) ? 1 : 0) == (utf8::is_utf8($b) ? 1 : 0);
}
my %expected = (
"#;
    for (name, expr, _, _) in &cases {
        script += &format!("  {name} => {expr},\n");
    }
    script += r#");
while (my $line = <STDIN>) {
    chomp $line;
    my ($name, $hex) = split / /, $line;
    my $got = eval { thaw(pack 'H*', $hex) };
    if (!defined $got) { print "not ok $name: thaw failed: $@\n"; next }
    print same($got, $expected{$name}) ? "ok $name\n" : "not ok $name: " . Dumper($got) . "\n";
}
"#;
    let mut input = String::new();
    for (name, _, value, _) in &cases {
        let image = nfreeze(value.as_ref().unwrap()).unwrap();
        input += &format!("{name} {}\n", hex(&image));
    }
    let out = run_perl(&script, input.as_bytes());
    let oks = out.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(oks, cases.len(), "Perl said:\n{out}");
}

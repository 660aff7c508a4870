//! POE::Filter::HTTPD (§20.9).

mod common;

use common::*;
use poe_filters::{ConfigError, Filter, FilterError, HttpRequest, HttpResponse, Httpd};
use poe_kernel::Value;

enum Got {
    Req(HttpRequest),
    Resp(HttpResponse),
    Body(Vec<u8>),
}

fn records(f: &mut Httpd, input: &[u8]) -> Vec<Got> {
    f.get_one_start(input).unwrap();
    drain(f)
        .into_iter()
        .map(|v| {
            if let Some(r) = v.take_local::<HttpRequest>() {
                Got::Req(r)
            } else if let Some(r) = v.take_local::<HttpResponse>() {
                Got::Resp(r)
            } else {
                Got::Body(v.as_bytes().unwrap().to_vec())
            }
        })
        .collect()
}

fn req(g: &Got) -> &HttpRequest {
    match g {
        Got::Req(r) => r,
        _ => panic!("not a request"),
    }
}

fn resp(g: &Got) -> &HttpResponse {
    match g {
        Got::Resp(r) => r,
        _ => panic!("not a response"),
    }
}

#[test]
fn a_request_without_a_body_is_returned_at_the_blank_line() {
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"GET /index.html HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n",
    );
    let r = req(&got[0]);
    assert_eq!(
        (r.method.as_str(), r.uri.as_str(), r.protocol.as_str()),
        ("GET", "/index.html", "HTTP/1.1")
    );
    assert_eq!(r.header("HOST"), Some("example"));
    assert_eq!(r.headers.len(), 2);
    assert!(r.content.is_empty());
    assert_eq!(f.get_pending(), None);
}

#[test]
fn leading_white_space_is_skipped_and_any_newline_style_ends_the_head() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"\r\n  GET /a HTTP/1.0\n\nGET /b HTTP/1.0\n\r\n\r");
    assert_eq!(req(&got[0]).uri, "/a");
    assert_eq!(req(&got[1]).uri, "/b");
}

#[test]
fn the_head_may_arrive_one_octet_at_a_time() {
    let mut f = Httpd::new();
    let mut got = Vec::new();
    for b in b"POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nok" {
        got.extend(records(&mut f, std::slice::from_ref(b)));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(req(&got[0]).content, b"ok");
}

#[test]
fn a_missing_or_malformed_version_is_http_0_9() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"GET /x\r\n\r\nGET /y 1.0\r\n\r\n");
    assert_eq!(req(&got[0]).protocol, "HTTP/0.9");
    assert_eq!(req(&got[1]).protocol, "HTTP/0.9");
}

#[test]
fn a_leading_double_slash_collapses() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"GET //foo/bar 1.0\r\n\r\n");
    assert_eq!(req(&got[0]).uri, "/foo/bar");
}

#[test]
fn continuation_lines_are_joined_with_a_space() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"GET / HTTP/1.0\r\nX-Long: a\r\n  b\r\n\tc\r\n\r\n");
    assert_eq!(req(&got[0]).header("x-long"), Some("a b c"));
}

#[test]
fn no_content_length_and_no_content_encoding_means_no_body() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"POST /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n");
    assert!(req(&got[0]).content.is_empty());
    assert_eq!(req(&got[1]).uri, "/y");
}

#[test]
fn a_non_numeric_content_length_is_a_400_response_with_the_request() {
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\nGET /y HTTP/1.1\r\n\r\n",
    );
    assert_eq!(got.len(), 1, "the rest is dropped");
    let r = resp(&got[0]);
    assert_eq!(r.code, 400);
    assert_eq!(r.request.as_ref().unwrap().uri, "/x");
}

#[test]
fn content_length_zero_is_a_request_with_an_empty_body() {
    // POE also clears its buffer here, losing the pipelined GET /b.
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
    );
    assert_eq!(req(&got[0]).uri, "/a");
    assert!(req(&got[0]).content.is_empty());
    assert_eq!(req(&got[1]).uri, "/b");
}

#[test]
fn content_over_max_content_is_a_413_response_and_its_body_is_skipped() {
    let mut f = Httpd::builder().max_content(10).build().unwrap();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.0\r\nContent-Length: 30\r\n\r\n0123",
    );
    assert_eq!(got.len(), 1);
    let r = resp(&got[0]);
    assert_eq!(r.code, 413);
    assert!(String::from_utf8_lossy(&r.content).contains("Content of 30 octets not accepted."));
    assert_eq!(f.get_pending(), None, "the refused body is not buffered");
    // The rest of the body is dropped, not read as a request; what
    // follows it is the next request.
    let got = records(&mut f, b"GET / HTTP/1.0\r\n\r\n");
    assert!(got.is_empty(), "still inside the refused body");
    let got = records(&mut f, b"xxxxxxxxGET /next HTTP/1.0\r\n\r\n");
    assert_eq!(req(&got[0]).uri, "/next");
}

#[test]
fn after_a_411_the_rest_of_the_connection_is_dropped() {
    // The body has no length: nothing after it can be told from a
    // request, however the bytes are split.
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\nGET /a HTTP/1.1\r\n\r\n",
    );
    assert_eq!(got.len(), 1);
    assert_eq!(resp(&got[0]).code, 411);
    assert!(records(&mut f, b"GET /b HTTP/1.1\r\n\r\n").is_empty());
    assert_eq!(f.get_pending(), None);
}

#[test]
fn a_400_quotes_a_blank_line_split_across_reads_as_if_whole() {
    let quote = |chunks: &[&[u8]]| {
        let mut f = Httpd::new();
        let mut got = Vec::new();
        for c in chunks {
            got.extend(records(&mut f, c));
        }
        String::from_utf8(resp(&got[0]).content.clone()).unwrap()
    };
    let whole = quote(&[b"ELEPHANT\r\n\r\n"]);
    assert!(whole.contains("(ELEPHANT\r\n\r\n)"), "{whole}");
    assert_eq!(quote(&[b"ELEPHANT\r\n\r", b"\n"]), whole);
}

#[test]
fn content_encoding_without_length_on_http_1_1_is_a_411_response() {
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\nxyz",
    );
    let r = resp(&got[0]);
    assert_eq!(r.code, 411);
    assert_eq!(r.request.as_ref().unwrap().uri, "/x");
    // On HTTP/1.0 the request itself comes back.
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.0\r\nContent-Encoding: gzip\r\n\r\nxyz",
    );
    assert_eq!(req(&got[0]).method, "POST");
}

#[test]
fn the_body_is_exactly_content_length_octets_then_white_space_is_dropped() {
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc\r\n\r\nGET /n HTTP/1.0\r\n\r\n",
    );
    assert_eq!(req(&got[0]).content, b"abc");
    assert_eq!(req(&got[1]).uri, "/n");
}

#[test]
fn pipelined_requests_come_out_in_order() {
    let mut f = Httpd::new();
    let got = records(
        &mut f,
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n",
    );
    let uris: Vec<&str> = got.iter().map(|g| req(g).uri.as_str()).collect();
    assert_eq!(uris, ["/1", "/2", "/3"]);
}

#[test]
fn a_request_line_parse_failure_is_a_400_and_parsing_continues() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"ELEPHANT\r\n\r\nGET /c HTTP/1.0\r\n\r\n");
    assert_eq!(resp(&got[0]).code, 400);
    assert!(resp(&got[0]).request.is_none());
    assert_eq!(req(&got[1]).uri, "/c");
}

#[test]
fn error_responses_are_the_html_pages_poe_builds() {
    let mut f = Httpd::new();
    let got = records(&mut f, b"ELEPHANT\r\n\r\n");
    let mut out = Vec::new();
    f.put(Value::local(resp(&got[0]).clone()), &mut out)
        .unwrap();
    // Byte for byte what POE 1.370 sends.
    let body = "<html><head><title>Error 400: Bad Request</title></head><body><h1>Error 400: Bad Request</h1><p>Request line parse failure. (ELEPHANT\r\n\r\n)</p></body></html>";
    let want = format!(
        "HTTP/1.0 400 Bad Request\r\nContent-Length: {}\r\nContent-Type: text/html\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(String::from_utf8(out).unwrap(), want);
}

#[test]
fn streaming_returns_the_request_then_raw_body_pieces() {
    let mut f = Httpd::builder().streaming(true).build().unwrap();
    let mut got = records(&mut f, b"POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc");
    got.extend(records(&mut f, b"def\r\nGET /next HTTP/1.1\r\n\r\n"));
    assert!(req(&got[0]).content.is_empty());
    assert!(matches!(&got[1], Got::Body(b) if b == b"abc"));
    assert!(matches!(&got[2], Got::Body(b) if b == b"def"));
    assert_eq!(req(&got[3]).uri, "/next");
}

#[test]
fn streaming_is_not_limited_by_max_content() {
    let mut f = Httpd::builder()
        .streaming(true)
        .max_content(2)
        .build()
        .unwrap();
    let got = records(
        &mut f,
        b"POST /up HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345",
    );
    assert!(matches!(&got[1], Got::Body(b) if b == b"12345"));
}

#[test]
fn put_writes_status_line_headers_blank_line_content() {
    let mut f = Httpd::new();
    let mut ok = HttpResponse::new(200);
    ok.message = Some("OK".into());
    ok.headers.push("Content-Type", "text/plain");
    ok.headers.push("X-Multi", "multi\nline");
    ok.content = b"body".to_vec();
    let mut out = Vec::new();
    f.put(Value::local(ok), &mut out).unwrap();
    assert_eq!(
        out,
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Multi: multi\r\n line\r\n\r\nbody"
    );
}

#[test]
fn put_status_line_follows_poe() {
    let line = |r: HttpResponse| {
        let bytes = r.to_bytes();
        let end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
        String::from_utf8(bytes[..end].to_vec()).unwrap()
    };
    let mut ok = HttpResponse::new(200);
    ok.message = Some("OK".into());
    assert_eq!(line(ok), "HTTP/1.0 200 OK");
    assert_eq!(line(HttpResponse::new(404)), "HTTP/1.0 404 (Not Found)");
    let mut fine = HttpResponse::new(200);
    fine.message = Some("Fine".into());
    fine.protocol = Some("HTTP/1.1".into());
    assert_eq!(line(fine), "HTTP/1.1 200 (OK) Fine");
    assert_eq!(line(HttpResponse::new(299)), "HTTP/1.0 299 (Unknown Error)");
}

#[test]
fn put_wants_an_http_response() {
    let mut f = Httpd::new();
    assert!(matches!(
        f.put(Value::from("text"), &mut Vec::new()),
        Err(FilterError::WrongRecord {
            expected: "HttpResponse",
            ..
        })
    ));
}

#[test]
fn get_pending_returns_the_partial_head() {
    let mut f = Httpd::new();
    assert!(records(&mut f, b"GET / HTTP/1.1\r\nHo").is_empty());
    assert_eq!(f.get_pending(), Some(b"GET / HTTP/1.1\r\nHo".to_vec()));
}

#[test]
fn the_framing_buffer_is_bounded() {
    let mut f = Httpd::builder()
        .max_content(10)
        .max_buffer(13)
        .build()
        .unwrap();
    assert!(matches!(
        f.get_one_start(&[b'x'; 14]),
        Err(FilterError::BufferFull { .. })
    ));
    assert!(matches!(
        Httpd::builder().max_content(10).max_buffer(12).build(),
        Err(ConfigError::BufferTooSmall { needed: 13, .. })
    ));
}

#[test]
fn a_head_over_max_header_is_a_431_response() {
    let mut f = Httpd::builder().max_header(64).build().unwrap();
    let mut input = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    input.extend_from_slice(&[b'a'; 100]);
    let got = records(&mut f, &input);
    assert_eq!(resp(&got[0]).code, 431);
    assert_eq!(f.get_pending(), None);
}

#[test]
fn httpd_matches_perl_poe_filter_httpd() {
    if !perl_with(&["POE::Filter::HTTPD"]) {
        return;
    }
    // Cases where POE and poe-rs agree; each line is one input.
    let inputs: [&[u8]; 6] = [
        b"GET /index.html HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n",
        b"GET //foo/bar 1.0\r\n\r\n",
        b"ELEPHANT\r\n\r\nGET /c HTTP/1.0\r\n\r\n",
        b"POST /x HTTP/1.0\r\nContent-Length: 3\r\nX-Long: a\r\n  b\r\n\r\nabc\r\n\r\nGET /n HTTP/1.0\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\nxyz",
    ];
    let script = r#"use POE::Filter::HTTPD;
        while (my $c = <STDIN>) { chomp $c; my $f = POE::Filter::HTTPD->new;
          for my $r (@{$f->get([pack "H*", $c])}) {
            if ($r->isa('HTTP::Response')) { print "R ", unpack("H*", join "", @{$f->put([$r])}), "\n" }
            else { print "Q ", join("|", $r->method, $r->uri, $r->protocol, unpack("H*", $r->content),
                     map { lc($_) . "=" . $r->header($_) } sort $r->header_field_names), "\n" } }
          print "--\n" }"#;
    let input: String = inputs.iter().map(|c| format!("{}\n", hex(c))).collect();
    let perl = run_perl(script, input.as_bytes());
    let mut ours = String::new();
    for i in inputs {
        let mut f = Httpd::new();
        for g in records(&mut f, i) {
            match g {
                Got::Resp(r) => ours += &format!("R {}\n", hex(&r.to_bytes())),
                Got::Req(r) => {
                    let mut hs: Vec<String> = r
                        .headers
                        .iter()
                        .map(|(n, v)| format!("{}={v}", n.to_lowercase()))
                        .collect();
                    hs.sort();
                    let mut fields = vec![
                        r.method.clone(),
                        r.uri.clone(),
                        r.protocol.clone(),
                        hex(&r.content),
                    ];
                    fields.extend(hs);
                    ours += &format!("Q {}\n", fields.join("|"));
                }
                Got::Body(_) => unreachable!(),
            }
        }
        ours += "--\n";
    }
    assert_eq!(ours, perl);
}

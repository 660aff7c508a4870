//! The pure parts of ClientLite: specifier checks and error attribution.
//! The socket side is tested in components/tests/ikc_lite.rs.

use super::*;

#[test]
fn specifiers_need_a_session_and_a_state() {
    assert_eq!(
        check_spec("echo/ping").unwrap(),
        Specifier::new("", "echo", "ping")
    );
    assert_eq!(
        check_spec("poe://srv/echo/ping").unwrap(),
        Specifier::new("srv", "echo", "ping")
    );
    for (bad, why) in [
        ("ping", "no session"),
        ("poe://srv/echo", "no state"),
        ("a/b/c", "not an IKC specifier"),
        ("//srv/echo/ping", "a kernel needs the poe:// form"),
    ] {
        match check_spec(bad) {
            Err(LiteError::BadSpecifier { reason, .. }) => assert_eq!(reason, why, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

fn report(message: &str, failed_rsvp: Option<Value>) -> (Request, RemoteError) {
    let params = Value::list([message, "srv", "check"]);
    let request = Request {
        event: Specifier::new("tool", "IKC", "remote_error").to_value(),
        params: params.clone(),
        from: None,
        rsvp: None,
        wantarray: false,
        is_error: true,
        failed_rsvp,
    };
    (request, RemoteError::from_params(&params))
}

#[test]
fn a_perl_error_report_is_ours_unless_it_names_another_request() {
    let add = Specifier::new("srv", "echo", "add");
    let (req, err) = report(
        "Session 'echo' has not published state 'secret'.  Request poe://srv/echo/secret sent by poe://tool/IKCLite",
        None,
    );
    assert!(!error_is_for(&req, &err, "response1", Some(&add)));
    let secret = Specifier::new("srv", "echo", "secret");
    assert!(error_is_for(&req, &err, "response1", Some(&secret)));
    // No request named, or nothing sent to compare with: Perl's rule.
    let (req, err) = report("something broke", None);
    assert!(error_is_for(&req, &err, "response1", Some(&add)));
    assert!(error_is_for(&req, &err, "pong", None));
}

#[test]
fn a_poe_rs_error_report_says_which_request_failed() {
    let rsvp = Specifier::new("tool", LITE_SESSION, "response2").to_value();
    let (req, err) = report("whatever.  Request poe://srv/echo/add", Some(rsvp));
    let add = Specifier::new("srv", "echo", "add");
    assert!(error_is_for(&req, &err, "response2", Some(&add)));
    assert!(!error_is_for(&req, &err, "response3", Some(&add)));
}

#[test]
fn endpoints_print_as_addresses() {
    let tcp = |h: &str| Endpoint::Tcp {
        host: h.into(),
        port: 603,
    };
    assert_eq!(tcp("localhost").to_string(), "localhost:603");
    assert_eq!(tcp("::1").to_string(), "[::1]:603");
    assert_eq!(
        Endpoint::Unix("/tmp/ikc".into()).to_string(),
        "unix:/tmp/ikc"
    );
}

#[test]
fn errors_can_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<LiteError>();
}

#[test]
fn the_builder_checks_its_parameters_before_connecting() {
    let config = |b: ClientLiteBuilder| b.config().map(|_| ()).unwrap_err().to_string();
    assert!(config(ClientLite::builder().name("a,b")).contains("name"));
    assert!(config(ClientLite::builder().timeout(Duration::ZERO)).contains("timeouts"));
    assert!(config(ClientLite::builder().max_frame(0)).contains("max_frame"));
    assert!(config(ClientLite::builder().host("")).contains("host"));
    let c = ClientLite::builder().config().unwrap();
    assert_eq!(c.name, format!("Client{}", std::process::id()));
    assert_eq!(
        c.endpoint,
        Endpoint::Tcp {
            host: "localhost".into(),
            port: 603
        }
    );
    assert_eq!(c.connect_timeout, DEFAULT_TIMEOUT);
}

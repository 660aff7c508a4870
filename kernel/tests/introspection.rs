//! Introspection: what POE::API::Peek would show.

use poe_kernel::*;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

struct Heap {
    sock: UnixStream,
}

#[test]
fn session_info_shows_tree_aliases_heap_type_queues_and_fds() {
    let k = Kernel::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    let fd = a.as_raw_fd();
    let parent = k
        .create(
            Session::new(Heap { sock: a })
                .state("_start", |ctx| {
                    ctx.alias_set("zeta").unwrap();
                    ctx.alias_set("alpha").unwrap();
                    ctx.select_read(&ctx.heap.sock, "readable", ()).unwrap();
                    ctx.delay("later", 10.0, ()).unwrap();
                    ctx.delay_add("later", 20.0, ()).unwrap();
                    ctx.sig("USR2", "usr2", ()).unwrap();
                    ctx.create(Session::new(7u8).state("_start", |ctx| {
                        ctx.alias_set("kid").unwrap();
                    }))
                    .unwrap();
                })
                .state("readable", |_| ())
                .state("later", |_| ()),
        )
        .unwrap()
        .id;
    k.post(parent, "ping", ()).unwrap();
    let info = k.session_info("alpha").unwrap();
    assert_eq!(info.id, parent);
    assert_eq!(info.aliases, ["alpha", "zeta"]);
    assert_eq!(info.parent, SessionId::KERNEL);
    assert!(info.heap_type.ends_with("Heap"), "{}", info.heap_type);
    assert_eq!(info.pending_alarms, 2);
    assert_eq!(info.pending_events, 2, "GC marker and the post");
    assert_eq!(info.watched_fds, [(fd, vec![Mode::Read])]);
    assert_eq!(info.signals, ["USR2"]);
    assert_eq!(info.states, ["_start", "later", "readable"]);
    let kid = k.session_info("kid").unwrap();
    assert_eq!(kid.parent, parent);
    assert_eq!(kid.heap_type, "u8");
    assert_eq!(info.children, [kid.id]);
    assert_eq!(k.sessions().len(), 2);
    assert_eq!(k.watched_fds(), [fd]);
    assert_eq!(
        k.aliases(),
        [
            ("alpha".to_owned(), parent),
            ("kid".to_owned(), kid.id),
            ("zeta".to_owned(), parent)
        ]
    );
    assert_eq!(k.get_event_count(), 5);
    assert!(k.get_next_event_time().is_some());
    let before = k.events_dispatched();
    k.call(parent, "later", ()).unwrap();
    assert_eq!(k.events_dispatched(), before + 1);
    assert!(k.id().contains(&format!("{:08x}", std::process::id())));
}

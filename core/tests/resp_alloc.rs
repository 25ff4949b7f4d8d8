//! Proves with a counting global allocator that decoding allocates nothing: every scalar
//! type, and (because aggregates are lazy) aggregates and their iteration too; and that the
//! encoder allocates nothing into a `Vec` with enough capacity.
//!
//! One test in this binary, and the counter is per thread, so the test harness's own
//! allocations on other threads cannot disturb the count.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use redis_ring_core::resp::{decode, encode_command, Decoder, Limits, Status};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn decoding_allocates_nothing() {
    let limits = Limits::default();
    let scalars: &[&[u8]] = &[
        b"+OK\r\n",
        b"+PONG\r\n",
        b"-ERR unknown command 'FOO'\r\n",
        b":1234567890\r\n",
        b"$3\r\nfoo\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"_\r\n",
        b"#t\r\n",
        b",3.14159\r\n",
        b",-inf\r\n",
        b"(3492890328409238509324850943850943825024385\r\n",
        b"!21\r\nSYNTAX invalid syntax\r\n",
        b"=15\r\ntxt:Some string\r\n",
    ];
    let aggregates: &[&[u8]] = &[
        b"*3\r\n$3\r\nfoo\r\n:1\r\n*1\r\n_\r\n",
        b"%2\r\n+a\r\n:1\r\n+b\r\n%1\r\n+c\r\n~1\r\n#f\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        b"|1\r\n+ttl\r\n:10\r\n$1\r\nv\r\n",
    ];
    // Warm up anything lazily initialised (none expected, but keep the count honest).
    let _ = decode(b"+OK\r\n", &limits);

    for wire in scalars.iter().chain(aggregates) {
        let n = allocations_during(|| {
            let Ok(Status::Complete((frame, used))) = decode(wire, &limits) else {
                panic!("complete")
            };
            assert_eq!(used, wire.len());
            std::hint::black_box(frame.is_error() || frame.is_push() || frame.is_okay());
            std::hint::black_box((frame.as_bulk(), frame.as_int(), frame.error_message()));
            if let Some(agg) = frame.as_aggregate() {
                for element in agg.iter() {
                    std::hint::black_box(element.as_bytes());
                }
            }
            if let Some(attrs) = frame.attributes() {
                for pair in attrs.pairs() {
                    std::hint::black_box(pair);
                }
            }
            // Partial prefixes and errors allocate nothing either.
            assert_eq!(
                decode(&wire[..wire.len() - 1], &limits),
                Ok(Status::Partial)
            );
            assert!(decode(b"$-5\r\n", &limits).is_err());
            // Nor does the resumable decoder.
            let mut decoder = Decoder::new(limits);
            assert_eq!(decoder.decode(&wire[..wire.len() - 1]), Ok(Status::Partial));
            assert!(decoder.decode(wire).is_ok());
        });
        assert_eq!(
            n,
            0,
            "{:?} allocated {n} times",
            String::from_utf8_lossy(wire)
        );
    }

    // Encoding into a Vec that already has room allocates nothing.
    let mut out = Vec::with_capacity(256);
    let n = allocations_during(|| {
        for _ in 0..10 {
            out.clear();
            encode_command(&["SET", "key", "value"], &mut out);
        }
    });
    assert_eq!(n, 0);
    // And the counter works: the owned form does allocate.
    let n = allocations_during(|| {
        let frame = decode(b"$3\r\nfoo\r\n", &limits)
            .unwrap()
            .complete()
            .unwrap()
            .0;
        std::hint::black_box(frame.to_value());
    });
    assert_eq!(n, 1);
}

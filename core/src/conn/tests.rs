//! Unit tests of one connection's protocol: handshake variants, FIFO matching, pushes,
//! split input, poisoning.
#![allow(clippy::field_reassign_with_default)]

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::*;
use crate::config::Protocol;
use crate::resp::Value;

fn conn(opts: ConnOptions) -> Conn<u32> {
    Conn::new(Arc::new(opts), Limits::default(), usize::MAX)
}

/// What one `on_received` produced: (ready now, replies as (tag, value), pushes).
type Fed = (bool, Vec<(u32, Value)>, usize);

fn feed(c: &mut Conn<u32>, data: &[u8]) -> Result<Fed, Failure> {
    let mut replies = Vec::new();
    let mut pushes = 0;
    let ready = c.on_received(data, |r| match r {
        Received::Reply(tag, frame) => replies.push((tag, frame.to_value())),
        Received::Push(_) => pushes += 1,
        Received::TooLarge(tag, n) => panic!("reply to {tag} too large: {n}"),
    })?;
    Ok((ready, replies, pushes))
}

fn take_sent(c: &mut Conn<u32>) -> String {
    let s = String::from_utf8(c.send_buf().to_vec()).unwrap();
    let n = c.send_buf().len();
    assert!(!c.on_sent(n));
    s
}

const HELLO_REPLY: &[u8] = b"%1\r\n+server\r\n+redis\r\n";

#[test]
fn resp3_default_handshake_then_requests_in_fifo_order() {
    let mut c = conn(ConnOptions::default());
    assert!(!c.push(1, &Cmd::new("GET").arg("a")), "queued until ready");
    assert!(!c.on_connected());
    assert_eq!(take_sent(&mut c), "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    assert_eq!(c.pending(), 1);
    let (ready, replies, _) = feed(&mut c, HELLO_REPLY).unwrap();
    assert!(ready && replies.is_empty() && c.is_resp3());
    // The ring moves the waiting tags into the send buffer.
    let tag = c.waiting.pop_front().unwrap();
    assert!(c.push(tag, &Cmd::new("GET").arg("a")));
    assert!(c.push(2, &Cmd::new("SET").arg("b").arg("1")));
    assert_eq!(
        take_sent(&mut c),
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n"
    );
    let (_, replies, _) = feed(&mut c, b"$1\r\nx\r\n+OK\r\n").unwrap();
    assert_eq!(replies, [(1, Value::Bulk(b"x".to_vec())), (2, Value::Okay)]);
    assert_eq!(c.pending(), 0);
}

#[test]
fn full_options_handshake_and_fallback_to_resp2() {
    let mut opts = ConnOptions::default();
    opts.username = Some("u".into());
    opts.password = Some("p".into());
    opts.db = 2;
    opts.client_name = Some("n".into());
    let mut c = conn(opts);
    c.on_connected();
    assert_eq!(
        take_sent(&mut c),
        "*7\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n$7\r\nSETNAME\r\n$1\r\nn\r\n\
         *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
    );
    // Redis 5: HELLO unknown; the pipelined SELECT fails (no auth yet) and is ignored.
    let (ready, ..) = feed(
        &mut c,
        b"-ERR unknown command `HELLO`, with args beginning with: `3`, \r\n-NOAUTH Authentication required.\r\n",
    )
    .unwrap();
    assert!(!ready);
    assert_eq!(
        take_sent(&mut c),
        "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n\
         *3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$1\r\nn\r\n"
    );
    let (ready, ..) = feed(&mut c, b"+OK\r\n+OK\r\n").unwrap();
    assert!(!ready);
    let (ready, ..) = feed(&mut c, b"+OK\r\n").unwrap();
    assert!(ready && !c.is_resp3());
}

#[test]
fn resp2_forced_without_options_is_ready_at_once() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts);
    assert!(c.on_connected());
    assert!(c.send_buf().is_empty());
    assert_eq!(c.state(), State::Ready);
}

#[test]
fn handshake_errors_name_the_step() {
    let mut opts = ConnOptions::default();
    opts.password = Some("bad".into());
    let mut c = conn(opts.clone());
    c.on_connected();
    let err = feed(&mut c, b"-WRONGPASS invalid username-password pair\r\n").unwrap_err();
    assert_eq!(
        err,
        Failure::Handshake {
            step: CmdName::new(b"HELLO"),
            message: "WRONGPASS invalid username-password pair".into()
        }
    );
    // RESP3 forced: no fallback.
    opts.password = None;
    opts.protocol = Protocol::Resp3;
    let mut c = conn(opts);
    c.on_connected();
    let err = feed(&mut c, b"-ERR unknown command 'HELLO'\r\n").unwrap_err();
    assert!(matches!(err, Failure::Handshake { .. }));
    // RESP2 + db: SELECT refused.
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    opts.db = 99;
    let mut c = conn(opts);
    c.on_connected();
    let err = feed(&mut c, b"-ERR DB index is out of range\r\n").unwrap_err();
    assert!(matches!(err, Failure::Handshake { step, .. } if step.as_str() == "SELECT"));
}

#[test]
fn replies_split_at_every_byte_match_in_order() {
    let wire: &[u8] = b"$5\r\nhello\r\n:42\r\n*2\r\n$1\r\na\r\n_\r\n-ERR x\r\n";
    for split in 0..=wire.len() {
        let mut opts = ConnOptions::default();
        opts.protocol = Protocol::Resp2;
        let mut c = conn(opts);
        assert!(c.on_connected());
        for tag in 0..4 {
            c.push(tag, &Cmd::new("GET").arg("k"));
        }
        let (_, mut replies, _) = feed(&mut c, &wire[..split]).unwrap();
        let (_, rest, _) = feed(&mut c, &wire[split..]).unwrap();
        replies.extend(rest);
        assert_eq!(replies.len(), 4, "split at {split}");
        assert_eq!(replies[0], (0, Value::Bulk(b"hello".to_vec())));
        assert_eq!(replies[1], (1, Value::Int(42)));
        assert_eq!(replies[3], (3, Value::Error(b"ERR x".to_vec())));
        assert_eq!(c.pending(), 0);
    }
}

#[test]
fn push_frames_are_never_matched_to_requests() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts);
    c.on_connected();
    c.push(7, &Cmd::new("GET").arg("k"));
    let (_, replies, pushes) = feed(
        &mut c,
        b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\nv\r\n",
    )
    .unwrap();
    assert_eq!(
        (replies, pushes),
        (alloc::vec![(7, Value::Bulk(b"v".to_vec()))], 1)
    );
}

#[test]
fn garbage_and_unexpected_replies_poison() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts.clone());
    c.on_connected();
    c.push(1, &Cmd::new("GET").arg("k"));
    assert!(matches!(
        feed(&mut c, b"?what\r\n"),
        Err(Failure::Decode(_))
    ));
    let mut pending = Vec::new();
    c.drain_pending(|t, written| pending.push((t, written)));
    assert_eq!(pending, [(1, false)]);

    let mut c = conn(opts);
    c.on_connected();
    assert_eq!(feed(&mut c, b"+OK\r\n").unwrap_err(), Failure::Unexpected);
}

#[test]
fn drained_tags_say_whether_their_request_was_completely_written() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts);
    c.on_connected();
    let (a, b) = (Cmd::new("INCR").arg("k"), Cmd::new("INCR").arg("j"));
    c.push(1, &a);
    c.push(2, &b);
    c.push(3, &a);
    // All of the first, all but the last byte of the second.
    c.on_sent(a.encoded_len() + b.encoded_len() - 1);
    let mut pending = Vec::new();
    c.drain_pending(|t, written| pending.push((t, written)));
    assert_eq!(pending, [(1, true), (2, false), (3, false)]);
}

#[test]
fn partial_write_keeps_the_rest() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts);
    c.on_connected();
    c.push(1, &Cmd::new("PING"));
    let all = c.send_buf().to_vec();
    assert!(c.on_sent(3));
    assert_eq!(c.send_buf(), &all[3..]);
    assert!(!c.on_sent(usize::MAX), "n is clamped");
}

#[test]
fn a_reply_over_the_limit_fails_alone_and_is_skipped_without_buffering() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c: Conn<u32> = Conn::new(Arc::new(opts), Limits::default(), 16);
    c.on_connected();
    c.push(1, &Cmd::new("GET").arg("a"));
    c.push(2, &Cmd::new("GET").arg("big"));
    c.push(3, &Cmd::new("GET").arg("b"));
    let mut seen: Vec<(u32, Result<Value, u64>)> = Vec::new();
    // The big reply arrives in pieces, surrounded by the others; only its header is read.
    let chunks: [&[u8]; 4] = [
        b"$1\r\nx\r\n$40\r\n0123456789",
        b"0123456789012345678901234567",
        b"89\r\n$1\r",
        b"\ny\r\n",
    ];
    for (i, chunk) in chunks.iter().enumerate() {
        c.on_received(chunk, |r| match r {
            Received::Reply(t, f) => seen.push((t, Ok(f.to_value()))),
            Received::TooLarge(t, n) => seen.push((t, Err(n))),
            Received::Push(_) => panic!("push"),
        })
        .unwrap();
        if i < 2 {
            assert!(c.recv.is_empty(), "nothing of the big reply buffered");
        }
    }
    assert_eq!(
        seen,
        [
            (1, Ok(Value::Bulk(b"x".to_vec()))),
            (2, Err(40)),
            (3, Ok(Value::Bulk(b"y".to_vec())))
        ]
    );
    assert_eq!(c.pending(), 0);
}

#[test]
fn a_string_over_the_protocol_limit_still_poisons() {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c: Conn<u32> = Conn::new(Arc::new(opts), Limits::default(), 16);
    c.on_connected();
    c.push(1, &Cmd::new("GET").arg("a"));
    assert!(matches!(
        c.on_received(b"$4294967296\r\n", |_| {}),
        Err(Failure::Decode(_))
    ));
}

/// A RESP2 connection with a 16-byte reply limit, ready, with `GET`s tagged `tags` pending.
fn small_limit_conn(tags: &[u32]) -> Conn<u32> {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c: Conn<u32> = Conn::new(Arc::new(opts), Limits::default(), 16);
    c.on_connected();
    for &t in tags {
        c.push(t, &Cmd::new("GET").arg("k"));
    }
    c
}

/// What one request got: a value, or `Err(size)` for a reply too large.
type Outcome = (u32, Result<Value, u64>);

/// Feeds `chunks`; what each request got.
fn feed_chunks(c: &mut Conn<u32>, chunks: &[&[u8]]) -> Result<Vec<Outcome>, Failure> {
    let mut seen = Vec::new();
    for chunk in chunks {
        c.on_received(chunk, |r| match r {
            Received::Reply(t, f) => seen.push((t, Ok(f.to_value()))),
            Received::TooLarge(t, n) => seen.push((t, Err(n))),
            Received::Push(_) => panic!("push"),
        })?;
    }
    Ok(seen)
}

#[test]
fn a_string_over_the_limit_inside_an_array_fails_only_its_request() {
    // MGET small big small, then another reply: the whole array is skipped, whatever the
    // cuts between reads, and nothing of it is buffered past the big string's header.
    let mut wire = b"$1\r\nx\r\n*3\r\n$1\r\na\r\n$40\r\n".to_vec();
    wire.extend_from_slice(&[b'z'; 40]);
    wire.extend_from_slice(b"\r\n*1\r\n$2\r\nbc\r\n$1\r\ny\r\n");
    for step in 1..=wire.len() {
        let mut c = small_limit_conn(&[1, 2, 3]);
        let chunks: Vec<&[u8]> = wire.chunks(step).collect();
        let seen = feed_chunks(&mut c, &chunks).unwrap();
        assert_eq!(
            seen,
            [
                (1, Ok(Value::Bulk(b"x".to_vec()))),
                (2, Err(40)),
                (3, Ok(Value::Bulk(b"y".to_vec())))
            ],
            "in pieces of {step}"
        );
        assert_eq!(c.pending(), 0);
        assert!(c.skip.is_none() && c.recv.is_empty());
    }
    // Whole: once the header is read, the array is skipped, not buffered.
    let mut c = small_limit_conn(&[1, 2]);
    let seen = feed_chunks(&mut c, &[b"*2\r\n*1\r\n$1000\r\n", &[b'z'; 500]]).unwrap();
    assert_eq!(seen, [(1, Err(1000))]);
    assert!(c.recv.is_empty() && c.skip.is_some());
}

#[test]
fn an_aggregate_adding_up_past_the_limit_fails_alone_too() {
    // Ten 3-byte strings: each is under the 16-byte limit, the array is not. It fails when
    // its buffered bytes pass the limit (their count is the size reported), and the rest
    // is skipped.
    let mut wire = b"*10\r\n".to_vec();
    for _ in 0..10 {
        wire.extend_from_slice(b"$3\r\nabc\r\n");
    }
    wire.extend_from_slice(b"$1\r\ny\r\n");
    for step in 1..=wire.len() {
        let mut c = small_limit_conn(&[1, 2]);
        let chunks: Vec<&[u8]> = wire.chunks(step).collect();
        let seen = feed_chunks(&mut c, &chunks).unwrap();
        assert_eq!(seen.len(), 2, "in pieces of {step}: {seen:?}");
        assert!(matches!(seen[0], (1, Err(n)) if n > 16), "{seen:?}");
        assert_eq!(seen[1], (2, Ok(Value::Bulk(b"y".to_vec()))));
        assert!(c.recv.capacity() <= 16 + step, "{}", c.recv.capacity());
    }
}

#[test]
fn a_push_frame_over_the_limit_still_drops_the_connection() {
    // No request to fail: a pub/sub message is not lost silently.
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp3;
    let mut c: Conn<u32> = Conn::new(Arc::new(opts), Limits::default(), 16);
    c.on_connected();
    feed(&mut c, HELLO_REPLY).unwrap();
    c.push(1, &Cmd::new("GET").arg("k"));
    let err = feed(&mut c, b">2\r\n+message\r\n$100\r\n").unwrap_err();
    assert!(
        matches!(&err, Failure::Decode(e) if e.kind() == ErrorKind::ReplyTooLong),
        "{err:?}"
    );
}

#[test]
fn a_broken_skipped_reply_drops_the_connection() {
    let mut c = small_limit_conn(&[1, 2]);
    let mut wire = b"*2\r\n$20\r\n".to_vec();
    wire.extend_from_slice(&[b'z'; 20]);
    wire.extend_from_slice(b"XX$1\r\ny\r\n");
    assert!(matches!(
        feed_chunks(&mut c, &[&wire]),
        Err(Failure::Decode(e)) if e.kind() == ErrorKind::ExpectedCrlf
    ));
}

#[test]
fn on_a_pubsub_connection_a_frame_over_the_limit_drops_the_connection() {
    // A RESP2 message is a plain array: never taken for a request's reply and skipped.
    let mut c = small_limit_conn(&[1]);
    c.pubsub = true;
    let err = feed_chunks(&mut c, &[b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$100\r\n"]).unwrap_err();
    assert!(
        matches!(&err, Failure::Decode(e) if e.kind() == ErrorKind::ReplyTooLong),
        "{err:?}"
    );
}

#[test]
fn in_flight_counts_requests_whose_last_byte_is_written_even_after_a_partial_write() {
    let mut c = conn(ConnOptions::default());
    assert!(!c.on_connected());
    assert_eq!(c.in_flight(), 0, "HELLO encoded, not written");
    let hello = c.send_buf().len();
    assert!(c.on_sent(hello - 1));
    assert_eq!(c.in_flight(), 0, "HELLO's last byte not written");
    assert!(!c.on_sent(1));
    assert_eq!(c.in_flight(), 1);
    feed(&mut c, HELLO_REPLY).unwrap();
    assert_eq!(c.in_flight(), 0);

    let (a, b) = (Cmd::new("INCR").arg("k"), Cmd::new("INCR").arg("j"));
    c.push(1, &a);
    c.push(2, &b);
    c.push(3, &a);
    assert_eq!(c.in_flight(), 0);
    // A partial write: the first whole, the second but its last byte.
    assert!(c.on_sent(a.encoded_len() + b.encoded_len() - 1));
    assert_eq!(c.in_flight(), 1);
    // Bytes without a FIFO entry change nothing.
    assert!(c.push_untracked(&Cmd::new("PING")));
    assert!(c.on_sent(1));
    assert_eq!(c.in_flight(), 2);
    let (_, replies, _) = feed(&mut c, b":1\r\n").unwrap();
    assert_eq!(replies, [(1, Value::Int(1))]);
    assert_eq!(c.in_flight(), 1);
    assert!(!c.on_sent(usize::MAX));
    assert_eq!(c.in_flight(), 2);
    assert_eq!(c.pending(), 2);
}

/// A ready RESP2 connection with nothing to send.
fn ready() -> Conn<u32> {
    let mut opts = ConnOptions::default();
    opts.protocol = Protocol::Resp2;
    let mut c = conn(opts);
    assert!(c.on_connected());
    c
}

fn encoded(cmd: &Cmd) -> Vec<u8> {
    let mut out = Vec::new();
    cmd.encode(&mut out);
    out
}

fn large(key: &str, len: usize, fill: u8) -> Cmd {
    Cmd::new("SET").arg(key).arg(alloc::vec![fill; len])
}

/// Every byte queued, over the slices.
fn queued(c: &Conn<u32>) -> Vec<u8> {
    let slices: Vec<&[u8]> = c.send_slices().collect();
    assert!(slices.iter().all(|s| !s.is_empty()), "an empty slice");
    assert_eq!(slices.first().copied().unwrap_or(&[]), c.send_buf());
    let all = slices.concat();
    assert_eq!(all.len(), c.send_len());
    all
}

#[test]
fn small_commands_coalesce_and_a_large_one_is_spliced_in_without_a_copy() {
    let mut c = ready();
    let (a, b) = (Cmd::new("GET").arg("a"), Cmd::new("GET").arg("b"));
    let big = large("k", send::LARGE_CMD, b'x');
    c.push(1, &a);
    c.push(2, &b);
    assert_eq!(
        c.send_slices().count(),
        1,
        "small commands: one contiguous buffer"
    );
    let mut shared = SharedCmd::from(big.clone());
    c.push_shared(3, &mut shared);
    c.push(4, &a);
    let slices: Vec<&[u8]> = c.send_slices().collect();
    // GET a, GET b and SET's header; SET's body; GET a.
    assert_eq!(slices.len(), 3);
    let SharedCmd::Shared(arc) = &shared else {
        panic!("a large command is shared once queued");
    };
    assert_eq!(
        slices[1].as_ptr(),
        arc.body().as_ptr(),
        "written from the command's own buffer"
    );
    let want = [encoded(&a), encoded(&b), encoded(&big), encoded(&a)].concat();
    assert_eq!(queued(&c), want);
    // Just under the size: copied.
    let mut small = SharedCmd::from(large("k", send::LARGE_CMD - 64, b'y'));
    c.push_shared(5, &mut small);
    assert!(matches!(small, SharedCmd::Own(_)));
    assert_eq!(c.send_slices().count(), 3);
}

#[test]
fn partial_writes_across_slice_boundaries_keep_the_stream_and_the_offsets() {
    let cmds = [
        Cmd::new("GET").arg("a"),
        large("k1", 20_000, b'1'),
        large("k2", 17_000, b'2'),
        Cmd::new("GET").arg("b"),
        large("k3", 30_000, b'3'),
    ];
    let want: Vec<u8> = cmds.iter().flat_map(encoded).collect();
    let ends: Vec<usize> = cmds
        .iter()
        .scan(0, |end, c| {
            *end += c.encoded_len();
            Some(*end)
        })
        .collect();
    // Writes of every size from 1 byte to more than a command: boundaries fall everywhere.
    for step in [1, 7, 4096, 16_383, 16_384, 20_001, 65_536] {
        let mut c = ready();
        let mut shared: Vec<SharedCmd> = cmds.iter().cloned().map(SharedCmd::from).collect();
        for (tag, cmd) in shared.iter_mut().enumerate() {
            assert!(c.push_shared(tag as u32, cmd));
        }
        let mut written = Vec::new();
        while c.send_len() > 0 {
            let rest = queued(&c);
            let n = step.min(rest.len());
            written.extend_from_slice(&rest[..n]);
            c.on_sent(n);
            assert_eq!(queued(&c), rest[n..], "step {step}");
            let done = ends.iter().filter(|&&e| e <= written.len()).count();
            assert_eq!(c.in_flight(), done, "step {step} at {}", written.len());
        }
        assert_eq!(written, want, "step {step}");
        assert!(!c.on_sent(usize::MAX));
    }
}

#[test]
fn a_large_command_dropped_while_partly_written_is_still_written_whole() {
    let mut c = ready();
    let big = large("k", 40_000, b'z');
    let next = Cmd::new("GET").arg("k");
    {
        // The request is cancelled (or times out) and dropped: the queue keeps its bytes.
        let mut shared = SharedCmd::from(big.clone());
        c.push_shared(1, &mut shared);
    }
    c.push(2, &next);
    let mut written = Vec::new();
    let first = queued(&c);
    written.extend_from_slice(&first[..25_000]);
    c.on_sent(25_000);
    written.extend_from_slice(&queued(&c));
    assert!(!c.on_sent(usize::MAX));
    assert_eq!(written, [encoded(&big), encoded(&next)].concat());
}

#[test]
fn retire_drops_an_unsent_large_command_and_hands_back_its_tag() {
    let mut c = ready();
    let mut a = SharedCmd::from(large("a", 20_000, b'a'));
    let mut b = SharedCmd::from(large("b", 20_000, b'b'));
    c.push_shared(1, &mut a);
    c.push_shared(2, &mut b);
    c.on_sent(a.encoded_len() + 100); // all of `a`, part of `b`
    let mut back = Vec::new();
    c.retire(|t| back.push(t));
    assert_eq!(back, [2], "only what was not completely written");
    assert_eq!(c.send_len(), 0);
    assert_eq!(c.send_slices().count(), 0);
    // The queue let go of both commands: only the requests hold them.
    for cmd in [&a, &b] {
        let SharedCmd::Shared(arc) = cmd else {
            panic!("shared");
        };
        assert_eq!(Arc::strong_count(arc), 1);
    }
    // A re-sent large command is shared again, not copied.
    let mut d = ready();
    d.push_shared(2, &mut b);
    let SharedCmd::Shared(arc) = &b else {
        panic!("shared");
    };
    assert_eq!(Arc::strong_count(arc), 2);
    assert_eq!(queued(&d), encoded(&b));
}

#[test]
fn send_buf_is_the_first_slice_whatever_is_queued() {
    let mut c = ready();
    assert!(c.send_buf().is_empty() && c.send_slices().next().is_none());
    let mut big = SharedCmd::from(large("k", 20_000, b'q'));
    c.push_shared(1, &mut big); // header run, then body
    c.push(2, &Cmd::new("GET").arg("k"));
    // Into the header, to the body's start, into the body, to the GET, into the GET.
    let body = big.encoded_len() - 4;
    for n in [1, 3, 100, body - 100, 1] {
        assert_eq!(Some(c.send_buf()), c.send_slices().next());
        c.on_sent(n);
    }
    assert_eq!(Some(c.send_buf()), c.send_slices().next());
    c.on_sent(usize::MAX);
    assert!(c.send_buf().is_empty() && c.send_slices().next().is_none());
}

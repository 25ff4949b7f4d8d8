//! Fuzz check `resp_decode`: arbitrary bytes through the RESP decoder.
//!
//! Invariants: no panic; `consumed` is within `1..=len`; a `Complete` frame re-decodes from
//! exactly its consumed prefix to the same frame, and every strict prefix of it is `Partial`
//! (all of them up to 1 KiB, a sample including the last one beyond); the resumable
//! `Decoder`, fed in two pieces, agrees with `decode` on the whole input (and, when the first
//! piece already ends or fails, with `decode` on that piece too); an error's offset lies
//! inside the input; tighter limits never accept what the defaults reject, and what they
//! accept is the same frame.

use redis_ring_core::resp::{decode, Decoder, Frame, Limits, Status};

/// Reads every element of a frame through the lazy accessors.
fn walk(frame: &Frame<'_>) -> usize {
    let attrs = frame
        .attributes()
        .map_or(0, |a| a.pairs().map(|(k, v)| walk(&k) + walk(&v)).sum());
    let inner = frame
        .as_aggregate()
        .map_or(0, |agg| agg.iter().map(|f| walk(&f)).sum());
    1 + attrs + inner
}

/// Runs the check; panics when an invariant breaks.
pub fn check(data: &[u8]) {
    let limits = Limits::default();
    let result = decode(data, &limits);
    match &result {
        Ok(Status::Complete((frame, used))) => {
            let used = *used;
            assert!(
                used > 0 && used <= data.len(),
                "consumed {used} of {}",
                data.len()
            );
            assert_eq!(frame.raw(), &data[..used]);
            let value = frame.to_value();
            let _ = walk(frame);
            let _ = value.to_string();
            let again = decode(&data[..used], &limits);
            let Ok(Status::Complete((again, used2))) = again else {
                panic!("the consumed prefix does not re-decode: {again:?}");
            };
            assert_eq!(used2, used);
            assert_eq!(format!("{:?}", again.to_value()), format!("{value:?}"));
            let step = if used <= 1024 { 1 } else { used / 256 };
            for end in (0..used).step_by(step).chain([used - 1]) {
                assert_eq!(
                    decode(&data[..end], &limits),
                    Ok(Status::Partial),
                    "prefix {end}"
                );
            }
        }
        Ok(Status::Partial) => {}
        Err(e) => assert!(
            e.offset() <= data.len(),
            "offset {} past {}",
            e.offset(),
            data.len()
        ),
    }

    // The resumable decoder, fed in two pieces, ends where the stateless one does.
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut decoder = Decoder::new(limits);
    let first = decoder.decode(&data[..split]);
    match first {
        Ok(Status::Partial) => {
            let resumed = decoder.decode(data);
            assert_eq!(format!("{resumed:?}"), format!("{result:?}"));
        }
        // Complete or failed on the first piece: `decode` says the same of that piece, and
        // of the whole input (what follows a frame, or an error, cannot change it).
        other => {
            let piece = decode(&data[..split], &limits);
            assert_eq!(format!("{other:?}"), format!("{piece:?}"));
            assert_eq!(format!("{other:?}"), format!("{result:?}"));
        }
    }

    // Tighter limits accept a subset of what the defaults accept.
    let tight = Limits {
        max_bulk_len: 16,
        max_elements: 4,
        max_depth: 3,
        max_line_len: 16,
    };
    if let Ok(Status::Complete((frame, used))) = decode(data, &tight) {
        let Ok(Status::Complete((whole, u))) = &result else {
            panic!("tight limits accept what the defaults do not: {result:?}");
        };
        assert_eq!(*u, used);
        assert_eq!(
            format!("{:?}", frame.to_value()),
            format!("{:?}", whole.to_value())
        );
    }
}

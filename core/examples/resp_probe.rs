#![allow(missing_docs)]
use redis_ring_core::resp::{decode, Limits, Status};
fn main() {
    let limits = Limits::default();
    let wire = std::hint::black_box(b"$3\r\nfoo\r\n".to_vec());
    let mut total = 0usize;
    let start = std::time::Instant::now();
    for _ in 0..10_000_000 {
        if let Ok(Status::Complete((f, n))) = decode(std::hint::black_box(&wire), &limits) {
            total += n + f.as_bulk().map_or(0, |b| b.len());
        }
    }
    println!("{total} {:?}/iter", start.elapsed() / 10_000_000);
}

//! The `tracing` and `metrics` features wired to the usual back ends: spans and shard
//! events printed by `tracing-subscriber`'s formatter, metrics rendered in the Prometheus
//! text format by `metrics-exporter-prometheus` (serve `handle.render()` on `/metrics`, or
//! enable the exporter's `http-listener` feature and call `PrometheusBuilder::install`).
//!
//! ```text
//! cargo run -p redis-ring-std --features tracing,metrics --example observability -- 127.0.0.1:6379
//! cargo run -p redis-ring-std --features tracing,metrics --example observability   # throwaway servers
//! ```
#![allow(clippy::print_stdout)]

use metrics_exporter_prometheus::PrometheusBuilder;
use redis_ring_std::Ring;
use tracing_subscriber::fmt::format::FmtSpan;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans (one per command, closed with their fields) and events, to stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .init();
    // Every metric, kept for a Prometheus scrape.
    let handle = PrometheusBuilder::new().install_recorder()?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    // Without addresses, start local servers (they stop when `_servers` is dropped).
    let (addrs, _servers) = if args.is_empty() {
        let shards = redis_ring_tests::Shards::start(2)?;
        let addrs: Vec<String> = shards.servers().iter().map(|s| s.addr()).collect();
        (addrs, Some(shards))
    } else {
        (args, None)
    };
    let ring = Ring::builder()
        .shards(
            addrs
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("shard{}", i + 1), a.clone())),
        )
        .build()?;
    for i in 0..100 {
        ring.set(format!("example:{i}"), i)?;
    }
    let _: Option<String> = ring.get("example:1")?;
    print!("{}", handle.render());
    Ok(())
}

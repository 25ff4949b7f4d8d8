//! The hostile-peer scenarios (`redis_ring_tests::hostile::scenarios`) through this driver:
//! a ring of two real shards and one server that misbehaves on purpose.

use redis_ring_core::config::Config;
use redis_ring_tests::hostile::scenarios::Client;
use redis_ring_tokio::{Cmd, Error, Ring, Tokio, Value};
use tokio::runtime::Runtime;

/// The ring and the multi-thread runtime its driver runs on (dropped in this order).
struct TokioClient {
    ring: Ring,
    rt: Runtime,
}

impl Client for TokioClient {
    const DRIVER: &'static str = "redis-ring-tokio";

    fn build(shards: &[(String, String)], config: Config) -> Self {
        let rt = Runtime::new().expect("a tokio runtime");
        let seed = config.seed;
        let ring = Ring::builder()
            .runtime(Tokio::with_handle(rt.handle().clone()))
            .config(config)
            .seed(seed)
            .shards(shards.iter().cloned())
            .build()
            .expect("build the ring");
        TokioClient { ring, rt }
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.rt.block_on(self.ring.cmd(cmd))
    }

    fn shard_for_key(&self, key: &str) -> Option<String> {
        self.ring.shard_for_key(key)
    }

    fn live_shards(&self) -> usize {
        self.ring.len()
    }

    fn close(self) {
        self.rt.block_on(self.ring.close());
    }
}

redis_ring_tests::hostile_tests!(TokioClient);

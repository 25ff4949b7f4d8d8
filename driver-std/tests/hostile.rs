//! The hostile-peer scenarios (`redis_ring_tests::hostile::scenarios`) through this driver:
//! a ring of two real shards and one server that misbehaves on purpose.

use redis_ring_core::config::Config;
use redis_ring_std::{Cmd, Error, Ring, Value};
use redis_ring_tests::hostile::scenarios::Client;

struct Std(Ring);

impl Client for Std {
    const DRIVER: &'static str = "redis-ring-std";

    fn build(shards: &[(String, String)], config: Config) -> Self {
        let seed = config.seed;
        let ring = Ring::builder()
            .config(config)
            .seed(seed)
            .shards(shards.iter().cloned())
            .build()
            .expect("build the ring");
        Std(ring)
    }

    fn cmd(&self, cmd: Cmd) -> Result<Value, Error> {
        self.0.cmd(cmd)
    }

    fn shard_for_key(&self, key: &str) -> Option<String> {
        self.0.shard_for_key(key)
    }

    fn live_shards(&self) -> usize {
        self.0.len()
    }

    fn close(self) {
        self.0.close();
    }
}

redis_ring_tests::hostile_tests!(Std);

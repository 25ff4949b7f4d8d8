//! The placement configuration ([`Algorithm`]) and the placement it builds ([`AnyPlacement`]).

use core::fmt;
use core::str::FromStr;

use super::{
    ConsistentHash, HashTag, Ketama, KetamaHash, Placement, Rendezvous, ShardId, ShardSpec,
    WeightedRendezvous,
};

/// Which placement algorithm to use: the configuration the client stores and rebuilds its
/// [`AnyPlacement`] from on every live-set change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// go-redis v9's default: rendezvous hashing over XXH64 (see [`Rendezvous`]). Weighted
    /// rendezvous ([`WeightedRendezvous`]) when the shards' weights differ.
    #[default]
    Rendezvous,
    /// groupcache `consistenthash` with CRC-32/IEEE (see [`ConsistentHash`]); go-redis v7's
    /// default with `replicas: 100`. A shard of weight w gets `replicas * w` points.
    ConsistentHash {
        /// Points per shard (groupcache's `replicas`; go-redis v7 used 100). 0 counts as 1.
        replicas: usize,
    },
    /// twemproxy / libketama continuum (see [`Ketama`]); weights as twemproxy's.
    Ketama {
        /// How keys are hashed (twemproxy's pool `hash:`).
        key_hash: KetamaHash,
    },
}

impl Algorithm {
    /// The replicas go-redis v7 (and its documented groupcache example) used.
    pub const GO_REDIS_V7_REPLICAS: usize = 100;

    /// `ConsistentHash { replicas: 100 }`: go-redis v7's placement.
    pub fn go_redis_v7() -> Self {
        Algorithm::ConsistentHash {
            replicas: Self::GO_REDIS_V7_REPLICAS,
        }
    }

    /// Builds the placement for `shards` (the live shards, in configuration order: the order
    /// decides rendezvous ties and which of two equal consistent-hash points wins).
    pub fn build(&self, shards: &[ShardSpec<'_>]) -> AnyPlacement {
        self.build_tagged(shards, HashTag::GO_REDIS)
    }

    /// [`Algorithm::build`] hashing keys through `tag` instead of go-redis's `{}`
    /// ([`Config::hash_tag`](crate::config::Config::hash_tag)).
    pub fn build_tagged(&self, shards: &[ShardSpec<'_>], tag: HashTag) -> AnyPlacement {
        match *self {
            Algorithm::Rendezvous if all_weights_equal(shards) => AnyPlacement::Rendezvous(
                Rendezvous::new(shards.iter().map(|s| s.name)).with_hash_tag(tag),
            ),
            Algorithm::Rendezvous => {
                AnyPlacement::WeightedRendezvous(WeightedRendezvous::new(shards).with_hash_tag(tag))
            }
            Algorithm::ConsistentHash { replicas } => AnyPlacement::ConsistentHash(
                ConsistentHash::new(replicas, shards).with_hash_tag(tag),
            ),
            Algorithm::Ketama { key_hash } => {
                AnyPlacement::Ketama(Ketama::new(shards, key_hash).with_hash_tag(tag))
            }
        }
    }
}

/// Any placement of this module, dispatched by `match` (no virtual call on the hot path).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyPlacement {
    /// See [`Rendezvous`].
    Rendezvous(Rendezvous),
    /// See [`WeightedRendezvous`].
    WeightedRendezvous(WeightedRendezvous),
    /// See [`ConsistentHash`].
    ConsistentHash(ConsistentHash),
    /// See [`Ketama`].
    Ketama(Ketama),
}

impl Default for AnyPlacement {
    /// A rendezvous placement over no shard.
    fn default() -> Self {
        AnyPlacement::Rendezvous(Rendezvous::default())
    }
}

impl Placement for AnyPlacement {
    #[inline]
    fn shard_for(&self, key: &[u8]) -> Option<ShardId> {
        match self {
            AnyPlacement::Rendezvous(p) => p.shard_for(key),
            AnyPlacement::WeightedRendezvous(p) => p.shard_for(key),
            AnyPlacement::ConsistentHash(p) => p.shard_for(key),
            AnyPlacement::Ketama(p) => p.shard_for(key),
        }
    }

    fn len(&self) -> usize {
        match self {
            AnyPlacement::Rendezvous(p) => p.len(),
            AnyPlacement::WeightedRendezvous(p) => p.len(),
            AnyPlacement::ConsistentHash(p) => p.len(),
            AnyPlacement::Ketama(p) => p.len(),
        }
    }
}

/// `true` when the weights make no difference (all equal, `None` counting as 1).
fn all_weights_equal(shards: &[ShardSpec<'_>]) -> bool {
    shards
        .windows(2)
        .all(|w| w[0].weight_or_one() == w[1].weight_or_one())
}

/// The names [`Algorithm`] parses from and displays as: `rendezvous`, `consistent-hash`
/// (100 replicas, go-redis v7), `consistent-hash:<replicas>`, `ketama` (MD5 keys),
/// `ketama:md5`, `ketama:fnv1a_64`.
///
/// ```
/// use redis_ring_core::placement::{Algorithm, KetamaHash};
///
/// assert_eq!("rendezvous".parse(), Ok(Algorithm::Rendezvous));
/// assert_eq!("consistent-hash".parse(), Ok(Algorithm::go_redis_v7()));
/// assert_eq!(
///     "consistent-hash:160".parse(),
///     Ok(Algorithm::ConsistentHash { replicas: 160 })
/// );
/// assert_eq!(
///     "ketama:fnv1a_64".parse(),
///     Ok(Algorithm::Ketama { key_hash: KetamaHash::Fnv1a64 })
/// );
/// assert_eq!(Algorithm::go_redis_v7().to_string(), "consistent-hash:100");
/// assert!("modulo".parse::<Algorithm>().is_err());
/// ```
impl FromStr for Algorithm {
    type Err = ParseAlgorithmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, arg) = match s.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (s, None),
        };
        match (name, arg) {
            ("rendezvous", None) => Ok(Algorithm::Rendezvous),
            ("consistent-hash", None) => Ok(Algorithm::go_redis_v7()),
            ("consistent-hash", Some(replicas)) => match replicas.parse() {
                Ok(replicas) if replicas > 0 => Ok(Algorithm::ConsistentHash { replicas }),
                _ => Err(ParseAlgorithmError::BadReplicas),
            },
            ("ketama", None | Some("md5")) => Ok(Algorithm::Ketama {
                key_hash: KetamaHash::Md5,
            }),
            ("ketama", Some("fnv1a_64")) => Ok(Algorithm::Ketama {
                key_hash: KetamaHash::Fnv1a64,
            }),
            ("ketama", Some(_)) => Err(ParseAlgorithmError::UnknownKetamaHash),
            _ => Err(ParseAlgorithmError::UnknownAlgorithm),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Algorithm::Rendezvous => f.write_str("rendezvous"),
            Algorithm::ConsistentHash { replicas } => write!(f, "consistent-hash:{replicas}"),
            Algorithm::Ketama {
                key_hash: KetamaHash::Md5,
            } => f.write_str("ketama:md5"),
            Algorithm::Ketama {
                key_hash: KetamaHash::Fnv1a64,
            } => f.write_str("ketama:fnv1a_64"),
        }
    }
}

/// Why a string is not an [`Algorithm`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseAlgorithmError {
    /// Not `rendezvous`, `consistent-hash[:N]` or `ketama[:HASH]`.
    UnknownAlgorithm,
    /// `consistent-hash:N` with N not a positive integer.
    BadReplicas,
    /// `ketama:HASH` with HASH not `md5` or `fnv1a_64`.
    UnknownKetamaHash,
}

impl fmt::Display for ParseAlgorithmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseAlgorithmError::UnknownAlgorithm => {
                "unknown placement: expected rendezvous, consistent-hash[:replicas] or ketama[:md5|fnv1a_64]"
            }
            ParseAlgorithmError::BadReplicas => {
                "consistent-hash replicas must be a positive integer (go-redis v7 used 100)"
            }
            ParseAlgorithmError::UnknownKetamaHash => {
                "unknown ketama key hash: expected md5 or fnv1a_64"
            }
        })
    }
}

impl core::error::Error for ParseAlgorithmError {}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for algorithm in [
            Algorithm::Rendezvous,
            Algorithm::ConsistentHash { replicas: 1 },
            Algorithm::go_redis_v7(),
            Algorithm::Ketama {
                key_hash: KetamaHash::Md5,
            },
            Algorithm::Ketama {
                key_hash: KetamaHash::Fnv1a64,
            },
        ] {
            assert_eq!(algorithm.to_string().parse(), Ok(algorithm));
        }
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("", ParseAlgorithmError::UnknownAlgorithm),
            ("Rendezvous", ParseAlgorithmError::UnknownAlgorithm),
            ("rendezvous:1", ParseAlgorithmError::UnknownAlgorithm),
            ("consistent-hash:0", ParseAlgorithmError::BadReplicas),
            ("consistent-hash:", ParseAlgorithmError::BadReplicas),
            ("consistent-hash:-1", ParseAlgorithmError::BadReplicas),
            ("ketama:sha1", ParseAlgorithmError::UnknownKetamaHash),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Algorithm>(), Err(want), "{text:?}");
        }
    }
}

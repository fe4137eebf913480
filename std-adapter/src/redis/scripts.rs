//! The Lua scripts, the arguments they take and the replies they give.
//!
//! Every change of a shared breaker is one script (one atomic
//! read-modify-write on its hash); the scripts read the time from Redis
//! (`TIME`), never from the caller. Their sources are in `lua/`: the breaker's
//! share a prelude (`common.lua`) that reads, changes and writes the hash.

use std::sync::LazyLock;
use std::time::Duration;

use redis::{RedisWrite, Script, ToRedisArgs};
use seawall_core::breaker::{BreakerConfig, State, Transition};

use super::state::SharedState;
use super::store::StoreError;

macro_rules! breaker_script {
    ($file:literal) => {
        LazyLock::new(|| Script::new(concat!(include_str!("lua/common.lua"), include_str!($file))))
    };
}

/// Asks for a probe slot (or learns the state when the local view was stale).
pub(crate) static ACQUIRE: LazyLock<Script> = breaker_script!("lua/acquire.lua");
/// Adds a batch of Closed outcomes to the shared count of failures.
pub(crate) static REPORT: LazyLock<Script> = breaker_script!("lua/report.lua");
/// Records or releases a probe.
pub(crate) static PROBE: LazyLock<Script> = breaker_script!("lua/probe.lua");
/// Reads the state.
pub(crate) static READ: LazyLock<Script> = breaker_script!("lua/read.lua");
/// Forces open, disables or resets the breaker of the whole fleet.
pub(crate) static MANUAL: LazyLock<Script> = breaker_script!("lua/manual.lua");
/// The rate limiter's GCRA.
pub(crate) static GCRA: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/gcra.lua")));

/// One argument of a script.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

impl ToRedisArgs for Arg<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        match *self {
            Arg::Int(value) => value.write_redis_args(out),
            Arg::Uint(value) => value.write_redis_args(out),
            Arg::Float(value) => value.write_redis_args(out),
            Arg::Str(value) => value.write_redis_args(out),
        }
    }
}

/// Microseconds, at least one (Redis's clock counts microseconds).
pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `ARGV[1..8]` of every breaker script: the configuration of this process.
pub(crate) fn config_args(config: &BreakerConfig, lease: Duration) -> [Arg<'static>; 8] {
    [
        Arg::Uint(config.failure_threshold().into()),
        Arg::Uint(config.success_threshold().into()),
        Arg::Uint(config.half_open_max_calls().into()),
        Arg::Uint(micros(config.open_duration())),
        Arg::Float(config.open_duration_multiplier()),
        Arg::Uint(config.max_open_duration().map_or(0, micros)),
        Arg::Uint(config.max_wait_in_half_open().map_or(0, micros)),
        Arg::Uint(micros(lease)),
    ]
}

/// What a breaker script decided about an acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Admitted outside half-open (the breaker is closed or disabled).
    Admitted,
    /// Admitted as a probe: the lease is held.
    Probe,
    /// Rejected.
    Rejected,
}

/// The reply of a breaker script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reply {
    pub(crate) verdict: Verdict,
    pub(crate) state: SharedState,
    /// The transition the script made, if any.
    pub(crate) transition: Option<Transition>,
    /// The hash's version when the script ran: it moves on every write, so
    /// of two replies the one with the higher version is the newer state.
    pub(crate) version: i64,
}

fn state(code: i64) -> Option<State> {
    Some(match code {
        0 => State::Closed,
        1 => State::Open,
        2 => State::HalfOpen,
        3 => State::ForcedOpen,
        4 => State::Disabled,
        _ => return None,
    })
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

impl Reply {
    /// Parses `{verdict, state, gen, failures, trips, remaining us, successes,
    /// probes, from, version}` (see `common.lua`).
    pub(crate) fn parse(values: &[i64]) -> Result<Reply, StoreError> {
        let &[
            verdict,
            code,
            generation,
            failures,
            trips,
            remaining,
            successes,
            probes,
            from,
            version,
        ] = values
        else {
            return Err(StoreError::Reply);
        };
        let verdict = match verdict {
            0 => Verdict::Admitted,
            1 => Verdict::Probe,
            2 => Verdict::Rejected,
            _ => return Err(StoreError::Reply),
        };
        let to = state(code).ok_or(StoreError::Reply)?;
        let transition = match from {
            -1 => None,
            code => {
                let from = state(code).ok_or(StoreError::Reply)?;
                (from != to).then_some(Transition { from, to })
            }
        };
        Ok(Reply {
            verdict,
            state: SharedState {
                state: to,
                generation,
                consecutive_failures: count(failures),
                trips: count(trips),
                open_remaining: Duration::from_micros(remaining.max(0).unsigned_abs()),
                successes: count(successes),
                probes_in_flight: count(probes),
            },
            transition,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_and_bad_ones_are_errors() {
        let reply = Reply::parse(&[1, 2, 77, 0, 3, 0, 1, 2, 1, 90]).unwrap();
        assert_eq!(reply.verdict, Verdict::Probe);
        assert_eq!(reply.state.state, State::HalfOpen);
        assert_eq!(reply.state.generation, 77);
        assert_eq!((reply.state.trips, reply.state.probes_in_flight), (3, 2));
        assert_eq!(
            reply.transition,
            Some(Transition {
                from: State::Open,
                to: State::HalfOpen
            })
        );
        let open = Reply::parse(&[2, 1, 5, 0, 1, 1500, 0, 0, -1, 9]).unwrap();
        assert_eq!(open.state.open_remaining, Duration::from_micros(1500));
        assert_eq!(open.transition, None);
        assert!(Reply::parse(&[0, 9, 1, 0, 0, 0, 0, 0, -1, 1]).is_err());
        assert!(Reply::parse(&[3, 0, 1, 0, 0, 0, 0, 0, -1, 1]).is_err());
        assert!(Reply::parse(&[0, 0, 1]).is_err());
    }

    #[test]
    fn durations_go_to_redis_in_whole_microseconds() {
        assert_eq!(micros(Duration::from_nanos(1)), 1);
        assert_eq!(micros(Duration::from_millis(3)), 3000);
        assert_eq!(micros(Duration::MAX), u64::MAX);
    }
}

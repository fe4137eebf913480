//! The Lua scripts, the arguments they take and the replies they give.
//!
//! The breaker's scripts are storage primitives and nothing else: `read.lua`
//! (add a batch of outcomes to the window, guarded by the round; read fields)
//! and `cas.lua` (a compare-and-set of the state on its version). Every rule
//! runs in Rust, in the core (`seawall_core::breaker::rules`), on what they
//! read. The rate limiter's `gcra.lua` is the core's GCRA on Redis's clock.

use std::sync::LazyLock;

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::store::StoreError;

/// Adds a batch of outcomes to the window and reads fields.
pub(crate) static READ: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/read.lua")));
/// Compares the state's version and sets its fields.
pub(crate) static CAS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/cas.lua")));
/// The rate limiter's GCRA.
pub(crate) static GCRA: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/gcra.lua")));

/// One argument of a script.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uint(u64),
    Str(String),
}

impl From<&str> for Arg {
    fn from(text: &str) -> Self {
        Arg::Str(text.to_owned())
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Self {
        Arg::Str(text)
    }
}

impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Arg::Uint(n)
    }
}

impl ToRedisArgs for Arg {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        match self {
            Arg::Uint(value) => value.write_redis_args(out),
            Arg::Str(value) => value.write_redis_args(out),
        }
    }
}

/// A script's reply as text: integers and strings as written, nil (Lua's
/// `false`) as `None`.
pub(crate) fn texts(value: Value) -> Result<Vec<Option<String>>, StoreError> {
    let Value::Array(items) = value else {
        return Err(StoreError::Reply);
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Nil => Ok(None),
            Value::Int(n) => Ok(Some(n.to_string())),
            Value::BulkString(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Reply),
            Value::SimpleString(text) => Ok(Some(text)),
            _ => Err(StoreError::Reply),
        })
        .collect()
}

/// Redis's `TIME` from the first two values of a reply, in microseconds.
pub(crate) fn time(values: &[Option<String>]) -> Result<u64, StoreError> {
    let part = |i: usize| -> Result<u64, StoreError> {
        values
            .get(i)
            .and_then(Option::as_deref)
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or(StoreError::Reply)
    };
    Ok(part(0)?.saturating_mul(1_000_000).saturating_add(part(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_as_text() {
        let reply = Value::Array(vec![
            Value::Int(1),
            Value::BulkString(b"1700000000".to_vec()),
            Value::BulkString(b"250".to_vec()),
            Value::Nil,
        ]);
        let values = texts(reply).unwrap();
        assert_eq!(values[0].as_deref(), Some("1"));
        assert_eq!(values[3], None);
        assert_eq!(time(&values[1..]).unwrap(), 1_700_000_000_000_250);
        assert!(texts(Value::Int(3)).is_err());
        assert!(time(&[Some("x".into())]).is_err());
    }
}

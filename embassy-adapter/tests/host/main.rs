//! Host tests of seawall-embassy on embassy-time's mock driver.
//!
//! The mock driver is one global clock, so every test of this binary takes
//! [`support::setup`]'s lock, which also resets the clock to zero: the tests
//! run one at a time without any flag. Time moves only by
//! `MockDriver::advance`; nothing sleeps for real.

mod breaker;
mod clock;
mod fault;
mod limits;
mod retry;
mod scenarios;
mod support;
mod timeout;

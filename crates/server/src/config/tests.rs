//! Config tests.

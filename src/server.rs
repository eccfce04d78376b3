//! Server entry point.

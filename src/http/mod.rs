//! HTTP application.

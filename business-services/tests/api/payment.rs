//! The payment system over HTTP.

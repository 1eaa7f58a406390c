//! The accounting system over HTTP.

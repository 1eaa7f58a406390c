//! The fraud system over HTTP.

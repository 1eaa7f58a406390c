//! The warehouse system over HTTP.

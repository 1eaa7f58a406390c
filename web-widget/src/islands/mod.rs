//! The interactive parts of the pages, rendered on the server and hydrated in the browser. Each
//! works without JavaScript as a plain form; hydrated, it does the same without a page load.

mod browser;
mod chat;
mod currency;
pub mod sse;

pub use chat::{ChatIcon, ChatLine, ChatProps, ChatWidget, Speaker};
pub use currency::CurrencyPicker;

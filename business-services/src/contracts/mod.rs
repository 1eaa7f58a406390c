//! The contracts between systems, apart from the systems that produce them: the ids, addresses
//! and product facts several systems carry, the events on the broker's topics, and the demo
//! signing keys callers and callees share. Producers and consumers both depend on this module;
//! it depends on no system.

pub mod keys;
pub mod order;
pub mod product;
pub mod shipment;

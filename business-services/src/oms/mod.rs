//! Order management: the order lifecycle as an explicit state machine, driving warehouse and accounting from events.

//! Furniture logistics ERP (the legacy on-prem system): freight quotes, delivery slots, slot reservations.

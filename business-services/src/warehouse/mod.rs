//! Warehouse: shipments and parcels, carrier choice, tracking numbers and tracking events.

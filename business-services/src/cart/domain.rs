//! Carts, their ids and the limits on quantities.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::contracts::product::ProductId;
use crate::platform::id::string_id;

/// The most of one product a cart may hold.
pub const MAX_QUANTITY: u32 = 99;

string_id!(
    /// A cart id chosen by the storefront: a session id or a signed-in customer's id
    /// (1 to 128 of `A-Z a-z 0-9 . _ : -`).
    CartId,
    example = "session-6f1c2a",
    check = |id| {
        let valid = (1..=128).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if valid { Ok(()) } else { Err("use 1 to 128 characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'".to_owned()) }
    },
);

/// Checks a quantity to add or set; `allow_zero` for setting (zero removes the line).
pub fn check_quantity(quantity: u32, allow_zero: bool) -> Result<u32, String> {
    let min = u32::from(!allow_zero);
    if (min..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(format!("must be between {min} and {MAX_QUANTITY}, got {quantity}"))
    }
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartItem {
    /// The product.
    pub product_id: ProductId,
    /// How many, 1 to 99.
    pub quantity: u32,
}

/// A cart as the customer sees it: empty when it never existed or was abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Cart {
    /// The cart's id.
    pub id: CartId,
    /// Lines in the order they were first added.
    pub items: Vec<CartItem>,
    /// Total units over all lines.
    pub item_count: u32,
    /// Last change; absent for an empty cart.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<OffsetDateTime>,
    /// When the cart will be dropped if left untouched; absent for an empty cart.
    #[serde(with = "time::serde::rfc3339::option", default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

impl Cart {
    /// The cart `id` holding `items`, last changed at `updated_at`, abandoned after `policy`.
    pub fn new(id: CartId, items: Vec<CartItem>, updated_at: Option<OffsetDateTime>, policy: &AbandonPolicy) -> Self {
        let item_count = items.iter().map(|item| item.quantity).sum();
        let updated_at = updated_at.filter(|_| !items.is_empty());
        Cart { id, items, item_count, expires_at: updated_at.map(|at| at + policy.after), updated_at }
    }
}

/// One change to a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartChange {
    /// Add this many of a product to its line.
    Add(ProductId, u32),
    /// Set a product's line to this many; zero removes it.
    Set(ProductId, u32),
    /// Remove a product's line.
    Remove(ProductId),
    /// Remove every line.
    Clear,
    /// Move every line of another cart into this one (quantities add up, capped at the
    /// maximum) and delete the other cart: a guest's cart joining the customer's at sign-in.
    Absorb(CartId),
}

impl CartChange {
    /// Identifies the change, to tell a retried request from a different one.
    pub fn fingerprint(&self, cart: &CartId) -> String {
        format!("{cart} {self:?}")
    }
}

/// When an untouched cart counts as abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbandonPolicy {
    /// Time since the last change after which the cart is dropped.
    pub after: Duration,
}

impl AbandonPolicy {
    /// Carts last changed before this instant are abandoned at `now`.
    pub fn cutoff(&self, now: OffsetDateTime) -> OffsetDateTime {
        now - self.after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_ids_accept_session_and_customer_ids() {
        for ok in ["session-6f1c2a", "customer:42", "a", "A.b_c"] {
            assert!(CartId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/", "semi;colon", &"x".repeat(129)] {
            assert!(CartId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_are_bounded() {
        assert!(check_quantity(1, false).is_ok());
        assert!(check_quantity(99, false).is_ok());
        assert!(check_quantity(0, false).is_err());
        assert!(check_quantity(0, true).is_ok());
        assert!(check_quantity(100, true).is_err());
    }

    #[test]
    fn empty_carts_have_no_times() {
        let policy = AbandonPolicy { after: Duration::days(7) };
        let id = CartId::parse("s").unwrap();
        let empty = Cart::new(id.clone(), vec![], Some(OffsetDateTime::UNIX_EPOCH), &policy);
        assert_eq!((empty.item_count, empty.updated_at, empty.expires_at), (0, None, None));
        let item = CartItem { product_id: ProductId::parse("tee").unwrap(), quantity: 3 };
        let full = Cart::new(id, vec![item.clone(), item], Some(OffsetDateTime::UNIX_EPOCH), &policy);
        assert_eq!(full.item_count, 6);
        assert_eq!(full.expires_at, Some(OffsetDateTime::UNIX_EPOCH + Duration::days(7)));
    }
}

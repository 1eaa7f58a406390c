//! The pages, as Leptos views over data the handlers gathered: the chrome every page shares,
//! the storefront, the customer's orders and the CRM dashboard.

mod crm;
mod orders;
mod shop;

use leptos::prelude::*;

use crate::islands::{ChatIcon, ChatProps, ChatWidget, CurrencyPicker};

pub use crm::{Customer360, CustomerHit, CustomerSearch, StaffOrder};
pub use orders::{OrderDetail, OrderList};
pub use shop::{CartLine, CartPage, CheckoutForm, Home, OrderPlaced, ProductCard, ProductPage, SignIn};

/// Who is signed in, as the header shows them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Their name.
    pub name: String,
    /// Staff see the dashboard link.
    pub staff: bool,
}

/// What every page's frame shows.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Who is signed in.
    pub user: Option<SignedIn>,
    /// Units in the cart.
    pub cart_units: u32,
    /// The session's currency.
    pub currency: String,
    /// The currencies on offer.
    pub currencies: Vec<String>,
    /// The Concierge widget (signed-in users), else a sign-in invitation.
    pub chat: Option<ChatProps>,
    /// This page's path, to come back to after signing in.
    pub path: String,
}

/// The frame: header with navigation, currency and cart, the page, the footer and the chat.
#[component]
pub fn Layout(chrome: Option<Chrome>, children: Children) -> impl IntoView {
    let header = chrome.clone().map(|chrome| {
        let account = match &chrome.user {
            Some(user) => view! {
                {user.staff.then(|| view! { <a class="nav-link" href="/crm">"CRM dashboard"</a> })}
                <a class="nav-link" href=if user.staff { "/crm" } else { "/account" }>{user.name.clone()}</a>
                <a class="nav-link" href="/logout">"Sign out"</a>
            }
            .into_any(),
            None => view! { <a class="nav-link" href=format!("/signin?next={}", chrome.path)>"Sign in"</a> }.into_any(),
        };
        view! {
            <CurrencyPicker codes=chrome.currencies.clone() current=chrome.currency.clone()/>
            {account}
            <a class="nav-link cart-link" href="/cart">
                "Cart" <span class="badge" aria-label="units in the cart">{chrome.cart_units}</span>
            </a>
        }
    });
    let chat = chrome.map(|chrome| match chrome.chat {
        Some(chat) => view! { <ChatWidget chat/> }.into_any(),
        None => view! {
            <details class="chat" id="chat">
                <summary><ChatIcon/>"Ask our Concierge"</summary>
                <div class="chat-panel">
                    <p class="chat-hint">
                        "Sign in and our Concierge can look into your orders, deliveries and returns. "
                        <a href=format!("/signin?next={}", chrome.path)>"Sign in"</a>
                    </p>
                </div>
            </details>
        }
        .into_any(),
    });
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="logo" href="/" aria-label="Boutique, home">
                <span class="logo-mark" aria-hidden="true">"◆"</span>
                "Boutique"
            </a>
            <nav class="site-nav" aria-label="Account and cart">{header}</nav>
        </header>
        <main id="main">{children()}</main>
        <footer class="site-footer">
            <p>"Boutique · parcels in 2–5 days, furniture by freight with a delivery slot · 30-day returns"</p>
            <p class="muted">"Demo store: no real payments are made."</p>
        </footer>
        {chat}
    }
}

/// A timestamp as people read it: `2026-11-25T00:11:25.267Z` as `2026-11-25 00:11 UTC`.
pub fn when(timestamp: &str) -> String {
    match (timestamp.get(..10), timestamp.get(10..11), timestamp.get(11..16)) {
        (Some(date), Some("T"), Some(time)) if timestamp.ends_with('Z') => format!("{date} {time} UTC"),
        _ => timestamp.to_owned(),
    }
}

/// A page saying what went wrong and what to do.
pub fn error_page(title: String, detail: String) -> AnyView {
    view! {
        <section class="panel narrow">
            <h1>{title}</h1>
            <p>{detail}</p>
            <p><a class="button" href="/">"Back to the shop"</a></p>
        </section>
    }
    .into_any()
}

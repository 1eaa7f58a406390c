//! The CRM dashboard for signed-in staff: customer search, the customer 360 page and one
//! customer's order. Everything here was read through the MCP server with the staff member's
//! role, so contact details, notes and risk reasons appear exactly as that role may see them.

use leptos::prelude::*;
use mcp_contract::views::{
    CustomerProfile, FraudView, LoyaltyView, NoteView, OrderSummary, OrderView, PaymentView, ShipmentView, TicketView,
    Timeline,
};

use super::orders::{OrderDetail, OrderList};
use super::when;

/// A customer found by the search.
#[derive(Debug, Clone)]
pub struct CustomerHit {
    /// Their id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email, masked for agents.
    pub email: String,
    /// Loyalty tier.
    pub tier: String,
    /// Account standing.
    pub standing: String,
}

/// The search form and its results.
#[component]
pub fn CustomerSearch(query: String, hits: Vec<CustomerHit>) -> impl IntoView {
    let searched = !query.is_empty();
    view! {
        <h1>"Customers"</h1>
        <form method="get" action="/crm" class="search" role="search">
            <label for="q" class="visually-hidden">"Name or email"</label>
            <input id="q" type="search" name="q" value=query placeholder="Name or email" autofocus/>
            <button type="submit" class="button">"Search"</button>
        </form>
        {(searched && hits.is_empty()).then(|| view! { <p class="muted">"No customer matches."</p> })}
        <ul class="hits">
            {hits
                .into_iter()
                .map(|hit| view! {
                    <li>
                        <a href=format!("/crm/customers/{}", hit.id)>{hit.name}</a>
                        <span class="muted">{hit.id} " · " {hit.email}</span>
                        <span class="tag">{hit.tier}</span>
                        <span class=format!("standing {}", hit.standing)>{hit.standing.clone()}</span>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}

/// The customer 360 page.
#[component]
pub fn Customer360(
    profile: CustomerProfile,
    loyalty: Option<LoyaltyView>,
    orders: Vec<OrderSummary>,
    tickets: Vec<TicketView>,
    notes: Option<Vec<NoteView>>,
) -> impl IntoView {
    let id = profile.customer_id.clone();
    view! {
        <p class="crumbs"><a href="/crm">"Customers"</a> " / " {id.clone()}</p>
        <h1>{profile.name.clone()} " " <span class=format!("standing {}", profile.standing)>{profile.standing.clone()}</span></h1>
        {profile.standing_reason.clone().map(|reason| view! { <p class="alert">"Standing: " {reason}</p> })}
        <div class="columns">
            <section class="panel">
                <h2>"Profile"</h2>
                <dl class="facts">
                    <dt>"Email"</dt><dd>{profile.email.clone()}</dd>
                    <dt>"Phone"</dt><dd>{profile.phone.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Member since"</dt><dd>{when(&profile.member_since)}</dd>
                    <dt>"Addresses"</dt>
                    <dd>{profile.addresses.iter().map(|a| format!("{}, {} {}", a.city, a.postal_code, a.country)).collect::<Vec<_>>().join(" · ")}</dd>
                </dl>
                {(!profile.masked.is_empty()).then(|| view! { <p class="muted">"Masked for your role: " {profile.masked.join(", ")}</p> })}
            </section>
            <section class="panel">
                <h2>"Loyalty"</h2>
                {match loyalty {
                    Some(loyalty) => view! {
                        <dl class="facts">
                            <dt>"Tier"</dt><dd>{loyalty.tier}</dd>
                            <dt>"Points"</dt><dd>{loyalty.points} " (lifetime " {loyalty.lifetime_points} ")"</dd>
                            <dt>"Discount"</dt><dd>{format!("{} %", loyalty.discount_percent)}</dd>
                            <dt>"Next tier"</dt>
                            <dd>{match (loyalty.next_tier, loyalty.points_to_next_tier) {
                                (Some(tier), Some(points)) => format!("{tier} in {points} points"),
                                _ => "top tier".to_owned(),
                            }}</dd>
                        </dl>
                    }
                    .into_any(),
                    None => view! { <p class="muted">"No loyalty record."</p> }.into_any(),
                }}
            </section>
        </div>
        <section class="panel">
            <h2>"Orders"</h2>
            <OrderList orders link_prefix=format!("/crm/customers/{id}/orders/")/>
        </section>
        <div class="columns">
            <section class="panel">
                <h2>"Tickets"</h2>
                {if tickets.is_empty() { Some(view! { <p class="muted">"No tickets."</p> }) } else { None }}
                {tickets
                    .into_iter()
                    .map(|ticket| view! {
                        <details class="ticket">
                            <summary>
                                <strong>{ticket.subject}</strong> " "
                                <span class="tag">{ticket.status}</span> " "
                                <span class="muted">{ticket.priority} " · " {when(&ticket.updated_at)}</span>
                            </summary>
                            {ticket
                                .messages
                                .into_iter()
                                .map(|message| view! {
                                    <blockquote class="data"><p class="muted">{message.author} " · " {when(&message.at)}</p>{message.body}</blockquote>
                                })
                                .collect_view()}
                        </details>
                    })
                    .collect_view()}
            </section>
            <section class="panel">
                <h2>"Notes"</h2>
                {match notes {
                    None => view! { <p class="muted">"Notes are not shown to your role."</p> }.into_any(),
                    Some(notes) if notes.is_empty() => view! { <p class="muted">"No notes."</p> }.into_any(),
                    Some(notes) => notes
                        .into_iter()
                        .map(|note| view! {
                            <blockquote class="data"><p class="muted">{note.author} " · " {when(&note.at)}</p>{note.body}</blockquote>
                        })
                        .collect_view()
                        .into_any(),
                }}
            </section>
        </div>
    }
}

/// One of the customer's orders, with payment and the fraud check as the staff role sees them.
#[component]
pub fn StaffOrder(
    customer: String,
    order: OrderView,
    timeline: Option<Timeline>,
    shipments: Vec<ShipmentView>,
    payment: Option<PaymentView>,
    fraud: Option<FraudView>,
) -> impl IntoView {
    let order_id = order.order_id.clone();
    view! {
        <p class="crumbs">
            <a href="/crm">"Customers"</a> " / " <a href=format!("/crm/customers/{customer}")>{customer.clone()}</a> " / " {order_id.clone()}
        </p>
        <h1>"Order " {order_id.clone()} " " <span class="status">{order.status.clone()}</span></h1>
        <p>
            <a class="button" href=format!("/crm/customers/{customer}/orders/{order_id}?investigate=1#chat")>
                "Investigate this order with the Concierge"
            </a>
        </p>
        <OrderDetail order timeline shipments/>
        <div class="columns">
            <section class="panel">
                <h2>"Payment"</h2>
                {payment.map(|payment| view! {
                    <dl class="facts">
                        <dt>"Card"</dt><dd>{payment.brand}</dd>
                        <dt>"Status"</dt><dd>{payment.status}</dd>
                        <dt>"Authorized"</dt><dd>{payment.amount.unwrap_or_default()}</dd>
                        <dt>"Captured"</dt><dd>{payment.captured.unwrap_or_default()}</dd>
                        <dt>"Refunded"</dt><dd>{payment.refunded.unwrap_or_default()}</dd>
                    </dl>
                })}
            </section>
            <section class="panel">
                <h2>"Fraud check"</h2>
                {fraud.map(|fraud| view! {
                    <p><strong>{fraud.status}</strong></p>
                    {fraud.decision.map(|decision| view! { <p>"Decision: " {decision} {fraud.score.map(|score| format!(" · score {score}"))}</p> })}
                    <ul>
                        {fraud
                            .reasons
                            .unwrap_or_default()
                            .into_iter()
                            .map(|reason| view! { <li><code>{reason.code}</code> " " {reason.detail} " (" {reason.points} ")"</li> })
                            .collect_view()}
                    </ul>
                })}
            </section>
        </div>
    }
}

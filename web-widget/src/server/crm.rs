//! The CRM dashboard's handlers, for signed-in staff only. Customer search reads the CRM; the
//! customer 360 and order pages read through the MCP server with a capability token for the
//! staff member's role, so what an agent sees is masked and audited like any MCP read.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use business_services::platform::error::Error;
use leptos::prelude::*;
use mcp_contract::token::Role;
use mcp_contract::views::{
    CustomerProfile, FraudView, Listing, LoyaltyView, NoteView, OrderSummary, PaymentView, TextListing, TicketView,
    mask_email,
};
use serde::Deserialize;
use serde_json::json;

use super::pages::{Customer360, CustomerHit, CustomerSearch, StaffOrder};
use super::render::page;
use super::session::{Current, Staff};
use super::shop::{frame, order_reads};
use super::{AppState, Failure};

type Page = Result<Response, Failure>;

/// `GET /crm?q=`
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /crm`: customer search.
pub async fn search(
    State(state): State<AppState>,
    session: Current,
    Staff(account): Staff,
    Query(query): Query<SearchQuery>,
) -> Page {
    let text = query.q.trim().to_owned();
    let found = if text.is_empty() { Vec::new() } else { state.peers.search_customers(&text).await? };
    // Agents see masked contact details here too, as the MCP server masks them.
    let masked = account.role == Role::Agent;
    let hits = found
        .into_iter()
        .map(|customer| CustomerHit {
            id: customer.id.to_string(),
            name: customer.name,
            email: if masked { mask_email(customer.email.as_str()) } else { customer.email.to_string() },
            tier: customer.tier.to_string(),
            standing: customer.standing.to_string(),
        })
        .collect();
    let frame = frame(&state, &session, "/crm", None, None).await;
    let body = view! { <CustomerSearch query=text hits/> }.into_any();
    Ok(page("Customers", Some(frame.chrome), body).into_response())
}

/// `GET /crm/customers/{id}`: the customer 360.
pub async fn customer(
    State(state): State<AppState>,
    session: Current,
    Staff(account): Staff,
    Path(id): Path<String>,
) -> Page {
    let path = format!("/crm/customers/{id}");
    let mcp = state.peers.mcp(&account, &id).await?;
    let reads = async {
        let profile: CustomerProfile =
            mcp.read("customer_profile", json!({})).await?.ok_or_else(|| Error::not_found("customer", id.clone()))?;
        let loyalty: Option<LoyaltyView> = mcp.read("loyalty_status", json!({})).await?;
        let orders: Option<Listing<OrderSummary>> = mcp.read("list_orders", json!({ "limit": 20 })).await?;
        let tickets: Option<TextListing<TicketView>> = mcp.read("support_tickets", json!({})).await?;
        let notes: Option<TextListing<NoteView>> = mcp.read("customer_notes", json!({})).await?;
        Ok::<_, Error>((profile, loyalty, orders, tickets, notes))
    }
    .await;
    mcp.close().await;
    let (profile, loyalty, orders, tickets, notes) = reads?;
    let frame = frame(&state, &session, &path, Some(&id), None).await;
    let body = view! {
        <Customer360
            profile
            loyalty
            orders=orders.map(|listing| listing.items).unwrap_or_default()
            tickets=tickets.map(|listing| listing.items).unwrap_or_default()
            notes=notes.map(|listing| listing.items)
        />
    }
    .into_any();
    Ok(page("Customer", Some(frame.chrome), body).into_response())
}

/// `GET /crm/customers/{id}/orders/{order}?investigate=`
#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    #[serde(default)]
    investigate: Option<String>,
}

/// `GET /crm/customers/{id}/orders/{order}`: one order with payment and fraud check; with
/// `investigate`, the Concierge panel opens with the investigation asked for.
pub async fn order(
    State(state): State<AppState>,
    session: Current,
    Staff(account): Staff,
    Path((id, order)): Path<(String, String)>,
    Query(query): Query<OrderQuery>,
) -> Page {
    let path = format!("/crm/customers/{id}/orders/{order}");
    let mcp = state.peers.mcp(&account, &id).await?;
    let reads = async {
        let (view, timeline, shipments) = order_reads(&mcp, &order).await?;
        let arguments = json!({ "order_id": order });
        let payment: Option<PaymentView> = mcp.read("payment_status", arguments.clone()).await?;
        let fraud: Option<FraudView> = mcp.read("fraud_assessment", arguments).await?;
        Ok::<_, Failure>((view, timeline, shipments, payment, fraud))
    }
    .await;
    mcp.close().await;
    let (view, timeline, shipments, payment, fraud) = reads?;
    let suggestion = query.investigate.map(|_| {
        format!(
            "Investigate order {order}: where is it, and is anything wrong with its payment, delivery or fraud check?"
        )
    });
    let frame = frame(&state, &session, &path, Some(&id), suggestion).await;
    let body = view! { <StaffOrder customer=id order=view timeline shipments payment fraud/> }.into_any();
    Ok(page("Order", Some(frame.chrome), body).into_response())
}

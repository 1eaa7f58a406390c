//! The facts a topic needs, read through the MCP tools by a fixed plan, and the rules'
//! conclusions drawn from them. Every typed fact of a report comes from here, never from a
//! model.

use mcp_contract::views::{Listing, NoteView, ProductView, ShipmentView, TextListing, TicketView};
use serde_json::json;
use time::Date;

use crate::InvestigationError;
use crate::mcp::McpSession;
use crate::report::{DataText, InvestigationReport};
use crate::request::{InvestigationRequest, Topic};
use crate::rules;

/// The most tool calls a plan makes (the order list, the order, its timeline, one more).
pub const PLAN_CALLS: u32 = 4;

/// Reads what `request` needs into `report`.
pub async fn gather(
    session: &McpSession,
    request: &InvestigationRequest,
    report: &mut InvestigationReport,
    today: Date,
) -> Result<(), InvestigationError> {
    let order = |order_id: &str| json!({ "order_id": order_id });
    match request.topic {
        topic if topic.concerns_an_order() => {
            let Some(order_id) = resolve_order(session, request, report).await? else { return Ok(()) };
            report.order = keep(report, session.read("order_lookup", order(&order_id)).await?);
            report.timeline = keep(report, session.read("order_timeline", order(&order_id)).await?);
            match topic {
                Topic::ParcelLocation | Topic::DeliveryDate => {
                    let shipments: Option<Listing<ShipmentView>> =
                        keep(report, session.read("shipment_tracking", order(&order_id)).await?);
                    report.shipments = shipments.map(|listing| listing.items).unwrap_or_default();
                    for text in carrier_texts(&mut report.shipments) {
                        report.add_text(text);
                    }
                }
                Topic::RefundStatus => {
                    report.payment = keep(report, session.read("payment_status", order(&order_id)).await?)
                }
                Topic::OrderHold => {
                    report.fraud = keep(report, session.read("fraud_assessment", order(&order_id)).await?)
                }
                _ => {}
            }
            conclude(report, today);
        }
        Topic::Loyalty => report.loyalty = keep(report, session.read("loyalty_status", json!({})).await?),
        Topic::Availability => {
            let product_id = request.product_id.clone().unwrap_or_default();
            let mut product: Option<ProductView> =
                keep(report, session.read("product_lookup", json!({ "product_id": product_id })).await?);
            // Product copy comes from suppliers and editors: data, not part of the typed facts.
            if let Some(product) = &mut product {
                let description = std::mem::take(&mut product.description);
                report.add_text(DataText::new(format!("description of {}", product.product_id), &description));
            }
            report.product = product;
        }
        Topic::AccountReview => {
            report.profile = keep(report, session.read("customer_profile", json!({})).await?);
            let notes: Option<TextListing<NoteView>> = keep(report, session.read("customer_notes", json!({})).await?);
            for note in notes.map(|listing| listing.items).unwrap_or_default() {
                report.add_text(DataText::new(
                    format!("note {} by {} at {}", note.note_id, note.author, note.at),
                    &note.body,
                ));
            }
            let tickets: Option<TextListing<TicketView>> =
                keep(report, session.read("support_tickets", json!({})).await?);
            for ticket in tickets.map(|listing| listing.items).unwrap_or_default() {
                for message in &ticket.messages {
                    let source =
                        format!("ticket {} ({}) message by {}", ticket.ticket_id, ticket.status, message.author);
                    report.add_text(DataText::new(source, &message.body));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The order to look into: the one named, if it is among the customer's orders; else the
/// latest. `None` (with a gap said) when there is none.
async fn resolve_order(
    session: &McpSession,
    request: &InvestigationRequest,
    report: &mut InvestigationReport,
) -> Result<Option<String>, InvestigationError> {
    let listing: Option<Listing<mcp_contract::views::OrderSummary>> =
        keep(report, session.read("list_orders", json!({ "limit": 20 })).await?);
    report.orders = listing.map(|listing| listing.items).unwrap_or_default();
    let chosen = match &request.order_id {
        Some(order_id) => report.orders.iter().find(|summary| &summary.order_id == order_id),
        None => report.orders.first(),
    };
    let found = chosen.map(|summary| summary.order_id.clone());
    if found.is_none() {
        report.gaps.push(match &request.order_id {
            Some(order_id) => format!("{order_id} is not one of this customer's orders"),
            None => "the customer has no orders".to_owned(),
        });
    }
    Ok(found)
}

/// The carriers' free text (scan locations and notes), moved out of the typed shipments into
/// marked data.
fn carrier_texts(shipments: &mut [ShipmentView]) -> Vec<DataText> {
    let mut texts = Vec::new();
    for scan in shipments.iter_mut().flat_map(|shipment| shipment.scans.iter_mut()) {
        for (field, text) in [("location", scan.location.take()), ("note", scan.note.take())] {
            if let Some(text) = text {
                texts.push(DataText::new(format!("carrier scan {} at {}: {field}", scan.status, scan.at), &text));
            }
        }
    }
    texts
}

/// A tool's answer, or `None` with its refusal noted as a gap.
fn keep<T>(report: &mut InvestigationReport, answer: Result<T, String>) -> Option<T> {
    answer.map_err(|refusal| report.gaps.push(refusal)).ok()
}

/// The delivery and return conclusions, where the facts allow.
fn conclude(report: &mut InvestigationReport, today: Date) {
    let (Some(order), Some(timeline)) = (&report.order, &report.timeline) else { return };
    let status = timeline.state.clone().unwrap_or_else(|| order.status.clone());
    report.delivery = Some(rules::delivery(order, timeline, &report.shipments));
    report.return_window = Some(rules::return_window(&status, timeline, today));
}

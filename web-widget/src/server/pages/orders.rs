//! Orders as the MCP server shows them to the reader's role: a list, and one order with its
//! lines, timeline and shipments. Shared by the customer's account and the CRM dashboard.

use leptos::prelude::*;
use mcp_contract::views::{OrderSummary, OrderView, ShipmentView, Timeline};

use super::when;

/// A table of orders, each linking to `link_prefix` + its id.
#[component]
pub fn OrderList(orders: Vec<OrderSummary>, link_prefix: String) -> impl IntoView {
    if orders.is_empty() {
        return view! { <p class="muted">"No orders yet."</p> }.into_any();
    }
    view! {
        <table class="table">
            <thead><tr><th>"Order"</th><th>"Placed"</th><th>"Status"</th><th>"Units"</th><th>"Total"</th></tr></thead>
            <tbody>
                {orders
                    .into_iter()
                    .map(|order| {
                        view! {
                            <tr>
                                <td><a href=format!("{link_prefix}{}", order.order_id)>{order.order_id.clone()}</a></td>
                                <td>{when(&order.placed_at)}</td>
                                <td><span class="status">{order.status}</span></td>
                                <td>{order.units}</td>
                                <td>{order.total}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One order: lines and amounts, where it goes, its timeline in fulfilment and its shipments.
#[component]
pub fn OrderDetail(order: OrderView, timeline: Option<Timeline>, shipments: Vec<ShipmentView>) -> impl IntoView {
    let address = &order.shipping_address;
    let address = [
        address.street.clone(),
        Some(address.city.clone()),
        address.region.clone(),
        Some(address.postal_code.clone()),
        Some(address.country.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    view! {
        <div class="columns">
            <section class="panel">
                <h2>"Items"</h2>
                <ul class="cart-lines">
                    {order
                        .lines
                        .into_iter()
                        .map(|line| view! {
                            <li>
                                <a href=format!("/product/{}", line.product_id)>{line.name}</a>
                                <span class="muted">{format!("× {}", line.quantity)}</span>
                                <span class="price">{line.line_total}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
                <dl class="facts">
                    <dt>"Subtotal"</dt><dd>{order.subtotal}</dd>
                    <dt>"Discount"</dt><dd>{order.discount}</dd>
                    <dt>"Shipping"</dt><dd>{order.shipping}</dd>
                    <dt>"Freight"</dt><dd>{order.freight}</dd>
                    <dt>"Total"</dt><dd><strong>{order.total}</strong></dd>
                    <dt>"Paid with"</dt><dd>{order.paid_with}</dd>
                    <dt>"Ships to"</dt><dd>{address}</dd>
                    {order.freight_delivery.map(|slot| view! { <dt>"Freight slot"</dt><dd>{slot}</dd> })}
                </dl>
            </section>
            <section class="panel">
                <h2>"Timeline"</h2>
                {match timeline {
                    Some(timeline) if !timeline.items.is_empty() => view! {
                        <ol class="timeline">
                            {timeline
                                .items
                                .into_iter()
                                .map(|entry| view! {
                                    <li><strong>{entry.to}</strong> " " <span class="muted">{when(&entry.at)}</span><br/><span class="muted">{entry.cause}</span></li>
                                })
                                .collect_view()}
                        </ol>
                    }
                    .into_any(),
                    _ => view! { <p class="muted">"Order management has not picked this order up yet."</p> }.into_any(),
                }}
                <h2>"Shipments"</h2>
                {if shipments.is_empty() {
                    view! { <p class="muted">"Not shipped yet."</p> }.into_any()
                } else {
                    shipments
                        .into_iter()
                        .map(|shipment| view! {
                            <div class="shipment">
                                <p><strong>{shipment.status}</strong> " " <span class="muted">{when(&shipment.updated_at)}</span></p>
                                <ul>
                                    {shipment
                                        .parcels
                                        .into_iter()
                                        .map(|parcel| view! {
                                            <li>{parcel.carrier} " " <code>{parcel.tracking_number}</code> " · " {parcel.status}</li>
                                        })
                                        .collect_view()}
                                </ul>
                            </div>
                        })
                        .collect_view()
                        .into_any()
                }}
            </section>
        </div>
    }
}

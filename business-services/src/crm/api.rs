//! The CRM's HTTP routes: the three parts' routers under one state and one OpenAPI document.

use axum::Router;
use utoipa::OpenApi;

use super::customers::api::{AddAddress, AddNote, SetStanding, SignUp};
use super::customers::domain::{Address, Customer, Note};
use super::domain::Standing;
use super::loyalty::api::AddLoyaltyEntry;
use super::loyalty::domain::{LoyaltyEntry, LoyaltyStatus, Tier};
use super::requests::CrmState;
use super::tickets::api::{AddMessage, OpenTicket, SetTicketStatus};
use super::tickets::domain::{Channel, Priority, Ticket, TicketMessage, TicketStatus};
use super::{customers, loyalty, tickets};
use crate::platform::error::Problem;
use crate::platform::page::Page;

/// The CRM's routes: the customers', the loyalty and the tickets' routes.
pub fn routes(state: CrmState) -> Router {
    Router::new()
        .merge(customers::api::routes())
        .merge(loyalty::api::routes())
        .merge(tickets::api::routes())
        .with_state(state)
}

/// The CRM's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "crm",
        description = "Customers, addresses, loyalty tiers and points, account standing, notes and support tickets."
    ),
    paths(
        customers::api::sign_up,
        customers::api::list_customers,
        customers::api::get_customer,
        customers::api::set_standing,
        customers::api::add_address,
        loyalty::api::get_loyalty,
        loyalty::api::add_loyalty_entry,
        loyalty::api::list_loyalty_entries,
        customers::api::add_note,
        customers::api::list_notes,
        tickets::api::open_ticket,
        tickets::api::list_tickets,
        tickets::api::get_ticket,
        tickets::api::add_message,
        tickets::api::set_ticket_status,
        loyalty::api::order_event
    ),
    components(schemas(
        Customer,
        Address,
        Tier,
        Standing,
        LoyaltyStatus,
        LoyaltyEntry,
        Note,
        Ticket,
        TicketMessage,
        TicketStatus,
        Priority,
        Channel,
        Page<Customer>,
        Page<LoyaltyEntry>,
        Page<Note>,
        Page<Ticket>,
        SignUp,
        SetStanding,
        AddAddress,
        AddLoyaltyEntry,
        AddNote,
        OpenTicket,
        AddMessage,
        SetTicketStatus,
        Problem
    ))
)]
pub struct ApiDoc;

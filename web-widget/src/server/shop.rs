//! The storefront's handlers: Online Boutique's routes and form fields, plus sign-in and the
//! signed-in customer's orders.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use business_services::cart::domain::Cart;
use business_services::catalog::domain::Product;
use business_services::contracts::order::OrderStatus;
use business_services::contracts::product::StockClass;
use business_services::currency::domain::{Rate, convert};
use business_services::money::{CurrencyCode, Money, Rounding};
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::error::Error;
use leptos::prelude::*;
use mcp_contract::views::{Listing, OrderSummary, OrderView, ShipmentView, Timeline};
use serde::Deserialize;
use serde_json::json;

use super::accounts::{Account, Session};
use super::chat::transcript;
use super::pages::{
    CartLine, CartPage, CheckoutForm, Chrome, Home, OrderDetail, OrderList, OrderPlaced, ProductCard, ProductPage,
    SignIn, SignedIn,
};
use super::render::page;
use super::session::{self, Current, Customer, local_path};
use super::{AppState, Failure};

type Page = Result<Response, Failure>;

/// Prices shown in the session's currency, converted at the published rates.
pub struct Prices {
    rates: Vec<Rate>,
    to: CurrencyCode,
}

impl Prices {
    /// `money` in the shown currency, with its symbol: `$12.30`, `€11.35`, `¥1230`.
    pub fn show(&self, money: Money) -> String {
        let shown = self.convert(money);
        format!("{}{}", shown.currency.info().symbol, shown.amount())
    }

    fn convert(&self, money: Money) -> Money {
        let rate = |code: CurrencyCode| self.rates.iter().copied().find(|rate| rate.currency == code);
        match (rate(money.currency), rate(self.to)) {
            (Some(from), Some(to)) => convert(money, from, to, Rounding::HalfEven).unwrap_or(money),
            _ => money,
        }
    }
}

/// What the frame of a page needs: the chrome, and the prices in the session's currency.
pub struct Frame {
    /// Header, footer and chat.
    pub chrome: Chrome,
    /// Price formatting.
    pub prices: Prices,
    /// The session's cart, as read for the header (the cart page shows it too).
    pub cart: Result<Cart, Error>,
}

/// Gathers the frame of a page at `path` for `session`; the chat is about `customer` for staff,
/// opens with `suggestion` if given. A peer that fails degrades the frame, not the page.
pub async fn frame(
    state: &AppState,
    session: &Session,
    path: &str,
    customer: Option<&str>,
    suggestion: Option<String>,
) -> Frame {
    let (rates, cart, chat) = tokio::join!(
        state.peers.rates(),
        state.peers.cart(&session.cart_id),
        transcript(state, session, path, customer, suggestion),
    );
    let rates = rates.unwrap_or_else(|error| {
        tracing::warn!(%error, "No exchange rates: prices are shown in the catalog's currency.");
        Vec::new()
    });
    let to = CurrencyCode::parse(&session.currency).unwrap_or(CurrencyCode::USD);
    let mut currencies: Vec<String> = rates.iter().map(|rate| rate.currency.as_str().to_owned()).collect();
    currencies.sort();
    if currencies.is_empty() {
        currencies.push(to.as_str().to_owned());
    }
    let chrome = Chrome {
        user: session
            .account
            .as_ref()
            .map(|account| SignedIn { name: account.display_name.clone(), staff: account.role.is_staff() }),
        cart_units: cart.as_ref().map(|cart| cart.item_count).unwrap_or_default(),
        currency: to.as_str().to_owned(),
        currencies,
        chat,
        path: path.to_owned(),
    };
    Frame { chrome, prices: Prices { rates, to }, cart }
}

fn card(product: &Product, prices: &Prices) -> ProductCard {
    ProductCard {
        id: product.id.to_string(),
        name: product.name.clone(),
        price: prices.show(product.price),
        freight: product.stock_class == StockClass::Oversized,
    }
}

fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// `GET /?category=`: the product grid.
#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    category: Option<String>,
}

/// `GET /`
pub async fn home(State(state): State<AppState>, session: Current, Query(query): Query<HomeQuery>) -> Page {
    let category = query.category.filter(|category| !category.is_empty());
    let (frame, products, categories) = tokio::join!(
        frame(&state, &session, "/", None, None),
        state.peers.products(category.as_deref()),
        state.peers.categories(),
    );
    let products = products?.iter().map(|product| card(product, &frame.prices)).collect();
    let categories =
        categories?.categories.into_iter().map(|entry| (entry.name.as_str().to_owned(), entry.products)).collect();
    let body = view! { <Home products categories active=category/> }.into_any();
    Ok(page("Shop", Some(frame.chrome), body).into_response())
}

/// `GET /product/{id}`
pub async fn product(State(state): State<AppState>, session: Current, Path(id): Path<String>) -> Page {
    let path = format!("/product/{id}");
    let (frame, product) = tokio::join!(frame(&state, &session, &path, None, None), state.peers.product(&id));
    let product = product?.ok_or_else(|| Error::not_found("product", id))?;
    let d = product.dimensions_mm;
    let size = format!(
        "{} × {} × {} cm, {:.1} kg",
        d.length / 10,
        d.width / 10,
        d.height / 10,
        f64::from(product.weight_grams) / 1000.0
    );
    let categories = product.categories.iter().map(|category| category.as_str().to_owned()).collect();
    let body = view! {
        <ProductPage card=card(&product, &frame.prices) description=product.description.clone() categories size/>
    }
    .into_any();
    Ok(page(&product.name, Some(frame.chrome), body).into_response())
}

/// The cart page, with `form` in the checkout form and `error` above it.
async fn cart_page(
    state: &AppState,
    session: &Session,
    form: CheckoutForm,
    error: Option<(StatusCode, String)>,
) -> Page {
    let (Frame { chrome, prices, cart }, products) =
        tokio::join!(frame(state, session, "/cart", None, None), state.peers.products(None));
    let (cart, products) = (cart?, products?);
    let mut subtotal = Money::zero(prices.to);
    let mut lines = Vec::new();
    for item in &cart.items {
        let Some(product) = products.iter().find(|product| product.id == item.product_id) else { continue };
        let total = product.price.checked_mul(i64::from(item.quantity)).unwrap_or(product.price);
        subtotal = subtotal.checked_add(prices.convert(total)).unwrap_or(subtotal);
        lines.push(CartLine { card: card(product, &prices), quantity: item.quantity, total: prices.show(total) });
    }
    let subtotal = prices.show(subtotal);
    let (status, message) = error.map_or((StatusCode::OK, None), |(status, message)| (status, Some(message)));
    let body = view! { <CartPage lines subtotal form error=message/> }.into_any();
    Ok((status, page("Cart", Some(chrome), body)).into_response())
}

/// What the checkout form starts with: the customer's default address when signed in, else
/// Online Boutique's sample address; always a test card the payment gateway approves.
async fn prefilled_form(state: &AppState, account: Option<&Account>) -> CheckoutForm {
    let mut form = CheckoutForm {
        email: "someone@example.com".into(),
        street_address: "1600 Amphitheatre Parkway".into(),
        zip_code: "94043".into(),
        city: "Mountain View".into(),
        state: "CA".into(),
        country: "US".into(),
        credit_card_number: approved_card_number(),
        credit_card_expiration_month: "1".into(),
        credit_card_expiration_year: (time::OffsetDateTime::now_utc().year() + 2).to_string(),
        credit_card_cvv: "672".into(),
        name: "Guest".into(),
        checkout_token: uuid::Uuid::new_v4().to_string(),
    };
    if let Some(customer) = account.and_then(|account| account.customer.as_deref())
        && let Ok(Some(customer)) = state.peers.customer(customer).await
    {
        form.email = customer.email.to_string();
        form.name = customer.name.clone();
        if let Some(address) =
            customer.addresses.iter().find(|address| address.default_shipping).or(customer.addresses.first())
        {
            form.street_address = address.line1.clone();
            form.zip_code = address.postal_code.clone();
            form.city = address.city.clone();
            form.state = address.region.clone();
            form.country = address.country.as_str().to_owned();
        }
    }
    form
}

/// `GET /cart`
pub async fn cart(State(state): State<AppState>, session: Current) -> Page {
    let form = prefilled_form(&state, session.account.as_ref()).await;
    cart_page(&state, &session, form, None).await
}

/// `POST /cart`: Online Boutique's add-to-cart form.
#[derive(Debug, Deserialize)]
pub struct AddToCart {
    product_id: String,
    quantity: String,
}

/// `POST /cart`
pub async fn add_to_cart(State(state): State<AppState>, session: Current, Form(form): Form<AddToCart>) -> Page {
    let quantity = form
        .quantity
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|quantity| (1..=99).contains(quantity))
        .ok_or_else(|| Error::invalid("quantity", "choose a quantity from 1 to 99"))?;
    session::keep(&state, &session).await?;
    state.peers.add_to_cart(&session.cart_id, form.product_id.trim(), quantity).await?;
    Ok(see_other("/cart"))
}

/// `POST /cart/empty`
pub async fn empty_cart(State(state): State<AppState>, session: Current) -> Page {
    state.peers.empty_cart(&session.cart_id).await?;
    Ok(see_other("/"))
}

/// A country's ISO code from a code or the English name the checkout form may carry.
fn country_code(text: &str) -> Option<String> {
    super::countries::code_of(text).map(str::to_owned)
}

/// The checkout API's request for the posted `form`, or what to fix.
fn order_request(form: &CheckoutForm, session: &Session) -> Result<serde_json::Value, String> {
    let number = |value: &str, what: &str| value.trim().parse::<u32>().map_err(|_| format!("{what}: enter a number"));
    let exp_month = number(&form.credit_card_expiration_month, "Card expiry month")?;
    let exp_year = number(&form.credit_card_expiration_year, "Card expiry year")?;
    let country = country_code(&form.country).ok_or("Country: use a two-letter code such as US, DE or JP")?;
    let name = match form.name.trim() {
        "" => form.email.split('@').next().unwrap_or("Customer").to_owned(),
        name => name.to_owned(),
    };
    let region = Some(form.state.trim()).filter(|state| !state.is_empty());
    Ok(json!({
        "cart_id": session.cart_id,
        "customer_id": session.account.as_ref().and_then(|account| account.customer.clone()),
        "email": form.email.trim(),
        "currency": session.currency,
        "shipping_address": {
            "name": name, "line1": form.street_address.trim(), "city": form.city.trim(), "region": region,
            "postal_code": form.zip_code.trim(), "country": country,
        },
        "card": { "number": form.credit_card_number, "exp_month": exp_month, "exp_year": exp_year, "cvv": form.credit_card_cvv },
    }))
}

/// `POST /cart/checkout`: places the order and shows its confirmation; a refusal (declined
/// card, bad address, empty cart) shows the cart again with the form as posted and the reason.
pub async fn checkout(State(state): State<AppState>, session: Current, Form(form): Form<CheckoutForm>) -> Page {
    let request = match order_request(&form, &session) {
        Ok(request) => request,
        Err(problem) => {
            return cart_page(&state, &session, form, Some((StatusCode::UNPROCESSABLE_ENTITY, problem))).await;
        }
    };
    // Online Boutique's form has no token: each of its posts is a new order.
    let key = Some(form.checkout_token.trim())
        .filter(|token| !token.is_empty())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |token| format!("{}-{token}", &session.id_hash[..16]));
    let receipt = match state.peers.place_order(&request, &key).await {
        Ok(receipt) => receipt,
        // Whatever went wrong, the visitor gets the form back as posted, with the reason.
        Err(error) => {
            let failure = Failure::from(error);
            if failure.status().is_server_error() {
                tracing::error!(detail = failure.detail(), "A checkout failed.");
            }
            return cart_page(&state, &session, form, Some((failure.status(), failure.detail()))).await;
        }
    };
    // The order consumed the cart: the session shops on with a new one from this page on,
    // however long checkout takes to empty the old one.
    let mut session = session.0;
    session.cart_id = session::new_cart_id();
    if session.stored {
        state.accounts.set_cart(&session.id_hash, &session.cart_id).await?;
    }
    let frame = frame(&state, &session, "/", None, None).await;
    let signed_in = session.account.as_ref().is_some_and(|account| account.customer.is_some());
    let body = view! {
        <OrderPlaced
            order_id=receipt.order_id.to_string()
            total=frame.prices.show(receipt.amounts.total)
            email=receipt.email.clone()
            held=receipt.status == OrderStatus::OnHold
            signed_in
        />
    }
    .into_any();
    Ok(page("Order placed", Some(frame.chrome), body).into_response())
}

/// `POST /setCurrency`
#[derive(Debug, Deserialize)]
pub struct SetCurrency {
    currency_code: String,
}

/// `POST /setCurrency`: back to the page it was posted from.
pub async fn set_currency(
    State(state): State<AppState>,
    session: Current,
    headers: HeaderMap,
    Form(form): Form<SetCurrency>,
) -> Page {
    let code = CurrencyCode::parse(form.currency_code.trim()).map_err(|why| Error::invalid("currency_code", why))?;
    session::keep(&state, &session).await?;
    state.accounts.set_currency(&session.id_hash, code.as_str()).await?;
    let back = headers.get(header::REFERER).and_then(|referer| referer.to_str().ok()).and_then(|referer| {
        referer.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| rest[at..].to_owned()))
    });
    Ok(see_other(&local_path(back.as_deref()).unwrap_or_else(|| "/".into())))
}

/// `GET /logout`: ends the session.
pub async fn logout(State(state): State<AppState>, session: Current) -> Page {
    state.accounts.close_session(&session.id_hash).await?;
    Ok(([(header::SET_COOKIE, session::set_cookie(&state, None))], see_other("/")).into_response())
}

/// `GET /signin?next=`
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

/// `GET /signin`
pub async fn sign_in_page(State(state): State<AppState>, session: Current, Query(query): Query<SignInQuery>) -> Page {
    let frame = frame(&state, &session, "/signin", None, None).await;
    let next = local_path(query.next.as_deref()).unwrap_or_default();
    let body = view! { <SignIn email=String::new() next error=None/> }.into_any();
    Ok(page("Sign in", Some(frame.chrome), body).into_response())
}

/// `POST /signin`
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /signin`: a new session (so no session id survives a sign-in) with the same cart and
/// currency, then on to `next`, the dashboard (staff) or the account (customers).
pub async fn sign_in(State(state): State<AppState>, session: Current, Form(form): Form<SignInForm>) -> Page {
    let Some(account) = state.accounts.authenticate(&form.email, &form.password).await? else {
        tracing::info!(email = %form.email.trim(), "A sign-in was refused.");
        let frame = frame(&state, &session, "/signin", None, None).await;
        let error = Some("That email and password do not match an account.".to_owned());
        let body = view! { <SignIn email=form.email next=form.next error/> }.into_any();
        return Ok((StatusCode::UNAUTHORIZED, page("Sign in", Some(frame.chrome), body)).into_response());
    };
    let cookie = session::start(&state, &session.cart_id, &session.currency, &account).await?;
    state.accounts.close_session(&session.id_hash).await?;
    tracing::info!(subject = %account.subject, role = %account.role, "Signed in.");
    let home = if account.role.is_staff() { "/crm" } else { "/account" };
    let next = local_path(Some(&form.next)).filter(|next| next != "/signin").unwrap_or_else(|| home.to_owned());
    Ok(([(header::SET_COOKIE, session::set_cookie(&state, Some(&cookie)))], see_other(&next)).into_response())
}

/// `GET /account`: the customer's orders.
pub async fn account(State(state): State<AppState>, session: Current, Customer(account, customer): Customer) -> Page {
    let mcp = state.peers.mcp(&account, &customer).await?;
    let orders: Option<Listing<OrderSummary>> = mcp.read("list_orders", json!({ "limit": 20 })).await?;
    mcp.close().await;
    let frame = frame(&state, &session, "/account", None, None).await;
    let orders = orders.map(|listing| listing.items).unwrap_or_default();
    let body = view! {
        <h1>"Your orders"</h1>
        <section class="panel"><OrderList orders link_prefix="/account/orders/".to_owned()/></section>
    }
    .into_any();
    Ok(page("Your orders", Some(frame.chrome), body).into_response())
}

/// An order read through MCP: as placed, its timeline and its shipments.
pub async fn order_reads(
    mcp: &super::peers::Mcp,
    order: &str,
) -> Result<(OrderView, Option<Timeline>, Vec<ShipmentView>), Failure> {
    let arguments = json!({ "order_id": order });
    let view: OrderView =
        mcp.read("order_lookup", arguments.clone()).await?.ok_or_else(|| Error::not_found("order", order))?;
    let timeline = mcp.read("order_timeline", arguments.clone()).await?;
    let shipments: Option<Listing<ShipmentView>> = mcp.read("shipment_tracking", arguments).await?;
    Ok((view, timeline, shipments.map(|listing| listing.items).unwrap_or_default()))
}

/// `GET /account/orders/{id}`: one of the customer's orders, with its tracking.
pub async fn account_order(
    State(state): State<AppState>,
    session: Current,
    Customer(account, customer): Customer,
    Path(id): Path<String>,
) -> Page {
    let path = format!("/account/orders/{id}");
    let mcp = state.peers.mcp(&account, &customer).await?;
    let reads = order_reads(&mcp, &id).await;
    mcp.close().await;
    let (order, timeline, shipments) = reads?;
    let frame = frame(&state, &session, &path, None, None).await;
    let body = view! {
        <p class="crumbs"><a href="/account">"Your orders"</a> " / " {id.clone()}</p>
        <h1>"Order " {id.clone()} " " <span class="status">{order.status.clone()}</span></h1>
        <OrderDetail order timeline shipments/>
    }
    .into_any();
    Ok(page("Your order", Some(frame.chrome), body).into_response())
}

/// `GET /pictures/{id}`: a product's picture, from the catalog.
pub async fn picture(State(state): State<AppState>, Path(id): Path<String>) -> Page {
    let (bytes, kind) = state.peers.picture(&id).await?.ok_or_else(|| Error::not_found("picture", id))?;
    Ok(([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=3600".to_owned())], bytes)
        .into_response())
}

/// Any other path.
pub async fn not_found(State(state): State<AppState>, session: Current) -> Page {
    let frame = frame(&state, &session, "/", None, None).await;
    let body = super::pages::error_page("Page not found".into(), "There is nothing at this address.".into());
    Ok((StatusCode::NOT_FOUND, page("Not found", Some(frame.chrome), body)).into_response())
}

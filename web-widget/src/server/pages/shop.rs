//! The storefront's pages: home, product, cart with the checkout form, order placed, sign-in.

use leptos::prelude::*;

/// A product in a grid.
#[derive(Debug, Clone)]
pub struct ProductCard {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its price in the session's currency.
    pub price: String,
    /// Delivered by freight.
    pub freight: bool,
}

fn picture(id: &str) -> String {
    format!("/pictures/{id}")
}

fn delivery(freight: bool) -> &'static str {
    if freight { "Freight delivery" } else { "Parcel delivery" }
}

/// The home page: categories and the product grid.
#[component]
pub fn Home(products: Vec<ProductCard>, categories: Vec<(String, i64)>, active: Option<String>) -> impl IntoView {
    let heading =
        active.clone().map_or_else(|| "Everything in the shop".to_owned(), |category| format!("Category: {category}"));
    view! {
        <section class="hero">
            <h1>"Thoughtful things for home and wardrobe"</h1>
            <p>"Linen, oak, stoneware and wool, made to last. Furniture arrives by freight on a slot you choose."</p>
        </section>
        <nav class="categories" aria-label="Categories">
            <a href="/" class:active=active.is_none()>"All"</a>
            {categories
                .into_iter()
                .map(|(name, count)| {
                    let current = active.as_deref() == Some(name.as_str());
                    view! {
                        <a href=format!("/?category={name}") class:active=current>
                            {name.clone()} <span class="muted">" " {count}</span>
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <h2 class="visually-hidden">{heading}</h2>
        <ul class="grid" aria-label="Products">
            {products
                .into_iter()
                .map(|product| {
                    view! {
                        <li class="card">
                            <a href=format!("/product/{}", product.id)>
                                <img src=picture(&product.id) alt="" loading="lazy" width="320" height="320"/>
                                <span class="card-name">{product.name.clone()}</span>
                            </a>
                            <span class="price">{product.price}</span>
                            <span class="tag">{delivery(product.freight)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// The product page, with the add-to-cart form.
#[component]
pub fn ProductPage(card: ProductCard, description: String, categories: Vec<String>, size: String) -> impl IntoView {
    view! {
        <article class="product">
            <img class="product-picture" src=picture(&card.id) alt=card.name.clone() width="560" height="560"/>
            <div class="product-info">
                <p class="muted">{categories.join(" · ")}</p>
                <h1>{card.name.clone()}</h1>
                <p class="price big">{card.price}</p>
                <p>{description}</p>
                <p class="muted">{delivery(card.freight)} " · " {size}</p>
                <form method="post" action="/cart" class="add-to-cart">
                    <input type="hidden" name="product_id" value=card.id/>
                    <label for="quantity">"Quantity"</label>
                    <select id="quantity" name="quantity">
                        {(1..=10).map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view()}
                    </select>
                    <button type="submit" class="button">"Add to cart"</button>
                </form>
            </div>
        </article>
    }
}

/// A line of the cart.
#[derive(Debug, Clone)]
pub struct CartLine {
    /// The product.
    pub card: ProductCard,
    /// How many.
    pub quantity: u32,
    /// Price times quantity.
    pub total: String,
}

/// The checkout form's fields (Online Boutique's names), as shown or as posted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CheckoutForm {
    /// Where the confirmation goes.
    pub email: String,
    /// Street and number.
    pub street_address: String,
    /// Postal code.
    pub zip_code: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Country: a two-letter code or a name.
    pub country: String,
    /// Card number.
    pub credit_card_number: String,
    /// Expiry month, 1 to 12.
    pub credit_card_expiration_month: String,
    /// Expiry year.
    pub credit_card_expiration_year: String,
    /// Card security code.
    pub credit_card_cvv: String,
    /// Who receives the parcel (ours; Online Boutique has no such field).
    #[serde(default)]
    pub name: String,
    /// Set once per form shown, so posting it twice places one order (ours too).
    #[serde(default)]
    pub checkout_token: String,
}

fn field(
    label: &'static str,
    name: &'static str,
    value: String,
    kind: &'static str,
    autocomplete: &'static str,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type=kind name=name value=value autocomplete=autocomplete required/>
        </label>
    }
}

/// The cart, its total and the checkout form; `error` says why the last checkout failed.
#[component]
pub fn CartPage(lines: Vec<CartLine>, subtotal: String, form: CheckoutForm, error: Option<String>) -> impl IntoView {
    if lines.is_empty() {
        return view! {
            <section class="panel narrow">
                <h1>"Your cart is empty"</h1>
                <p>"Items you add to your cart will appear here."</p>
                <p><a class="button" href="/">"Continue shopping"</a></p>
            </section>
        }
        .into_any();
    }
    let units: u32 = lines.iter().map(|line| line.quantity).sum();
    view! {
        <h1>"Cart"</h1>
        {error.map(|error| view! { <p class="alert" role="alert">{error}</p> })}
        <div class="cart">
            <section class="panel">
                <h2>{format!("{units} item{}", if units == 1 { "" } else { "s" })}</h2>
                <ul class="cart-lines">
                    {lines
                        .into_iter()
                        .map(|line| {
                            view! {
                                <li>
                                    <img src=picture(&line.card.id) alt="" width="72" height="72"/>
                                    <a href=format!("/product/{}", line.card.id)>{line.card.name}</a>
                                    <span class="muted">{format!("× {}", line.quantity)}</span>
                                    <span class="price">{line.total}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <p class="total">"Subtotal " <strong>{subtotal}</strong></p>
                <p class="muted">"Shipping, freight and any loyalty discount are added at checkout."</p>
                <form method="post" action="/cart/empty">
                    <button type="submit" class="button secondary">"Empty cart"</button>
                </form>
            </section>
            <form class="panel checkout" method="post" action="/cart/checkout">
                <h2>"Shipping address"</h2>
                <input type="hidden" name="checkout_token" value=form.checkout_token/>
                {field("Email", "email", form.email, "email", "email")}
                {field("Name", "name", form.name, "text", "name")}
                {field("Street address", "street_address", form.street_address, "text", "street-address")}
                <div class="row">
                    {field("Zip code", "zip_code", form.zip_code, "text", "postal-code")}
                    {field("City", "city", form.city, "text", "address-level2")}
                </div>
                <div class="row">
                    {field("State", "state", form.state, "text", "address-level1")}
                    {field("Country", "country", form.country, "text", "country")}
                </div>
                <h2>"Payment"</h2>
                {field("Card number", "credit_card_number", form.credit_card_number, "text", "cc-number")}
                <div class="row">
                    {field("Month", "credit_card_expiration_month", form.credit_card_expiration_month, "number", "cc-exp-month")}
                    {field("Year", "credit_card_expiration_year", form.credit_card_expiration_year, "number", "cc-exp-year")}
                    {field("CVV", "credit_card_cvv", form.credit_card_cvv, "text", "cc-csc")}
                </div>
                <button type="submit" class="button wide">"Place order"</button>
            </form>
        </div>
    }
    .into_any()
}

/// The confirmation shown once an order is placed.
#[component]
pub fn OrderPlaced(order_id: String, total: String, email: String, held: bool, signed_in: bool) -> impl IntoView {
    view! {
        <section class="panel narrow confirmation">
            <h1>"Thank you, your order is placed"</h1>
            {held.then(|| view! { <p class="alert">"We are double-checking this order before it ships; we will email you."</p> })}
            <dl class="facts">
                <dt>"Order"</dt><dd id="order-id">{order_id.clone()}</dd>
                <dt>"Tracking"</dt><dd>"The carrier's tracking number, once your order ships"</dd>
                <dt>"Total paid"</dt><dd>{total}</dd>
                <dt>"Confirmation sent to"</dt><dd>{email}</dd>
            </dl>
            <p>
                {signed_in.then(|| view! { <a class="button" href=format!("/account/orders/{order_id}")>"Track this order"</a> " " })}
                <a class="button secondary" href="/">"Continue shopping"</a>
            </p>
        </section>
    }
}

/// The sign-in form.
#[component]
pub fn SignIn(email: String, next: String, error: Option<String>) -> impl IntoView {
    view! {
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            {error.map(|error| view! { <p class="alert" role="alert">{error}</p> })}
            <form method="post" action="/signin" class="stack">
                <input type="hidden" name="next" value=next/>
                <label class="field"><span>"Email"</span>
                    <input type="email" name="email" value=email autocomplete="username" required/></label>
                <label class="field"><span>"Password"</span>
                    <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" class="button wide">"Sign in"</button>
            </form>
            <p class="muted">"Demo accounts: any demo customer's email (e.g. daniel.weber@example.de) or ana@boutique.example (CRM agent), password boutique-demo."</p>
        </section>
    }
}

//! Online Boutique's frontend routes with its form fields, as a load generator or a browser
//! without JavaScript sends them: no browser, plain HTTP with a cookie.

use boutique::registry::System;
use business_services::payment::test_cards::approved_card_number;
use business_services::platform::db::Db;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

use crate::harness::Store;

/// How many sessions the web's store holds.
async fn stored_sessions(store: &Store) -> i64 {
    let url = Db::sqlite_url(&store.config.data_dir, "web");
    let db = Db::open(&url, "web", &web_widget::server::MIGRATOR).await.unwrap();
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(db.pool()).await.unwrap();
    db.close().await;
    count
}

/// A client that keeps the session cookie and shows redirects instead of following them.
struct Visitor {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

/// What a request answered.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Visitor {
    fn new(store: &Store) -> Visitor {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Visitor { base: store.url(System::named("web")).to_owned(), http, cookie: None }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.cookie {
            Some(cookie) => request.header(COOKIE, format!("boutique_session={cookie}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let value = set.to_str().unwrap().split(';').next().unwrap().trim_start_matches("boutique_session=");
            self.cookie = Some(value.to_owned()).filter(|value| !value.is_empty());
        }
        let status = response.status();
        let location = response.headers().get(LOCATION).map(|value| value.to_str().unwrap().to_owned());
        Answer { status, location, body: response.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }
}

fn redirected(answer: &Answer, to: &str) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some(to));
}

/// Online Boutique's checkout form, filled as its load generator fills it, with `card`.
fn checkout_form(card: &str) -> Vec<(&'static str, String)> {
    [
        ("email", "someone@example.com"),
        ("street_address", "1600 Amphitheatre Parkway"),
        ("zip_code", "94043"),
        ("city", "Mountain View"),
        ("state", "CA"),
        ("country", "United States"),
        ("credit_card_number", card),
        ("credit_card_expiration_month", "1"),
        ("credit_card_expiration_year", "2039"),
        ("credit_card_cvv", "672"),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// The number the header's cart badge shows on `page`.
fn cart_badge(page: &str) -> Option<&str> {
    let badge = &page[page.find(r#""units in the cart""#)?..];
    let text = &badge[badge.find('>')? + 1..];
    Some(text[..text.find('<')?].trim())
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

#[tokio::test]
async fn online_boutique_routes_accept_its_form_fields() {
    let store = Store::start(|_| {}).await;
    let mut visitor = Visitor::new(&store);

    let health = visitor.get("/_healthz").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, "ok"));
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Oak Bookcase") && visitor.cookie.is_some(), "the grid, and a session");
    let product = visitor.get("/product/oak-bookcase").await;
    assert!(product.status == StatusCode::OK && product.body.contains(r#"name="product_id""#));
    assert_eq!(visitor.get("/product/no-such-thing").await.status, StatusCode::NOT_FOUND);
    Visitor::new(&store).get("/").await;
    assert_eq!(stored_sessions(&store).await, 0, "page views alone store no session");

    redirected(&visitor.post("/cart", &[("product_id", "velvet-cushion"), ("quantity", "3")]).await, "/cart");
    assert_eq!(stored_sessions(&store).await, 1, "a cart line keeps the session");
    let cart = visitor.get("/cart").await;
    assert!(cart.body.contains("× 3") && cart.body.contains(r#"name="credit_card_cvv""#), "{}", cart.body);
    assert_eq!(
        visitor.post("/cart", &[("product_id", "velvet-cushion"), ("quantity", "0")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        visitor.post("/cart", &[("product_id", "no-such-thing"), ("quantity", "1")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    redirected(&visitor.post("/setCurrency", &[("currency_code", "EUR")]).await, "/");
    assert!(visitor.get("/cart").await.body.contains('€'), "prices in euros");
    assert_eq!(
        visitor.post("/setCurrency", &[("currency_code", "XXX")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let mut form = checkout_form(&approved_card_number());
    form[5].1 = "Atlantis".into();
    let refused = visitor.post("/cart/checkout", &pairs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Country") && refused.body.contains("Atlantis"),
        "the form comes back with the reason"
    );

    // A card the gateway refuses (expired) brings the form back with the reason, not a 502.
    let mut expired = checkout_form(&approved_card_number());
    expired[8].1 = "2020".into();
    let refused = visitor.post("/cart/checkout", &pairs(&expired)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("expired") && refused.body.contains("2020"), "{}", refused.body);

    let placed = visitor.post("/cart/checkout", &pairs(&checkout_form(&approved_card_number()))).await;
    assert_eq!(placed.status, StatusCode::OK, "{}", placed.body);
    assert!(placed.body.contains("your order is placed") && placed.body.contains("ord"), "{}", placed.body);
    assert_eq!(cart_badge(&refused.body), Some("3"), "a refused checkout keeps the cart");
    assert_eq!(cart_badge(&placed.body), Some("0"), "the confirmation shows the cart consumed");
    assert!(visitor.get("/cart").await.body.contains("Your cart is empty"), "checkout empties the cart");

    redirected(&visitor.post("/cart", &[("product_id", "velvet-cushion"), ("quantity", "1")]).await, "/cart");
    redirected(&visitor.post("/cart/empty", &[]).await, "/");
    assert!(visitor.get("/cart").await.body.contains("Your cart is empty"));

    let cookie = visitor.cookie.clone();
    redirected(&visitor.get("/logout").await, "/");
    assert_eq!(visitor.cookie, None, "the cookie is cleared");
    visitor.cookie = cookie;
    visitor.get("/").await;
    assert_ne!(visitor.cookie, None, "the old session is gone: a new one starts");
    store.stop().await;
}

#[tokio::test]
async fn customers_and_agents_sign_in_to_their_own_pages() {
    let store = Store::start(|_| {}).await;
    let mut customer = Visitor::new(&store);
    redirected(&customer.get("/account").await, "/signin?next=/account");
    let wrong = customer.post("/signin", &[("email", "daniel.weber@example.de"), ("password", "guess")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let guest = customer.cookie.clone();
    let signed_in =
        customer.post("/signin", &[("email", "Daniel.Weber@example.de"), ("password", "boutique-demo")]).await;
    redirected(&signed_in, "/account");
    assert_ne!(customer.cookie, guest, "signing in starts a new session");
    let orders = customer.get("/account").await;
    let order = &store.orders[crate::harness::BOB];
    assert!(orders.body.contains(order.as_str()), "{}", orders.body);
    let detail = customer.get(&format!("/account/orders/{order}")).await;
    assert!(detail.status == StatusCode::OK && detail.body.contains("Timeline"), "{}", detail.body);
    let someone_else = customer.get(&format!("/account/orders/{}", store.orders[crate::harness::ALICE])).await;
    assert_eq!(someone_else.status, StatusCode::NOT_FOUND, "another customer's order is not found");
    assert_eq!(customer.get("/crm").await.status, StatusCode::FORBIDDEN);

    // The chat as a plain form: the answer is on the page it returns to.
    let posted = customer.post("/chat", &[("text", "Where is my order?"), ("return_to", "/account")]).await;
    redirected(&posted, "/account#chat");
    let page = customer.get("/account").await;
    assert!(page.body.contains("Where is my order?") && page.body.contains("msg concierge"), "{}", page.body);

    let mut agent = Visitor::new(&store);
    redirected(
        &agent.post("/signin", &[("email", "ana@boutique.example"), ("password", "boutique-demo")]).await,
        "/crm",
    );
    let hits = agent.get("/crm?q=weber").await;
    assert!(hits.body.contains("/crm/customers/cus-1002") && hits.body.contains("d***"), "masked email: {}", hits.body);
    let profile = agent.get("/crm/customers/cus-1002").await;
    assert!(profile.body.contains("Daniel Weber") && profile.body.contains(order.as_str()), "{}", profile.body);
    let staff_order = agent.get(&format!("/crm/customers/cus-1002/orders/{order}?investigate=1")).await;
    assert!(
        staff_order.body.contains("Fraud check") && staff_order.body.contains("Investigate order"),
        "{}",
        staff_order.body
    );
    store.stop().await;
}

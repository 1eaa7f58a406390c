//! The currency selector: a form posting `currency_code` to `/setCurrency`, which submits itself
//! when a currency is picked once hydrated.

use leptos::prelude::*;

/// Picks the currency prices are shown in. `codes` are the offered ISO codes; `current` is
/// selected.
#[island]
pub fn CurrencyPicker(codes: Vec<String>, current: String) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    let submit = move |_| super::browser::submit(form);
    view! {
        <form class="currency" method="post" action="/setCurrency" node_ref=form>
            <label for="currency_code" class="visually-hidden">"Currency"</label>
            <select id="currency_code" name="currency_code" on:change=submit>
                {codes
                    .into_iter()
                    .map(|code| {
                        let selected = code == current;
                        view! { <option value=code.clone() selected=selected>{code.clone()}</option> }
                    })
                    .collect_view()}
            </select>
            <button type="submit" class="button small" class:hidden=move || hydrated.get()>"Set"</button>
        </form>
    }
}

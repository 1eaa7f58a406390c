//! What the islands do in the browser: submit a form, post a message and read the streamed
//! answer. Event handlers run only there; the server build renders the same views and never
//! calls these.

use leptos::html::{Form, Textarea};
use leptos::prelude::*;

use super::sse::ChatEvent;

/// Submits `form` as if its submit button were pressed (running its submit handler).
pub fn submit(form: NodeRef<Form>) {
    #[cfg(feature = "hydrate")]
    let _ = form.get_untracked().map(|form| form.request_submit());
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

/// Takes the trimmed text of `area`, leaving it empty; `None` when there is nothing to send.
pub fn take_text(area: NodeRef<Textarea>) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let area = area.get_untracked()?;
        let text = area.value().trim().to_owned();
        area.set_value("");
        (!text.is_empty()).then_some(text)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = area;
        None
    }
}

/// Posts `text` to the storefront's chat stream (about `customer`, for staff) and hands each
/// event of the answer to `on_event` as it arrives; a failure ends with [`ChatEvent::Error`].
pub async fn stream_chat(text: String, customer: Option<String>, mut on_event: impl FnMut(ChatEvent)) {
    #[cfg(feature = "hydrate")]
    if let Err(message) = fetch::stream(&text, customer.as_deref(), &mut on_event).await {
        on_event(ChatEvent::Error(message));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (text, customer, &mut on_event);
}

#[cfg(feature = "hydrate")]
mod fetch {
    use js_sys::{Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Headers, ReadableStreamDefaultReader, RequestCredentials, RequestInit, Response, UrlSearchParams};

    use sse_decoder::SseDecoder;

    use super::super::sse::{ChatEvent, parse_event};

    /// Where the storefront streams the Concierge's answers.
    const STREAM_PATH: &str = "/chat/stream";

    fn described(error: JsValue) -> String {
        error.as_string().unwrap_or_else(|| "the connection to the store failed; try again".to_owned())
    }

    pub async fn stream(
        text: &str,
        customer: Option<&str>,
        on_event: &mut impl FnMut(ChatEvent),
    ) -> Result<(), String> {
        let window = web_sys::window().ok_or("no browser window")?;
        let form = UrlSearchParams::new().map_err(described)?;
        form.append("text", text);
        if let Some(customer) = customer {
            form.append("customer", customer);
        }
        let headers = Headers::new().map_err(described)?;
        headers.set("accept", "text/event-stream").map_err(described)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&form.into());
        init.set_headers(&headers.into());
        init.set_credentials(RequestCredentials::SameOrigin);
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(STREAM_PATH, &init))
            .await
            .map_err(described)?
            .dyn_into()
            .map_err(described)?;
        if !response.ok() {
            let body = JsFuture::from(response.text().map_err(described)?).await.map_err(described)?;
            let detail = serde_json::from_str::<serde_json::Value>(&body.as_string().unwrap_or_default())
                .ok()
                .and_then(|problem| problem.get("detail")?.as_str().map(str::to_owned));
            return Err(detail.unwrap_or_else(|| format!("the store answered {}", response.status())));
        }
        let reader: ReadableStreamDefaultReader = response
            .body()
            .ok_or("the answer had no body")?
            .get_reader()
            .dyn_into()
            .map_err(|reader| described(reader.into()))?;
        let mut decoder = SseDecoder::default();
        loop {
            let chunk = JsFuture::from(reader.read()).await.map_err(described)?;
            if Reflect::get(&chunk, &"done".into()).map_err(described)?.as_bool().unwrap_or(true) {
                decoder.finish().and_then(|data| parse_event(&data)).into_iter().for_each(&mut *on_event);
                return Ok(());
            }
            let bytes: Uint8Array =
                Reflect::get(&chunk, &"value".into()).map_err(described)?.dyn_into().map_err(described)?;
            decoder.push(&bytes.to_vec()).iter().filter_map(|data| parse_event(data)).for_each(&mut *on_event);
        }
    }
}

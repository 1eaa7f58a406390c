//! The chat widget: the Concierge's conversation on every storefront page and beside each
//! customer in the CRM dashboard. Without JavaScript it is a form posting to `/chat` and the page
//! shows the transcript; hydrated, it streams the answer in place and says when the Concierge is
//! checking back-office data.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html::{Form, Textarea};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::browser;
use super::sse::ChatEvent;

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The customer or agent at the keyboard.
    User,
    /// The Concierge.
    Concierge,
    /// The store itself: errors, hand-over offers.
    Notice,
}

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    /// Who said it.
    pub speaker: Speaker,
    /// What.
    pub text: String,
}

impl ChatLine {
    fn new(speaker: Speaker, text: impl Into<String>) -> ChatLine {
        ChatLine { speaker, text: text.into() }
    }
}

/// What the server knows when it renders the widget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatProps {
    /// The conversation so far.
    pub lines: Vec<ChatLine>,
    /// Whether the panel starts open (after a message was sent without JavaScript).
    pub open: bool,
    /// The page to come back to after a form post.
    pub return_to: String,
    /// For staff: the customer the conversation is about.
    pub customer: Option<String>,
    /// Text to start the message box with ("Investigate order …").
    pub suggestion: Option<String>,
    /// The Concierge proposed a hand-over that the user has not confirmed yet.
    pub handover: bool,
}

/// A speech bubble, drawn rather than taken from a font that may lack emoji.
#[component]
pub fn ChatIcon() -> impl IntoView {
    view! {
        <svg class="chat-icon" aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">
            <path d="M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z" fill="currentColor"/>
        </svg>
    }
}

/// The Concierge's chat panel.
#[island]
pub fn ChatWidget(chat: ChatProps) -> impl IntoView {
    let ChatProps { lines, open, return_to, customer, suggestion, handover } = chat;
    let staff = customer.is_some();
    let lines = RwSignal::new(lines);
    let status = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let handover = RwSignal::new(handover);
    let form = NodeRef::<Form>::new();
    let text = NodeRef::<Textarea>::new();

    let on_event = move |event: ChatEvent| match event {
        ChatEvent::Text(more) => lines.update(|lines| {
            if let Some(last) = lines.last_mut().filter(|line| line.speaker == Speaker::Concierge) {
                last.text.push_str(&more);
            }
        }),
        ChatEvent::Tool(tool) => status.set(ChatEvent::tool_status(&tool).to_owned()),
        ChatEvent::Handover(reason) => {
            handover.set(true);
            lines.update(|lines| lines.push(ChatLine::new(Speaker::Notice, reason)));
        }
        ChatEvent::Done => status.set(String::new()),
        ChatEvent::Error(message) => {
            status.set(String::new());
            lines.update(|lines| lines.push(ChatLine::new(Speaker::Notice, message)));
        }
    };
    let about = customer.clone();
    let send = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(message) = browser::take_text(text) else { return };
        lines.update(|lines| {
            lines.push(ChatLine::new(Speaker::User, message.clone()));
            lines.push(ChatLine::new(Speaker::Concierge, ""));
        });
        busy.set(true);
        status.set("Thinking…".to_owned());
        let about = about.clone();
        leptos::task::spawn_local(async move {
            browser::stream_chat(message, about, on_event).await;
            busy.set(false);
            status.update(|status| status.clear());
        });
    };
    // Enter sends; Shift+Enter starts a new line.
    let keydown = move |event: KeyboardEvent| {
        if event.key() == "Enter" && !event.shift_key() {
            event.prevent_default();
            browser::submit(form);
        }
    };
    let who = move |speaker: Speaker| match speaker {
        Speaker::User if staff => "You (agent)",
        Speaker::User => "You",
        Speaker::Concierge => "Concierge",
        Speaker::Notice => "Store",
    };
    view! {
        <details class="chat" id="chat" open=open>
            <summary>
                <ChatIcon/>
                {if staff { "Concierge for agents" } else { "Ask our Concierge" }}
            </summary>
            <div class="chat-panel">
                <div class="chat-log" role="log" aria-live="polite" aria-label="Conversation with the Concierge">
                    {move || {
                        let lines = lines.get();
                        if lines.is_empty() {
                            let hello = if staff {
                                "Ask about this customer's orders, deliveries, payments or fraud checks."
                            } else {
                                "Hello! Ask me about products, your cart, an order or our policies."
                            };
                            view! { <p class="chat-hint">{hello}</p> }.into_any()
                        } else {
                            lines
                                .into_iter()
                                .map(|line| {
                                    let class = match line.speaker {
                                        Speaker::User => "msg user",
                                        Speaker::Concierge => "msg concierge",
                                        Speaker::Notice => "msg notice",
                                    };
                                    view! {
                                        <p class=class>
                                            <span class="who">{who(line.speaker)}</span>
                                            <span class="text">{line.text}</span>
                                        </p>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </div>
                <p class="chat-status" role="status">{move || status.get()}</p>
                <form class="handover" method="post" action="/chat/handover" class:hidden=move || !handover.get()>
                    <input type="hidden" name="return_to" value=return_to.clone()/>
                    <button type="submit" class="button secondary">"Yes, open a ticket with a person"</button>
                </form>
                <form class="chat-form" method="post" action="/chat" node_ref=form on:submit=send>
                    <input type="hidden" name="return_to" value=return_to/>
                    {customer.clone().map(|id| view! { <input type="hidden" name="customer" value=id/> })}
                    <label for="chat-text" class="visually-hidden">"Your message"</label>
                    <textarea
                        id="chat-text"
                        name="text"
                        rows="2"
                        maxlength="2000"
                        required
                        placeholder="Type your question…"
                        node_ref=text
                        on:keydown=keydown
                    >
                        {suggestion}
                    </textarea>
                    <button type="submit" class="button" disabled=move || busy.get()>"Send"</button>
                </form>
            </div>
        </details>
    }
}

"""Context strategies as condensers (OpenHands' pattern): each turns the messages of an attempt into
the view the model is sent, `condense(messages) -> messages`, one strategy per module, composed in
a `Pipeline`. The attempt's own messages are never changed."""

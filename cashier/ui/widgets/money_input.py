"""An input for amounts: digits and a dot only; letters pick the payment method."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input


class AmountInput(Input):
    """Typing a method letter (x/w/z/y/q) posts :class:`AmountInput.MethodKey` instead."""

    class MethodKey(Message):
        def __init__(self, letter: str) -> None:
            super().__init__()
            self.letter = letter

    def __init__(self, method_letters: str, **kwargs) -> None:
        super().__init__(restrict=r"[0-9０-９.．。]*", **kwargs)
        self.method_letters = method_letters

    async def _on_key(self, event: events.Key) -> None:
        if event.character and event.character.lower() in self.method_letters:
            event.stop()
            event.prevent_default()
            self.post_message(self.MethodKey(event.character.lower()))
            return
        await super()._on_key(event)

"""`{{ amount|money:currency }}`: minor units shown as people read them (see
`wallets.currencies.format_money`), for every admin page that shows an amount."""

from __future__ import annotations

from django import template

from wallets.currencies import format_money

register = template.Library()


@register.filter(name="money")
def money(minor, currency) -> str:
    """Anything that is not an integer amount (an event without one, a blank) shows as given."""
    if minor is None or minor == "":
        return ""
    if isinstance(minor, bool) or not isinstance(minor, int):
        return str(minor)
    return format_money(minor, str(currency or ""))


@register.filter(name="data_money")
def data_money(data) -> str:
    """`{{ event.data|data_money }}`: the amount of an event's data in its currency, or nothing
    (not every event moves money; a filter argument cannot be a key that may be missing)."""
    if not isinstance(data, dict):
        return ""
    amount, currency = data.get("amount"), data.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
        return ""
    return format_money(amount, currency)

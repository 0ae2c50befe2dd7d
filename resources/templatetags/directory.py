from django import template

from .. import phones

register = template.Library()


@register.simple_tag(takes_context=True)
def without_filter(context, param, value=None):
    """The current query string with one filter value (or the whole parameter) removed, back on page 1."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    if value is None:
        query.pop(param, None)
    else:
        query.setlist(param, [item for item in query.getlist(param) if item != value])
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def phone_display(number):
    return phones.display(number)

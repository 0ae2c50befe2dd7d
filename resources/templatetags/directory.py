from django import template

from .. import phones

register = template.Library()


@register.simple_tag(takes_context=True)
def without_filter(context, param, value=None):
    """The current query string with one filter value (or the whole parameter, or several parameters given
    as a tuple) removed, back on page 1."""
    query = context["request"].GET.copy()
    query.pop("page", None)
    if value is None:
        for name in param if isinstance(param, tuple | list) else [param]:
            query.pop(name, None)
    else:
        query.setlist(param, [item for item in query.getlist(param) if item != value])
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def phone_display(number):
    return phones.display(number)

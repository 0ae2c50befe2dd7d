"""The change history of listings: who changed which field, when, from what to what.

django-simple-history keeps a historical table beside each listing model (`Service.history`, ...; see
`models.base.ListingHistory`): one row per save holding the values after it, the kind of change, the user
(the signed-in curator, through its request middleware, or the `by` of a write function) and a change
reason, which holds the author when there is no user (an import's label). Writes that go around save() (the
review functions' UPDATEs, the importer's bulk INSERTs) record their rows with `record()`, in bulk.

Safety (DESIGN.md): a confidential place's street address, coordinates and whatever else could reveal it
are never written to a history table. A historical row of a confidential location keeps only what its
public document keeps; an address row of a confidential location (or of one that no longer exists) loses
its street lines and postal code. Single saves are blanked by `models.base.HistoryBase` before the INSERT,
bulk ones inside the INSERT ... SELECT itself; when a place becomes confidential, its earlier rows and its
addresses' are blanked too (`scrub_places`). A queryset .update(is_confidential=True) goes around all of
this: mark places confidential through a save (the admin does) or call `scrub_places` after it.

`changes()` reads the history back as HSDS metadata (one change of one field), for the export and the API.
"""

import collections
import datetime
import decimal
import itertools
import uuid as uuid_module

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .models import (
    Address,
    Hotline,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTerm,
)

# What a confidential location's historical row keeps: what its public document keeps.
LOCATION_KEPT = {"id", "uuid", "organization", "location_type", "is_confidential"}
# What an address of a confidential location loses (its public document keeps city, region and country).
ADDRESS_STREET = ("attention", "address_1", "address_2", "postal_code")

# The models whose history is a listing's: a service with what hangs on it, and the places it is at.
SERVICE_PARTS = (Hotline, Phone, Schedule, ServiceArea, Language, ServiceTerm, ServiceAtLocation)
TRACKED = (Organization, Service, Location, Address, *SERVICE_PARTS)

# The HSDS table each model's rows are (ServiceTerm: the attribute linking the service to a term).
RESOURCE_TYPES = {
    Organization: "organization",
    Service: "service",
    Hotline: "service",
    Location: "location",
    Address: "address",
    Phone: "phone",
    Schedule: "schedule",
    ServiceArea: "service_area",
    Language: "language",
    ServiceTerm: "attribute",
    ServiceAtLocation: "service_at_location",
}
# Bookkeeping that changes with every write, and keys: not a change anybody made to what a listing says.
NOT_CHANGES = {"id", "uuid", "last_modified", "review_state_changed_at", "subdivision"}
ACTIONS = {"+": "create", "~": "update", "-": "delete"}
# Metadata ids are derived from the history row and the field, so every export says the same.
METADATA_NAMESPACE = uuid_module.UUID("3f0f7d5e-6c55-4a53-a0a5-2b7fb1d8c9e4")
REASON_LENGTH = 100  # django-simple-history's change reason column


def secret_fields(model):
    """The fields of `model` that a confidential place's history must not hold."""
    if model is Location:
        return [field for field in Location._meta.concrete_fields if field.name not in LOCATION_KEPT]
    if model is Address:
        return [Address._meta.get_field(name) for name in ADDRESS_STREET]
    return []


def _blank(field):
    return None if field.null else ""


def blank_secrets(row):
    """Blank what a historical row of a confidential place must not hold (called before it is written)."""
    model = row.instance_type
    if model is Location:
        secret = row.is_confidential
    elif model is Address:
        secret = _place_is_secret(row.location_id)
    else:
        return
    if secret:
        for field in secret_fields(model):
            setattr(row, field.attname, _blank(field))


def _place_is_secret(location_id):
    confidential = Location.objects.filter(pk=location_id).values_list("is_confidential", flat=True).first()
    # A place that is gone (its addresses' deletion is recorded after it) cannot say: treated as secret.
    return confidential is not False


def after_save(row):
    """After a historical row is written: a place that is confidential now has its earlier rows blanked."""
    if row.instance_type is Location and row.is_confidential:
        scrub_places([row.id])


def scrub_places(location_ids):
    """Blank the street address and coordinates in every historical row of these places and their addresses
    (for places that became confidential after their history began)."""
    location_ids = list(location_ids)
    if not location_ids:
        return
    for model, owner in ((Location, "id"), (Address, "location_id")):
        fields = secret_fields(model)
        holds_something = Q()
        for field in fields:
            holds_something |= Q(**{f"{field.attname}__isnull": False}) if field.null else ~Q(**{field.attname: ""})
        rows = model.history.model.objects.filter(**{f"{owner}__in": location_ids}).filter(holds_something)
        rows.update(**{field.attname: _blank(field) for field in fields})


def record(model, ids, *, history_type, by=None, reason=None, column="id", when=None):
    """Write a historical row for each row of `model` whose `column` is in `ids`, as the database holds it now.

    For writes that go around save(): one INSERT ... SELECT per 900 rows, nothing read into Python. A
    confidential place's secret fields are blanked in the SELECT, so they are never written. Without `by`,
    the signed-in user of the request being served, if any, is the author (as for a save).
    """
    ids = list(ids)
    if not ids:
        return
    by = by or _request_user()
    historical = model.history.model
    db = connections[router.db_for_write(historical)]
    quote = db.ops.quote_name
    condition = _secret_condition(model, quote)
    secret = {field.name for field in secret_fields(model)}
    columns, values = [], []
    for field in historical.tracked_fields:
        columns.append(quote(field.column))
        value = f"t.{quote(field.column)}"
        if field.name in secret:
            value = f"CASE WHEN {condition} THEN {'NULL' if field.null else chr(39) * 2} ELSE {value} END"
        values.append(value)
    extra = ["history_date", "history_type", "history_user_id", "history_change_reason"]
    columns += [quote(historical._meta.get_field(name).column) for name in extra]
    date_field = historical._meta.get_field("history_date")
    params = [
        date_field.get_db_prep_save(when or timezone.now(), db),
        history_type,
        getattr(by, "pk", None),
        (reason or None) and reason[:REASON_LENGTH],
    ]
    sql = (
        f"INSERT INTO {quote(historical._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} t "
        f"WHERE t.{quote(column)} IN "
    )
    with db.cursor() as cursor:
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            cursor.execute(sql + "(" + ", ".join(["%s"] * len(part)) + ")", params + part)
    if model is Location:
        scrub_places(
            Location.objects.filter(**{f"{column}__in": ids}, is_confidential=True).values_list("pk", flat=True)
        )


def _request_user():
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _secret_condition(model, quote):
    """SQL true when the row `t` of `model` belongs to a confidential place (or to a place no longer there)."""
    if model is Location:
        return f"t.{quote('is_confidential')}"
    if model is Address:
        places = quote(Location._meta.db_table)
        return (
            f"NOT EXISTS (SELECT 1 FROM {places} p WHERE p.{quote('id')} = t.{quote('location_id')} "
            f"AND NOT p.{quote('is_confidential')})"
        )
    return None


# --- reading the history back as changes ----------------------------------------------------------------

Change = collections.namedtuple(
    "Change",
    "id resource_id resource_type date action field_name previous_value replacement_value updated_by moment user_id",
)


def service_changes(services, *, every=False):
    """{service key: [Change, ...]}: each service's changes and its parts' (phones, hours, areas, languages,
    terms, places it is at, hotline facts), oldest first. Parts created the day their service was are part
    of its creation, and left out unless `every` (the curators' history page shows every row)."""
    keys = [service.pk for service in services]
    found = changes(Service, keys)
    owners = {
        service.pk: (service.uuid, None if every else _created(found.get(service.pk, ()))) for service in services
    }
    # In public, a link to a confidential place says nothing of itself (its description may name the place);
    # the curators' history page (`every`) shows it.
    secret_links = ~Q(location_id__in=Location.objects.filter(is_confidential=True).values("pk"))
    for model in SERVICE_PARTS:
        condition = secret_links if model is ServiceAtLocation and not every else None
        listed_by_key = changes(
            model, keys, column="service_id", owners=owners, owner_type="service", condition=condition
        )
        for key, listed in listed_by_key.items():
            found.setdefault(key, []).extend(listed)
    return {key: sorted(listed, key=_moment) for key, listed in found.items()}


def place_changes(locations):
    """{location key: [Change, ...]}: each place's changes and its addresses', oldest first. Not their
    creation: a place is where services are, its document says so, and its addresses are in it. None for a
    confidential place (its history holds nothing to tell, and it is nobody's to know when it changed)."""
    keys = [location.pk for location in locations if not location.is_confidential]
    found = changes(Location, keys, condition=~Q(history_type="+"))
    owners = {location.pk: (location.uuid, None) for location in locations}
    addresses = changes(
        Address, keys, column="location_id", owners=owners, owner_type="location", condition=~Q(history_type="+")
    )
    for key, listed in addresses.items():
        found.setdefault(key, []).extend(listed)
    return {key: sorted(listed, key=_moment) for key, listed in found.items() if listed}


def organization_changes(organizations):
    return changes(Organization, [organization.pk for organization in organizations])


def _created(listed):
    return next((change.date for change in listed if change.action == "create"), None)


def _moment(change):
    return change.moment


def author(user_id, reason, staff):
    """Who made a change, as the open data says it: a role, never a person's name or login (the people who
    curate a directory for trafficking survivors are not to be found through it); an import's label."""
    if user_id is not None:
        return "curator" if staff.get(user_id) else "partner"
    return reason or "system"


def changes(model, ids, *, column="id", owners=None, owner_type=None, condition=None):
    """The changes recorded for the rows of `model` whose `column` is in `ids` (a part of a listing: the key
    of what it belongs to), as {value of column: [Change, ...]} in the order they were made. One query per
    900 ids, and one for the authors.

    A creation is one change (field "id"), as is a deletion; an update is one change per field whose value
    differs from the row before (the values are read only for the objects that have updates: most rows of
    an imported directory are creations). For the parts of a listing, `owners` ({value of column: (uuid, date
    created)}) and `owner_type` (its HSDS table) say what they belong to: a part created on the day its owner
    was is part of that creation and not a change of its own; a part deleted is a change of its owner (its
    HSDS table as the field, its id as the previous value), since it is no longer there to name; a
    hotline's changes are its service's. `condition` (a Q on the historical rows) narrows what is read.
    """
    historical = model.history.model
    fields = [
        field
        for field in historical.tracked_fields
        if field.name not in NOT_CHANGES and not field.is_relation and not (model is Hotline and field.name == "id")
    ]
    owners = owners or {}
    names = ["history_id", "history_date", "history_type", "history_user_id", "history_change_reason", "id"]
    names += [column, "service_id" if model is Hotline else "uuid"]
    rows = _rows(historical, column, ids, names, _not_with_owner(owners, ids) & (condition or Q()))
    rows.sort(key=lambda row: (row[5], row[1], row[0]))  # object, date, then history id
    # Each update's row before it, and the values of both: read only for the objects that were updated.
    updated = sorted({row[5] for row in rows if row[2] == "~"})
    full = _rows(historical, "id", updated, ["history_id", "id", "history_date", *(f.attname for f in fields)])
    full.sort(key=lambda row: (row[1], row[2], row[0]))
    values = {row[0]: row[3:] for row in full}
    predecessor = {row[0]: previous[0] for previous, row in itertools.pairwise(full) if previous[1] == row[1]}
    users = {row[3] for row in rows if row[3] is not None}
    staff = dict(get_user_model().objects.filter(pk__in=users).values_list("pk", "is_staff")) if users else {}
    resource_type = RESOURCE_TYPES[model]
    prefix = "hotline." if model is Hotline else ""
    found = {}
    zone = timezone.get_current_timezone()  # once: asking for it per row was a fifth of the time
    for row in rows:
        key, kind, date = row[6], row[2], row[1].astimezone(zone).date()
        owner_id, owner_created = owners.get(key, (None, None))
        if kind == "+" and owner_created == date:
            continue  # the part was made with its owner: the owner's creation says it
        resource_id = str(owner_id if model is Hotline else row[7])
        common = {
            "date": date,
            "action": ACTIONS[kind],
            "updated_by": author(row[3], row[4], staff),
            "user_id": row[3],
            "moment": row[1],
        }
        listed = found.setdefault(key, [])
        if kind == "~":
            if row[0] in predecessor:
                for field, old, new in zip(fields, values[predecessor[row[0]]], values[row[0]], strict=True):
                    if old != new:
                        name = prefix + field.name
                        listed.append(_change(model, row, resource_id, resource_type, name, old, new, common))
        elif model is Hotline:
            # The hotline facts are a part of their service without an id of their own.
            before, after = ("yes", None) if kind == "-" else (None, "yes")
            listed.append(_change(model, row, resource_id, resource_type, "hotline", before, after, common))
        elif kind == "+":
            listed.append(_change(model, row, resource_id, resource_type, "id", None, resource_id, common))
        elif owner_id is not None:
            listed.append(_change(model, row, str(owner_id), owner_type, resource_type, resource_id, None, common))
        else:
            listed.append(_change(model, row, resource_id, resource_type, "id", resource_id, None, common))
    return found


def _not_with_owner(owners, ids):
    """A condition leaving out, in the database, the creations of parts made the day their owners were
    (rows the loop below would skip anyway; in an imported directory, nearly all of them)."""
    created = [owners.get(key, (None, None))[1] for key in ids]
    if not owners or not created or None in created:
        return Q()
    day_after = min(created) + datetime.timedelta(days=1)
    start = datetime.datetime.combine(day_after, datetime.time.min, tzinfo=timezone.get_current_timezone())
    return ~Q(history_type="+") | Q(history_date__gte=start)


def _rows(historical, column, ids, names, condition=None):
    rows = []
    ids = list(ids)
    found = historical.objects.filter(condition or Q()).order_by()
    for start in range(0, len(ids), 900):
        rows += found.filter(**{f"{column}__in": ids[start : start + 900]}).values_list(*names)
    return rows


def _change(model, row, resource_id, resource_type, field_name, before, after, common):
    key = f"{model._meta.label_lower}:{row[0]}:{field_name}"
    return Change(
        id=str(uuid_module.uuid5(METADATA_NAMESPACE, key)),
        resource_id=resource_id,
        resource_type=resource_type,
        field_name=field_name,
        previous_value=_text(before),
        replacement_value=_text(after),
        **common,
    )


def _text(value):
    """A value as the text HSDS metadata holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)

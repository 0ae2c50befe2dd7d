"""Keys in the search index: for every service, the facts its filters and facet counts need, as tokens.

Each key is lowercase ASCII letters and digits ending in "0" (so no stemmer touches it), at most once per
service, separated by single spaces, in any order:

    kpub0             published and not defunct (what Service.objects.listed() keeps); knopub0 any other (so
                      a search with something else to match leaves out the few hidden services, instead of
                      reading the list of nearly every one)
    kfree0            free of charge
    khot0             has hotline facts (a Hotline row)
    kb{n}0            always: n = id % 1024, a sample bucket
    kt{id}0           each term linked to the service and each of its ancestors, up to 4 levels up
    kl{code}0         each language offered, as Service.objects.language_offers() counts them
    kdinperson0       at a physical place; kdphone0 a call line (Phone.CALL_TYPES); kdtext0 a text line;
    kmap0             at a physical place with coordinates (one distance can be measured to); knomap0 at none
    kgf{i}x{j}0       the map cell of such a place on a grid of quarter degrees: i = floor((latitude + 90) * 4),
                      j = floor((longitude + 180) * 4); kgc{i}x{j}0 its cell on a grid of whole degrees (a
                      distance search lists the services in the cells around its starting point, geo.map_cells)
    kdonline0         available online, or a hotline with an online chat
    kpc{cc}0          the country of an address of a physical place of the service
    kps{sub}0         the subdivision of such an address, without its "-" (US-TX: kpsustx0)
    karea0            any service area; kww0 a worldwide one
    kac{cc}0          the country of a service area (any kind); kas{sub}0 its subdivision
    kwc{cc}0          a whole-country area; kws{sub}0 a whole-subdivision area
    kc{yyyymm}0       the month the listing was last checked (Service.checked_on: the later of its last
                      verification and its last publication; neither: its last change), as a UTC date
    kcd{yyyymmdd}0    the day it was last checked (published() hides listings not checked for a while)

In a column of their own, `hours` (so that reading the keys for facet counts does not read them too):

    koalways0         open 24/7 (Service.objects.open_at(): its own hours or a place's; active services only)
    ko{tz}{d}{hh}0    open for the whole hour hh (00-23) of weekday d (0 Monday) in the timezone tz (its name
                      in lowercase letters and digits) by weekly hours; kq{tz}{d}{qq}0 the whole quarter hour
                      qq (00-95) of such a day, in an hour only partly open; km{tz}{d}{mmmm}0 the minute mmmm
                      (0000-1439), in a quarter only partly open. "Open now" is then, for each timezone in use,
                      one of three keys: exact to the minute (seconds in opening times are rounded inwards)

SQLite: an FTS5 table cannot gain a column, so the table is made again with a `keys` column (same
tokenizer), its vocabulary becomes an fts5vocab of type 'col' (so spelling suggestions can leave the keys
out), and every trigger is made again. PostgreSQL: a `keys` tsvector ('simple', so the tokens stay as
they are) with a GIN index, filled by resources_search_refresh() from resources_search_keys(sid), the keys
of one service as a string, and likewise an `hours` tsvector from resources_search_hours(sid). On both,
triggers on every table a key depends on keep the keys current, whatever writes: services, term links,
terms (a new parent changes the ancestors of every term below), languages, phones, places, their
addresses, links to places, service areas, hotlines and schedules.

A bulk import pauses the insert triggers (SQLite: a row in resources_searchpause; PostgreSQL: the
transaction-local setting resources.search_pause = 'on'), and search.bulk_index then indexes each service
it was told of once. Updates and deletes are never paused.
"""

from importlib import import_module

from django.db import migrations

# Phone.CALL_TYPES and the kinds and types the keys name, as of this migration.
CALL_TYPES = ("voice", "cell", "textphone", "video")
_CALL_TYPES_SQL = ", ".join(f"'{kind}'" for kind in CALL_TYPES)
# The map grids of the kg keys: (letter, cells per degree). geo.MAP_GRIDS names the same.
MAP_GRIDS = (("f", 4), ("c", 1))
# How many levels of ancestors of a linked term are keys.
ANCESTOR_LEVELS = 4
# The index of 0004, for the parts this migration keeps (the text it indexes) and the way back.
_INDEX_0004 = import_module("resources.migrations.0004_search_index")


# The date a listing was last checked (Service.checked_on), as a UTC date: the later of its verification and
# its last publication; when it has neither, its last change.
_SQLITE_CHECKED = (
    "(CASE WHEN ks.assured_date IS NULL AND ks.review_state_changed_at IS NULL THEN date(ks.last_modified) "
    "ELSE max(coalesce(ks.assured_date, ''), coalesce(date(ks.review_state_changed_at), '')) END)"
)
_PG_CHECKED = (
    "(CASE WHEN ks.assured_date IS NULL AND ks.review_state_changed_at IS NULL "
    "THEN (ks.last_modified AT TIME ZONE 'UTC')::date "
    "ELSE greatest(ks.assured_date, (ks.review_state_changed_at AT TIME ZONE 'UTC')::date) END)"
)


def _token(prefix, value):
    """SQL of the key `prefix`{value}0, `value` lowercased with any "-" removed."""
    return f"'{prefix}' || lower(replace(CAST({value} AS TEXT), '-', '')) || '0'"


# Open hours. A weekly schedule counts for "open now" (ScheduleQuerySet.open_at) with days, an opening and a
# closing time; it is open from the opening to the closing time on each of its days, into the next day when
# it closes at or before it opens (compared as times, as open_at does).
_WEEKLY = "freq IN ('', 'WEEKLY') AND opens_at IS NOT NULL AND closes_at IS NOT NULL"
_DAY_CODES = "MOTUWETHFRSASU"
# The three sizes of the open-hour keys: (kind, minutes, digits of the number of the slot in its day).
_OPEN_SLOTS = (("ko", 60, 2), ("kq", 15, 2), ("km", 1, 4))


def _open_ranges(start, end, size, bigger, least="min", greatest="max"):
    """SQL pairs (first, last + 1) of the numbers of the slots of `size` minutes wholly inside the minutes
    [start, end) of a day that lie in no wholly open slot of `bigger` minutes (None: the largest size): at
    most two ranges, next to the start and next to the end."""
    first, stop = f"(({start}) + {size - 1}) / {size}", f"({end}) / {size}"
    if bigger is None:
        return [(first, stop)]
    ratio = bigger // size
    big_first, big_stop = f"(({start}) + {bigger - 1}) / {bigger} * {ratio}", f"({end}) / {bigger} * {ratio}"
    return [(first, f"{least}({stop}, {big_first})"), (f"{greatest}({first}, {big_stop})", stop)]


def _sqlite_minutes(column, round_up=False):
    """SQLite: the minute of the day of a time stored as text ("HH:MM[:SS[.ffffff]]"); any seconds round up."""
    minutes = f"(CAST(substr({column}, 1, 2) AS INTEGER) * 60 + CAST(substr({column}, 4, 2) AS INTEGER))"
    return f"({minutes} + (CAST(substr({column}, 7, 2) AS INTEGER) > 0))" if round_up else minutes


def _hours(sid):
    """SQLite: SQL of the open-hour keys of the service whose id is the SQL `sid`, as one string (NULL for
    none). Aliases are oh_*, none the caller's, as in _keys()."""
    active = f"EXISTS (SELECT 1 FROM resources_service oh_v WHERE oh_v.id = {sid} AND oh_v.status = 'active')"
    schedules = (
        f"SELECT oh_a.id FROM resources_schedule oh_a WHERE oh_a.service_id = {sid} UNION "
        "SELECT oh_b.id FROM resources_serviceatlocation oh_l JOIN resources_schedule oh_b "
        f"ON oh_b.location_id = oh_l.location_id WHERE oh_l.service_id = {sid}"
    )
    tz = "lower(replace(replace(replace(replace(oh_s.timezone, '/', ''), '_', ''), '-', ''), '+', ''))"
    opens, closes = _sqlite_minutes("oh_s.opens_at", round_up=True), _sqlite_minutes("oh_s.closes_at")
    days = (
        f"FROM resources_schedule oh_s JOIN resources_searchslot oh_d ON oh_d.n < 7 AND "
        f"instr(upper(oh_s.byday), substr('{_DAY_CODES}', oh_d.n * 2 + 1, 2)) > 0 "
        f"WHERE oh_s.id IN ({schedules}) AND oh_s.{_WEEKLY.replace(' AND ', ' AND oh_s.')} AND {active}"
    )
    spans = (
        f"SELECT {tz} AS tz, oh_d.n AS day, {opens} AS a, "
        f"CASE WHEN oh_s.closes_at > oh_s.opens_at THEN {closes} ELSE 1440 END AS b {days} "
        f"UNION ALL SELECT {tz}, (oh_d.n + 1) % 7, 0, {closes} {days} AND oh_s.closes_at <= oh_s.opens_at"
    )
    parts = [
        "SELECT 'koalways0' AS token FROM resources_schedule oh_s "
        f"WHERE oh_s.id IN ({schedules}) AND oh_s.open_24_7 AND {active}"
    ]
    bigger = None
    for kind, size, digits in _OPEN_SLOTS:
        number = f"substr('000' || oh_n.n, -{digits})"
        for first, stop in _open_ranges("oh_t.a", "oh_t.b", size, bigger):
            parts.append(
                f"SELECT '{kind}' || oh_t.tz || oh_t.day || {number} || '0' FROM ({spans}) oh_t "
                f"JOIN resources_searchslot oh_n ON oh_n.n >= {first} AND oh_n.n < {stop}"
            )
        bigger = size
    return f"(SELECT group_concat(token, ' ') FROM ({' UNION '.join(parts)}) hours_of_service)"


def _keys(sid):
    """SQLite: SQL of the keys of the service whose id is the SQL `sid`, as one string (NULL for no service).

    Every part is a plain join from the service's id (`ks` is the service; SQLite allows no WITH in a
    trigger), each driven by an index on a foreign key; UNION keeps each key once. No alias here may be one
    the caller uses around it (the caller's `sid` would then name the inner row). PostgreSQL has a function
    of its own instead (_PG_KEYS), whose plans do not depend on the planner's statistics, which a bulk
    import leaves far behind."""
    service = f"FROM resources_service ks WHERE ks.id = {sid}"
    physical = (
        "FROM resources_serviceatlocation sal JOIN resources_location loc ON loc.id = sal.location_id "
        f"{{}}WHERE sal.service_id = {sid} AND loc.location_type = 'physical'"
    )
    places = physical.format("JOIN resources_address a ON a.location_id = loc.id ")
    areas = f"FROM resources_servicearea sa WHERE sa.service_id = {sid}"
    phones = f"FROM resources_phone p WHERE p.service_id = {sid}"
    parts = [
        f"SELECT 'kb' || CAST(ks.id % 1024 AS TEXT) || '0' AS token {service}",
        f"SELECT 'kpub0' {service} AND ks.review_state = 'published' AND ks.status <> 'defunct'",
        f"SELECT 'knopub0' {service} AND NOT (ks.review_state = 'published' AND ks.status <> 'defunct')",
        f"SELECT 'kfree0' {service} AND ks.is_free",
        f"SELECT 'kdonline0' {service} AND ks.available_online",
        f"SELECT 'kc' || strftime('%Y%m', {_SQLITE_CHECKED}) || '0' {service}",
        f"SELECT 'kcd' || strftime('%Y%m%d', {_SQLITE_CHECKED}) || '0' {service}",
        f"SELECT 'khot0' FROM resources_hotline h WHERE h.service_id = {sid}",
        f"SELECT 'kdonline0' FROM resources_hotline h WHERE h.service_id = {sid} AND h.chat_url <> ''",
        f"SELECT 'kdinperson0' {physical.format('')}",
        f"SELECT 'kmap0' {physical.format('')} AND loc.latitude IS NOT NULL",
        f"SELECT 'knomap0' {service} AND NOT EXISTS (SELECT 1 {physical.format('')} AND loc.latitude IS NOT NULL)",
        *(
            # Coordinates are at least -90 and -180, so the CAST (which rounds towards zero) rounds down.
            f"SELECT 'kg{grid}' || CAST((loc.latitude + 90) * {per_degree} AS INTEGER) || 'x' || "
            f"CAST((loc.longitude + 180) * {per_degree} AS INTEGER) || '0' {physical.format('')} "
            "AND loc.latitude IS NOT NULL AND loc.longitude IS NOT NULL"
            for grid, per_degree in MAP_GRIDS
        ),
        f"SELECT 'karea0' {areas}",
        f"SELECT 'kdphone0' {phones} AND p.type IN ({_CALL_TYPES_SQL})",
        f"SELECT 'kdtext0' {phones} AND p.type = 'text'",
        f"SELECT {_token('kpc', 'a.country')} {places} AND a.country <> ''",
        f"SELECT {_token('kps', 'a.subdivision')} {places} AND a.subdivision <> ''",
        f"SELECT 'kww0' {areas} AND sa.kind = 'worldwide'",
        f"SELECT {_token('kac', 'sa.country')} {areas} AND sa.country <> ''",
        f"SELECT {_token('kas', 'sa.subdivision')} {areas} AND sa.subdivision <> ''",
        f"SELECT {_token('kwc', 'sa.country')} {areas} AND sa.kind = 'country' AND sa.country <> ''",
        f"SELECT {_token('kws', 'sa.subdivision')} {areas} AND sa.kind = 'subdivision' AND sa.subdivision <> ''",
        # Languages as language_offers() counts them: COALESCE(the language's service, its phone's service,
        # the services at its place), so a language with a service of its own counts for that one only.
        f"SELECT {_token('kl', 'l.code')} FROM resources_language l WHERE l.service_id = {sid}",
        f"SELECT {_token('kl', 'l.code')} FROM resources_phone p JOIN resources_language l ON l.phone_id = p.id "
        f"WHERE p.service_id = {sid} AND l.service_id IS NULL",
        f"SELECT {_token('kl', 'l.code')} FROM resources_serviceatlocation sal "
        "JOIN resources_language l ON l.location_id = sal.location_id "
        f"WHERE sal.service_id = {sid} AND l.service_id IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM resources_phone lp WHERE lp.id = l.phone_id AND lp.service_id IS NOT NULL)",
        # Each linked term, then its parent, grandparent, ... (a fixed chain of joins).
        f"SELECT {_token('kt', 'st.taxonomy_term_id')} FROM resources_serviceterm st WHERE st.service_id = {sid}",
    ]
    for level in range(ANCESTOR_LEVELS):
        below = ["st.taxonomy_term_id", *(f"t{n}.parent_id" for n in range(level))]
        joins = "".join(f"JOIN resources_taxonomyterm t{n} ON t{n}.id = {below[n]} " for n in range(level + 1))
        parts.append(
            f"SELECT {_token('kt', f't{level}.parent_id')} FROM resources_serviceterm st {joins}"
            f"WHERE st.service_id = {sid} AND t{level}.parent_id IS NOT NULL"
        )
    return f"(SELECT group_concat(token, ' ') FROM ({' UNION '.join(parts)}) keys_of_service)"


def _below(term):
    """SQL of the ids of the term `term` (SQL) and of the terms up to ANCESTOR_LEVELS - 1 levels below it:
    those whose keys name its parent or a term above it, and so change when its parent does."""
    parts = [f"SELECT {term}"]
    for depth in range(1, ANCESTOR_LEVELS):
        # d{depth} is the term found, d1 the child of `term`: a chain of joins from the bottom up.
        chain = "".join(
            f"JOIN resources_taxonomyterm d{n} ON d{n}.id = d{n + 1}.parent_id " for n in range(depth - 1, 0, -1)
        )
        parts.append(f"SELECT d{depth}.id FROM resources_taxonomyterm d{depth} {chain}WHERE d1.parent_id = {term}")
    return " UNION ".join(parts)


def _services_below(term):
    """SQL of the ids of the services linked to the term `term` (SQL) or to a term up to 3 levels below."""
    return f"SELECT st.service_id FROM resources_serviceterm st WHERE st.taxonomy_term_id IN ({_below(term)})"


def _services_at(location):
    return f"SELECT sal.service_id FROM resources_serviceatlocation sal WHERE sal.location_id = {location}"


def _language_services(row):
    """SQL of the services a language row `row` (old, new) may count for."""
    return (
        f"SELECT {row}.service_id UNION SELECT p.service_id FROM resources_phone p WHERE p.id = {row}.phone_id "
        f"UNION {_services_at(f'{row}.location_id')}"
    )


# What a schedule's open-hour keys depend on.
SCHEDULE_COLUMNS = ("service_id", "location_id", "open_24_7", "byday", "opens_at", "closes_at", "timezone", "freq")


def _schedule_services(row):
    """SQL of the services a schedule row `row` (old, new) is the hours of: its own, or those at its place."""
    return f"SELECT {row}.service_id UNION {_services_at(f'{row}.location_id')}"


# --- SQLite ---------------------------------------------------------------------------------------------------

_SQLITE_0004_TRIGGERS = (
    "service_insert",
    "service_update",
    "service_delete",
    "link_insert",
    "link_delete",
    "link_update",
    "organization_update",
    "term_update",
)
# The condition of an insert trigger: no bulk import under way (search.bulk_index).
_PAUSED = "NOT EXISTS (SELECT 1 FROM resources_searchpause)"


def _sqlite_owned(table, columns):
    """Triggers of a table whose rows belong to one service (service_id); `columns`: what an update must
    change to matter."""
    return _sqlite_linked(table, columns, lambda row: f"SELECT {row}.service_id")


def _sqlite_linked(table, columns, services):
    """Triggers of a table whose rows count for the services `services(row)` selects (row: "old", "new");
    `columns`: what an update must change to matter."""
    return [
        (f"{table}_insert", table, "INSERT", _PAUSED, services("new")),
        (f"{table}_delete", table, "DELETE", None, services("old")),
        (
            f"{table}_update",
            table,
            f"UPDATE OF {', '.join(columns)}",
            " OR ".join(f"old.{column} IS NOT new.{column}" for column in columns),
            f"{services('old')} UNION {services('new')}",
        ),
    ]


# The index columns the triggers of a table rewrite (the others: the keys): a schedule changes the hours of
# its services; a link to a place, their keys and the hours (a place's schedules count).
_SQLITE_COLUMNS_OF = {"schedule": ("hours",), "serviceatlocation": ("keys", "hours")}


def _sqlite_key_triggers():
    """Triggers on the tables a key depends on, beyond those of 0004: (name, table, event, WHEN, the SQL of
    the services whose keys to rewrite)."""
    return [
        *_sqlite_owned("phone", ("service_id", "type")),
        *_sqlite_owned("serviceatlocation", ("service_id", "location_id")),
        *_sqlite_owned("servicearea", ("service_id", "kind", "country", "subdivision")),
        *_sqlite_owned("hotline", ("service_id", "chat_url")),
        *_sqlite_linked("language", ("service_id", "phone_id", "location_id", "code"), _language_services),
        *_sqlite_linked(
            "address", ("location_id", "country", "subdivision"), lambda row: _services_at(f"{row}.location_id")
        ),
        *_sqlite_linked("schedule", SCHEDULE_COLUMNS, _schedule_services),
        (
            "location_update",
            "location",
            "UPDATE OF location_type, latitude, longitude",
            # The map cells follow the coordinates (kmap0 and knomap0 only whether there are some).
            "old.location_type IS NOT new.location_type OR old.latitude IS NOT new.latitude "
            "OR old.longitude IS NOT new.longitude",
            _services_at("new.id"),
        ),
    ]


# resources_searchheading: the index without the descriptions, which hold most of its words. A large result's
# first tier (the listings with the words in what they are: name, organization, needs; search._SqliteIndex.
# tiered) is found and ranked there: the lists of its words are a tenth as long, so matching them takes a third
# of the time and bm25, which first reads the whole list of each word to weigh it, half (at 100,000 services,
# "help" for women in Spanish: 4.5 to 1.5 ms to count, 20 to 8 ms to rank). Its text is the index's own, read
# through a view of the index's content table (FTS5 keeps column n in c{n} of resources_searchdocument_content):
# an external-content table, so the text is not stored twice (118 MB at 100,000 services).
HEADING_COLUMNS = ("name", "alternate_name", "organization", "terms", "keys", "hours")
_HEADING_SOURCE = (
    "CREATE VIEW resources_searchheading_source AS SELECT id, c0 AS name, c1 AS alternate_name, "
    "c2 AS organization, c3 AS terms, c5 AS keys, c6 AS hours FROM resources_searchdocument_content"
)


def _headed(services, write):
    """The SQL `write`, which writes the index's entries of the services the SQL `services` selects, and around
    it what writes their headings again: the old ones out, read from the index before it changes (an external
    content table removes what its content says), the new ones in, once it has. A trigger cannot fire on the
    writes of a full-text table, so each trigger that writes the index does this."""
    return (
        f"DELETE FROM resources_searchheading WHERE rowid IN ({services}); {write} "
        f"INSERT INTO resources_searchheading(rowid, {', '.join(HEADING_COLUMNS)}) "
        f"SELECT id, {', '.join(HEADING_COLUMNS)} FROM resources_searchheading_source WHERE id IN ({services});"
    )


_REMOVED = "DELETE FROM resources_searchdocument WHERE rowid = old.id; "
_SERVICES_OF_ORGANIZATION = "SELECT id FROM resources_service WHERE organization_id = new.id"
_ORGANIZATION_RENAMED = (
    "UPDATE resources_searchdocument SET organization = new.name || ' ' || new.alternate_name "
    f"WHERE rowid IN ({_SERVICES_OF_ORGANIZATION});"
)


def _sqlite_sql():
    terms = _INDEX_0004._TERMS.format(concat="group_concat", sid="{sid}")
    org = _INDEX_0004._ORGANIZATION

    def row(sid, oid, prefix):
        return (
            "INSERT INTO resources_searchdocument(rowid, name, alternate_name, organization, terms, description, "
            f"keys, hours) VALUES ({sid}, {prefix}.name, {prefix}.alternate_name, {org.format(oid=oid)}, "
            f"coalesce({terms.format(sid=sid)}, ''), {prefix}.description, coalesce({_keys(sid)}, ''), "
            f"coalesce({_hours(sid)}, ''));"
        )

    def refresh(columns, services):
        """Rewrite `columns` ("terms", "keys", "hours") of the entries of the services the SQL `services` selects."""
        current = "resources_searchdocument.rowid"
        values = {"terms": terms.format(sid=current), "keys": _keys(current), "hours": _hours(current)}
        assignments = ", ".join(f"{column} = coalesce({values[column]}, '')" for column in columns)
        return _headed(services, f"UPDATE resources_searchdocument SET {assignments} WHERE rowid IN ({services});")

    statements = [f"DROP TRIGGER IF EXISTS resources_search_{name}" for name in _SQLITE_0004_TRIGGERS]
    statements += [
        # The numbers 0 to 1439 (the minutes of a day), which the open-hour keys count through.
        "CREATE TABLE IF NOT EXISTS resources_searchslot (n integer PRIMARY KEY)",
        "INSERT OR IGNORE INTO resources_searchslot (n) WITH RECURSIVE slots(n) AS "
        "(SELECT 0 UNION ALL SELECT n + 1 FROM slots WHERE n < 1439) SELECT n FROM slots",
        "DROP TABLE IF EXISTS resources_searchvocabulary",
        "DROP TABLE IF EXISTS resources_searchheading",
        "DROP VIEW IF EXISTS resources_searchheading_source",
        "DROP TABLE IF EXISTS resources_searchdocument",
        "CREATE VIRTUAL TABLE resources_searchdocument USING fts5(name, alternate_name, organization, terms, "
        "description, keys, hours, tokenize = 'porter unicode61 remove_diacritics 2')",
        _HEADING_SOURCE,
        f"CREATE VIRTUAL TABLE resources_searchheading USING fts5({', '.join(HEADING_COLUMNS)}, "
        "content = 'resources_searchheading_source', content_rowid = 'id', "
        "tokenize = 'porter unicode61 remove_diacritics 2')",
        # By column, so that spelling suggestions can leave the keys and hours out.
        "CREATE VIRTUAL TABLE resources_searchvocabulary USING fts5vocab(resources_searchdocument, 'col')",
        # The service itself: its whole entry (search.bulk_index's `SET name = name` rewrites it).
        f"CREATE TRIGGER resources_search_service_insert AFTER INSERT ON resources_service WHEN {_PAUSED} BEGIN "
        f"{_headed('SELECT new.id', row('new.id', 'new.organization_id', 'new'))} END",
        "CREATE TRIGGER resources_search_service_update AFTER UPDATE OF name, alternate_name, description, "
        "organization_id, review_state, status, is_free, available_online, assured_date, review_state_changed_at, "
        "last_modified ON resources_service BEGIN "
        f"{_headed('SELECT old.id UNION SELECT new.id', _REMOVED + row('new.id', 'new.organization_id', 'new'))} END",
        "CREATE TRIGGER resources_search_service_delete AFTER DELETE ON resources_service BEGIN "
        f"{_headed('SELECT old.id', _REMOVED)} END",
        # Its terms: the text of their names and the keys of them and their ancestors.
        f"CREATE TRIGGER resources_search_link_insert AFTER INSERT ON resources_serviceterm WHEN {_PAUSED} BEGIN "
        f"{refresh(('terms', 'keys'), 'SELECT new.service_id')} END",
        "CREATE TRIGGER resources_search_link_delete AFTER DELETE ON resources_serviceterm BEGIN "
        f"{refresh(('terms', 'keys'), 'SELECT old.service_id')} END",
        "CREATE TRIGGER resources_search_link_update AFTER UPDATE ON resources_serviceterm BEGIN "
        f"{refresh(('terms', 'keys'), 'SELECT old.service_id UNION SELECT new.service_id')} END",
        "CREATE TRIGGER resources_search_organization_update AFTER UPDATE OF name, alternate_name "
        "ON resources_organization BEGIN "
        f"{_headed(_SERVICES_OF_ORGANIZATION, _ORGANIZATION_RENAMED)} END",
        # A renamed term is in the text of the services linked to it or to a child; a new parent changes the
        # ancestors of the term and of every term below it.
        "CREATE TRIGGER resources_search_term_update AFTER UPDATE OF name, parent_id ON resources_taxonomyterm "
        "WHEN old.name IS NOT new.name OR old.parent_id IS NOT new.parent_id BEGIN "
        f"{refresh(('terms', 'keys'), _services_below('new.id'))} END",
    ]
    for name, table, event, when, services in _sqlite_key_triggers():
        condition = f"WHEN {when} " if when else ""
        statements.append(
            f"CREATE TRIGGER resources_search_{name} AFTER {event} ON resources_{table} {condition}BEGIN "
            f"{refresh(_SQLITE_COLUMNS_OF.get(table, ('keys',)), services)} END"
        )
    # What is there already.
    statements.append(
        "INSERT INTO resources_searchdocument(rowid, name, alternate_name, organization, terms, description, keys, "
        f"hours) SELECT svc.id, svc.name, svc.alternate_name, {org.format(oid='svc.organization_id')}, "
        f"coalesce({terms.format(sid='svc.id')}, ''), svc.description, coalesce({_keys('svc.id')}, ''), "
        f"coalesce({_hours('svc.id')}, '') FROM resources_service svc"
    )
    statements.append("INSERT INTO resources_searchheading(resources_searchheading) VALUES ('rebuild')")
    return statements


def _sqlite_drop():
    return [f"DROP TRIGGER IF EXISTS resources_search_{name}" for name, *_rest in _sqlite_key_triggers()]


# --- PostgreSQL -------------------------------------------------------------------------------------------

_PG_PAUSED = "coalesce(current_setting('resources.search_pause', true), '') = 'on'"
# (trigger function, table, WHEN of its update trigger): triggers on the tables a key depends on, beyond 0004's.
_PG_KEY_TRIGGERS = (
    ("owned", "phone", ("service_id", "type")),
    ("owned", "serviceatlocation", ("service_id", "location_id")),
    ("owned", "servicearea", ("service_id", "kind", "country", "subdivision")),
    ("owned", "hotline", ("service_id", "chat_url")),
    ("language", "language", ("service_id", "phone_id", "location_id", "code")),
    ("address", "address", ("location_id", "country", "subdivision")),
    ("location", "location", ("location_type", "latitude", "longitude")),
    ("schedule", "schedule", SCHEDULE_COLUMNS),
)


def _pg_tokens(*tokens):
    """SQL of the keys `tokens` (each the SQL of a text, NULL for none) of one row, one a row."""
    return f"unnest(ARRAY[{', '.join(tokens)}])"


def _pg_code(column):
    return f"lower(replace({column}, '-', ''))"


_PG_SERVICE_TOKENS = _pg_tokens(
    "'kb' || (ks.id % 1024) || '0'",
    "CASE WHEN ks.review_state = 'published' AND ks.status <> 'defunct' THEN 'kpub0' ELSE 'knopub0' END",
    "CASE WHEN ks.is_free THEN 'kfree0' END",
    "CASE WHEN ks.available_online THEN 'kdonline0' END",
    f"'kc' || to_char({_PG_CHECKED}, 'YYYYMM') || '0'",
    f"'kcd' || to_char({_PG_CHECKED}, 'YYYYMMDD') || '0'",
)
_PG_HOTLINE_TOKENS = _pg_tokens("'khot0'", "CASE WHEN chat_url <> '' THEN 'kdonline0' END")


def _pg_open_keys():
    """PostgreSQL: the SQL of the open-hour keys of the schedules `plan` (an array of ids), as an array."""
    minutes = "(extract(hour FROM {0}) * 60 + extract(minute FROM {0}))::int"
    spans = (
        "SELECT lower(regexp_replace(timezone, '[^A-Za-z0-9]', '', 'g')) AS tz, day, a, "
        "CASE WHEN closes_at > opens_at THEN b ELSE 1440 END AS b FROM ("
        f"SELECT *, {minutes.format('opens_at')} + (floor(extract(second FROM opens_at)) > 0)::int AS a, "
        f"{minutes.format('closes_at')} AS b FROM resources_schedule WHERE id = ANY(plan) AND {_WEEKLY}"
        ") s CROSS JOIN generate_series(0, 6) day "
        f"WHERE position(substr('{_DAY_CODES}', day * 2 + 1, 2) IN byday) > 0"
    )
    parts, bigger = [], None
    for kind, size, digits in _OPEN_SLOTS:
        for first, stop in _open_ranges("t.a", "t.b", size, bigger, "least", "greatest"):
            parts.append(
                f"SELECT '{kind}' || t.tz || t.day || lpad(n::text, {digits}, '0') || '0' "
                f"FROM spans t CROSS JOIN generate_series({first}, {stop} - 1) n"
            )
        bigger = size
    # The part of an overnight span after midnight: from 0 to its closing time on the next day.
    after_midnight = (
        "SELECT lower(regexp_replace(timezone, '[^A-Za-z0-9]', '', 'g')), (day + 1) % 7, 0, "
        f"{minutes.format('closes_at')} FROM resources_schedule CROSS JOIN generate_series(0, 6) day "
        f"WHERE id = ANY(plan) AND {_WEEKLY} AND closes_at <= opens_at "
        f"AND position(substr('{_DAY_CODES}', day * 2 + 1, 2) IN byday) > 0"
    )
    return f"ARRAY(WITH spans AS ({spans} UNION ALL {after_midnight}) {' UNION ALL '.join(parts)})"


_PG_MAP_CELLS = " UNION ALL ".join(
    f"SELECT 'kg{grid}' || floor((latitude + 90) * {per_degree})::bigint || 'x' || "
    f"floor((longitude + 180) * {per_degree})::bigint || '0' FROM resources_location "
    "WHERE id = ANY(visits) AND latitude IS NOT NULL AND longitude IS NOT NULL"
    for grid, per_degree in MAP_GRIDS
)
_PG_PHONE_TOKEN = f"CASE WHEN type IN ({_CALL_TYPES_SQL}) THEN 'kdphone0' WHEN type = 'text' THEN 'kdtext0' END"
_PG_ADDRESS_TOKENS = _pg_tokens(
    f"CASE WHEN country <> '' THEN 'kpc' || {_pg_code('country')} || '0' END",
    f"CASE WHEN subdivision <> '' THEN 'kps' || {_pg_code('subdivision')} || '0' END",
)
_PG_AREA_TOKENS = _pg_tokens(
    "'karea0'",
    "CASE WHEN kind = 'worldwide' THEN 'kww0' END",
    f"CASE WHEN country <> '' THEN 'kac' || {_pg_code('country')} || '0' END",
    f"CASE WHEN subdivision <> '' THEN 'kas' || {_pg_code('subdivision')} || '0' END",
    f"CASE WHEN kind = 'country' AND country <> '' THEN 'kwc' || {_pg_code('country')} || '0' END",
    f"CASE WHEN kind = 'subdivision' AND subdivision <> '' THEN 'kws' || {_pg_code('subdivision')} || '0' END",
)
# The keys of a service, one statement per table, each a lookup of one table by an indexed column (the
# service, or keys found before): the same plan whatever the planner's statistics say. With joins, right
# after a bulk import (statistics taken when the tables were nearly empty) the planner read every place
# for each service: 20 ms a service instead of well under 1 ms.
_PG_KEYS = f"""CREATE OR REPLACE FUNCTION resources_search_keys(sid bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
        DECLARE
            sites bigint[];  -- the service's places
            visits bigint[];  -- those people can visit
            lines bigint[];  -- its phone lines
            terms bigint[];  -- its terms, then their parents, level by level
            found text[];
        BEGIN
            found := ARRAY(SELECT {_PG_SERVICE_TOKENS} FROM resources_service ks WHERE ks.id = sid);
            IF cardinality(found) = 0 THEN
                RETURN NULL;
            END IF;
            sites := ARRAY(SELECT location_id FROM resources_serviceatlocation WHERE service_id = sid);
            visits := ARRAY(SELECT id FROM resources_location WHERE id = ANY(sites) AND location_type = 'physical');
            lines := ARRAY(SELECT id FROM resources_phone WHERE service_id = sid);
            IF cardinality(visits) > 0 THEN
                found := found || 'kdinperson0'::text;
            END IF;
            IF EXISTS (SELECT 1 FROM resources_location WHERE id = ANY(visits) AND latitude IS NOT NULL) THEN
                found := found || 'kmap0'::text;
            ELSE
                found := found || 'knomap0'::text;
            END IF;
            found := found || ARRAY(
                {_PG_MAP_CELLS}
            );
            found := found
                || ARRAY(SELECT {_PG_HOTLINE_TOKENS} FROM resources_hotline WHERE service_id = sid)
                || ARRAY(SELECT {_PG_PHONE_TOKEN} FROM resources_phone WHERE id = ANY(lines))
                || ARRAY(SELECT {_PG_ADDRESS_TOKENS} FROM resources_address WHERE location_id = ANY(visits))
                || ARRAY(SELECT {_PG_AREA_TOKENS} FROM resources_servicearea WHERE service_id = sid)
                -- Languages as language_offers() counts them: COALESCE(the language's service, its phone's
                -- service, the services at its place).
                || ARRAY(
                    SELECT 'kl' || lower(code) || '0' FROM resources_language WHERE service_id = sid
                    UNION ALL
                    SELECT 'kl' || lower(code) || '0' FROM resources_language
                    WHERE phone_id = ANY(lines) AND service_id IS NULL
                    UNION ALL
                    SELECT 'kl' || lower(l.code) || '0' FROM resources_language l
                    WHERE l.location_id = ANY(sites) AND l.service_id IS NULL
                      AND (SELECT p.service_id FROM resources_phone p WHERE p.id = l.phone_id) IS NULL
                );
            terms := ARRAY(SELECT taxonomy_term_id FROM resources_serviceterm WHERE service_id = sid);
            FOR level IN 0..{ANCESTOR_LEVELS} LOOP
                EXIT WHEN cardinality(terms) = 0;
                found := found || ARRAY(SELECT 'kt' || term || '0' FROM unnest(terms) term);
                EXIT WHEN level = {ANCESTOR_LEVELS};
                terms := ARRAY(
                    SELECT DISTINCT parent_id FROM resources_taxonomyterm
                    WHERE id = ANY(terms) AND parent_id IS NOT NULL
                );
            END LOOP;
            RETURN array_to_string(ARRAY(SELECT DISTINCT token FROM unnest(found) token WHERE token IS NOT NULL), ' ');
        END $$"""


# The open-hour keys of a service (ScheduleQuerySet.open_at, for an active service: its schedules and those of
# its places), as a string; NULL for none.
_PG_HOURS = f"""CREATE OR REPLACE FUNCTION resources_search_hours(sid bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
        DECLARE
            plan bigint[];  -- the schedules
            found text[];
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM resources_service WHERE id = sid AND status = 'active') THEN
                RETURN NULL;
            END IF;
            plan := ARRAY(SELECT id FROM resources_schedule WHERE service_id = sid) || ARRAY(
                SELECT s.id FROM resources_serviceatlocation sal JOIN resources_schedule s
                ON s.location_id = sal.location_id WHERE sal.service_id = sid
            );
            found := {_pg_open_keys()};
            IF EXISTS (SELECT 1 FROM resources_schedule WHERE id = ANY(plan) AND open_24_7) THEN
                found := found || 'koalways0'::text;
            END IF;
            RETURN array_to_string(ARRAY(SELECT DISTINCT token FROM unnest(found) token), ' ');
        END $$"""


def _pg_function(name, refresh_old, refresh_new):
    """A trigger function that refreshes the services the SQL `refresh_old` / `refresh_new` select (of OLD
    and of NEW); an insert does nothing while a bulk import pauses the index."""
    return f"""CREATE OR REPLACE FUNCTION resources_search_on_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' AND {_PG_PAUSED} THEN
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                PERFORM resources_search_refresh(sid) FROM ({refresh_old}) affected (sid) WHERE sid IS NOT NULL;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM resources_search_refresh(sid) FROM ({refresh_new}) affected (sid) WHERE sid IS NOT NULL;
            END IF;
            RETURN NULL;
        END $$"""


def _postgresql_sql():
    terms = _INDEX_0004._TERMS.format(concat="string_agg", sid="sid")
    vector = (
        "setweight(to_tsvector('english', s.name), 'A') || "
        "setweight(to_tsvector('english', s.alternate_name || ' ' || o.name || ' ' || o.alternate_name), 'B') || "
        f"setweight(to_tsvector('english', coalesce({terms}, '')), 'C') || "
        "setweight(to_tsvector('english', s.description), 'D')"
    )
    statements = [
        "ALTER TABLE resources_searchdocument ADD COLUMN keys tsvector NOT NULL DEFAULT ''",
        # When the listing was last checked, for published()'s age limit (a date compared, not a key).
        "ALTER TABLE resources_searchdocument ADD COLUMN checked date",
        "CREATE INDEX resources_searchdocument_keys ON resources_searchdocument USING gin (keys)",
        # The open-hour keys: made again when 0010 and later migrations make the functions again (from here on).
        "ALTER TABLE resources_searchdocument ADD COLUMN IF NOT EXISTS hours tsvector NOT NULL DEFAULT ''",
        "CREATE INDEX IF NOT EXISTS resources_searchdocument_hours ON resources_searchdocument USING gin (hours)",
        _PG_KEYS,
        _PG_HOURS,
        # PL/pgSQL (0004's was SQL): its plans are kept for the session, not made again for every trigger.
        f"""CREATE OR REPLACE FUNCTION resources_search_refresh(sid bigint) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO resources_searchdocument (rowid, vector, keys, hours, checked)
            SELECT s.id, {vector}, to_tsvector('simple', coalesce(resources_search_keys(s.id), '')),
                to_tsvector('simple', coalesce(resources_search_hours(s.id), '')),
                {_PG_CHECKED.replace("ks.", "s.")}
            FROM resources_service s JOIN resources_organization o ON o.id = s.organization_id
            WHERE s.id = sid
            ON CONFLICT (rowid) DO UPDATE SET vector = EXCLUDED.vector, keys = EXCLUDED.keys,
                hours = EXCLUDED.hours, checked = EXCLUDED.checked;
            INSERT INTO resources_searchword (word)
            SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM resources_searchdocument WHERE rowid = sid
            ON CONFLICT DO NOTHING;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION resources_search_on_service() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM resources_searchdocument WHERE rowid = OLD.id;
            ELSIF TG_OP = 'INSERT' THEN
                IF NOT {_PG_PAUSED} THEN
                    PERFORM resources_search_refresh(NEW.id);
                END IF;
            ELSIF NEW.name IS DISTINCT FROM OLD.name
               OR NEW.alternate_name IS DISTINCT FROM OLD.alternate_name
               OR NEW.description IS DISTINCT FROM OLD.description
               OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
               OR NEW.review_state IS DISTINCT FROM OLD.review_state
               OR NEW.status IS DISTINCT FROM OLD.status
               OR NEW.is_free IS DISTINCT FROM OLD.is_free
               OR NEW.available_online IS DISTINCT FROM OLD.available_online
               OR NEW.assured_date IS DISTINCT FROM OLD.assured_date
               OR NEW.review_state_changed_at IS DISTINCT FROM OLD.review_state_changed_at
               OR NEW.last_modified IS DISTINCT FROM OLD.last_modified THEN
                PERFORM resources_search_refresh(NEW.id);
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION resources_search_on_link() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' AND {_PG_PAUSED} THEN
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (SELECT 1 FROM resources_service WHERE id = OLD.service_id) THEN
                PERFORM resources_search_refresh(OLD.service_id);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM resources_search_refresh(NEW.service_id);
            END IF;
            RETURN NULL;
        END $$""",
        # A renamed term is in the text of the services linked to it or to a child; a new parent changes the
        # ancestors of the term and of every term below it.
        f"""CREATE OR REPLACE FUNCTION resources_search_on_term() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.name IS DISTINCT FROM OLD.name OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
                PERFORM resources_search_refresh(service_id) FROM (
                    SELECT DISTINCT service_id FROM ({_services_below("NEW.id")}) linked
                ) affected;
            END IF;
            RETURN NULL;
        END $$""",
        _pg_function("owned", "SELECT OLD.service_id", "SELECT NEW.service_id"),
        _pg_function("language", _language_services("OLD"), _language_services("NEW")),
        _pg_function("address", _services_at("OLD.location_id"), _services_at("NEW.location_id")),
        _pg_function("location", _services_at("OLD.id"), "SELECT NULL::bigint WHERE false"),
        _pg_function("schedule", _schedule_services("OLD"), _schedule_services("NEW")),
    ]
    for function, table, columns in _PG_KEY_TRIGGERS:
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
        if function != "location":  # a place's own insert or delete changes no service (its links do)
            statements.append(
                f"CREATE TRIGGER resources_search_{table} AFTER INSERT OR DELETE ON resources_{table} "
                f"FOR EACH ROW EXECUTE FUNCTION resources_search_on_{function}()"
            )
        statements.append(
            f"CREATE TRIGGER resources_search_{table}_update AFTER UPDATE ON resources_{table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION resources_search_on_{function}()"
        )
    statements.append("SELECT resources_search_refresh(id) FROM resources_service")
    return statements


def _postgresql_drop():
    statements = []
    for _function, table, _columns in _PG_KEY_TRIGGERS:
        statements.append(f"DROP TRIGGER IF EXISTS resources_search_{table} ON resources_{table}")
        statements.append(f"DROP TRIGGER IF EXISTS resources_search_{table}_update ON resources_{table}")
    for function in ("owned", "language", "address", "location", "schedule"):
        statements.append(f"DROP FUNCTION IF EXISTS resources_search_on_{function}()")
    statements.append("DROP FUNCTION IF EXISTS resources_search_keys(bigint)")
    statements.append("DROP FUNCTION IF EXISTS resources_search_hours(bigint)")
    return statements


# --- forwards and back ----------------------------------------------------------------------------------------


def add_keys(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        statements = _sqlite_sql()
    elif vendor == "postgresql":
        statements = _postgresql_sql()
    else:
        raise NotImplementedError(f"Full-text search supports SQLite and PostgreSQL, not {vendor}.")
    for statement in statements:
        # No parameters: the SQL is passed as it is ("%" is the modulo operator, not a placeholder).
        schema_editor.execute(statement, params=None)


def remove_keys(apps, schema_editor):
    """Back to the index of 0004: this migration's own triggers go, then 0004's index is made again."""
    if schema_editor.connection.vendor == "sqlite":
        statements = [
            *_sqlite_drop(),
            "DROP TABLE IF EXISTS resources_searchslot",
            "DROP TABLE IF EXISTS resources_searchheading",
            "DROP VIEW IF EXISTS resources_searchheading_source",
        ]
    else:
        statements = _postgresql_drop()
    for statement in statements:
        schema_editor.execute(statement, params=None)
    _INDEX_0004.drop_index(apps, schema_editor)
    _INDEX_0004.create_index(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0006_history"),
    ]

    operations = [
        migrations.RunPython(add_keys, remove_keys),
    ]

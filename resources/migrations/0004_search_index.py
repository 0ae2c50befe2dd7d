"""The full-text index of services, built and kept in step by the database itself.

SQLite: an FTS5 table (porter stemming, accents folded) with one column per weighted field, and an
fts5vocab view of its terms (for spelling suggestions). PostgreSQL: a table of weighted tsvectors with a
GIN index, and the table of every indexed word with a pg_trgm index (for misspellings). On both, triggers
on services, their terms, organizations and terms keep one row per service current, whatever writes.
Also the first synonyms, which curators then edit in the admin.
"""

import django.db.models.deletion
from django.db import migrations, models

# The text indexed for a service, by field; `{sid}` is the service id, `{oid}` its organization's.
_ORGANIZATION = "(SELECT o.name || ' ' || o.alternate_name FROM resources_organization o WHERE o.id = {oid})"
_TERMS = (
    "(SELECT {concat}(t.name || ' ' || coalesce(p.name, ''), ' ') FROM resources_serviceterm st "
    "JOIN resources_taxonomyterm t ON t.id = st.taxonomy_term_id "
    "LEFT JOIN resources_taxonomyterm p ON p.id = t.parent_id WHERE st.service_id = {sid})"
)


def _sqlite_sql():
    terms = _TERMS.format(concat="group_concat", sid="{sid}")
    org = _ORGANIZATION

    def row(sid, oid, prefix):
        return (
            f"INSERT INTO resources_searchdocument(rowid, name, alternate_name, organization, terms, description) "
            f"VALUES ({sid}, {prefix}.name, {prefix}.alternate_name, {org.format(oid=oid)}, "
            f"coalesce({terms.format(sid=sid)}, ''), {prefix}.description);"
        )

    def refresh_terms(sid):
        return f"UPDATE resources_searchdocument SET terms = coalesce({terms.format(sid=sid)}, '') WHERE rowid = {sid};"

    return [
        "CREATE VIRTUAL TABLE resources_searchdocument USING fts5("
        "name, alternate_name, organization, terms, description, tokenize = 'porter unicode61 remove_diacritics 2')",
        "CREATE VIRTUAL TABLE resources_searchvocabulary USING fts5vocab(resources_searchdocument, 'row')",
        # A bulk import pauses the two insert triggers (see search.bulk_index) and indexes each service once.
        "CREATE TABLE resources_searchpause (id integer PRIMARY KEY)",
        "CREATE TRIGGER resources_search_service_insert AFTER INSERT ON resources_service "
        "WHEN NOT EXISTS (SELECT 1 FROM resources_searchpause) BEGIN "
        f"{row('new.id', 'new.organization_id', 'new')} END",
        "CREATE TRIGGER resources_search_service_update AFTER UPDATE OF name, alternate_name, description, "
        "organization_id ON resources_service BEGIN "
        "DELETE FROM resources_searchdocument WHERE rowid = old.id; "
        f"{row('new.id', 'new.organization_id', 'new')} END",
        "CREATE TRIGGER resources_search_service_delete AFTER DELETE ON resources_service BEGIN "
        "DELETE FROM resources_searchdocument WHERE rowid = old.id; END",
        "CREATE TRIGGER resources_search_link_insert AFTER INSERT ON resources_serviceterm "
        f"WHEN NOT EXISTS (SELECT 1 FROM resources_searchpause) BEGIN {refresh_terms('new.service_id')} END",
        f"CREATE TRIGGER resources_search_link_delete AFTER DELETE ON resources_serviceterm BEGIN "
        f"{refresh_terms('old.service_id')} END",
        f"CREATE TRIGGER resources_search_link_update AFTER UPDATE ON resources_serviceterm BEGIN "
        f"{refresh_terms('old.service_id')} {refresh_terms('new.service_id')} END",
        "CREATE TRIGGER resources_search_organization_update AFTER UPDATE OF name, alternate_name "
        "ON resources_organization BEGIN "
        "UPDATE resources_searchdocument SET organization = new.name || ' ' || new.alternate_name "
        "WHERE rowid IN (SELECT id FROM resources_service WHERE organization_id = new.id); END",
        "CREATE TRIGGER resources_search_term_update AFTER UPDATE OF name, parent_id ON resources_taxonomyterm BEGIN "
        "UPDATE resources_searchdocument SET terms = "
        f"coalesce({terms.format(sid='resources_searchdocument.rowid')}, '') "
        "WHERE rowid IN (SELECT st.service_id FROM resources_serviceterm st JOIN resources_taxonomyterm t "
        "ON t.id = st.taxonomy_term_id WHERE t.id = new.id OR t.parent_id = new.id); END",
        # What is there already.
        "INSERT INTO resources_searchdocument(rowid, name, alternate_name, organization, terms, description) "
        f"SELECT s.id, s.name, s.alternate_name, {org.format(oid='s.organization_id')}, "
        f"coalesce({terms.format(sid='s.id')}, ''), s.description FROM resources_service s",
    ]


def _postgresql_sql():
    terms = _TERMS.format(concat="string_agg", sid="sid")
    vector = (
        "setweight(to_tsvector('english', s.name), 'A') || "
        "setweight(to_tsvector('english', s.alternate_name || ' ' || o.name || ' ' || o.alternate_name), 'B') || "
        f"setweight(to_tsvector('english', coalesce({terms}, '')), 'C') || "
        "setweight(to_tsvector('english', s.description), 'D')"
    )
    return [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        # No foreign key: Django does not know this table, and its flush (TRUNCATE of the services) would be
        # refused; triggers below remove a service's entry when it goes, by DELETE or by TRUNCATE.
        "CREATE TABLE resources_searchdocument (rowid bigint PRIMARY KEY, vector tsvector NOT NULL)",
        "CREATE INDEX resources_searchdocument_vector ON resources_searchdocument USING gin (vector)",
        "CREATE TABLE resources_searchword (word text PRIMARY KEY)",
        "CREATE INDEX resources_searchword_trigrams ON resources_searchword USING gin (word gin_trgm_ops)",
        f"""CREATE FUNCTION resources_search_refresh(sid bigint) RETURNS void LANGUAGE sql AS $$
            INSERT INTO resources_searchdocument (rowid, vector)
            SELECT s.id, {vector} FROM resources_service s JOIN resources_organization o ON o.id = s.organization_id
            WHERE s.id = sid
            ON CONFLICT (rowid) DO UPDATE SET vector = EXCLUDED.vector;
            INSERT INTO resources_searchword (word)
            SELECT DISTINCT unnest(tsvector_to_array(vector)) FROM resources_searchdocument WHERE rowid = sid
            ON CONFLICT DO NOTHING;
        $$""",
        """CREATE FUNCTION resources_search_on_service() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM resources_searchdocument WHERE rowid = OLD.id;
            ELSIF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name
               OR NEW.alternate_name IS DISTINCT FROM OLD.alternate_name
               OR NEW.description IS DISTINCT FROM OLD.description
               OR NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN
                PERFORM resources_search_refresh(NEW.id);
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER resources_search_service AFTER INSERT OR UPDATE OR DELETE ON resources_service "
        "FOR EACH ROW EXECUTE FUNCTION resources_search_on_service()",
        """CREATE FUNCTION resources_search_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE resources_searchdocument;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER resources_search_truncate AFTER TRUNCATE ON resources_service "
        "FOR EACH STATEMENT EXECUTE FUNCTION resources_search_on_truncate()",
        """CREATE FUNCTION resources_search_on_link() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (SELECT 1 FROM resources_service WHERE id = OLD.service_id) THEN
                PERFORM resources_search_refresh(OLD.service_id);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM resources_search_refresh(NEW.service_id);
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER resources_search_link AFTER INSERT OR UPDATE OR DELETE ON resources_serviceterm "
        "FOR EACH ROW EXECUTE FUNCTION resources_search_on_link()",
        """CREATE FUNCTION resources_search_on_organization() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.name IS DISTINCT FROM OLD.name OR NEW.alternate_name IS DISTINCT FROM OLD.alternate_name THEN
                PERFORM resources_search_refresh(id) FROM resources_service WHERE organization_id = NEW.id;
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER resources_search_organization AFTER UPDATE ON resources_organization "
        "FOR EACH ROW EXECUTE FUNCTION resources_search_on_organization()",
        """CREATE FUNCTION resources_search_on_term() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.name IS DISTINCT FROM OLD.name OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
                PERFORM resources_search_refresh(service_id) FROM (
                    SELECT DISTINCT st.service_id FROM resources_serviceterm st
                    JOIN resources_taxonomyterm t ON t.id = st.taxonomy_term_id
                    WHERE t.id = NEW.id OR t.parent_id = NEW.id
                ) affected;
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER resources_search_term AFTER UPDATE ON resources_taxonomyterm "
        "FOR EACH ROW EXECUTE FUNCTION resources_search_on_term()",
        "SELECT resources_search_refresh(id) FROM resources_service",
    ]


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        statements = _sqlite_sql()
    elif vendor == "postgresql":
        statements = _postgresql_sql()
    else:
        raise NotImplementedError(f"Full-text search supports SQLite and PostgreSQL, not {vendor}.")
    for statement in statements:
        schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS resources_searchvocabulary")
        schema_editor.execute("DROP TABLE IF EXISTS resources_searchpause")
        schema_editor.execute("DROP TABLE IF EXISTS resources_searchdocument")  # its triggers go with the tables
        for name in (
            "service_insert",
            "service_update",
            "service_delete",
            "link_insert",
            "link_delete",
            "link_update",
            "organization_update",
            "term_update",
        ):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS resources_search_{name}")
    else:
        for table, name in (
            ("resources_service", "service"),
            ("resources_serviceterm", "link"),
            ("resources_organization", "organization"),
            ("resources_taxonomyterm", "term"),
        ):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS resources_search_{name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS resources_search_on_{name}()")
        schema_editor.execute("DROP TRIGGER IF EXISTS resources_search_truncate ON resources_service")
        schema_editor.execute("DROP FUNCTION IF EXISTS resources_search_on_truncate()")
        schema_editor.execute("DROP FUNCTION IF EXISTS resources_search_refresh(bigint)")
        schema_editor.execute("DROP TABLE IF EXISTS resources_searchword")
        schema_editor.execute("DROP TABLE IF EXISTS resources_searchdocument")


# The first synonyms: English pairs, British and American spellings, and common Spanish words for the
# main needs. Curators edit them in the admin.
SYNONYMS = [
    ("t visa, t-visa, immigration relief, visa", "The T visa is the US immigration relief for trafficking survivors."),
    ("shelter, housing, safe house, refugio, albergue, vivienda, casa", "Somewhere to stay."),
    ("forced labor, forced labour, labor trafficking, labour trafficking, trabajo forzoso", "Spellings and names."),
    ("sex trafficking, sexual exploitation, explotación sexual, trata sexual", ""),
    ("human trafficking, trafficking, modern slavery, trata de personas, trata", ""),
    ("lawyer, attorney, legal aid, legal help, abogado, abogada, ayuda legal", ""),
    ("doctor, medical, medical care, health, clinic, médico, salud, clínica", ""),
    ("counselling, counseling, therapy, mental health, counsellor, counselor, terapia, salud mental", ""),
    ("hotline, helpline, crisis line, línea de ayuda, línea directa", ""),
    ("job, jobs, employment, work, job training, empleo, trabajo", ""),
    ("help, ayuda", ""),
    ("domestic violence, violencia doméstica, violencia domestica, abuso doméstico", ""),
    ("missing, desaparecido, desaparecida, desaparecidos", ""),
    ("children, child, minors, kids, niños, niñas, menores", ""),
    ("women, woman, mujeres, mujer", ""),
    ("immigration, inmigración, migración, migrant, migrante", ""),
]


def add_synonyms(apps, schema_editor):
    SearchSynonym = apps.get_model("resources", "SearchSynonym")
    SearchSynonym.objects.bulk_create(SearchSynonym(phrases=phrases, note=note) for phrases, note in SYNONYMS)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0003_plain_language_constraint_messages"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "service",
                    models.OneToOneField(
                        db_column="rowid",
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="resources.service",
                    ),
                ),
            ],
            options={
                "db_table": "resources_searchdocument",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="SearchSynonym",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "phrases",
                    models.TextField(
                        help_text="Two or more words or phrases, separated by commas, e.g. “shelter, housing, refugio”."
                    ),
                ),
                (
                    "note",
                    models.CharField(blank=True, help_text="Why these belong together (for curators).", max_length=200),
                ),
            ],
            options={
                "verbose_name": "search synonym",
                "ordering": ["phrases"],
            },
        ),
        migrations.RunPython(create_index, drop_index),
        migrations.RunPython(add_synonyms, migrations.RunPython.noop),
    ]

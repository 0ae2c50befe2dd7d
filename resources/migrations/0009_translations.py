# Translations of listings' text and of the vocabularies' names: the site is in English, Spanish and French.

from importlib import import_module

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

_KEYS_0007 = import_module("resources.migrations.0007_search_keys")
_SQLITE_0004_TRIGGERS = _KEYS_0007._SQLITE_0004_TRIGGERS


def _drop_search_triggers(apps, schema_editor):
    """SQLite adds a column by making the table again, and refuses to rename the new table while the search
    index's triggers name the old one: they go first, and 0010 makes them again (or, going back, the first
    operation here makes 0007's again)."""
    if schema_editor.connection.vendor == "sqlite":
        names = [*_SQLITE_0004_TRIGGERS, *(name for name, *_rest in _KEYS_0007._sqlite_key_triggers())]
        for name in names:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS resources_search_{name}", params=None)


def _make_search_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in [*_KEYS_0007._sqlite_drop(), *_KEYS_0007._sqlite_sql()]:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0008_service_name_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_drop_search_triggers, _make_search_triggers),
        migrations.AddField(
            model_name='taxonomyterm',
            name='name_translations',
            field=models.JSONField(blank=True, default=dict, help_text='The name in other languages of the site, by language code, e.g. {"es": "Asesoría legal"}.', verbose_name='translated names'),
        ),
        migrations.CreateModel(
            name='ServiceTranslation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('language', models.CharField(choices=[('en', 'English'), ('es', 'Español'), ('fr', 'Français')], max_length=10)),
                ('description', models.TextField(blank=True)),
                ('application_process', models.TextField(blank=True, verbose_name='how to get help')),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='translations', to='resources.service')),
            ],
            options={
                'ordering': ['language'],
                'constraints': [models.UniqueConstraint(fields=('service', 'language'), name='service_translation_unique_language', violation_error_message='This listing already has a translation into that language.')],
            },
        ),
        migrations.CreateModel(
            name='HistoricalServiceTranslation',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('language', models.CharField(choices=[('en', 'English'), ('es', 'Español'), ('fr', 'Français')], max_length=10)),
                ('description', models.TextField(blank=True)),
                ('application_process', models.TextField(blank=True, verbose_name='how to get help')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField()),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='resources.service')),
            ],
            options={
                'verbose_name': 'historical service translation',
                'verbose_name_plural': 'historical service translations',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(migrations.RunPython.noop, _drop_search_triggers),
    ]

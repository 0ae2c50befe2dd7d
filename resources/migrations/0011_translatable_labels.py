# The labels partners read in their listing editor are translatable: verbose names of the service's fields and the
# review states. Nothing changes in the database (labels only); the stored values stay as they were.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0010_search_map_keys'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalservice',
            name='accreditations',
            field=models.TextField(blank=True, verbose_name='accreditations'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='alert',
            field=models.TextField(blank=True, help_text='A short-term notice shown at the top of the listing.', verbose_name='alert'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='alternate_name',
            field=models.CharField(blank=True, max_length=300, verbose_name='alternate name'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='available_online',
            field=models.BooleanField(default=False, help_text='Can be used online (chat, video, an online form), not just read about.', verbose_name='available online'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='description',
            field=models.TextField(blank=True, verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='email',
            field=models.EmailField(blank=True, max_length=254, verbose_name='email'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='fees',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0 (see fees description); kept as given.', verbose_name='fees'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='interpretation_services',
            field=models.TextField(blank=True, verbose_name='interpretation services'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='licenses',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0; kept as given.', verbose_name='licenses'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='maximum_age',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='maximum age'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='minimum_age',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='minimum age'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='name',
            field=models.CharField(max_length=300, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='review_state',
            field=models.CharField(choices=[('draft', 'Draft'), ('pending', 'Pending review'), ('published', 'Published'), ('archived', 'Archived')], default='draft', max_length=20, verbose_name='review state'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='status',
            field=models.CharField(choices=[('active', 'Active'), ('inactive', 'Inactive'), ('defunct', 'Defunct (closed for good)'), ('temporarily closed', 'Temporarily closed')], default='active', max_length=20, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='historicalservice',
            name='wait_time',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0; kept as given.', verbose_name='wait time'),
        ),
        migrations.AlterField(
            model_name='service',
            name='accreditations',
            field=models.TextField(blank=True, verbose_name='accreditations'),
        ),
        migrations.AlterField(
            model_name='service',
            name='alert',
            field=models.TextField(blank=True, help_text='A short-term notice shown at the top of the listing.', verbose_name='alert'),
        ),
        migrations.AlterField(
            model_name='service',
            name='alternate_name',
            field=models.CharField(blank=True, max_length=300, verbose_name='alternate name'),
        ),
        migrations.AlterField(
            model_name='service',
            name='available_online',
            field=models.BooleanField(default=False, help_text='Can be used online (chat, video, an online form), not just read about.', verbose_name='available online'),
        ),
        migrations.AlterField(
            model_name='service',
            name='description',
            field=models.TextField(blank=True, verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='service',
            name='email',
            field=models.EmailField(blank=True, max_length=254, verbose_name='email'),
        ),
        migrations.AlterField(
            model_name='service',
            name='fees',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0 (see fees description); kept as given.', verbose_name='fees'),
        ),
        migrations.AlterField(
            model_name='service',
            name='interpretation_services',
            field=models.TextField(blank=True, verbose_name='interpretation services'),
        ),
        migrations.AlterField(
            model_name='service',
            name='licenses',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0; kept as given.', verbose_name='licenses'),
        ),
        migrations.AlterField(
            model_name='service',
            name='maximum_age',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='maximum age'),
        ),
        migrations.AlterField(
            model_name='service',
            name='minimum_age',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='minimum age'),
        ),
        migrations.AlterField(
            model_name='service',
            name='name',
            field=models.CharField(max_length=300, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='service',
            name='review_state',
            field=models.CharField(choices=[('draft', 'Draft'), ('pending', 'Pending review'), ('published', 'Published'), ('archived', 'Archived')], db_index=True, default='draft', max_length=20, verbose_name='review state'),
        ),
        migrations.AlterField(
            model_name='service',
            name='status',
            field=models.CharField(choices=[('active', 'Active'), ('inactive', 'Inactive'), ('defunct', 'Defunct (closed for good)'), ('temporarily closed', 'Temporarily closed')], default='active', max_length=20, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='service',
            name='wait_time',
            field=models.TextField(blank=True, help_text='Deprecated in HSDS 3.0; kept as given.', verbose_name='wait time'),
        ),
    ]

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0009_filter_indexes"),
    ]

    operations = []

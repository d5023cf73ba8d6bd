from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("smartapp", "0004_launch_browser_cookie"),
    ]

    operations = [
        migrations.AddField(
            model_name="launch",
            name="locale",
            field=models.CharField(blank=True, default="", max_length=35),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [
        migrations.AddField(model_name="order", name="customer", field=models.CharField(max_length=200, null=True)),
    ]
